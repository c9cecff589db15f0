#include "domus/protocol/vocabulary.hpp"

#include <domus/driver_v1.h>

#include <iterator>

namespace domus::protocol {
namespace {

// virsh's words for states and reasons (virsh domstate --reason, virsh list).
const state_word states[] = {
    {DOMUS_STATE_RUNNING, "running", "running"},
    {DOMUS_STATE_BLOCKED, "blocked", "idle"},
    {DOMUS_STATE_PAUSED, "paused", "paused"},
    {DOMUS_STATE_SHUTDOWN, "shutdown", "in shutdown"},
    {DOMUS_STATE_SHUTOFF, "shutoff", "shut off"},
    {DOMUS_STATE_CRASHED, "crashed", "crashed"},
    {DOMUS_STATE_PMSUSPENDED, "pmsuspended", "pmsuspended"},
};

const reason_word reasons[] = {
    {DOMUS_STATE_RUNNING, DOMUS_REASON_UNKNOWN, "unknown", "unknown"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_BOOTED, "booted", "booted"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_MIGRATED, "migrated", "migrated"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_RESTORED, "restored", "restored"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_FROM_SNAPSHOT, "from_snapshot", "from snapshot"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_UNPAUSED, "unpaused", "unpaused"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_MIGRATION_CANCELED, "migration_canceled",
     "migration canceled"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_SAVE_CANCELED, "save_canceled", "save canceled"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_WAKEUP, "wakeup", "event wakeup"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_CRASHED, "crashed", "crashed"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_POSTCOPY, "postcopy", "post-copy"},
    {DOMUS_STATE_RUNNING, DOMUS_REASON_POSTCOPY_FAILED, "postcopy_failed",
     "post-copy failed"},
    {DOMUS_STATE_BLOCKED, DOMUS_REASON_UNKNOWN, "unknown", "unknown"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_UNKNOWN, "unknown", "unknown"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_USER, "user", "user"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_MIGRATION, "migration", "migrating"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_SAVE, "save", "saving"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_DUMP, "dump", "dumping"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_IOERROR, "ioerror", "I/O error"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_WATCHDOG, "watchdog", "watchdog"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_FROM_SNAPSHOT, "from_snapshot", "from snapshot"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_SHUTTING_DOWN, "shutting_down", "shutting down"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_SNAPSHOT, "snapshot", "creating snapshot"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_API_ERROR, "api_error", "api error"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_CRASHED, "crashed", "crashed"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_STARTING_UP, "starting_up", "starting up"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_POSTCOPY, "postcopy", "post-copy"},
    {DOMUS_STATE_PAUSED, DOMUS_REASON_POSTCOPY_FAILED, "postcopy_failed",
     "post-copy failed"},
    {DOMUS_STATE_SHUTDOWN, DOMUS_REASON_UNKNOWN, "unknown", "unknown"},
    {DOMUS_STATE_SHUTDOWN, DOMUS_REASON_USER, "user", "user"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_UNKNOWN, "unknown", "unknown"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_SHUTDOWN, "shutdown", "shutdown"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_DESTROYED, "destroyed", "destroyed"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_CRASHED, "crashed", "crashed"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_MIGRATED, "migrated", "migrated"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_SAVED, "saved", "saved"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_FAILED, "failed", "failed"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_FROM_SNAPSHOT, "from_snapshot", "from snapshot"},
    {DOMUS_STATE_SHUTOFF, DOMUS_REASON_DAEMON, "daemon", "daemon"},
    {DOMUS_STATE_CRASHED, DOMUS_REASON_UNKNOWN, "unknown", "unknown"},
    {DOMUS_STATE_CRASHED, DOMUS_REASON_PANICKED, "panicked", "panicked"},
    {DOMUS_STATE_PMSUSPENDED, DOMUS_REASON_UNKNOWN, "unknown", "unknown"},
};

// Wire names are the lower-case suffixes of libvirt's constants; texts are virsh's
// (../shared/events.md).
const event_word events[] = {
    {DOMUS_EVENT_DEFINED, "defined", "Defined"},
    {DOMUS_EVENT_UNDEFINED, "undefined", "Undefined"},
    {DOMUS_EVENT_STARTED, "started", "Started"},
    {DOMUS_EVENT_SUSPENDED, "suspended", "Suspended"},
    {DOMUS_EVENT_RESUMED, "resumed", "Resumed"},
    {DOMUS_EVENT_STOPPED, "stopped", "Stopped"},
    {DOMUS_EVENT_SHUTDOWN, "shutdown", "Shutdown"},
    {DOMUS_EVENT_PMSUSPENDED, "pmsuspended", "PMSuspended"},
    {DOMUS_EVENT_CRASHED, "crashed", "Crashed"},
};

const detail_word details[] = {
    {DOMUS_EVENT_DEFINED, DOMUS_DETAIL_ADDED, "added", "Added"},
    {DOMUS_EVENT_DEFINED, DOMUS_DETAIL_UPDATED, "updated", "Updated"},
    {DOMUS_EVENT_DEFINED, DOMUS_DETAIL_RENAMED, "renamed", "Renamed"},
    {DOMUS_EVENT_DEFINED, DOMUS_DETAIL_FROM_SNAPSHOT, "from_snapshot", "Snapshot"},
    {DOMUS_EVENT_UNDEFINED, DOMUS_DETAIL_REMOVED, "removed", "Removed"},
    {DOMUS_EVENT_UNDEFINED, DOMUS_DETAIL_RENAMED, "renamed", "Renamed"},
    {DOMUS_EVENT_STARTED, DOMUS_DETAIL_BOOTED, "booted", "Booted"},
    {DOMUS_EVENT_STARTED, DOMUS_DETAIL_MIGRATED, "migrated", "Migrated"},
    {DOMUS_EVENT_STARTED, DOMUS_DETAIL_RESTORED, "restored", "Restored"},
    {DOMUS_EVENT_STARTED, DOMUS_DETAIL_FROM_SNAPSHOT, "from_snapshot", "Snapshot"},
    {DOMUS_EVENT_STARTED, DOMUS_DETAIL_WAKEUP, "wakeup", "Event wakeup"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_PAUSED, "paused", "Paused"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_MIGRATED, "migrated", "Migrated"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_IOERROR, "ioerror", "I/O Error"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_WATCHDOG, "watchdog", "Watchdog"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_RESTORED, "restored", "Restored"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_FROM_SNAPSHOT, "from_snapshot", "Snapshot"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_API_ERROR, "api_error", "API error"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_POSTCOPY, "postcopy", "Post-copy"},
    {DOMUS_EVENT_SUSPENDED, DOMUS_DETAIL_POSTCOPY_FAILED, "postcopy_failed",
     "Post-copy Error"},
    {DOMUS_EVENT_RESUMED, DOMUS_DETAIL_UNPAUSED, "unpaused", "Unpaused"},
    {DOMUS_EVENT_RESUMED, DOMUS_DETAIL_MIGRATED, "migrated", "Migrated"},
    {DOMUS_EVENT_RESUMED, DOMUS_DETAIL_FROM_SNAPSHOT, "from_snapshot", "Snapshot"},
    {DOMUS_EVENT_RESUMED, DOMUS_DETAIL_POSTCOPY, "postcopy", "Post-copy"},
    {DOMUS_EVENT_RESUMED, DOMUS_DETAIL_POSTCOPY_FAILED, "postcopy_failed",
     "Post-copy Error"},
    {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_SHUTDOWN, "shutdown", "Shutdown"},
    {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_DESTROYED, "destroyed", "Destroyed"},
    {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_CRASHED, "crashed", "Crashed"},
    {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_MIGRATED, "migrated", "Migrated"},
    {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_SAVED, "saved", "Saved"},
    {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_FAILED, "failed", "Failed"},
    {DOMUS_EVENT_STOPPED, DOMUS_DETAIL_FROM_SNAPSHOT, "from_snapshot", "Snapshot"},
    {DOMUS_EVENT_SHUTDOWN, DOMUS_DETAIL_FINISHED, "finished", "Finished"},
    {DOMUS_EVENT_SHUTDOWN, DOMUS_DETAIL_GUEST, "guest", "Finished after guest request"},
    {DOMUS_EVENT_SHUTDOWN, DOMUS_DETAIL_HOST, "host", "Finished after host request"},
    {DOMUS_EVENT_PMSUSPENDED, DOMUS_DETAIL_MEMORY, "memory", "Memory"},
    {DOMUS_EVENT_PMSUSPENDED, DOMUS_DETAIL_DISK, "disk", "Disk"},
    {DOMUS_EVENT_CRASHED, DOMUS_DETAIL_PANICKED, "panicked", "Panicked"},
    {DOMUS_EVENT_CRASHED, DOMUS_DETAIL_CRASHLOADED, "crashloaded", "Crashloaded"},
};

template <class Range, class Pred> auto* find_in(const Range& range, Pred pred) {
  for (auto& row : range)
    if (pred(row))
      return &row;
  return static_cast<decltype(&*std::begin(range))>(nullptr);
}

} // namespace

const state_word* find_state(int s) {
  return find_in(states, [&](auto& r) { return r.state == s; });
}
const state_word* find_state(std::string_view w) {
  return find_in(states, [&](auto& r) { return r.wire == w; });
}
const reason_word* find_reason(int s, int reason) {
  return find_in(reasons, [&](auto& r) { return r.state == s && r.reason == reason; });
}
const reason_word* find_reason(int s, std::string_view w) {
  return find_in(reasons, [&](auto& r) { return r.state == s && r.wire == w; });
}
const event_word* find_event(int e) {
  return find_in(events, [&](auto& r) { return r.event == e; });
}
const event_word* find_event(std::string_view w) {
  return find_in(events, [&](auto& r) { return r.wire == w; });
}
const detail_word* find_detail(int e, int d) {
  return find_in(details, [&](auto& r) { return r.event == e && r.detail == d; });
}
const detail_word* find_detail(int e, std::string_view w) {
  return find_in(details, [&](auto& r) { return r.event == e && r.wire == w; });
}

bool state_is_active(int s) {
  return s != DOMUS_STATE_SHUTOFF && find_state(s) != nullptr;
}

} // namespace domus::protocol
