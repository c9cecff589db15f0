#!/usr/bin/python3
"""Storage pools and volumes, Domus and libvirt side by side on their mock drivers: the
pool lifecycle (define, start, destroy, undefine), creating
and deleting N volumes one request at a time, and listing a pool of N volumes as
`vol-list` shows it (names and paths; libvirt needs a call per volume for the path, as
virsh makes them). One JSON row per scenario and side, as compare.py reads them.

  /usr/bin/python3 benchmarks/storage_bench.py --domus SOCKET N [URI]
  /usr/bin/python3 benchmarks/storage_bench.py --libvirt URI N

The Domus side speaks the protocol of docs/protocol.md with pyzmq, to URI (by default
test:///default, whose pools are kept on disk; a node-file instance, test:///PATH.xml,
keeps them in memory as libvirt's mock does); the libvirt side uses python3-libvirt.
The pool the scenarios make is removed again.
"""
import json
import statistics
import sys
import time


def row(side, scenario, lats_ms):
    lats = sorted(lats_ms)
    print(json.dumps({"side": side, "scenario": scenario, "clients": 1,
                      "requests": len(lats),
                      "p50_us": round(statistics.median(lats) * 1000.0, 1),
                      "p99_us": round(lats[min(len(lats) - 1, int(len(lats) * 0.99))] *
                                      1000.0, 1)}))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000.0, out


LIFECYCLE = "pool %s, one at a time (in memory)"
# Domus's test:///default keeps its pools on disk (define and undefine are durable
# writes, start and destroy write a status file); libvirt's mock keeps nothing.
DURABLE = "pool %s, one at a time (Domus: on disk; libvirt's mock: in memory)"

POOL = ("<pool type='dir'><name>bench-pool</name>"
        "<target><path>/bench-pool</path></target></pool>")


def volume(i):
    return ("<volume><name>v%05d.img</name><capacity unit='M'>1</capacity>"
            "</volume>" % i)


def domus(socket, n, uri):
    import zmq
    req = zmq.Context().socket(zmq.DEALER)
    req.connect("ipc://" + socket)
    ids = iter(range(1, 1 << 62))

    def call(proc, **args):
        req.send_multipart([b"", json.dumps({"v": 1, "id": next(ids), "proc": proc,
                                             "uri": uri,
                                             "args": args}).encode()])
        reply = json.loads(req.recv_multipart()[1])
        if "error" in reply:
            raise RuntimeError("%s: %s" % (proc, reply["error"]["message"]))
        return reply["result"]

    lifecycle = {"define": [], "start": [], "destroy": [], "undefine": []}
    for _ in range(100):
        lifecycle["define"].append(timed(lambda: call("pool.define", xml=POOL))[0])
        for op in ("start", "destroy", "undefine"):
            lifecycle[op].append(timed(lambda: call("pool." + op, pool="bench-pool"))[0])
    for op, lats in lifecycle.items():
        row("domus", (LIFECYCLE if uri != "test:///default" else DURABLE) % op, lats)
    call("pool.create", xml=POOL)
    try:
        creates = [timed(lambda: call("vol.create", pool="bench-pool",
                                      xml=volume(i)))[0] for i in range(n)]
        row("domus", "volume create, one at a time (in memory)", creates)
        lists = []
        for _ in range(20):
            ms, out = timed(lambda: call("vol.list", pool="bench-pool"))
            assert len(out["volumes"]) == n
            lists.append(ms)
        row("domus", "vol-list of %d volumes, names and paths (in memory)" % n, lists)
        refreshes = [timed(lambda: call("pool.refresh", pool="bench-pool"))[0]
                     for _ in range(20)]
        row("domus", "pool refresh of %d volumes (in memory)" % n, refreshes)
        deletes = [timed(lambda: call("vol.delete", pool="bench-pool",
                                      vol="v%05d.img" % i))[0] for i in range(n)]
        row("domus", "volume delete, one at a time (in memory)", deletes)
    finally:
        call("pool.destroy", pool="bench-pool")


def libvirt_side(uri, n):
    import libvirt
    libvirt.registerErrorHandler(lambda *_: None, None)
    conn = libvirt.open(uri)
    lifecycle = {"define": [], "start": [], "destroy": [], "undefine": []}
    for _ in range(100):
        ms, pool = timed(lambda: conn.storagePoolDefineXML(POOL, 0))
        lifecycle["define"].append(ms)
        lifecycle["start"].append(timed(lambda: pool.create(0))[0])
        lifecycle["destroy"].append(timed(lambda: pool.destroy())[0])
        lifecycle["undefine"].append(timed(lambda: pool.undefine())[0])
    for op, lats in lifecycle.items():
        row("libvirt", LIFECYCLE % op, lats)
    pool = conn.storagePoolCreateXML(POOL, 0)
    try:
        made = [timed(lambda: pool.createXML(volume(i), 0)) for i in range(n)]
        row("libvirt", "volume create, one at a time (in memory)", [ms for ms, _ in made])
        lists = []
        for _ in range(20):
            ms, out = timed(lambda: [(v.name(), v.path()) for v in pool.listAllVolumes()])
            assert len(out) == n
            lists.append(ms)
        row("libvirt", "vol-list of %d volumes, names and paths (in memory)" % n, lists)
        refreshes = [timed(lambda: pool.refresh(0))[0] for _ in range(20)]
        row("libvirt", "pool refresh of %d volumes (in memory)" % n, refreshes)
        # The handles from the creates: one call per delete, as on Domus's side.
        deletes = [timed(lambda: vol.delete(0))[0] for _, vol in made]
        row("libvirt", "volume delete, one at a time (in memory)", deletes)
    finally:
        pool.destroy()


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[1] not in ("--domus", "--libvirt"):
        sys.exit(__doc__)
    n = int(sys.argv[3])
    if sys.argv[1] == "--domus":
        domus(sys.argv[2], n, sys.argv[4] if len(sys.argv) == 5 else "test:///default")
    else:
        libvirt_side(sys.argv[2], n)


if __name__ == "__main__":
    main()
