// The lifecycle vocabulary: domain states, state reasons, events and event details, each
// with its ABI number (domus/driver_v1.h), its wire name and the text virsh prints.
#pragma once

#include <optional>
#include <string_view>

namespace domus::protocol {

/// A domain state: wire name ("shutoff") and virsh's text ("shut off").
struct state_word {
  int state;
  std::string_view wire;
  std::string_view text;
};

/// A reason valid for one state: wire name ("destroyed") and virsh's text.
struct reason_word {
  int state;
  int reason;
  std::string_view wire;
  std::string_view text;
};

/// A lifecycle event: wire name ("stopped") and virsh's text ("Stopped").
struct event_word {
  int event;
  std::string_view wire;
  std::string_view text;
};

/// A detail valid for one event: wire name ("destroyed") and virsh's text.
struct detail_word {
  int event;
  int detail;
  std::string_view wire;
  std::string_view text;
};

/// The state with this number, or nullptr.
const state_word* find_state(int state);
/// The state with this wire name, or nullptr.
const state_word* find_state(std::string_view wire);
/// The reason of this state with this number, or nullptr when it does not fit the state.
const reason_word* find_reason(int state, int reason);
/// The reason of this state with this wire name, or nullptr.
const reason_word* find_reason(int state, std::string_view wire);
/// The event with this number, or nullptr.
const event_word* find_event(int event);
/// The event with this wire name, or nullptr.
const event_word* find_event(std::string_view wire);
/// The detail of this event with this number, or nullptr when it does not fit the event.
const detail_word* find_detail(int event, int detail);
/// The detail of this event with this wire name, or nullptr.
const detail_word* find_detail(int event, std::string_view wire);

/// Whether a state counts as active (has an id, a live definition).
bool state_is_active(int state);

} // namespace domus::protocol
