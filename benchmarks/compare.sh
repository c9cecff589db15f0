#!/usr/bin/env bash
# Domus and libvirt side by side, in one run, on this machine: a private domusd and a
# private libvirtd (Debian's libvirt 9.0, installed if missing), the same scenarios on
# both, repeated, and the stack's own floors (ZeroMQ, JSON, one actor hop, a minimal
# CLI, group commit) measured in the same run; one table with each side's median and
# spread, Domus / libvirt, and Domus / floor.
#   bash benchmarks/compare.sh [RUNS] [REQUESTS] [PARTS]
# PARTS: all (the default) or a comma-separated list of requests (scenarios 1-5 and 8,
# RUNS times), scale and startup (6), qemu (7), dirpools (9), transfers (10).
# Scenarios 1-6 of the benchmarks issue (docs/benchmarks.md lists them), 7, real QEMU
# (Domus's QEMU driver, libvirt's, and QEMU alone), 8, storage pools and volumes on the
# mocks, 9, real dir pools (Domus's storage driver and libvirt's), and 10, volume upload
# and download of 1 GiB (domsh and virsh, with the stream's floor and cp beside them).
# libvirt's QEMU driver writes to the host's /etc/libvirt/qemu: only domus-bench-*
# domains, all removed again. Everything started here is stopped by pid when it ends.
# docs/benchmarks.md records the latest table.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
requests=${2:-4000}
parts=${3:-all}
want() { [ "$parts" = all ] || [[ ",$parts," == *",$1,"* ]]; }
build=build-release

if ! [ -x /usr/sbin/libvirtd ] || ! [ -x /usr/bin/qemu-system-x86_64 ] ||
  ! /usr/bin/python3 -c 'import libvirt' 2> /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    libvirt-daemon libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 \
    python3-libvirt > /dev/null
fi
# libvirtd's QEMU driver does not start without its user and group, which
# libvirt-daemon-system would create (with polkit and services this harness does not need).
getent group libvirt-qemu > /dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu > /dev/null ||
  useradd --system --gid libvirt-qemu --no-create-home --home-dir /var/lib/libvirt \
    --shell /usr/sbin/nologin libvirt-qemu
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOMUS_ENABLE_TESTS=OFF > /dev/null
cmake --build "$build" -j 2 > /dev/null

work=$(mktemp -d /tmp/domus-compare-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  # Whatever a killed run left of its own QEMU definitions, once libvirtd is gone.
  for p in "${pids[@]}"; do
    for _ in $(seq 1 200); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
  done
  rm -f /etc/libvirt/qemu/domus-bench-*.xml
  # A run that failed half-way keeps what it measured.
  if [ "$finished" != 1 ] && [ -s "$work/rows.jsonl" ]; then
    cp "$work/rows.jsonl" /tmp/domus-compare-rows.jsonl
    echo "compare.sh did not finish; its rows so far: /tmp/domus-compare-rows.jsonl" \
      "(benchmarks/compare.py prints them)" >&2
  fi
  rm -rf "$work"
}
finished=0
trap cleanup EXIT
echo "<node/>" > "$work/node.xml"

# Domus, on a private tree; 64 requests in flight per client (the pipelined rows), twice
# the default limit.
mkdir -p "$work/domus/etc/domus"
printf 'max_client_requests = 64\nreply_queue_limit = 128\n' > "$work/domus/etc/domus/domusd.conf"
# Its plugins: the bundled ones, and probe10 (the probe driver built against ABI 1.0,
# which keeps no pools) as the hypervisor whose pools the storage driver serves in
# scenario 9, standing in for the QEMU driver that has not landed.
mkdir -p "$work/plugins"
ln -s "$PWD/$build/plugins/"*.so "$PWD/$build/tests/plugins/probe10.so" "$work/plugins/"
"$build/bin/domusd" --root "$work/domus" --plugin-dir "$work/plugins" --log-level warning \
  2> "$work/domusd.log" &
pids+=($!)
dsock="$work/domus/run/domus/domus-sock"
duri="test:///default?socket=$dsock"

# libvirt, as ../shared/libvirt-anchor.md ran it: its own configuration and sockets, no
# TCP, no authentication on the unix sockets.
mkdir -p "$work/libvirt/sock"
cat > "$work/libvirt/libvirtd.conf" << EOF
listen_tls = 0
listen_tcp = 0
unix_sock_dir = "$work/libvirt/sock"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$work/libvirt/libvirtd.log"
EOF
# libvirt's QEMU driver logs a guest's output through virtlogd (qemu.conf's default).
if want qemu && ! pgrep -x virtlogd > /dev/null; then
  /usr/sbin/virtlogd &
  pids+=($!)
