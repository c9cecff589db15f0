#include "domus/errors.hpp"

#include <domus/driver_v1.h>

namespace domus {

// The ABI header is the single source of the numbers; a mismatch is a compile error.
static_assert(static_cast<int>(errc::no_domain) == DOMUS_E_NO_DOMAIN);
static_assert(static_cast<int>(errc::invalid_operation) == DOMUS_E_INVALID_OPERATION);
static_assert(static_cast<int>(errc::xml_error) == DOMUS_E_XML_ERROR);
static_assert(static_cast<int>(errc::invalid_name) == DOMUS_E_INVALID_NAME);
static_assert(static_cast<int>(errc::permission_denied) == DOMUS_E_PERMISSION_DENIED);
static_assert(static_cast<int>(errc::busy) == DOMUS_E_BUSY);
static_assert(static_cast<int>(errc::message_too_large) == DOMUS_E_MESSAGE_TOO_LARGE);
static_assert(static_cast<int>(errc::bad_request) == DOMUS_E_BAD_REQUEST);
static_assert(static_cast<int>(errc::unsupported) == DOMUS_E_UNSUPPORTED);
static_assert(static_cast<int>(errc::internal) == DOMUS_E_INTERNAL);
static_assert(static_cast<int>(errc::domain_exists) == DOMUS_E_DOMAIN_EXISTS);
static_assert(static_cast<int>(errc::unknown_procedure) == DOMUS_E_UNKNOWN_PROCEDURE);
static_assert(static_cast<int>(errc::version_mismatch) == DOMUS_E_VERSION_MISMATCH);
static_assert(static_cast<int>(errc::no_driver) == DOMUS_E_NO_DRIVER);
static_assert(static_cast<int>(errc::operation_failed) == DOMUS_E_OPERATION_FAILED);
static_assert(static_cast<int>(errc::shutting_down) == DOMUS_E_SHUTTING_DOWN);
static_assert(static_cast<int>(errc::invalid_argument) == DOMUS_E_INVALID_ARGUMENT);
static_assert(static_cast<int>(errc::resync) == DOMUS_E_RESYNC);
static_assert(static_cast<int>(errc::timeout) == DOMUS_E_TIMEOUT);
static_assert(static_cast<int>(errc::no_daemon) == DOMUS_E_NO_DAEMON);
static_assert(static_cast<int>(errc::config_error) == DOMUS_E_CONFIG_ERROR);
static_assert(static_cast<int>(errc::limit_exceeded) == DOMUS_E_LIMIT_EXCEEDED);
static_assert(static_cast<int>(errc::aborted) == DOMUS_E_ABORTED);
static_assert(static_cast<int>(errc::no_pool) == DOMUS_E_NO_POOL);
static_assert(static_cast<int>(errc::pool_exists) == DOMUS_E_POOL_EXISTS);
static_assert(static_cast<int>(errc::no_volume) == DOMUS_E_NO_VOLUME);
static_assert(static_cast<int>(errc::volume_exists) == DOMUS_E_VOLUME_EXISTS);

const std::vector<error_entry>& error_catalogue() {
  static const std::vector<error_entry> entries = {
      {errc::no_domain, "no-domain", "no domain has that name, UUID or id"},
      {errc::invalid_operation, "invalid-operation",
       "the operation is not allowed in the object's current state"},
      {errc::xml_error, "xml-error", "a definition is malformed or invalid"},
      {errc::invalid_name, "invalid-name", "an object name breaks the naming rule"},
      {errc::permission_denied, "permission-denied", "the connection may not do this"},
      {errc::busy, "busy", "another job holds the object beyond the deadline"},
      {errc::message_too_large, "message-too-large",
       "a request, one of its strings, a definition, a reply or a pong is larger than "
       "its "
       "limit"},
      {errc::bad_request, "bad-request", "malformed frames, JSON, envelope or arguments"},
      {errc::unsupported, "unsupported", "the driver or daemon does not support this"},
      {errc::internal, "internal", "a bug or an unexpected failure inside the daemon"},
      {errc::domain_exists, "domain-exists", "the name or UUID is already taken"},
      {errc::unknown_procedure, "unknown-procedure",
       "the daemon does not know the procedure"},
      {errc::version_mismatch, "version-mismatch",
       "the request's protocol version is not one the daemon speaks"},
      {errc::no_driver, "no-driver", "no loaded driver serves the URI"},
      {errc::operation_failed, "operation-failed", "the hypervisor reported a failure"},
      {errc::shutting_down, "shutting-down", "the daemon is stopping"},
      {errc::invalid_argument, "invalid-argument", "an argument has a wrong value"},
      {errc::resync, "resync", "the event journal no longer holds the requested seq"},
      {errc::timeout, "timeout", "no answer within the deadline"},
      {errc::no_daemon, "no-daemon", "no daemon answers on the socket"},
      {errc::config_error, "config-error", "a configuration file or value is invalid"},
      {errc::limit_exceeded, "limit-exceeded", "a count limit was reached"},
      {errc::aborted, "aborted",
       "the operation was cancelled: by domain.jobabort, or overtaken by a destroy"},
      {errc::no_pool, "no-pool", "no storage pool has that name or UUID"},
      {errc::pool_exists, "pool-exists",
       "another storage pool has that name, UUID or storage"},
      {errc::no_volume, "no-volume", "no storage volume has that name, key or path"},
      {errc::volume_exists, "volume-exists", "the pool has a volume of that name"},
  };
  return entries;
}

std::string_view to_string(errc code) {
  for (auto& e : error_catalogue())
    if (e.code == code)
      return e.name;
  return "internal";
}

std::optional<errc> errc_from_string(std::string_view name) {
  for (auto& e : error_catalogue())
    if (e.name == name)
      return e.code;
  return std::nullopt;
}

std::optional<errc> errc_from_number(int number) {
  for (auto& e : error_catalogue())
    if (static_cast<int>(e.code) == number)
      return e.code;
  return std::nullopt;
}

} // namespace domus
