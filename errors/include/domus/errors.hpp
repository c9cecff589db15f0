// The catalogue of Domus error codes: one stable name and number per code, shared by the
// wire protocol, the runtime, the model and the plugin ABI (DOMUS_E_* in
// domus/driver_v1.h). A leaf library: the model and the drivers use it without the
// protocol, which re-exports it as domus::protocol::errc and error.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace domus {

/// An error code. The numbers are DOMUS_E_* of the plugin ABI and never change.
enum class errc : int {
  no_domain = 1,
  invalid_operation = 2,
  xml_error = 3,
  invalid_name = 4,
  permission_denied = 5,
  busy = 6,
  message_too_large = 7,
  bad_request = 8,
  unsupported = 9,
  internal = 10,
  domain_exists = 11,
  unknown_procedure = 12,
  version_mismatch = 13,
  no_driver = 14,
  operation_failed = 15,
  shutting_down = 16,
  invalid_argument = 17,
  resync = 18,
  timeout = 19,
  no_daemon = 20,
  config_error = 21,
  limit_exceeded = 22,
  aborted = 23,
  no_pool = 24,
  pool_exists = 25,
  no_volume = 26,
  volume_exists = 27,
};

/// One row of the catalogue.
struct error_entry {
  errc code;
  std::string_view name; ///< the stable wire name, e.g. "no-domain"
  std::string_view doc;  ///< one line: when it happens
};

/// Every code, in number order.
const std::vector<error_entry>& error_catalogue();

/// The wire name of a code ("no-domain").
std::string_view to_string(errc code);

/// The code with this wire name, if any.
std::optional<errc> errc_from_string(std::string_view name);

/// The code with this number, if any.
std::optional<errc> errc_from_number(int number);

/// An error with a code and a message that names the object and the cause.
class error : public std::runtime_error {
public:
  error(errc code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}
  errc code() const noexcept { return code_; }

private:
  errc code_;
};

} // namespace domus
