#!/usr/bin/python3
"""Real dir pools, Domus's storage driver and libvirt's side by side: N raw volumes
(1 MiB, allocated in full, as vol-create-as makes them) and N qcow2 volumes (1 GiB,
through qemu-img on both sides) created one request at a time and deleted again; then a
directory of BIG images made outside either daemon (three quarters sparse raw files,
one quarter qcow2 copies), read by a pool refresh and listed as `vol-list` shows it
(names and paths; libvirt needs a call per volume for the path, as virsh makes them).
One JSON row per scenario and side, as compare.py reads them.

  /usr/bin/python3 benchmarks/dir_pool_bench.py --domus SOCKET URI DIR N BIG
  /usr/bin/python3 benchmarks/dir_pool_bench.py --libvirt URI DIR N BIG

DIR must not exist; it is made and removed again, as is the transient pool `bench-dir`
on it. The Domus side speaks the protocol of docs/protocol.md with pyzmq to URI, a
scheme whose pools the storage driver serves; the libvirt side uses python3-libvirt
(its storage driver behind qemu:///system).
"""
import json
import os
import shutil
import subprocess
import sys

from storage_bench import row, timed


def pool_xml(path):
    return ("<pool type='dir'><name>bench-dir</name><target><path>%s</path></target>"
            "</pool>" % path)


def raw_xml(i):
    return ("<volume><name>r%05d.img</name><capacity unit='M'>1</capacity></volume>" % i)


def qcow2_xml(i):
    return ("<volume><name>q%05d.qcow2</name><capacity unit='G'>1</capacity>"
            "<target><format type='qcow2'/></target></volume>" % i)


RAW = "dir pool: raw volume create (1 MiB, allocated), one at a time"
QCOW2 = "dir pool: qcow2 volume create (1 GiB, qemu-img), one at a time"
DELETE = "dir pool: volume delete, one at a time"
REFRESH = "dir pool: pool refresh of %d images"
LIST = "dir pool: vol-list of %d images, names and paths"


def fill(directory, big):
    """BIG images in DIR, made without either daemon."""
    seed = os.path.join(directory, ".seed.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", seed, "1G"], check=True)
    for i in range(big):
        path = os.path.join(directory, "img%05d" % i)
        if i % 4 == 3:
            shutil.copyfile(seed, path + ".qcow2")
        else:
            with open(path + ".raw", "wb") as f:
                f.truncate(1 << 20)
    os.unlink(seed)


def domus(socket, uri, directory, n, big):
    import zmq
    req = zmq.Context().socket(zmq.DEALER)
    req.connect("ipc://" + socket)
    ids = iter(range(1, 1 << 62))

    def call(proc, **args):
        req.send_multipart([b"", json.dumps({"v": 1, "id": next(ids), "proc": proc,
                                             "uri": uri, "args": args}).encode()])
        reply = json.loads(req.recv_multipart()[1])
        if "error" in reply:
            raise RuntimeError("%s: %s" % (proc, reply["error"]["message"]))
        return reply["result"]

    os.mkdir(directory)
    call("pool.create", xml=pool_xml(directory))
    try:
        row("domus", RAW, [timed(lambda: call("vol.create", pool="bench-dir",
                                              xml=raw_xml(i)))[0] for i in range(n)])
        row("domus", QCOW2, [timed(lambda: call("vol.create", pool="bench-dir",
                                                xml=qcow2_xml(i)))[0] for i in range(n)])
        names = ["r%05d.img" % i for i in range(n)] + ["q%05d.qcow2" % i for i in range(n)]
        row("domus", DELETE, [timed(lambda: call("vol.delete", pool="bench-dir",
                                                 vol=name))[0] for name in names])
        fill(directory, big)
        row("domus", REFRESH % big,
            [timed(lambda: call("pool.refresh", pool="bench-dir"))[0] for _ in range(5)])
        lists = []
        for _ in range(10):
            ms, out = timed(lambda: call("vol.list", pool="bench-dir"))
            assert len(out["volumes"]) == big
            lists.append(ms)
        row("domus", LIST % big, lists)
    finally:
        call("pool.destroy", pool="bench-dir")
        shutil.rmtree(directory)


def libvirt_side(uri, directory, n, big):
    import libvirt
    libvirt.registerErrorHandler(lambda *_: None, None)
    conn = libvirt.open(uri)
    os.mkdir(directory)
    pool = conn.storagePoolCreateXML(pool_xml(directory), 0)
    try:
        raws = [timed(lambda: pool.createXML(raw_xml(i), 0)) for i in range(n)]
        row("libvirt", RAW, [ms for ms, _ in raws])
        qcows = [timed(lambda: pool.createXML(qcow2_xml(i), 0)) for i in range(n)]
        row("libvirt", QCOW2, [ms for ms, _ in qcows])
        # The handles from the creates: one call per delete, as on Domus's side.
        row("libvirt", DELETE, [timed(lambda: vol.delete(0))[0] for _, vol in raws + qcows])
        fill(directory, big)
        row("libvirt", REFRESH % big, [timed(lambda: pool.refresh(0))[0] for _ in range(5)])
        lists = []
        for _ in range(10):
            ms, out = timed(lambda: [(v.name(), v.path()) for v in pool.listAllVolumes()])
            assert len(out) == big
            lists.append(ms)
        row("libvirt", LIST % big, lists)
    finally:
        pool.destroy()
        shutil.rmtree(directory)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--domus"] and len(args) == 6:
        domus(args[1], args[2], args[3], int(args[4]), int(args[5]))
    elif args[:1] == ["--libvirt"] and len(args) == 5:
        libvirt_side(args[1], args[2], int(args[3]), int(args[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
