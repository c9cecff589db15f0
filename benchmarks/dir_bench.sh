#!/usr/bin/env bash
# The dir backend's file work without the daemon (plugins/dir/), in temporary
# directories:
#  - a scan of N images (default 10,000: a quarter each raw, qcow2 version 2, qcow2
#    version 3 and qcow2 with a backing file), the median of 5 rounds, against
#    `qemu-img info` on 200 of them, one process each, as a refresh without the probe
#    would run it;
#  - 1,000 raw volumes and 1,000 qcow2 volumes created, as vol-create-as will.
#   bash benchmarks/dir_bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
build=build-release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOMUS_ENABLE_TESTS=OFF > /dev/null
cmake --build "$build" -j 2 --target dir_bench > /dev/null
work=$(mktemp -d /tmp/domus-dir-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/seed" "$work/pool" "$work/made"
qemu-img create -q -f raw "$work/seed/raw" 1G
qemu-img create -q -f qcow2 -o compat=0.10 "$work/seed/v2" 1G
qemu-img create -q -f qcow2 -o compat=1.1 "$work/seed/v3" 1G
qemu-img create -q -f qcow2 -b "$work/seed/v3" -F qcow2 "$work/seed/top"
kinds=(raw v2 v3 top)
for i in $(seq 0 $((n - 1))); do
  k=${kinds[$((i % 4))]}
  cp --sparse=always "$work/seed/$k" "$work/pool/img$i.$k"
done
sync
"$build/bin/dir_bench" scan "$work/pool" 5
images=("$work/pool"/*)
t0=$(date +%s%N)
for f in "${images[@]:0:200}"; do
  qemu-img info --output=json "$f" > /dev/null
done
t1=$(date +%s%N)
echo "{\"scenario\": \"qemu-img info, one process per file\", \"files\": 200," \
  "\"ms\": $(((t1 - t0) / 1000000)), \"us_per_file\": $(((t1 - t0) / 200000))}"
"$build/bin/dir_bench" create "$work/made" 1000
