// What a persisted instance reads back at start (definitions, autostart links, status of
// active domains) and writes at its first open. Start-up only: these read and write files
// on the calling thread, before the instance serves anything.
#pragma once

#include "persist/domain_status.hpp"
#include "persist/domain_summary.hpp"
#include "persist/instance_paths.hpp"

#include <domus/model/domain_def.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace domus::runtime {

class store;

/// One domain found on disk, and what the driver said of it while restoring.
struct restored_domain {
  std::string name, uuid;
  std::shared_ptr<const model::domain_def> persistent; ///< null: transient
  std::shared_ptr<const model::domain_def> live;       ///< from the status file
  std::optional<domain_status> status;                 ///< it was active
  bool autostart = false;
  domus_dom* dom = nullptr;
  std::string reconnect_error, define_error;
};

struct restore_plan {
  std::vector<restored_domain> domains;
  size_t pending = 0; ///< driver calls out in the current phase
};

/// Reads the definitions, autostart links and status files of an instance. A file that
/// does not parse is logged with its path and reason and skipped; temporary files left
/// by a crash are removed.
restore_plan read_persisted(const instance_paths& ctx);

/// Writes what a freshly opened instance starts with (definitions, autostart links,
/// status of active domains) through `files` as one group, then the marker that it was
/// seeded. Throws protocol::error.
void persist_seeded(const instance_paths& ctx, store& files,
                    const std::vector<const domain_summary*>& domains);

/// Whether an earlier daemon seeded the instance whose definitions live in `etc_dir`
/// (status files in `status_dir`): its marker is there, or, the marker lost, files are
/// (they are loaded, never hidden behind a fresh seed; the log says so).
bool instance_was_seeded(const std::string& etc_dir, const std::string& status_dir);

/// Writes the marker that the instance was seeded. Throws protocol::error.
void mark_seeded(const std::string& etc_dir);

/// The kernel's boot id (/proc/sys/kernel/random/boot_id), "" when unreadable.
std::string current_boot_id();

/// The names in `dir` ending in ".xml" (files or links), without it, sorted; temporary
/// files left by a crash (".NAME.tmp") are removed. None when `dir` is absent.
std::vector<std::string> xml_names(const std::string& dir);

/// A whole file; throws protocol::error(operation_failed) naming it when unreadable.
std::string read_whole(const std::string& path);

/// A small file's content without a trailing newline, "" when absent.
std::string read_small_file(const std::string& path);

/// The status file of a domain: its state, private data and live definition.
std::string status_text(const domain_summary& s);

} // namespace domus::runtime
