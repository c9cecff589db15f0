#!/usr/bin/env bash
# Builds Domus in release mode, starts a private domusd for each scheduler policy, runs
# rpc_bench through the rw socket and prints the tables (docs/benchmarks.md records them).
#   bash benchmarks/run.sh [REQUESTS] [CYCLES]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20000}
cycles=${2:-2000}
build=build-release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOMUS_ENABLE_TESTS=OFF > /dev/null
cmake --build "$build" -j 2 > /dev/null

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for policy in sharing stealing; do
  root=$(mktemp -d /tmp/domus-bench-XXXXXX)
  mkdir -p "$root/etc/domus"
  # 64 requests in flight per client (the pipelined rows), twice the default limit.
  printf 'scheduler_policy = "%s"\nmax_client_requests = 64\nreply_queue_limit = 128\n' \
    "$policy" > "$root/etc/domus/domusd.conf"
  "$build/bin/domusd" --root "$root" --log-level warning 2> "$root/domusd.log" &
  pid=$!
  # Wait, bounded, until the daemon answers.
  for _ in $(seq 1 200); do
    if "$build/bin/domsh" -q -c "test:///default?socket=$root/run/domus/domus-sock" \
         --connect-timeout 1 uri > /dev/null 2>&1; then
      break
    fi
    sleep 0.05
  done
  echo
  echo "## scheduler_policy = \"$policy\""
  echo
  # Lifecycle cycles on a node-file instance, never persisted (as libvirt's test driver):
  # they measure the runtime; the persistence section below measures durability.
  echo "<node/>" > "$root/node.xml"
  "$build/bin/rpc_bench" --socket "$root/run/domus/domus-sock" --requests "$requests" \
    --cycles "$cycles" --cycle-uri "test://$root/node.xml"
  if [[ $policy == sharing ]]; then
    # Whole processes, 50 invocations each: domsh through this daemon, virsh on libvirt's
    # in-process mock (no daemon at all: virsh's cheapest case).
    uri="test:///default?socket=$root/run/domus/domus-sock"
    echo
    echo "| command | domsh ms | virsh ms (in-process test:///default) |"
    echo "|---|---|---|"
    for cmd in "list --all" "dominfo test" "domstate test"; do
      t0=$(date +%s%N)
      for _ in $(seq 50); do "$build/bin/domsh" -c "$uri" $cmd > /dev/null; done
      t1=$(date +%s%N)
      for _ in $(seq 50); do virsh -c test:///default $cmd > /dev/null; done
      t2=$(date +%s%N)
      printf '| %s | %.1f | %.1f |\n' "$cmd" "$(echo "($t1 - $t0) / 50000000" | bc -l)" \
        "$(echo "($t2 - $t1) / 50000000" | bc -l)"
    done
  fi
  kill -TERM "$pid"
  wait "$pid" || true
  rm -rf "$root"
done

# Persistence: durable defines with 1 and 16 clients, then the start-up time of a daemon
# that restores 1,000 and 10,000 definitions.
root=$(mktemp -d /tmp/domus-bench-XXXXXX)
sock="$root/run/domus/domus-sock"
source benchmarks/start_timed.sh
start_daemon() {
  start_domusd "$build" "$root" "$root/domusd.log"
  pid=$started_pid
  wait_answering "$build" "$root"
}
echo
echo "## Persistence (test:///default, definitions written with fsync discipline)"
echo
echo "| scenario | clients | p50 us | p99 us | per second |"
echo "|---|---|---|---|---|"
start_daemon
"$build/bin/rpc_bench" --socket "$sock" --defines 1000 --clients 1 --prefix one-
"$build/bin/rpc_bench" --socket "$sock" --defines 9000 --clients 16 --prefix many-
kill -TERM "$pid"; wait "$pid" || true
echo
echo "| definitions on disk | start-up until the first lookup answers |"
echo "|---|---|"
start_daemon
echo "| 10,001 | ${started_ms} ms |"
kill -TERM "$pid"; wait "$pid" || true
find "$root/etc/domus/test" -name 'many-*' -delete
start_daemon
echo "| 1,001 | ${started_ms} ms |"
kill -TERM "$pid"; wait "$pid" || true
rm -rf "$root"

# Large definitions: the largest the default limits accept (max_xml_bytes, 1 MiB), half
# and a quarter of it, each defined while another connection's lookups are timed.
root=$(mktemp -d /tmp/domus-bench-XXXXXX)
sock="$root/run/domus/domus-sock"
echo
echo "## Large definitions (the default limits)"
echo
start_daemon
"$build/bin/rpc_bench" --socket "$sock" --large-defines 1048576
kill -TERM "$pid"; wait "$pid" || true
rm -rf "$root"

# Micro-benchmarks: the domain XML path over libvirt's conformance domains, and the codec.
echo
echo "## Micro-benchmarks (one core, build-release/bin/micro_bench)"
echo
echo "| benchmark | time per item | items per second |"
echo "|---|---|---|"
"$build/bin/micro_bench" --benchmark_min_time=0.3 2>&1 | grep -E "^(codec|domain|actor)" |
  awk '{ips = ""; for (i = 1; i <= NF; i++) if ($i ~ /^items_per_second=/) ips = substr($i, 18);
        printf "| %s | %.1f us | %s |\n", $1, $2 / 1000, ips}'
