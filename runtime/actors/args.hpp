// Reading request arguments: a value of the wrong type is a bad-request error naming
// the argument, never an exception that takes an actor down.
#pragma once

#include <domus/protocol/codec.hpp>

#include <optional>
#include <string>

namespace domus::runtime {

/// args[key] as a boolean, `fallback` when absent; throws protocol::error(bad_request).
inline bool optional_bool(const protocol::json& args, const char* key, bool fallback) {
  auto it = args.find(key);
  if (it == args.end())
    return fallback;
  if (!it->is_boolean())
    throw protocol::error(protocol::errc::bad_request,
                          std::string("argument \"") + key + "\" must be true or false");
  return it->get<bool>();
}

/// args[key] as a boolean that must be there; throws protocol::error(bad_request).
inline bool required_bool(const protocol::json& args, const char* key) {
  if (!args.contains(key))
    throw protocol::error(protocol::errc::bad_request,
                          std::string("argument \"") + key + "\" is missing");
  return optional_bool(args, key, false);
}

/// args[key] as a string, nullopt when absent; throws protocol::error(bad_request).
inline std::optional<std::string> optional_string(const protocol::json& args,
                                                  const char* key) {
  auto it = args.find(key);
  if (it == args.end())
    return std::nullopt;
  if (!it->is_string())
    throw protocol::error(protocol::errc::bad_request,
                          std::string("argument \"") + key + "\" must be a string");
  return it->get<std::string>();
}

/// args[key] as a string that must be there; throws protocol::error(bad_request).
inline std::string required_string(const protocol::json& args, const char* key) {
  auto v = optional_string(args, key);
  if (!v)
    throw protocol::error(protocol::errc::bad_request,
                          std::string("argument \"") + key + "\" is missing");
  return *v;
}

} // namespace domus::runtime
