// The files of one domain of a persisted instance, as store changes: its definition
// (durable, before a define is acknowledged), its autostart link, and the status of an
// active domain (not flushed: it survives a crash of the daemon, not of the host). The
// domain actor submits them one at a time, an instance's first open all at once. No CAF.
#pragma once

#include "persist/domain_summary.hpp"
#include "persist/instance_paths.hpp"
#include "persist/store.hpp"

#include <domus/model/domain_def.hpp>

#include <string>

namespace domus::runtime {

/// The files of the domain `name` of the instance at `paths`.
struct domain_files {
  const instance_paths& paths;
  std::string name;

  /// Writes the persistent definition, durably, secrets kept (the file is the daemon's
  /// own, mode 0600).
  store::change definition(const model::domain_def& def) const;
  /// Removes the definition, durably.
  store::change no_definition() const;
  /// Makes the autostart link to the definition.
  store::change autostart() const;
  /// Removes the autostart link, durably.
  store::change no_autostart() const;
  /// Writes the status of an active domain.
  store::change status(const domain_summary& s) const;
  /// Removes the status file (the domain is not active).
  store::change no_status() const;
};

} // namespace domus::runtime
