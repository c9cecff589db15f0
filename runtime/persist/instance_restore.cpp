#include "persist/instance_restore.hpp"
#include "persist/domain_files.hpp"

#include "daemon/log.hpp"
#include "persist/store.hpp"

#include <domus/protocol/errors.hpp>
#include <domus/protocol/vocabulary.hpp>

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace domus::runtime {

namespace {

const char* const seeded_marker = "/.seeded";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

std::vector<std::string> xml_names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d)
    return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n[0] == '.' && ends_with(n, ".tmp")) {
      log_warning("removing " + dir + "/" + n + ", a write a crash interrupted");
      ::unlink((dir + "/" + n).c_str());
      continue;
    }
    // A name may start with a dot (".web" is a valid domain name): only the temporary
    // files (handled above) are skipped.
    if (n.size() > 4 && ends_with(n, ".xml"))
      out.push_back(n.substr(0, n.size() - 4));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw protocol::error(protocol::errc::operation_failed, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

std::string current_boot_id() {
  return read_small_file("/proc/sys/kernel/random/boot_id");
}

bool instance_was_seeded(const std::string& etc_dir, const std::string& status_dir) {
  if (::access((etc_dir + seeded_marker).c_str(), F_OK) == 0)
    return true;
  size_t found = 0;
  for (auto* dir : {&etc_dir, &status_dir})
    found += xml_names(*dir).size();
  if (found == 0)
    return false;
  log_warning(etc_dir + seeded_marker + " is missing, but " + std::to_string(found) +
              " definition or status file(s) are there: loading them (the marker is "
              "written again)");
  return true;
}

void mark_seeded(const std::string& etc_dir) {
  if (::access((etc_dir + seeded_marker).c_str(), F_OK) != 0)
    store::write_now(etc_dir + seeded_marker, "", true);
}

std::string status_text(const domain_summary& s) {
  domain_status st;
  st.state = {s.state, s.reason, s.id};
  st.private_data = s.private_data;
  const auto& def = s.live_def ? *s.live_def : *s.persistent_def;
  st.live_xml = model::format_domain(def, model::secrets::keep, s.id);
  return format_status(st);
}

namespace {

// One definition file: the domain it restores, or why it does not load.
struct loaded_definition {
  std::optional<restored_domain> domain;
  std::string error;
  std::vector<std::string>
      warnings; // validation findings a new definition is refused for
};

loaded_definition load_definition(const instance_paths& ctx, const std::string& name) {
  loaded_definition out;
  std::string path = ctx.definition_path(name);
  try {
    auto def = model::parse_domain(read_whole(path), path, model::parse_mode::stored);
    model::normalize(def);
    if (def.name != name)
      throw protocol::error(protocol::errc::xml_error, path + ": defines domain '" +
                                                           def.name + "', not '" + name +
                                                           "' as its file name says");
    out.warnings = def.warnings();
    restored_domain d;
    d.name = def.name;
    d.uuid = def.uuid_string();
    d.persistent = std::make_shared<const model::domain_def>(model::compacted(def));
    out.domain = std::move(d);
  } catch (const protocol::error& e) {
    out.error = e.what();
  }
  return out;
}

// Every definition file, read and parsed on as many threads as there are cores (a
// definition costs 30-50 us, most of a start-up with thousands of them); the results
// keep the order of `names`.
std::vector<loaded_definition> load_definitions(const instance_paths& ctx,
                                                const std::vector<std::string>& names) {
  std::vector<loaded_definition> out(names.size());
  size_t threads =
      names.size() < 256 ? 1 : std::max(1u, std::thread::hardware_concurrency());
  auto work = [&](size_t first) {
    for (size_t i = first; i < names.size(); i += threads)
      out[i] = load_definition(ctx, names[i]);
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t)
    helpers.emplace_back(work, t);
  work(0);
  for (auto& h : helpers)
    h.join();
  return out;
}

} // namespace

restore_plan read_persisted(const instance_paths& ctx) {
  restore_plan plan;
  std::map<std::string, size_t> by_name;
  auto names = xml_names(ctx.etc_dir);
  plan.domains.reserve(names.size());
  for (auto& loaded : load_definitions(ctx, names)) {
    if (!loaded.domain) {
      log_error("skipping a definition that does not load: " + loaded.error);
      continue;
    }
    // Loaded all the same: a rule added since the definition was stored must not make
    // its domain vanish; a define or edit of it is refused until it is fixed.
    for (auto& w : loaded.warnings)
      log_warning("a stored definition breaks a rule of define (loaded all the same): " +
                  w);
    by_name[loaded.domain->name] = plan.domains.size();
    plan.domains.push_back(std::move(*loaded.domain));
  }
  for (auto& name : xml_names(ctx.etc_dir + "/autostart")) {
    auto it = by_name.find(name);
    if (it != by_name.end())
      plan.domains[it->second].autostart = true;
  }
  for (auto& name : xml_names(ctx.status_dir)) {
    std::string path = ctx.status_path(name);
    try {
      domain_status s = parse_status(read_whole(path), path);
      auto live = model::parse_domain(s.live_xml, path, model::parse_mode::stored);
      model::normalize(live);
      auto it = by_name.find(name);
      if (it == by_name.end()) {
        restored_domain d; // a transient domain
        d.name = live.name;
        d.uuid = live.uuid_string();
        by_name[name] = plan.domains.size();
        plan.domains.push_back(std::move(d));
        it = by_name.find(name);
      }
      auto& d = plan.domains[it->second];
      d.live = std::make_shared<const model::domain_def>(std::move(live));
      d.status = std::move(s);
    } catch (const protocol::error& e) {
      log_error("skipping a status file that does not load: " + std::string(e.what()));
    }
  }
  return plan;
}

void persist_seeded(const instance_paths& ctx, store& files,
                    const std::vector<const domain_summary*>& domains) {
  // One group: one flush and one fsync per directory, however many objects the driver
  // starts with.
  std::vector<store::change> changes;
  for (auto* s : domains) {
    domain_files f{ctx, s->name};
    if (s->persistent_def)
      changes.push_back(f.definition(*s->persistent_def));
    if (s->autostart)
      changes.push_back(f.autostart());
    if (protocol::state_is_active(s->state))
      changes.push_back(f.status(*s));
  }
  files.commit_all(std::move(changes));
  mark_seeded(ctx.etc_dir);
}

} // namespace domus::runtime
