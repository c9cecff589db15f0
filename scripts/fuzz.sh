#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and UBSan in
# build-fuzz/, and runs each for SECONDS (default 60) on its seed corpus
# (tests/fuzz/corpus/TARGET, copied to build-fuzz/corpus/TARGET, where new inputs go).
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     targets: request domain_xml uri node_file
#                                                  storage_xml image_probe
#   JOBS=2 bash scripts/fuzz.sh 3600               an hour each, two at a time
#
# A crash stops its target, leaves the input in build-fuzz/artifacts/ and makes the
# script fail; `build-fuzz/bin/fuzz_TARGET ARTIFACT` replays it. Every crash found
# becomes a regression test (tests/unit/fuzz_regressions_test.cpp reads
# tests/fuzz/regressions/). The executions and findings are recorded in
# docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(request domain_xml uri node_file storage_xml image_probe)
jobs=${JOBS:-1}
build=build-fuzz

flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -g -O1"
mkdir -p "$build"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DDOMUS_ENABLE_TESTS=OFF -DDOMUS_ENABLE_BENCHMARKS=OFF -DDOMUS_ENABLE_FUZZERS=ON \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j 2 --target "${targets[@]/#/fuzz_}"

mkdir -p "$build/artifacts"
run_one() {
  local t=$1
  local corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2> /dev/null || true
  local extra=()
  # libvirt's own domain files, when they are beside the checkout: read, never written.
  if [[ $t == domain_xml && -d ../shared/conformance/libvirt/domain ]]; then
    extra+=(../shared/conformance/libvirt/domain)
  fi
  if [[ $t == storage_xml && -d ../shared/conformance/libvirt/storage ]]; then
    extra+=(../shared/conformance/libvirt/storage)
  fi
  local dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict=tests/fuzz/$t.dict)
  echo "fuzz: $t for ${seconds}s"
  local rc=0
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$build/bin/fuzz_$t" "$corpus" "${extra[@]}" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 \
    > "$build/fuzz_$t.log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" "$build/fuzz_$t.log" |
    sed "s/^/fuzz: $t: /" || true
  if ((rc != 0)); then
    echo "fuzz: $t FAILED (rc $rc); the end of its log:" >&2
    tail -40 "$build/fuzz_$t.log" >&2
    return 1
  fi
}
failed=0
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
exit $failed
