#include "domus/protocol/flags.hpp"

#include "domus/protocol/errors.hpp"

#include <domus/driver_v1.h>

#include <cstdio>

namespace domus::protocol {

namespace {

const std::vector<flag_bit> start_bits = {
    {DOMUS_START_PAUSED, "paused", 1, "leave the guest's vCPUs paused"},
    {DOMUS_START_AUTODESTROY, "autodestroy", 1,
     "destroy the guest when the client's connection closes",
     "domusd does not track client connections yet"},
    {DOMUS_START_BYPASS_CACHE, "bypass-cache", 1,
     "restore a managed save without the host's file cache"},
    {DOMUS_START_FORCE_BOOT, "force-boot", 1, "boot, discarding any managed save"},
    {DOMUS_START_RESET_NVRAM, "reset-nvram", 1, "start from a fresh copy of the NVRAM"},
};

const std::vector<flag_bit> undefine_bits = {
    {DOMUS_UNDEFINE_MANAGED_SAVE, "managed-save", 1, "remove the managed save too"},
    {DOMUS_UNDEFINE_SNAPSHOTS_METADATA, "snapshots-metadata", 1,
     "remove the snapshots' metadata too"},
    {DOMUS_UNDEFINE_NVRAM, "nvram", 1, "remove the NVRAM file too"},
    {DOMUS_UNDEFINE_KEEP_NVRAM, "keep-nvram", 1, "keep the NVRAM file"},
    {DOMUS_UNDEFINE_CHECKPOINTS_METADATA, "checkpoints-metadata", 1,
     "remove the checkpoints' metadata too"},
    {DOMUS_UNDEFINE_TPM, "tpm", 1, "remove the TPM state too"},
    {DOMUS_UNDEFINE_KEEP_TPM, "keep-tpm", 1, "keep the TPM state"},
};

const std::vector<flag_bit> destroy_bits = {
    {DOMUS_DESTROY_GRACEFUL, "graceful", 1, "ask the process to end, never kill it"},
    {DOMUS_DESTROY_REMOVE_LOGS, "remove-logs", 1, "remove the domain's log files"},
};

// shutdown and reboot: how the guest is asked (domsh's --mode values).
const std::vector<flag_bit> mode_bits = {
    {DOMUS_SHUTDOWN_ACPI_POWER_BTN, "acpi", 1, "the ACPI power button"},
    {DOMUS_SHUTDOWN_GUEST_AGENT, "agent", 1, "the guest agent"},
    {DOMUS_SHUTDOWN_INITCTL, "initctl", 1, "the container's init"},
    {DOMUS_SHUTDOWN_SIGNAL, "signal", 1, "a signal to the container's init"},
    {DOMUS_SHUTDOWN_PARAVIRT, "paravirt", 1, "the paravirtual interface"},
};

// attach, detach and update device: which definition changes (none: the current one).
const std::vector<flag_bit> device_bits = {
    {DOMUS_DEVICE_LIVE, "live", 1, "change the running guest"},
    {DOMUS_DEVICE_CONFIG, "config", 1, "change the persistent definition"},
};
const std::vector<flag_bit> update_device_bits = {
    {DOMUS_DEVICE_LIVE, "live", 1, "change the running guest"},
    {DOMUS_DEVICE_CONFIG, "config", 1, "change the persistent definition"},
    {DOMUS_DEVICE_FORCE, "force", 1, "force the change (eject a locked CD-ROM tray)"},
};

const std::vector<flag_bit> console_bits = {
    {DOMUS_CONSOLE_FORCE, "force", 1, "take the console from the stream that has it"},
    {DOMUS_CONSOLE_SAFE, "safe", 1, "refuse unless the console can be kept exclusive"},
};

const std::vector<flag_bit> dump_bits = {
    {DOMUS_DUMP_CRASH, "crash", 1, "crash the guest after the dump"},
    {DOMUS_DUMP_LIVE, "live", 1, "dump without pausing the guest"},
    {DOMUS_DUMP_BYPASS_CACHE, "bypass-cache", 1, "write without the host's file cache"},
    {DOMUS_DUMP_RESET, "reset", 1, "reset the guest after the dump"},
    {DOMUS_DUMP_MEMORY_ONLY, "memory-only", 1, "the guest's memory only, in `format`"},
};

// pool start and create: build the pool first (libvirt's virStoragePoolCreateFlags).
const std::vector<flag_bit> pool_start_bits = {
    {DOMUS_POOL_START_BUILD, "build", 1, "build the pool first"},
    {DOMUS_POOL_START_BUILD_OVERWRITE, "overwrite", 1,
     "build it, overwriting what is there"},
    {DOMUS_POOL_START_BUILD_NO_OVERWRITE, "no-overwrite", 1,
     "build it, refusing to overwrite what is there"},
};
const std::vector<flag_bit> pool_build_bits = {
    {DOMUS_POOL_BUILD_REPAIR, "repair", 1, "repair the pool's storage"},
    {DOMUS_POOL_BUILD_RESIZE, "resize", 1, "extend the pool's storage"},
    {DOMUS_POOL_BUILD_NO_OVERWRITE, "no-overwrite", 1,
     "refuse to overwrite what is there"},
    {DOMUS_POOL_BUILD_OVERWRITE, "overwrite", 1, "overwrite what is there"},
};
const std::vector<flag_bit> pool_delete_bits = {
    {DOMUS_POOL_DELETE_ZEROED, "zeroed", 1, "clear every byte first"},
};

const std::vector<flag_bit> vol_create_bits = {
    {DOMUS_VOL_CREATE_PREALLOC_METADATA, "prealloc-metadata", 1,
     "qcow2: allocate its metadata, not the whole capacity"},
    {DOMUS_VOL_CREATE_REFLINK, "reflink", 1, "copy by reflink where the file system can"},
};
const std::vector<flag_bit> vol_delete_bits = {
    {DOMUS_VOL_DELETE_ZEROED, "zeroed", 1, "clear every byte first"},
    {DOMUS_VOL_DELETE_WITH_SNAPSHOTS, "delete-snapshots", 1, "its snapshots too"},
};
const std::vector<flag_bit> vol_resize_bits = {
    {DOMUS_VOL_RESIZE_ALLOCATE, "allocate", 1, "allocate the new space"},
    {DOMUS_VOL_RESIZE_DELTA, "delta", 1, "the capacity is a change, not a size"},
    {DOMUS_VOL_RESIZE_SHRINK, "shrink", 1, "allow a smaller size"},
};

const std::vector<flag_bit> vol_transfer_bits = {
    {DOMUS_VOL_TRANSFER_SPARSE, "sparse", 3, "holes travel as holes, not as zeros"},
};

const std::vector<flag_bit> no_bits;

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

} // namespace

const std::vector<flag_bit>& flag_bits(proc p) {
  switch (p) {
  case proc::domain_start:
  case proc::domain_create:
    return start_bits;
  case proc::domain_undefine:
    return undefine_bits;
  case proc::domain_destroy:
    return destroy_bits;
  case proc::domain_shutdown:
  case proc::domain_reboot:
    return mode_bits;
  case proc::domain_attach_device:
  case proc::domain_detach_device:
    return device_bits;
  case proc::domain_update_device:
    return update_device_bits;
  case proc::domain_open_console:
    return console_bits;
  case proc::domain_dump:
    return dump_bits;
  case proc::pool_start:
  case proc::pool_create:
    return pool_start_bits;
  case proc::pool_build:
    return pool_build_bits;
  case proc::pool_delete:
    return pool_delete_bits;
  case proc::vol_create:
  case proc::vol_create_from:
  case proc::vol_clone:
    return vol_create_bits;
  case proc::vol_delete:
    return vol_delete_bits;
  case proc::vol_resize:
    return vol_resize_bits;
  case proc::vol_upload:
  case proc::vol_download:
    return vol_transfer_bits;
  default:
    return no_bits;
  }
}

std::string describe_flags(proc p, uint32_t flags) {
  std::string out;
  for (uint32_t bit = 1; bit != 0; bit <<= 1) {
    if (!(flags & bit))
      continue;
    if (!out.empty())
      out += ", ";
    out += hex(bit);
    for (auto& f : flag_bits(p))
      if (f.bit == bit)
        out += " (" + std::string(f.name) + ")";
  }
  return out;
}

uint32_t read_flags(proc p, const nlohmann::json& args) {
  auto it = args.find("flags");
  if (it == args.end())
    return 0;
  // (A JSON text's non-negative integer is unsigned; one built in C++ may be signed.)
  bool in_range =
      it->is_number_unsigned() ? it->get<uint64_t>() <= UINT32_MAX
      : it->is_number_integer()
          ? it->get<int64_t>() >= 0 && it->get<int64_t>() <= int64_t{UINT32_MAX}
          : false;
  if (!in_range)
    throw error(errc::bad_request,
                "argument \"flags\" must be an integer from 0 to 4294967295");
  auto flags = it->get<uint32_t>();
  uint32_t known = 0;
  for (auto& f : flag_bits(p))
    known |= f.bit;
  if (uint32_t unknown = flags & ~known)
    throw error(errc::invalid_argument,
                "flags " + hex(unknown) + " of " + std::string(entry(p).name) +
                    " are not defined (" +
                    (known ? "it defines " + describe_flags(p, known)
                           : std::string("it defines none")) +
                    ")");
  return flags;
}

uint32_t flags_minor(proc p, uint32_t flags) {
  uint32_t minor = 0;
  for (auto& f : flag_bits(p))
    if ((flags & f.bit) && f.since_minor > minor)
      minor = f.since_minor;
  return minor;
}

} // namespace domus::protocol
