#!/usr/bin/python3
"""Real QEMU (scenario 7): start to running and destroy to shut off of a diskless TCG
domain (64 MiB, a serial port on a pty, SeaBIOS idling), one domain at a time and ten
at once, Domus's QEMU driver and libvirt's side by side, and the floor: QEMU itself,
spawned with -S and a QMP socket pair, until `qmp_capabilities` and `cont` are
answered, and from `quit` to its exit (waitpid). One JSON row per scenario and side, as
compare.py reads them.

  /usr/bin/python3 benchmarks/qemu_bench.py --domus SOCKET URI N
  /usr/bin/python3 benchmarks/qemu_bench.py --libvirt URI N
  /usr/bin/python3 benchmarks/qemu_bench.py --floor N
  /usr/bin/python3 benchmarks/qemu_bench.py --domus-restart DOMUSD N

--domus-restart starts DOMUSD on a root of its own, defines 1,000 domains on
qemu:///system and starts 10 of them, kills the daemon with SIGKILL and starts it again,
N times: from exec until the ten are listed running (the instance opens on that first
request, reads the 1,000 definitions and takes the ten back). --domus and --libvirt
also start tests/guest/build.sh's guest (from its cache) until it prints its ready
marker on the serial port, N/3 times, and destroy it. --domus also times 200
defines of new QEMU domains, one at a time, each durable (libvirt's side is not timed:
its Python client died silently after about 40 defines here, every time).

Domains are named domus-bench-q* and undefined again; a QEMU left running by a failed
run is killed by pid (found by its guest name).
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

EMULATOR = "/usr/bin/qemu-system-x86_64"
START = "start to running, 1 diskless TCG domain"
DESTROY = "destroy to shut off, 1 diskless TCG domain"
START10 = "start to running, 10 diskless TCG domains at once (all)"
DESTROY10 = "destroy to shut off, 10 diskless TCG domains at once (all)"
DEFINE = "define, a new QEMU domain, one at a time (durable)"
DEFINES = 200  # defined and undefined again per run
GUEST = "start to the test guest's ready marker (kernel + initramfs on TCG)"
GUEST_DESTROY = "destroy to shut off, the test guest running"
GUEST_DIR = os.environ.get("DOMUS_TEST_CACHE", "/var/cache/domus-tests") + "/guest-2"


def guest_xml(name, serial):
    """tests/guest/build.sh's guest (its cache), its console on a unix socket."""
    return ("<domain type='qemu'><name>%s</name><memory unit='MiB'>256</memory>"
            "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type>"
            "<kernel>%s/vmlinuz</kernel><initrd>%s/initrd.gz</initrd>"
            "<cmdline>console=ttyS0 quiet panic=0</cmdline></os><features><acpi/>"
            "</features><devices><emulator>%s</emulator><serial type='unix'>"
            "<source mode='bind' path='%s'/></serial><memballoon model='none'/>"
            "</devices></domain>" % (name, GUEST_DIR, GUEST_DIR, EMULATOR, serial))


def until_ready(path, bound_s=120):
    """Connects to the guest's serial socket and reads until its ready marker."""
    deadline = time.monotonic() + bound_s
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise RuntimeError("no serial socket at " + path)
            time.sleep(0.001)
    seen = b""
    s.settimeout(max(0.1, deadline - time.monotonic()))
    while b"DOMUS-GUEST-READY" not in seen:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("the guest's serial port closed: %r" % seen[-200:])
        seen += chunk
    s.close()


def guest_rows(side, define, start, destroy, undefine, n):
    """The test guest, N times: start until its marker, destroy."""
    import tempfile
    if not os.path.exists(GUEST_DIR + "/vmlinuz"):
        print("qemu_bench: no test guest in %s (bash tests/guest/build.sh %s); its rows "
              "are left out" % (GUEST_DIR, GUEST_DIR), file=sys.stderr)
        return
    tmp = tempfile.mkdtemp(prefix="domus-guest-")
    serial = tmp + "/serial.sock"
    define(guest_xml("domus-bench-qg", serial))
    try:
        starts, destroys = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            start()
            until_ready(serial)
            starts.append((time.perf_counter() - t0) * 1000.0)
            destroys.append(timed(destroy)[0])
        row(side, GUEST, starts)
        row(side, GUEST_DESTROY, destroys)
    finally:
        kill_leftovers()
        undefine()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def xml(name, kind="qemu"):
    return ("<domain type='%s'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
            "<emulator>%s</emulator><serial type='pty'/><console type='pty'/>"
            "<memballoon model='none'/></devices></domain>" % (kind, name, EMULATOR))


