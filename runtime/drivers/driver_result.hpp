// A driver's result, copied out of the driver's memory. CAF-free: actors/messages.hpp
// makes it a message.
#pragma once

#include <domus/driver_v1.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::runtime {

/// A storage volume as a driver reported it (domus_volume_v1), owned.
struct driver_volume {
  domus_vol* handle = nullptr;
  std::string name, key, path;
  int32_t type = DOMUS_VOL_FILE;
  std::string format; ///< "raw" when the driver said nothing
  uint64_t capacity = 0, allocation = 0;
  std::string backing_path, backing_format; ///< "" for none
  std::string xml; ///< the driver's whole definition; "" when it gave none
};

/// A copy of a domus_result_v1, owned, as it crosses from a driver to an actor.
struct driver_result {
  int32_t status = DOMUS_OK;
  std::string message;
  domus_dom* dom = nullptr;
  std::optional<domus_dom_state_v1> state;
  std::vector<domus_event_v1> events;
  std::optional<std::string> xml;
  std::optional<std::string> config_xml; ///< 1.1: a device change's persistent definition
  std::optional<std::string> private_data;
  domus_pool* pool = nullptr;                  ///< 1.1: a pool define's handle
  std::optional<domus_pool_info_v1> pool_info; ///< 1.1: a pool's state and sizes
  std::vector<driver_volume> volumes;          ///< 1.1: a pool's volumes, or the one made
  std::optional<domus_dom_info_v1> info;
  std::string info_os_type, info_security_label; ///< strings of info, owned
  bool has_security_label = false;
  std::optional<domus_node_info_v1> node;
  std::string node_cpu_model;
  std::optional<domus_version_v1> version;
  std::string version_type, version_security_model, version_security_doi;
  domus_instance* instance = nullptr;
  struct object {
    int32_t kind = 0;
    domus_dom* dom = nullptr;
    domus_pool* pool = nullptr; ///< 1.1, kind POOL
    std::string xml;
    bool persistent = true;
    bool autostart = false;
    domus_dom_state_v1 state{};
    std::string private_data;
  };
  std::vector<object> objects;

  bool ok() const { return status == DOMUS_OK; }
  /// Copies what a result carries; pointers into it are not kept.
  static driver_result copy(const domus_result_v1* r);
};

/// The result a call gets when its deadline passes: DOMUS_E_TIMEOUT, naming the
/// operation (`op`, "start"), what it was on (`object`, "domain 'web'" or ""), the
/// driver, the deadline and its setting, and whether the driver was asked to cancel it.
driver_result timeout_result(std::string_view op, const std::string& object,
                             const std::string& driver, uint32_t deadline_ms,
                             bool cancelled);

} // namespace domus::runtime
