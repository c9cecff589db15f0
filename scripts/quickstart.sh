#!/usr/bin/env bash
# README command 1: installs the dependencies, builds Domus, installs it under
# /usr/local, and runs domusd in the foreground on the embedded default (the test
# driver) with the system layout: configuration in /etc/domus, state in /var/lib/domus,
# sockets in /run/domus. Stop it with Ctrl-C. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j 2
cmake --install build > /dev/null
echo
echo "domusd is starting in the foreground; in another terminal try:"
echo "  domsh list --all"
echo "  domsh event --loop --all"
echo
exec /usr/local/sbin/domusd "$@"
