#!/usr/bin/python3
"""libvirt's side of benchmarks/compare.sh: the scenarios of `rpc_bench --compare`,
through python3-libvirt (a thin binding over libvirt's C library), one process per client
so that clients really run at once, one request in flight each. Prints JSON lines.

usage: libvirt_bench.py URI NODE_URI REQUESTS
  URI       test+unix:///default?socket=... (requests on the built-in domain 'test')
  NODE_URI  test+unix:///PATH/node.xml?socket=... (lifecycle steps, never persisted)
"""
import json
import multiprocessing as mp
import sys
import time

import libvirt

STEPS = ["define", "start", "suspend", "resume", "destroy", "undefine"]
DOMAINS = 1000


def quiet():
    libvirt.registerErrorHandler(lambda *args: None, None)


def percentile(values, p):
    values = sorted(values)
    return values[int(p * (len(values) - 1))] if values else 0.0


def row(scenario, clients, lats, secs):
    print(json.dumps({"side": "libvirt", "scenario": scenario, "clients": clients,
                      "p50_us": percentile(lats, 0.5), "p99_us": percentile(lats, 0.99),
                      "per_second": len(lats) / secs}), flush=True)


def request_worker(uri, proc, n, ready, go, out):
    quiet()
    conn = libvirt.open(uri)
    dom = conn.lookupByName("test")
    call = (lambda: conn.lookupByName("test")) if proc == "domain.lookup" else dom.info
    for _ in range(20):
        call()
    ready.put(1)
    go.wait()
    lats = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        lats.append((time.perf_counter() - t) * 1e6)
    out.put(lats)
    conn.close()


def requests(uri, proc, clients, total):
    ready, out, go = mp.Queue(), mp.Queue(), mp.Event()
    procs = [mp.Process(target=request_worker, args=(uri, proc, total // clients, ready, go, out))
             for _ in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    start = time.perf_counter()
    go.set()
    lats = []
    for _ in procs:
        lats += out.get()
    secs = time.perf_counter() - start
    for p in procs:
        p.join()
    row(proc + ", 1 in flight", clients, lats, secs)


def step_worker(uri, k, clients, barrier, out):
    quiet()
    conn = libvirt.open(uri)
    names = ["step-%d" % i for i in range(k, DOMAINS, clients)]
    doms = {}
    lats = {s: [] for s in STEPS}
    for step in STEPS:
        barrier.wait()
        for name in names:
            t = time.perf_counter()
            if step == "define":
                doms[name] = conn.defineXML(
                    "<domain type='test'><name>%s</name><memory unit='MiB'>64</memory>"
                    "<vcpu>1</vcpu><os><type>hvm</type></os></domain>" % name)
            elif step == "start":
                doms[name].create()
            elif step == "suspend":
                doms[name].suspend()
            elif step == "resume":
                doms[name].resume()
            elif step == "destroy":
                doms[name].destroy()
            else:
                doms[name].undefine()
            lats[step].append((time.perf_counter() - t) * 1e6)
        barrier.wait()
    out.put(lats)
    conn.close()


def steps(uri, clients):
    barrier, out = mp.Barrier(clients + 1), mp.Queue()
    procs = [mp.Process(target=step_worker, args=(uri, k, clients, barrier, out))
             for k in range(clients)]
    for p in procs:
        p.start()
    secs = {}
    for step in STEPS:
        barrier.wait()
        start = time.perf_counter()
        barrier.wait()
        secs[step] = time.perf_counter() - start
    lats = {s: [] for s in STEPS}
    for _ in procs:
        for s, v in out.get().items():
            lats[s] += v
    for p in procs:
        p.join()
    for step in STEPS:
        row(step + " (lifecycle step)", clients, lats[step], secs[step])


def main():
    uri, node_uri, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for proc in ("domain.lookup", "domain.info"):
        for clients in (1, 4, 16):
            requests(uri, proc, clients, total)
    for clients in (1, 4, 16):
        steps(node_uri, clients)


if __name__ == "__main__":
    main()
