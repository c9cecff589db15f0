#!/usr/bin/python3
"""libvirt's side of benchmarks/compare.sh: the scenarios of `rpc_bench --compare`,
through python3-libvirt (a thin binding over libvirt's C library), one process per client
so that clients really run at once, one request in flight each. Prints JSON lines.

usage: libvirt_bench.py URI REQUESTS
  URI  test+unix:///default?socket=... Everything runs on libvirtd's shared in-memory
       test:///default (libvirt's test driver never persists). A node-file URI would not
       do: libvirtd gives every connection to a node file its own private instance, so
       clients would never share domains, and a subscriber would never see another
       connection's events. Domus runs the same steps on a shared node-file instance,
       which it never persists either.
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


def events(uri, subscribers, n):
    """One client starts and destroys a domain n times; `subscribers` connections with a
    lifecycle callback each (one event loop thread) record when each event arrives."""
    import threading
    quiet()
    name = "events-%d" % subscribers
    conn = libvirt.open(uri)
    dom = conn.defineXML("<domain type='test'><name>%s</name><memory unit='MiB'>64</memory>"
                         "<os><type>hvm</type></os></domain>" % name)
    got = [[] for _ in range(subscribers)]
    subs = []
    for k in range(subscribers):
        c = libvirt.open(uri)
        def callback(_conn, d, _event, _detail, _opaque, k=k):
            if d.name() == name:
                got[k].append(time.perf_counter())
        c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback, None)
        subs.append(c)
    sent = []
    start = time.perf_counter()
    for i in range(n):
        sent.append(time.perf_counter())
        if i % 2:
            dom.destroy()
        else:
            dom.create()
    # Wait, bounded, for the last events to arrive.
    deadline = time.perf_counter() + 10
    while any(len(g) < n for g in got) and time.perf_counter() < deadline:
        time.sleep(0.01)
    secs = time.perf_counter() - start
    lats = [(g[i] - sent[i]) * 1e6 for g in got for i in range(len(g))]
    received = sum(len(g) for g in got)
    print(json.dumps({"side": "libvirt", "scenario": "event, from call start to receipt",
                      "clients": subscribers, "p50_us": percentile(lats, 0.5),
                      "p99_us": percentile(lats, 0.99), "per_second": received / secs,
                      "lost": n * subscribers - received}), flush=True)
    for c in subs:
        c.close()
    dom.undefine()
    conn.close()


def scale(uri, total):
    """Defines domains until libvirt's test:///default holds `total` defined ones (the
    built-in 'test' among them), then times listAllDomains."""
    quiet()
    conn = libvirt.open(uri)
    have = len(conn.listAllDomains(0))
    for i in range(have, total):
        conn.defineXML("<domain type='test'><name>scale-%d</name><memory unit='MiB'>64</memory>"
                       "<os><type>hvm</type></os></domain>" % i)
    lats = []
    for _ in range(50):
        t = time.perf_counter()
        n = len(conn.listAllDomains(0))
        lats.append((time.perf_counter() - t) * 1e6)
    print(json.dumps({"side": "libvirt", "scenario": "domain.list, %d domains" % n,
                      "clients": 1, "p50_us": percentile(lats, 0.5)}), flush=True)


def main():
    if sys.argv[1] == "--scale":
        return scale(sys.argv[2], int(sys.argv[3]))
    uri, total = sys.argv[1], int(sys.argv[2])
    # libvirt wants its event loop registered before any connection is opened.
    libvirt.virEventRegisterDefaultImpl()
    for proc in ("domain.lookup", "domain.info"):
        for clients in (1, 4, 16):
            requests(uri, proc, clients, total)
    for clients in (1, 4, 16):
        steps(uri, clients)
    # libvirt delivers events through its default event loop, run on a thread (started
    # only now: the processes above are forked).
    import threading
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                     daemon=True).start()
    for subscribers in (1, 10):
        events(uri, subscribers, 2000)


if __name__ == "__main__":
    main()
