// The catalogue of the topics a driver may emit beside lifecycle events (a device
// removed, a block job ended, an I/O error, ...): per topic, whether it is journaled, the
// fields of its body, and virsh's event name. The single source for the daemon's checks,
// domsh's `event` and docs/protocol.md's "Driver events" table.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace domus::protocol {

/// One field of a driver event's body.
struct topic_field {
  enum class kind { string, integer };
  std::string_view key;
  kind type;
  bool required;
  /// The words a string may be; empty: any string (within max_field_bytes).
  std::vector<std::string_view> words;
  std::string_view doc;
};

/// A topic a driver may emit.
struct driver_topic {
  std::string_view name;  ///< on the wire, e.g. "domain.device-removed"
  std::string_view virsh; ///< virsh's event name, e.g. "device-removed"
  /// A state change: journaled, numbered (seq) and replayed by events.since. Otherwise
  /// a sample: published only, without seq, at most once per second per domain (the
  /// latest wins), so that a busy guest never evicts the journal's lifecycle events.
  bool journaled;
  std::vector<topic_field> fields;
  std::string_view doc;
};

/// Every driver topic, in the order docs/protocol.md lists them.
const std::vector<driver_topic>& driver_topics();

/// The topic named `name`; nullptr when there is none.
const driver_topic* find_driver_topic(std::string_view name);

/// A driver's body for `topic`, checked: a JSON object of the topic's fields only, each
/// of its type (a string at most `max_string` bytes, and one of its words when it has
/// them), every required one present. Returns the fields; throws
/// error(invalid_argument) naming the topic and the field and what is wrong. A body
/// can therefore never carry a definition or a secret: no topic has such a field.
nlohmann::json check_driver_event(const driver_topic& topic, std::string_view body,
                                  size_t max_string);

} // namespace domus::protocol
