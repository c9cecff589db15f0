#!/usr/bin/python3
"""Runs a command as a child subreaper that reaps every orphan at once, as a PID 1
should: libvirtd's QEMU driver double-forks QEMU and waits on zombies that this
machine's PID 1 never reaps (../shared/libvirt-anchor.md). SIGTERM and SIGINT are passed
to the command; the reaper exits with its status once it is gone.

  /usr/bin/python3 benchmarks/reaper.py COMMAND [ARGS...]
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("reaper: prctl(PR_SET_CHILD_SUBREAPER): %s" %
                 os.strerror(ctypes.get_errno()))
    child = os.fork()
    if child == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: os.kill(child, s))
    status = 0
    while True:
        try:
            pid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            status = os.waitstatus_to_exitcode(st)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