fi
# Under a reaper of its own: libvirtd double-forks QEMU, and this machine's PID 1 may
# never reap the orphans it waits for (benchmarks/reaper.py). Domus keeps QEMU as its
# own child and reaps it itself; both sides' destroys include the reaping.
/usr/bin/python3 benchmarks/reaper.py /usr/sbin/libvirtd -f "$work/libvirt/libvirtd.conf" \
  --pid-file "$work/libvirt/libvirtd.pid" &
pids+=($!)
lsock="$work/libvirt/sock/libvirt-sock"
luri="test+unix:///default?socket=$lsock"
lqemu="qemu+unix:///system?socket=$lsock"

# Both answer (bounded wait).
for _ in $(seq 1 400); do
  if "$build/bin/domsh" -q -c "$duri" --connect-timeout 1 uri > /dev/null 2>&1 &&
    virsh -q -c "$luri" uri > /dev/null 2>&1; then
    break
  fi
  sleep 0.05
done

rows="$work/rows.jsonl"
ms_row() { # side scenario ms
  printf '{"side":"%s","scenario":"%s","clients":1,"ms":%s}\n' "$1" "$2" "$3" >> "$rows"
}
cli_row() { # side command ms
  ms_row "$1" "$2 (whole process)" "$3"
}
# The size of a definition as Domus persists it, for the group-commit floor.
echo "<domain type='test'><name>size-probe</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>" > "$work/probe.xml"
"$build/bin/domsh" -q -c "$duri" define "$work/probe.xml" > /dev/null
def_size=$(stat -c %s "$work/domus/etc/domus/test/size-probe.xml")
"$build/bin/domsh" -q -c "$duri" undefine size-probe > /dev/null
mkdir -p "$work/floor"
for run in $(want requests && seq 1 "$runs"); do
  echo "run $run of $runs" >&2
  # 1. The shells as whole processes, 50 invocations each.
  for cmd in "list --all" "dominfo test" "domstate test"; do
    t0=$(date +%s%N)
    for _ in $(seq 50); do "$build/bin/domsh" -c "$duri" $cmd > /dev/null; done
    t1=$(date +%s%N)
    for _ in $(seq 50); do virsh -c "$luri" $cmd > /dev/null; done
    t2=$(date +%s%N)
    cli_row domus "domsh/virsh $cmd" "$(echo "($t1 - $t0) / 50000000" | bc -l)"
    cli_row libvirt "domsh/virsh $cmd" "$(echo "($t2 - $t1) / 50000000" | bc -l)"
  done
  # Its floor: exec, connect, one JSON request, print, exit (libzmq alone).
  t0=$(date +%s%N)
  for _ in $(seq 50); do "$build/bin/cli_floor" "$dsock" test:///default domain.list > /dev/null; done
  t1=$(date +%s%N)
  ms_row floor "floor: CLI (exec, connect, one JSON request, exit)" \
    "$(echo "($t1 - $t0) / 50000000" | bc -l)"
  # The request floors: ZeroMQ, + JSON, + one actor hop (the daemon's scheduler policy).
  for mode in echo json hop; do
    "$build/bin/floor_bench" --mode "$mode" --clients 1 --window 1 --requests "$requests" >> "$rows"
  done
  for clients in 4 16; do
    for window in 1 4; do
      "$build/bin/floor_bench" --mode hop --clients "$clients" --window "$window" \
        --requests "$requests" >> "$rows"
    done
  done
  # 4. Durable defines: Domus's persistent test:///default, libvirt's QEMU driver (its
  # test driver never writes), and the group-commit floor writing files of the same size.
  for clients in 1 16; do
    n=$((clients == 1 ? 500 : 2000))
    "$build/bin/rpc_bench" --socket "$dsock" --defines "$n" --clients "$clients" \
      --prefix "durable-$run-" --then-undefine 1 --json 1 >> "$rows"
    /usr/bin/python3 benchmarks/libvirt_bench.py --durable "$lqemu" "$n" "$clients" >> "$rows"
    "$build/bin/floor_bench" --mode commit --clients "$clients" --files "$n" \
      --size "$def_size" --dir "$work/floor" >> "$rows"
  done
  # 2, 3 and 5. Requests with 1, 4 and 16 clients; lifecycle steps of 1,000 domains;
  # events to 1 and 10 subscribers. In memory on both sides: Domus on a shared node-file
  # instance (never persisted), libvirt on its shared test:///default (its test driver
  # never persists; libvirtd gives each connection to a node file a private instance).
  "$build/bin/rpc_bench" --socket "$dsock" --requests "$requests" --compare 1 \
    --cycle-uri "test://$work/node.xml" >> "$rows"
  /usr/bin/python3 benchmarks/libvirt_bench.py "$luri" "$requests" >> "$rows"
  # 8. Storage pools and volumes on the mocks, in memory on both sides (Domus on the
  # node-file instance): the pool lifecycle, 1,000 volumes made, listed, refreshed and
  # deleted.
  /usr/bin/python3 benchmarks/storage_bench.py --domus "$dsock" 1000 "test://$work/node.xml" \
    >> "$rows"
  /usr/bin/python3 benchmarks/storage_bench.py --libvirt "$luri" 1000 >> "$rows"
