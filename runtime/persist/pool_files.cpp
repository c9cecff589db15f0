#include "persist/pool_files.hpp"

#include "persist/instance_restore.hpp"

#include <domus/protocol/errors.hpp>

#include <unistd.h>

namespace domus::runtime {

std::string pool_definition_dir(const instance_paths& paths) {
  return paths.etc_dir + "/storage";
}
std::string pool_autostart_dir(const instance_paths& paths) {
  return paths.etc_dir + "/storage/autostart";
}
std::string pool_status_dir(const instance_paths& paths) {
  return paths.status_dir + "/storage";
}

namespace {

std::string definition_path(const instance_paths& p, const std::string& name) {
  return pool_definition_dir(p) + "/" + name + ".xml";
}
std::string autostart_path(const instance_paths& p, const std::string& name) {
  return pool_autostart_dir(p) + "/" + name + ".xml";
}
std::string status_path(const instance_paths& p, const std::string& name) {
  return pool_status_dir(p) + "/" + name + ".xml";
}

// A pool file: its definition, which must be the pool its file name says.
model::pool_def load(const std::string& path, const std::string& name) {
  auto def = model::parse_pool(read_whole(path), path, model::parse_mode::stored);
  if (def.name != name)
    throw protocol::error(protocol::errc::xml_error, path + ": defines storage pool '" +
                                                         def.name + "', not '" + name +
                                                         "' as its file name says");
  if (!def.uuid)
    throw protocol::error(protocol::errc::xml_error, path + ": the pool has no UUID");
  return def;
}

} // namespace

store::change pool_files::definition(const model::pool_def& def) const {
  // The definition without sizes: they are the pool's state, not its definition.
  model::pool_def bare = def;
  bare.sizes = {};
  return {store::change::write, definition_path(paths, name), model::format_pool(bare),
          true};
}

store::change pool_files::no_definition() const {
  return {store::change::remove, definition_path(paths, name), "", true};
}

store::change pool_files::autostart() const {
  return {store::change::link, autostart_path(paths, name), definition_path(paths, name),
          true};
}

store::change pool_files::no_autostart() const {
  return {store::change::remove, autostart_path(paths, name), "", true};
}

store::change pool_files::status(const model::pool_def& live) const {
  return {store::change::write, status_path(paths, name), model::format_pool(live),
          false};
}

store::change pool_files::no_status() const {
  return {store::change::remove, status_path(paths, name), "", false};
}

std::vector<persisted_pool> read_persisted_pools(const instance_paths& paths,
                                                 std::vector<std::string>& skipped) {
  std::vector<persisted_pool> out;
  auto defined = xml_names(pool_definition_dir(paths));
  auto active = xml_names(pool_status_dir(paths));
  // Both lists are sorted: walk them together, in name order.
  size_t i = 0, j = 0;
  while (i < defined.size() || j < active.size()) {
    bool take_def = i < defined.size() && (j == active.size() || defined[i] <= active[j]);
    bool take_live =
        j < active.size() && (i == defined.size() || active[j] <= defined[i]);
    persisted_pool p;
    p.name = take_def ? defined[i] : active[j];
    try {
      if (take_def) {
        p.def = load(definition_path(paths, p.name), p.name);
        p.autostart = ::access(autostart_path(paths, p.name).c_str(), F_OK) == 0;
      }
      if (take_live) {
        p.live = load(status_path(paths, p.name), p.name);
        if (p.def && *p.def->uuid != *p.live->uuid)
          throw protocol::error(protocol::errc::xml_error,
                                status_path(paths, p.name) +
                                    ": the active pool has another UUID than its "
                                    "definition");
      }
      out.push_back(std::move(p));
    } catch (const protocol::error& e) {
      skipped.push_back(e.what());
    }
    i += take_def;
    j += take_live;
  }
  return out;
}

} // namespace domus::runtime
