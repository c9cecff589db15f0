// Storage pools on the wire: a pool as pool.list and pool.info show it, and the bodies
// of its events (pool.lifecycle, pool.refresh). No CAF here.
#pragma once

#include "actors/pool_slot.hpp"

#include <domus/protocol/codec.hpp>

#include <string>
#include <string_view>

namespace domus::runtime {

/// A pool state's wire name ("running"), "" for an unknown one.
std::string_view pool_state_name(int32_t state);

/// {name, uuid, state, persistent, autostart, capacity, allocation, available}.
protocol::json pool_entry(const pool_slot& slot, const pool_facts& facts);

/// A pool.lifecycle event: {topic, time, uri, pool: {name, uuid}, event}; `event` is
/// defined, undefined, started, stopped, created or deleted (libvirt's storage pool
/// lifecycle events).
std::string pool_lifecycle_body(const std::string& uri, const pool_slot& slot,
                                std::string_view event);

/// A pool.refresh event: {topic, time, uri, pool: {name, uuid}}.
std::string pool_refresh_body(const std::string& uri, const pool_slot& slot);

/// A volume type's wire name ("file"), "" for an unknown one.
std::string_view volume_type_name(int32_t type);

/// {name, key, path, type, format, capacity, allocation}.
protocol::json volume_entry(const driver_volume& v);

/// The volume's definition: the driver's, else one in libvirt's format made from what
/// the driver reported (name, key, sizes, path, format, backing store).
std::string volume_xml(const driver_volume& v);

/// A pool.volume event: {topic, time, uri, pool: {name, uuid}, volume: {name, key},
/// event}; `event` is created, deleted, resized or wiped.
std::string volume_event_body(const std::string& uri, const pool_slot& slot,
                              const driver_volume& v, std::string_view event);

} // namespace domus::runtime