done

# 9. Real dir pools, once: 1,000 raw and 1,000 qcow2 volumes created and deleted, a
# directory of 10,000 images refreshed and listed; Domus's storage driver (for
# probe10:///bench) and libvirt's (behind qemu:///system), each on a directory of its own.
if want dirpools; then
  echo "dir pools" >&2
  /usr/bin/python3 benchmarks/dir_pool_bench.py --domus "$dsock" probe10:///bench \
    "$work/dirpool-domus" 1000 10000 >> "$rows"
  /usr/bin/python3 benchmarks/dir_pool_bench.py --libvirt "$lqemu" "$work/dirpool-libvirt" \
    1000 10000 >> "$rows"
fi

# 10. Volume transfers, RUNS rounds interleaved: 1 GiB of random bytes uploaded into a
# volume and downloaded back (whole processes: domsh vol-upload and vol-download, virsh
# the same), each side on a pool of its own in memory (tmpfs: the disk is not what is
# timed, and fsync costs nothing there); the same bytes file to file over bare ZeroMQ
# with the stream's chunks and window (floor_bench --mode stream, the floor), and cp.
if want transfers; then
  echo "volume transfers" >&2
  xfer=$(mktemp -d /dev/shm/domus-xfer-XXXXXX)
  head -c $((1 << 30)) /dev/urandom > "$xfer/src"
  mkdir "$xfer/domus" "$xfer/libvirt"
  dx="probe10:///bench?socket=$dsock"
  "$build/bin/domsh" -q -c "$dx" "pool-create-as xfer dir --target $xfer/domus; vol-create-as xfer v 0" > /dev/null
  virsh -q -c "$lqemu" "pool-create-as xfer-libvirt dir --target $xfer/libvirt; vol-create-as xfer-libvirt v 0" > /dev/null
  timed() { # side scenario command...
    local side=$1 scenario=$2 t0 t1
    shift 2
    t0=$(date +%s%N)
    "$@" > /dev/null
    t1=$(date +%s%N)
    ms_row "$side" "$scenario" "$(( (t1 - t0) / 1000000 ))"
  }
  for _ in $(seq 1 "$runs"); do
    timed domus "volume upload, 1 GiB (whole process)" \
      "$build/bin/domsh" -q -c "$dx" vol-upload v "$xfer/src" --pool xfer
    timed libvirt "volume upload, 1 GiB (whole process)" \
      virsh -q -c "$lqemu" vol-upload v "$xfer/src" --pool xfer-libvirt
    timed domus "volume download, 1 GiB (whole process)" \
      "$build/bin/domsh" -q -c "$dx" vol-download v "$xfer/dst" --pool xfer
    cmp "$xfer/src" "$xfer/dst"
    rm -f "$xfer/dst"
    timed libvirt "volume download, 1 GiB (whole process)" \
      virsh -q -c "$lqemu" vol-download v "$xfer/dst" --pool xfer-libvirt
    cmp "$xfer/src" "$xfer/dst"
    rm -f "$xfer/dst"
    # The same into /dev/null: the stream without the destination's page allocation,
    # which on this virtual machine costs the client from 0.3 to 4 s of system time
    # for 1 GiB of fresh tmpfs pages (seen with perf stat and /proc/PID/stat).
    timed domus "volume download to /dev/null, 1 GiB (whole process)" \
      "$build/bin/domsh" -q -c "$dx" vol-download v /dev/null --pool xfer
    timed libvirt "volume download to /dev/null, 1 GiB (whole process)" \
      virsh -q -c "$lqemu" vol-download v /dev/null --pool xfer-libvirt
    timed floor "floor: 1 GiB over ZeroMQ ipc and back, into /dev/null" \
      "$build/bin/floor_bench" --mode stream --src "$xfer/src" --dst /dev/null
    timed floor "floor: 1 GiB file to file over ZeroMQ ipc, 256 KiB chunks, window 8" \
      "$build/bin/floor_bench" --mode stream --src "$xfer/src" --dst "$xfer/dst"
    rm -f "$xfer/dst"
    timed floor "floor: cp of 1 GiB (tmpfs)" cp "$xfer/src" "$xfer/dst"
    rm -f "$xfer/dst"
  done
  "$build/bin/domsh" -q -c "$dx" pool-destroy xfer > /dev/null
  virsh -q -c "$lqemu" pool-destroy xfer-libvirt > /dev/null
  rm -rf "$xfer"
