#!/usr/bin/python3
"""Reads the JSON lines of benchmarks/compare.sh and prints one table: per scenario and
clients, each side's median with its spread over the runs, and Domus / libvirt."""
import json
import statistics
import sys
from collections import OrderedDict


def main():
    runs = OrderedDict()
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            for metric, unit in (("ms", "ms"), ("p50_us", "p50 us"), ("p99_us", "p99 us"),
                                 ("per_second", "per s"), ("lost", "events lost"),
                                 ("rss_mib", "RSS MiB")):
                if metric == "p99_us" and "lost" not in r:
                    continue  # p99 is reported for events only
                if metric in r:
                    key = (r["scenario"], r["clients"], unit)
                    runs.setdefault(key, {"domus": [], "libvirt": []})[r["side"]].append(r[metric])

    def cell(values):
        if not values:
            return "n/a"
        m = statistics.median(values)
        return "%.0f (%.0f..%.0f)" % (m, min(values), max(values)) if m >= 100 else \
            "%.1f (%.1f..%.1f)" % (m, min(values), max(values))

    print("| scenario | clients | metric | Domus | libvirt | Domus / libvirt |")
    print("|---|---|---|---|---|---|")
    for (scenario, clients, unit), sides in runs.items():
        d, l = sides["domus"], sides["libvirt"]
        ratio = "%.2f" % (statistics.median(d) / statistics.median(l)) \
            if d and l and statistics.median(l) else "n/a"
        print("| %s | %d | %s | %s | %s | %s |" % (scenario, clients, unit, cell(d), cell(l), ratio))
    print()
    print("Times (ms, p50 us): lower is better. Rates (per s): higher is better. "
          "Median (min..max) over the runs.")


if __name__ == "__main__":
    main()