def row(side, scenario, lats_ms):
    lats = sorted(lats_ms)
    print(json.dumps({"side": side, "scenario": scenario, "clients": 1,
                      "requests": len(lats),
                      "p50_us": round(statistics.median(lats) * 1000.0, 1),
                      "p99_us": round(lats[min(len(lats) - 1, int(len(lats) * 0.99))] *
                                      1000.0, 1)}), flush=True)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000.0, out


def kill_leftovers():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if cmd.startswith(EMULATOR.encode()) and b"guest=domus-bench-q" in cmd:
            os.kill(int(pid), signal.SIGKILL)


def in_threads(n, fn):
    out = [None] * n
    errors = []

    def run(i):
        try:
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return (time.perf_counter() - t0) * 1000.0


def domus(sock, uri, n):
    import zmq
    ctx = zmq.Context()
    local = threading.local()
    ids = iter(range(1, 1 << 62))
    lock = threading.Lock()

    def call(proc, **args):
        if not hasattr(local, "req"):
            local.req = ctx.socket(zmq.DEALER)
            local.req.connect("ipc://" + sock)
        with lock:
            i = next(ids)
        local.req.send_multipart([b"", json.dumps({"v": 1, "id": i, "proc": proc,
                                                   "uri": uri, "args": args}).encode()])
        reply = json.loads(local.req.recv_multipart()[1])
        if "error" in reply:
            raise RuntimeError("%s: %s" % (proc, reply["error"]["message"]))
        return reply["result"]

    names = ["domus-bench-q%d" % i for i in range(10)]
    for name in names:
        call("domain.define", xml=xml(name))
    try:
        starts, destroys = [], []
        for _ in range(n):
            starts.append(timed(lambda: call("domain.start", domain=names[0]))[0])
            destroys.append(timed(lambda: call("domain.destroy", domain=names[0]))[0])
        row("domus", START, starts)
        row("domus", DESTROY, destroys)
        s10, d10 = [], []
        for _ in range(max(1, n // 5)):
            s10.append(in_threads(10, lambda i: call("domain.start", domain=names[i])))
            d10.append(in_threads(10, lambda i: call("domain.destroy", domain=names[i])))
        row("domus", START10, s10)
        row("domus", DESTROY10, d10)
        defines = [timed(lambda: call("domain.define", xml=xml("domus-bench-qd%d" % i)))[0]
                   for i in range(DEFINES)]
        row("domus", DEFINE, defines)
        for i in range(DEFINES):
            call("domain.undefine", domain="domus-bench-qd%d" % i)
        guest_rows("domus", lambda x: call("domain.define", xml=x),
                   lambda: call("domain.start", domain="domus-bench-qg"),
                   lambda: call("domain.destroy", domain="domus-bench-qg"),
                   lambda: call("domain.undefine", domain="domus-bench-qg"), max(1, n // 3))
    finally:
        kill_leftovers()
        for name in names:
            try:
                call("domain.undefine", domain=name)
            except RuntimeError:
                pass


def libvirt_side(uri, n):
    import libvirt
    libvirt.registerErrorHandler(lambda *_: None, None)
    conn = libvirt.open(uri)
    doms = [conn.defineXML(xml("domus-bench-q%d" % i)) for i in range(10)]
    try:
        starts, destroys = [], []
        for _ in range(n):
            starts.append(timed(lambda: doms[0].create())[0])
            destroys.append(timed(lambda: doms[0].destroy())[0])
        row("libvirt", START, starts)
        row("libvirt", DESTROY, destroys)
        s10, d10 = [], []
        for _ in range(max(1, n // 5)):
            s10.append(in_threads(10, lambda i: libvirt.open(uri).lookupByName(
                "domus-bench-q%d" % i).create()))
            d10.append(in_threads(10, lambda i: libvirt.open(uri).lookupByName(
                "domus-bench-q%d" % i).destroy()))
        row("libvirt", START10, s10)
        row("libvirt", DESTROY10, d10)
        guest_rows("libvirt", conn.defineXML,
                   lambda: conn.lookupByName("domus-bench-qg").create(),
                   lambda: conn.lookupByName("domus-bench-qg").destroy(),
                   lambda: conn.lookupByName("domus-bench-qg").undefine(), max(1, n // 3))
    finally:
        for d in doms:
            try:
                if d.isActive():
                    d.destroy()
                d.undefine()
            except libvirt.libvirtError:
                pass
        kill_leftovers()


RESTART = ("daemon restart (SIGKILL) with 1,000 defined QEMU domains, exec until 10 "
           "running guests are taken back")


def domus_restart(domusd, n):
    import tempfile
    import zmq
    root = tempfile.mkdtemp(prefix="domus-restart-")
    sock = root + "/run/domus/domus-sock"
    ctx = zmq.Context()
    ids = iter(range(1, 1 << 62))

    def call(proc, timeout_ms=60000, **args):
        req = ctx.socket(zmq.DEALER)
        req.setsockopt(zmq.LINGER, 0)
        req.connect("ipc://" + sock)
        req.send_multipart([b"", json.dumps({"v": 1, "id": next(ids), "proc": proc,
                                             "uri": "qemu:///system",
                                             "args": args}).encode()])
        if not req.poll(timeout_ms):
            req.close()
            return None
        reply = json.loads(req.recv_multipart()[1])
        req.close()
        if "error" in reply:
            raise RuntimeError("%s: %s" % (proc, reply["error"]["message"]))
        return reply["result"]

    def start_daemon():
        return subprocess.Popen([domusd, "--root", root, "--log-level", "warning"],
                                stderr=subprocess.DEVNULL)

    def running():
        try:
            r = call("domain.list", timeout_ms=200)
        except RuntimeError:
            return 0
        return 0 if r is None else sum(1 for d in r["domains"] if d["state"] == "running")

    daemon = start_daemon()
    names = ["domus-bench-r%d" % i for i in range(10)]
    try:
        while call("domain.list", timeout_ms=200) is None:
            pass
        for name in names:
            call("domain.define", xml=xml(name))
            call("domain.start", domain=name)
        for i in range(990):
            call("domain.define", xml=xml("domus-bench-rd%d" % i))
        lats = []
        for _ in range(n):
            daemon.kill()
            daemon.wait()
            t0 = time.perf_counter()
            daemon = start_daemon()
            while running() < 10:
                pass
            lats.append((time.perf_counter() - t0) * 1000.0)
        row("domus", RESTART, lats)
    finally:
        for name in names:
            try:
                call("domain.destroy", timeout_ms=10000, domain=name)
            except RuntimeError:
                pass
        daemon.terminate()
        daemon.wait()
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if b"guest=domus-bench-r" in f.read():
                        os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        import shutil
        shutil.rmtree(root, ignore_errors=True)


def floor(n):
    """QEMU alone: exec to qmp_capabilities and cont answered; quit to its exit."""
    starts, ends = [], []
    for _ in range(n):
        a, b = socket.socketpair()
        t0 = time.perf_counter()
        p = subprocess.Popen([EMULATOR, "-name", "guest=domus-bench-qfloor", "-S",
                              "-machine", "pc,usb=off", "-accel", "tcg", "-m", "64",
                              "-nodefaults", "-no-user-config", "-display", "none",
                              "-chardev", "pty,id=s0", "-device",
                              "isa-serial,chardev=s0", "-no-shutdown",
                              "-chardev", "socket,id=m,fd=%d" % b.fileno(),
                              "-mon", "chardev=m,mode=control"],
                             pass_fds=[b.fileno()], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        b.close()
        f = a.makefile("rwb")
        f.readline()

        def cmd(c):
            f.write(json.dumps({"execute": c}).encode() + b"\r\n")
            f.flush()
            while b'"return"' not in f.readline():
                pass
        cmd("qmp_capabilities")
        cmd("cont")
        starts.append((time.perf_counter() - t0) * 1000.0)
        t1 = time.perf_counter()
        cmd("quit")
        p.wait()
        ends.append((time.perf_counter() - t1) * 1000.0)
        f.close()
        a.close()
    row("floor", START, starts)
    row("floor", DESTROY, ends)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--domus":
        domus(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--libvirt":
        libvirt_side(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--floor":
        floor(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--domus-restart":
        domus_restart(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
