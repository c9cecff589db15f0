// What an emulator binary can do, as its QMP says (query-version, query-machines,
// query-cpu-definitions), and the cache of it under the driver's cache folder, keyed by
// the binary's path, size and mtime, as libvirt caches /var/cache/libvirt/qemu.
#pragma once

#include <domus/driver_v1.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::qemu_driver {

/// One machine type of query-machines.
struct machine_info {
  std::string name;  ///< e.g. "pc-i440fx-7.2"
  std::string alias; ///< e.g. "pc"; empty when none
  bool is_default = false;
  uint32_t max_cpus = 0;
  std::string default_cpu; ///< the CPU model it runs when none is given ("qemu64")
};

/// An emulator's capabilities.
struct qemu_caps {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string arch = "x86_64";
  uint64_t version = 0; ///< major * 1000000 + minor * 1000 + micro
  std::string package;
  std::vector<machine_info> machines;
  std::vector<std::string> cpu_models;

  /// A machine by its name or alias; nullptr when the binary lacks it.
  const machine_info* find_machine(std::string_view name) const;
  /// The binary's default machine (pc on x86_64); nullptr when it names none.
  const machine_info* default_machine() const;
  /// Whether the binary knows a CPU model.
  bool has_cpu_model(std::string_view model) const;
  /// Every machine name and alias, sorted, comma-separated (for errors).
  std::string machine_names() const;
  /// Every CPU model, sorted, comma-separated (for errors).
  std::string cpu_model_names() const;
};

/// The cache file's text of a probe, and back (nullopt: not a cache file of this kind).
std::string caps_to_json(const qemu_caps& caps);
std::optional<qemu_caps> caps_from_json(std::string_view text);

/// Probes a binary: spawns it (through the host services, `-machine none`, QMP on a
/// socket pair), asks it, quits it. Blocking, bounded by timeout_ms; throws
/// domus::error (operation_failed) naming the binary and what went wrong.
qemu_caps probe_caps(const domus_host_v1* host, const std::string& emulator,
                     uint32_t timeout_ms);

/// `virsh capabilities`: the host (from /proc and /sys) and the guests this emulator
/// runs, of type qemu and, with `kvm`, kvm (host_capabilities.cpp).
std::string capabilities_xml(const qemu_caps& caps, bool kvm);

/// The host's memory, /proc/meminfo's MemTotal, in KiB (0 when unreadable).
uint64_t host_memory_kib();

/// What `virsh domcapabilities` asks (empty: the emulator's default).
struct domcaps_query {
  std::string arch, machine, virttype;
};

/// `virsh domcapabilities`: what a domain of the queried machine and type can use, as
/// far as the driver applies it (domain_capabilities.cpp). Throws domus::error
/// (invalid_argument) for an architecture, machine or type it cannot run, naming it.
std::string domain_capabilities_xml(const qemu_caps& caps, const domcaps_query& query,
                                    bool kvm_usable);

/// Whether KVM works here: /dev/kvm opens and KVM_CREATE_VM succeeds. "" when it does,
/// else why not.
std::string kvm_unusable();

} // namespace domus::qemu_driver
