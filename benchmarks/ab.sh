#!/usr/bin/env bash
# A/B of Domus against an earlier commit, in one window: builds OLD (any git revision) in
# build-ab-old/ from a detached worktree in build-ab-old-src/ (kept for the next run) and
# the working tree in build-release/, both Release without tests, then runs rpc_bench
# against a fresh daemon of each, alternating A B A B ... ROUNDS times, and prints each row's median and range on both sides. Figures
# move by tens of percent between windows on a shared machine; alternating in one window
# is what can show a cost. A refactor passes when no row's median is more than 5% worse
# with ranges that do not overlap (docs/benchmarks.md records the run).
#
#   bash benchmarks/ab.sh OLD [ROUNDS] [REQUESTS] [CYCLES]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(git rev-parse --verify "${1:?usage: bash benchmarks/ab.sh OLD [ROUNDS] [REQUESTS] [CYCLES]}^{commit}")
rounds=${2:-3}
requests=${3:-20000}
cycles=${4:-2000}
here=$(pwd)
out=$(mktemp -d /tmp/domus-ab-XXXXXX)
src="$here/build-ab-old-src"

if [[ -d $src ]]; then
  git -C "$src" checkout -q --detach "$old"
else
  git worktree add --detach -q "$src" "$old"
fi
for side in old new; do
  if [[ $side == old ]]; then s=$src b="$here/build-ab-old"; else s=$here b="$here/build-release"; fi
  cmake -S "$s" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOMUS_ENABLE_TESTS=OFF \
    > /dev/null
  cmake --build "$b" -j 2 > /dev/null
done

source benchmarks/start_timed.sh
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), A = $(git rev-parse --short "$old"), B = the working tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', changed')), $rounds rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    if [[ $side == old ]]; then build="$here/build-ab-old"; else build="$here/build-release"; fi
    root=$(mktemp -d /tmp/domus-ab-root-XXXXXX)
    mkdir -p "$root/etc/domus"
    # 64 requests in flight per client (the pipelined rows), twice the default limit; a
    # commit from before the limits has none and refuses the settings.
    printf 'max_client_requests = 64\nreply_queue_limit = 128\n' > "$root/etc/domus/domusd.conf"
    if [[ $side == old ]]; then tree=$src; else tree=$here; fi
    if ! grep -q max_client_requests "$tree/conf/domusd.conf"; then
      : > "$root/etc/domus/domusd.conf"
    fi
    start_domusd "$build" "$root" "$root/domusd.log"
    pid=$started_pid
    # Bounded, and a daemon that exits is not waited for.
    for _ in $(seq 1 400); do
      kill -0 "$pid" 2> /dev/null || { cat "$root/domusd.log" >&2; exit 1; }
      timeout 5 "$build/bin/cli_floor" "$root/run/domus/domus-sock" test:///default \
        domain.lookup '{"domain":"test"}' 2> /dev/null | grep -q '"ok":true' && break
    done
    echo "<node/>" > "$root/node.xml"
    "$build/bin/rpc_bench" --socket "$root/run/domus/domus-sock" --requests "$requests" \
      --cycles "$cycles" --cycle-uri "test://$root/node.xml" > "$out/$side-$round.md"
    kill -TERM "$pid"
    wait "$pid" || true
    rm -rf "$root"
    echo "round $round: $side done" >&2
  done
done
/usr/bin/python3 - "$out" "$rounds" << 'PY'
import statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def rows(path):
    r = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 5 and cells[4].isdigit():
            r[cells[0] + ', ' + cells[1] + ' client(s)'] = (float(cells[2]), float(cells[4]))
    return r
runs = {side: [rows(f"{out}/{side}-{i}.md") for i in range(1, rounds + 1)] for side in ("old", "new")}
print("\n| row | per second, A: median (range) | B: median (range) | B/A | p50 us, A | B | verdict |")
print("|---|---|---|---|---|---|---|")
worse = 0
for key in runs["old"][0]:
    a = [r[key][1] for r in runs["old"]]; b = [r[key][1] for r in runs["new"]]
    pa = [r[key][0] for r in runs["old"]]; pb = [r[key][0] for r in runs["new"]]
    ma, mb = statistics.median(a), statistics.median(b)
    bad = mb < 0.95 * ma and max(b) < min(a)
    worse += bad
    print(f"| {key} | {ma:.0f} ({min(a):.0f}-{max(a):.0f}) | {mb:.0f} ({min(b):.0f}-{max(b):.0f}) "
          f"| {mb / ma:.2f} | {statistics.median(pa):.0f} | {statistics.median(pb):.0f} "
          f"| {'WORSE' if bad else 'ok'} |")
print(f"\n{worse} row(s) more than 5% worse with ranges apart")
sys.exit(1 if worse else 0)
PY
