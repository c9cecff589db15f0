#!/bin/sh
# conf/domusd.service: systemd accepts it (systemd-analyze verify, with ExecStart pointed
# at the built domusd), and stopping the daemon leaves its guests alone (KillMode=process).
# Exits 77 (reported skipped by ctest) where systemd-analyze is not installed.
set -eu
unit="$1"
domusd="$2"
grep -qx 'KillMode=process' "$unit" || { echo "$unit: no KillMode=process"; exit 1; }
command -v systemd-analyze >/dev/null 2>&1 || { echo "skipped: no systemd-analyze"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|^ExecStart=.*|ExecStart=$domusd|" "$unit" > "$dir/domusd.service"
systemd-analyze verify "$dir/domusd.service"