fi

# 7. Real QEMU, once: a diskless TCG domain started and destroyed 20 times, ten at once
# 4 times; Domus's QEMU driver (qemu:///system), libvirt's, and QEMU alone; Domus's
# restart after SIGKILL with 10 running guests (a daemon of its own).
if want qemu; then
  echo "real QEMU" >&2
  /usr/bin/python3 benchmarks/qemu_bench.py --floor 20 >> "$rows"
  /usr/bin/python3 benchmarks/qemu_bench.py --domus "$dsock" qemu:///system 20 >> "$rows"
  /usr/bin/python3 benchmarks/qemu_bench.py --libvirt "$lqemu" 20 >> "$rows"
  /usr/bin/python3 benchmarks/qemu_bench.py --domus-restart "$build/bin/domusd" 5 >> "$rows"
fi

# 6. Scale, once: list latency and daemon memory with 1,000, 10,000 and 100,000
# defined domains (in memory on both sides, as above).
echo "<node/>" > "$work/scale.xml"
rss_row() { # side pid domains
  printf '{"side":"%s","scenario":"daemon RSS, %s defined domains","clients":1,"rss_mib":%s}\n' \
    "$1" "$3" "$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$2/status")" >> "$rows"
}
have=0
for n in $(want scale && echo 1000 10000 100000); do
  echo "scale: $n domains" >&2
  lists=$((n >= 100000 ? 5 : 50))
  "$build/bin/rpc_bench" --socket "$dsock" --uri "test://$work/scale.xml" \
    --defines $((n - have)) --clients 4 --prefix "s$n-" > /dev/null
  have=$n
  "$build/bin/rpc_bench" --socket "$dsock" --uri "test://$work/scale.xml" \
    --list-latency "$lists" >> "$rows"
  rss_row domus "${pids[0]}" "$n"
  /usr/bin/python3 benchmarks/libvirt_bench.py --scale "$luri" "$n" "$lists" >> "$rows"
  rss_row libvirt "${pids[1]}" "$n"
done

# 6, start-up: each daemon restarted with 1,000 and then 10,000 persistent definitions,
# timed from exec until it answers for its domains (Domus: a lookup through the CLI
# floor, which waits for the instance to restore everything; libvirt: its QEMU driver's
# list, after it loaded /etc/libvirt/qemu). Domus on a root of its own.
sroot="$work/startup"
ssock="$sroot/run/domus/domus-sock"
source benchmarks/start_timed.sh
start_domus() {
  start_domusd "$build" "$sroot" "$work/startup.log"
  spid=$started_pid
  pids+=("$spid")
  wait_answering "$build" "$sroot"
}
stop_pid() { # a daemon that may not be this shell's child: bounded wait until gone
  kill -TERM "$1" 2> /dev/null || true
  for _ in $(seq 1 1200); do
    kill -0 "$1" 2> /dev/null || return 0
    sleep 0.05
  done
}
if want startup; then
  start_domus
  have=0
  lpid=${pids[1]}
  lpid_file="$work/libvirt/restarted.pid"
  for n in 1000 10000; do
    echo "start-up: $n definitions" >&2
    "$build/bin/rpc_bench" --socket "$ssock" --defines $((n - have)) --clients 16 \
      --prefix "start$n-" > /dev/null
    stop_pid "$spid"
    start_domus
    ms_row domus "daemon start-up, $n persistent definitions" "$started_ms"
    /usr/bin/python3 benchmarks/libvirt_bench.py --durable-keep "$lqemu" $((n - have)) 16
    stop_pid "$lpid"
    /usr/bin/python3 benchmarks/libvirt_bench.py --startup "$work/libvirt/libvirtd.conf" \
      "$lpid_file" "$lqemu" >> "$rows"
    lpid=$(cat "$lpid_file")
    pids+=("$lpid")
    have=$n
  done
  stop_pid "$lpid"
  stop_pid "$spid"
fi
# The benchmark's QEMU definitions go with libvirtd stopped (faster than 10,000 undefines).
rm -f /etc/libvirt/qemu/domus-bench-*.xml

echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs"
echo "libvirt $(/usr/sbin/libvirtd --version | awk '{print $NF}'), via libvirtd's unix socket"
echo
/usr/bin/python3 benchmarks/compare.py "$rows"
finished=1
