#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running Domus needs.
# Idempotent and non-interactive; run as root. Packages already present are skipped
# without touching the network.
set -euo pipefail

packages=(
  # build
  cmake ninja-build ccache g++ pkg-config
  # libraries
  libcaf-dev libzmq3-dev cppzmq-dev libuv1-dev libxml2-dev nlohmann-json3-dev
  # tests and benchmarks
  libboost-test-dev libbenchmark-dev python3-zmq libvirt-clients libxml2-utils bc
  # the dir storage backend: qemu-img makes and checks volumes (and the tests' images)
  qemu-utils
  # the QEMU driver: real guests (TCG everywhere, KVM where /dev/kvm works)
  qemu-system-x86
  # its bridge and ethernet tests: ip makes the bridge in the test's network namespace
  iproute2
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizers' runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
