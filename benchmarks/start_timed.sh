# Sourced by benchmarks/run.sh and benchmarks/compare.sh: a daemon's start-up, timed.
#
#   start_domusd BUILD ROOT LOG   starts domusd on ROOT (stderr appended to LOG); sets
#                                 started_pid and started_t0
#   wait_answering BUILD ROOT     waits, bounded, until a lookup of `test` answers
#                                 through the CLI floor (the instance has restored
#                                 everything by then; a domsh per poll would add its own
#                                 18 ms steps); sets started_ms, from started_t0

start_domusd() {
  started_t0=$(date +%s%N)
  "$1/bin/domusd" --root "$2" --log-level warning 2>> "$3" &
  started_pid=$!
}

wait_answering() {
  for _ in $(seq 1 20000); do
    if timeout 5 "$1/bin/cli_floor" "$2/run/domus/domus-sock" test:///default \
      domain.lookup '{"domain":"test"}' 2> /dev/null | grep -q '"ok":true'; then
      break
    fi
  done
  started_ms=$((($(date +%s%N) - started_t0) / 1000000))
}
