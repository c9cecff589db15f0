#!/usr/bin/python3
"""Reads the JSON lines of benchmarks/compare.sh and prints two tables: per scenario and
clients, each side's median with its spread over the runs, Domus / libvirt, and the
stack's floor for that row with Domus / floor; then the floors themselves."""
import json
import re
import statistics
import sys
from collections import OrderedDict

METRICS = (("ms", "ms"), ("p50_us", "p50 us"), ("p99_us", "p99 us"),
           ("per_second", "per s"), ("lost", "events lost"), ("rss_mib", "RSS MiB"))
HOP = "floor: ZeroMQ + JSON + one actor hop, %s in flight"


def floor_of(scenario, clients, unit):
    """The floor row that bounds a Domus row, as (scenario, clients, unit), or None."""
    if scenario.startswith("domsh/virsh") and unit == "ms":
        return ("floor: CLI (exec, connect, one JSON request, exit)", 1, "ms")
    m = re.match(r"^domain\.(lookup|info), (\d+) in flight$", scenario) or \
        re.match(r"^\w+ \(lifecycle step\), (\d+) in flight$", scenario)
    if m and unit in ("p50 us", "per s"):
        return (HOP % m.groups()[-1], clients, unit)
    if scenario == "domain.define, durable" and unit == "per s":
        return ("floor: group commit of durable files", clients, unit)
    return None


def main():
    runs = OrderedDict()
    notes = {}  # (scenario, side): why a side has no figure
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            if "note" in r:
                notes[(r["scenario"], r["side"])] = r["note"]
                runs.setdefault((r["scenario"], r["clients"], "p50 us"),
                                {"domus": [], "libvirt": [], "floor": []})
            for metric, unit in METRICS:
                if metric == "p99_us" and "lost" not in r and r["side"] != "floor":
                    continue  # p99 is reported for events (and floors) only
                if metric in r:
                    key = (r["scenario"], r["clients"], unit)
                    sides = runs.setdefault(key, {"domus": [], "libvirt": [], "floor": []})
                    sides[r["side"]].append(r[metric])

    def cell(values):
        if not values:
            return "n/a"
        m = statistics.median(values)
        return "%.0f (%.0f..%.0f)" % (m, min(values), max(values)) if m >= 100 else \
            "%.1f (%.1f..%.1f)" % (m, min(values), max(values))

    def ratio(a, b):
        return "%.2f" % (statistics.median(a) / statistics.median(b)) \
            if a and b and statistics.median(b) else "n/a"

    print("| scenario | clients | metric | Domus | libvirt | Domus / libvirt | floor | "
          "Domus / floor |")
    print("|---|---|---|---|---|---|---|---|")
    for (scenario, clients, unit), sides in runs.items():
        if scenario.startswith("floor: "):
            continue
        d, l = sides["domus"], sides["libvirt"]
        fk = floor_of(scenario, clients, unit)
        f = runs[fk]["floor"] if fk in runs else []
        lcell = cell(l) if l or (scenario, "libvirt") not in notes else \
            "n/a: " + notes[(scenario, "libvirt")]
        print("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            scenario, clients, unit, cell(d), lcell, ratio(d, l), cell(f) if fk else "",
            ratio(d, f) if fk else ""))
    print()
    print("Times (ms, p50 us): lower is better. Rates (per s): higher is better. "
          "Median (min..max) over the runs. Floor: what the stack itself allows for that "
          "row, measured in the same run (table below).")
    print()
    print("| floor | clients | metric | figure |")
    print("|---|---|---|---|")
    for (scenario, clients, unit), sides in runs.items():
        if scenario.startswith("floor: "):
            print("| %s | %d | %s | %s |" % (scenario[7:], clients, unit, cell(sides["floor"])))


if __name__ == "__main__":
    main()
