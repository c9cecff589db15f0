#!/usr/bin/env bash
# A stream's throughput against its floor: 1 GiB (or MIB mebibytes) file to file through
# the daemon (stream_bench, the probe driver's echoing console) and over bare ZeroMQ with
# the same chunks and window, echoed by another process (floor_bench --mode stream, the
# floor) and by a thread (--mode stream-threads), ROUNDS times, interleaved.
#   bash benchmarks/stream.sh [MIB] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
rounds=${2:-3}
build=build-release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOMUS_ENABLE_TESTS=OFF > /dev/null
cmake --build "$build" -j 2 --target domusd stream_bench floor_bench domus_plugin_probe \
  domus_plugin_test > /dev/null
# In memory (tmpfs): a disk's writeback would time the disk, not the stream.
work=$(mktemp -d /dev/shm/domus-stream-XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c "$((mib << 20))" /dev/urandom > "$work/src"
mkdir -p "$work/plugins" "$work/root"
ln -s "$PWD/$build/plugins/test.so" "$PWD/$build/tests/plugins/probe.so" "$work/plugins/"
"$build/bin/domusd" --root "$work/root" --plugin-dir "$work/plugins" --log-level warning \
  2> "$work/domusd.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do
  [[ -S $work/root/run/domus/domus-sock ]] && break
  sleep 0.05
done
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, ${mib} MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  "$build/bin/stream_bench" --socket "$work/root/run/domus/domus-sock" \
    --uri probe:///bench --src "$work/src" --dst "$work/dst"
  cmp "$work/src" "$work/dst"
  for mode in stream stream-threads; do
    "$build/bin/floor_bench" --mode "$mode" --src "$work/src" --dst "$work/dst"
    cmp "$work/src" "$work/dst"
  done
done
