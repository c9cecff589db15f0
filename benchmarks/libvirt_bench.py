#!/usr/bin/python3
"""libvirt's side of benchmarks/compare.sh: the scenarios of `rpc_bench --compare`,
through python3-libvirt (a thin binding over libvirt's C library), one process per client
so that clients really run at once, one request in flight each. Prints JSON lines.

usage: libvirt_bench.py URI REQUESTS
       libvirt_bench.py --scale URI DOMAINS LISTS
       libvirt_bench.py --durable QEMU-URI DEFINES CLIENTS
       libvirt_bench.py --durable-keep QEMU-URI DEFINES CLIENTS
       libvirt_bench.py --startup LIBVIRTD-CONF PID-FILE QEMU-URI
       libvirt_bench.py --remove QEMU-URI
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
import threading
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


def in_threads(window, work):
    """Runs work(j) for j in range(window) on `window` threads (one call in flight each,
    all on the caller's connection: libvirt's client multiplexes them on its socket) and
    returns their latency lists joined. One window runs on the calling thread itself."""
    if window == 1:
        return work(0)
    results = [None] * window

    def run(j):
        results[j] = work(j)
    threads = [threading.Thread(target=run, args=(j,)) for j in range(window)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [x for r in results for x in r]


def request_worker(uri, proc, n, window, ready, go, out):
    quiet()
    conn = libvirt.open(uri)
    dom = conn.lookupByName("test")
    call = (lambda: conn.lookupByName("test")) if proc == "domain.lookup" else dom.info
    for _ in range(20):
        call()
    ready.put(1)
    go.wait()

    def work(_j):
        lats = []
        for _ in range(n // window):
            t = time.perf_counter()
            call()
            lats.append((time.perf_counter() - t) * 1e6)
        return lats
    out.put(in_threads(window, work))
    conn.close()


def requests(uri, proc, clients, window, total):
    ready, out, go = mp.Queue(), mp.Queue(), mp.Event()
    procs = [mp.Process(target=request_worker,
                        args=(uri, proc, total // clients, window, ready, go, out))
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
    row("%s, %d in flight" % (proc, window), clients, lats, secs)


def step_worker(uri, k, clients, window, barrier, out):
    quiet()
    conn = libvirt.open(uri)
    names = ["step-%d" % i for i in range(k, DOMAINS, clients)]
    doms = {}
    lats = {s: [] for s in STEPS}

    def work(step, j):
        mine = []
        for name in names[j::window]:
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
            mine.append((time.perf_counter() - t) * 1e6)
        return mine
    for step in STEPS:
        barrier.wait()
        lats[step] = in_threads(window, lambda j, step=step: work(step, j))
        barrier.wait()
    out.put(lats)
    conn.close()


def steps(uri, clients, window):
    barrier, out = mp.Barrier(clients + 1), mp.Queue()
    procs = [mp.Process(target=step_worker, args=(uri, k, clients, window, barrier, out))
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
        row("%s (lifecycle step), %d in flight" % (step, window), clients, lats[step],
            secs[step])


def events(uri, subscribers, n):
    """One client starts and destroys a domain n times; `subscribers` connections with a
    lifecycle callback each (one event loop thread) record when each event arrives."""
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


def scale(uri, total, lists):
    """Defines domains until libvirt's test:///default holds `total` defined ones (the
    built-in 'test' among them), then times listAllDomains."""
    quiet()
    conn = libvirt.open(uri)
    # Counted, not listed: a list of more than 16,384 domains is refused (below).
    have = conn.numOfDomains() + conn.numOfDefinedDomains()
    for i in range(have, total):
        conn.defineXML("<domain type='test'><name>scale-%d</name><memory unit='MiB'>64</memory>"
                       "<os><type>hvm</type></os></domain>" % i)
    n = conn.numOfDomains() + conn.numOfDefinedDomains()
    row = {"side": "libvirt", "scenario": "domain.list, %d domains" % n, "clients": 1}
    lats = []
    try:
        for _ in range(lists):
            t = time.perf_counter()
            conn.listAllDomains(0)
            lats.append((time.perf_counter() - t) * 1e6)
        row["p50_us"] = percentile(lats, 0.5)
    except libvirt.libvirtError as e:
        # libvirt's RPC protocol caps one list at 16,384 domains (REMOTE_DOMAIN_LIST_MAX).
        row["note"] = "refused: " + str(e)
    print(json.dumps(row), flush=True)


# Scenario 4 runs on libvirt's QEMU driver, which writes every definition to
# /etc/libvirt/qemu/NAME.xml before defineXML returns (its test driver never persists).
# These names are the benchmark's own; whatever it defines, it undefines.
DURABLE_PREFIX = "domus-bench-"
QEMU_GUEST = ("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>"
              "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>")


def remove_benchmark_domains(conn):
    for d in conn.listAllDomains(0):
        if d.name().startswith(DURABLE_PREFIX):
            d.undefine()


def durable_worker(uri, k, n, barrier, out):
    quiet()
    conn = libvirt.open(uri)
    barrier.wait()
    lats = []
    for i in range(n):
        t = time.perf_counter()
        conn.defineXML(QEMU_GUEST % ("%s%s-%d" % (DURABLE_PREFIX, k, i)))
        lats.append((time.perf_counter() - t) * 1e6)
    barrier.wait()
    out.put(lats)
    conn.close()


def durable(uri, total, clients, keep=False):
    """`clients` processes define `total` inactive QEMU domains at once, each written to
    disk before its call returns; then every one is undefined again (untimed), unless
    `keep` (the start-up scenario restarts libvirtd with them)."""
    quiet()
    conn = libvirt.open(uri)
    if not keep:
        remove_benchmark_domains(conn)  # a run that was killed may have left some
        conn.defineXML(QEMU_GUEST % (DURABLE_PREFIX + "warm-up"))  # capabilities, caches
        remove_benchmark_domains(conn)
    barrier, out = mp.Barrier(clients + 1), mp.Queue()
    tag = "start-%d-" % len(conn.listAllDomains(0)) if keep else ""
    procs = [mp.Process(target=durable_worker,
                        args=(uri, tag + str(k), total // clients + (k < total % clients), barrier, out))
             for k in range(clients)]
    for p in procs:
        p.start()
    try:
        barrier.wait()
        start = time.perf_counter()
        barrier.wait()
        secs = time.perf_counter() - start
        lats = [x for _ in procs for x in out.get()]
        for p in procs:
            p.join()
        if not keep:
            row("domain.define, durable", clients, lats, secs)
    finally:
        if not keep:
            remove_benchmark_domains(conn)
        conn.close()


def startup(conf, pid_file, uri):
    """Starts libvirtd and times it from exec until its QEMU driver lists its domains
    (it loads every definition in /etc/libvirt/qemu first). Writes the daemon's pid to
    pid_file at once, so that the harness can stop it whatever happens here."""
    import subprocess
    quiet()
    t0 = time.perf_counter()
    daemon = subprocess.Popen(["/usr/sbin/libvirtd", "-f", conf, "--pid-file",
                               pid_file + ".libvirtd"])
    with open(pid_file, "w") as f:
        f.write("%d\n" % daemon.pid)
    deadline = t0 + 120
    while True:
        try:
            conn = libvirt.open(uri)
            n = len([d for d in conn.listAllDomains(0) if d.name().startswith(DURABLE_PREFIX)])
            break
        except libvirt.libvirtError:
            if time.perf_counter() > deadline or daemon.poll() is not None:
                raise
            time.sleep(0.002)
    ms = (time.perf_counter() - t0) * 1e3
    conn.close()
    print(json.dumps({"side": "libvirt", "scenario": "daemon start-up, %d persistent definitions"
                      % n, "clients": 1, "ms": ms}), flush=True)


def main():
    if sys.argv[1] == "--scale":
        return scale(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if sys.argv[1] == "--durable":
        return durable(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if sys.argv[1] == "--durable-keep":
        return durable(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), keep=True)
    if sys.argv[1] == "--startup":
        return startup(sys.argv[2], sys.argv[3], sys.argv[4])
    if sys.argv[1] == "--remove":
        quiet()
        return remove_benchmark_domains(libvirt.open(sys.argv[2]))
    uri, total = sys.argv[1], int(sys.argv[2])
    # libvirt wants its event loop registered before any connection is opened.
    libvirt.virEventRegisterDefaultImpl()
    for proc in ("domain.lookup", "domain.info"):
        for clients in (1, 4, 16):
            requests(uri, proc, clients, 1, total)
        for clients in (4, 16):
            requests(uri, proc, clients, 4, total)
    for clients in (1, 4, 16):
        steps(uri, clients, 1)
    for clients in (4, 16):
        steps(uri, clients, 4)
    # libvirt delivers events through its default event loop, run on a thread (started
    # only now: the processes above are forked).
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                     daemon=True).start()
    for subscribers in (1, 10):
        events(uri, subscribers, 2000)


if __name__ == "__main__":
    main()
