#include "actors/instance_pools.hpp"

#include "actors/args.hpp"
#include "actors/messages.hpp"
#include "actors/paged_list.hpp"
#include "actors/pool_actor.hpp"
#include "actors/pool_json.hpp"
#include "actors/pool_rules.hpp"
#include "daemon/log.hpp"
#include "drivers/driver_call.hpp"
#include "gateway/gateway.hpp"

#include <domus/model/names.hpp>
#include <domus/model/uuid.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <unistd.h>

namespace domus::runtime {

using protocol::errc;
using protocol::json;
using protocol::proc;

instance_pools::instance_pools(caf::event_based_actor* self,
                               const loaded_driver* pool_plugin, std::string scheme)
    : self_(self), pool_plugin_(pool_plugin), scheme_(std::move(scheme)) {}

std::shared_ptr<pool_slot> instance_pools::adopt(const model::pool_def& def, pool_facts f,
                                                 bool defined) {
  auto slot =
      std::make_shared<pool_slot>(def.name, model::format_uuid(*def.uuid), std::move(f));
  if (defined)
    slot->set_defined();
  caf::actor a = spawn_pool_actor(self_, pool_seed{ctx_, slot});
  self_->monitor(a);
  pools_.add({slot, a});
  return slot;
}

void instance_pools::release_failed(domus_pool* handle, const driver_result& failed) {
  auto release = DOMUS_POOL_OP(*ctx_, release);
  if (release && failed.status != static_cast<int32_t>(errc::timeout))
    release(ctx_->inst, handle);
}

namespace {

// A definition with the sizes a pool call reported.
std::shared_ptr<const model::pool_def> with_sizes(model::pool_def d,
                                                  const driver_result& r) {
  if (r.pool_info)
    d.sizes = {r.pool_info->capacity, r.pool_info->allocation, r.pool_info->available};
  return std::make_shared<const model::pool_def>(std::move(d));
}

// Why a driver call failed, for the log.
std::string failure_text(const driver_result& r) {
  return r.message.empty() ? "error " + std::to_string(r.status) : r.message;
}

} // namespace

void instance_pools::stop(std::vector<caf::actor>& gone) {
  for (auto& a : gone)
    self_->send(a, stop_atom::value);
  gone.clear();
}

void instance_pools::on_removed(const std::string& name) {
  if (caf::actor a = pools_.drop_gone(name))
    self_->send(a, stop_atom::value);
}

bool instance_pools::on_down(caf::actor_id id, const std::string& reason) {
  for (const auto* e : pools_.all()) {
    if (e->actor.id() != id)
      continue;
    auto slot = e->slot;
    log_error(ctx_->uri + ": the actor of storage pool '" + slot->name() + "' failed (" +
              reason + "); a new one takes the pool over");
    caf::actor a = spawn_pool_actor(self_, pool_seed{ctx_, slot});
    self_->monitor(a);
    pools_.add({slot, a});
    return true;
  }
  return false;
}

// -- what the instance starts with -----------------------------------------------------

void instance_pools::adopt_reported(std::vector<driver_result::object>& objects) {
  if (!pool_plugin_ || !unavailable_.empty())
    return;
  for (auto& o : objects) {
    if (o.kind != DOMUS_OBJECT_POOL)
      continue;
    std::string why;
    try {
      auto def = model::parse_pool(o.xml, ctx_->uri, model::parse_mode::stored);
      std::vector<caf::actor> gone;
      if (!def.uuid)
        why = "pool '" + def.name + "' has no UUID";
      else if (pool_state_name(o.state.state).empty())
        why = "pool '" + def.name + "' has an unknown state " +
              std::to_string(o.state.state);
      else if (!o.pool && DOMUS_POOL_OP(*ctx_, start))
        why = "pool '" + def.name + "' has no handle for the pool operations";
      else if (pools_.find(def.name, gone) ||
               pools_.find(model::format_uuid(*def.uuid), gone))
        why = "pool '" + def.name + "' repeats another's name or UUID";
      if (why.empty()) {
        pool_facts f;
        f.def = std::make_shared<const model::pool_def>(def);
        f.state = o.state.state;
        f.persistent = o.persistent;
        f.autostart = o.autostart;
        f.handle = o.pool;
        // Its volumes come with a refresh, the runtime's own (no reply, no event); a
        // driver without one has none to tell.
        bool read = f.active() && DOMUS_POOL_OP(*ctx_, refresh);
        if (f.active() && !read)
          f.volumes = std::make_shared<volume_table>(std::vector<driver_volume>{});
        adopt(def, std::move(f), true);
        if (read) {
          pool_request j;
          j.request.proc = proc::pool_refresh;
          j.internal = true;
          j.notify = true;
          caf::actor a = pools_.find(def.name, gone)->actor;
          unread_.insert(a.id());
          self_->send(a, call_atom::value, std::move(j));
        }
      }
    } catch (const protocol::error& e) {
      why = std::string("a pool does not parse: ") + e.what();
    }
    if (!why.empty())
      log_error(ctx_->uri + ": " + why + "; skipped");
  }
}

std::vector<store::change> instance_pools::seed_changes() const {
  std::vector<store::change> out;
  for (const auto* e : pools_.all()) {
    pool_facts f = e->slot->read();
    pool_files files{*ctx_, e->slot->name()};
    if (f.persistent)
      out.push_back(files.definition(f.inactive_def()));
    if (f.persistent && f.autostart)
      out.push_back(files.autostart());
    if (f.active())
      out.push_back(files.status(*f.def));
  }
  return out;
}

void instance_pools::restore(pending_calls& calls, bool boot,
                             std::function<void()> then) {
  std::vector<std::string> skipped;
  auto found = read_persisted_pools(*ctx_, skipped);
  for (auto& why : skipped)
    log_error(ctx_->uri + ": " + why + "; skipped");
  if (!pool_plugin_ || !unavailable_.empty()) {
    if (!found.empty())
      log_error(ctx_->uri + ": " + std::to_string(found.size()) +
                " storage pool(s) on disk, but " +
                (pool_plugin_ ? "the driver serving them could not open this instance"
                              : "no driver serves this instance's pools") +
                "; they are left alone");
    return then();
  }
  // One count per pool and one for this loop: `then` runs once, after the last.
  auto pending = std::make_shared<size_t>(found.size() + 1);
  auto one_done = [pending, then] {
    if (--*pending == 0)
      then();
  };
  for (auto& p : found)
    restore_one(calls, std::move(p), boot, one_done);
  one_done();
}

void instance_pools::restore_one(pending_calls& calls, persisted_pool p, bool boot,
                                 std::function<void()> done) {
  auto define = DOMUS_POOL_OP(*ctx_, define);
  auto start = DOMUS_POOL_OP(*ctx_, start);
  const model::pool_def& def = p.def ? *p.def : *p.live;
  std::vector<caf::actor> gone;
  if (!define || !start || pools_.find(def.name, gone) ||
      pools_.find(model::format_uuid(*def.uuid), gone)) {
    log_error(ctx_->uri + ": storage pool '" + def.name + "' on disk " +
              (define && start ? "repeats the name or UUID of a pool the driver has"
                               : "cannot be defined: the driver has no pool operations") +
              "; skipped");
    return done();
  }
  auto xml = std::make_shared<std::string>(model::format_pool(def));
  auto* inst = ctx_->inst;
  auto uri = ctx_->uri;
  auto fail = [this, uri](const persisted_pool& p, const std::string& what,
                          const driver_result& res) {
    log_error(uri + ": storage pool '" + p.name + "' could not be " + what + " again (" +
              failure_text(res) + ")");
    if (p.live) // it is not active any more
      ctx_->files->apply(pool_files{*ctx_, p.name}.no_status(), nullptr);
  };
  calls.drive(
      driver_op::pool_define,
      [=](domus_complete_fn d, void* user) { define(inst, xml->c_str(), 0, d, user); },
      [=, &calls, p = std::move(p)](driver_result& res) mutable {
        if (!res.ok() || !res.pool) {
          fail(p, "defined", res);
          return done();
        }
        pool_facts f;
        f.def = with_sizes(p.def ? *p.def : *p.live, res);
        f.handle = res.pool;
        f.persistent = p.def.has_value();
        f.autostart = p.autostart && f.persistent;
        bool again = p.live || (f.autostart && boot);
        if (!again) {
          auto def = f.def; // (not read after f is moved)
          adopt(*def, std::move(f), true);
          return done();
        }
        auto live =
            std::make_shared<std::string>(model::format_pool(p.live ? *p.live : *p.def));
        auto* handle = res.pool;
        calls.drive(
            driver_op::pool_start,
            [=](domus_complete_fn d, void* user) {
              start(inst, handle, live->c_str(), 0, d, user);
            },
            [=, p = std::move(p)](driver_result& res) mutable {
              if (!res.ok()) {
                fail(p, "started", res);
                if (!f.persistent) {
                  release_failed(f.handle, res);
                  return done();
                }
              } else {
                if (p.live && p.def)
                  f.next = f.def; // the persistent definition, for its next start
                f.def = with_sizes(p.live ? *p.live : *p.def, res);
                f.volumes = std::make_shared<volume_table>(std::move(res.volumes));
                f.state = res.pool_info && res.pool_info->state != DOMUS_POOL_INACTIVE
                              ? res.pool_info->state
                              : int32_t{DOMUS_POOL_RUNNING};
                ctx_->files->apply(pool_files{*ctx_, p.name}.status(*f.def), nullptr);
                log_info(uri + ": storage pool '" + p.name + "' started again");
              }
              auto def = f.def;
              adopt(*def, std::move(f), true);
              done();
            });
      });
}

void instance_pools::seed_default(pending_calls& calls, const std::string& dir,
                                  std::function<void()> then) {
  std::vector<caf::actor> gone;
  if (dir.empty() || !unavailable_.empty())
    return then();
  // Made once per instance, whenever that first works (a storage driver that could not
  // open at the first start makes it at a later one); a `default` undefined since stays
  // undefined. The marker beside `.seeded` says it was made.
  const std::string marker = ctx_->etc_dir + "/.default-pool";
  auto mark = [marker, uri = ctx_->uri] {
    try {
      store::write_now(marker, "", true);
    } catch (const protocol::error& e) {
      log_warning(uri + ": " + e.what());
    }
  };
  if (::access(marker.c_str(), F_OK) == 0)
    return then();
  if (pools_.find("default", gone)) {
    mark();
    return then();
  }
  auto define = DOMUS_POOL_OP(*ctx_, define);
  auto build = DOMUS_POOL_OP(*ctx_, build);
  auto start = DOMUS_POOL_OP(*ctx_, start);
  const std::string uri = ctx_->uri;
  auto skip = [uri, then](const std::string& why) {
    log_error(uri + ": the storage pool 'default' was not made: " + why);
    then();
  };
  if (!define || !build || !start)
    return skip("the " + std::string(ctx_->driver().name) +
                " driver cannot define, build and start pools");
  auto def = std::make_shared<model::pool_def>();
  try {
    *def = model::parse_pool("<pool type='dir'><name>default</name><target><path>" +
                                 model::escaped_xml(dir) + "</path></target></pool>",
                             "the default pool");
    model::normalize(*def);
  } catch (const protocol::error& e) {
    return skip(e.what());
  }
  auto xml = std::make_shared<std::string>(model::format_pool(*def));
  auto* inst = ctx_->inst;
  // define, build (the directory, as libvirt's tools do on first use), start.
  calls.drive(
      driver_op::pool_define,
      [=](domus_complete_fn d, void* user) { define(inst, xml->c_str(), 0, d, user); },
      [=, &calls](driver_result& res) {
        if (!res.ok() || !res.pool)
          return skip("define: " + failure_text(res));
        domus_pool* handle = res.pool;
        calls.drive(
            driver_op::pool_build,
            [=](domus_complete_fn d, void* user) { build(inst, handle, 0, d, user); },
            [=, &calls](driver_result& res) {
              if (!res.ok()) {
                release_failed(handle, res);
                return skip("build: " + failure_text(res));
              }
              calls.drive(
                  driver_op::pool_start,
                  [=](domus_complete_fn d, void* user) {
                    start(inst, handle, xml->c_str(), 0, d, user);
                  },
                  [=](driver_result& res) {
                    if (!res.ok()) {
                      release_failed(handle, res);
                      return skip("start: " + failure_text(res));
                    }
                    pool_facts f;
                    f.def = with_sizes(*def, res);
                    f.handle = handle;
                    f.persistent = true;
                    f.autostart = true;
                    f.state = DOMUS_POOL_RUNNING;
                    f.volumes = std::make_shared<volume_table>(std::move(res.volumes));
                    auto d = f.def;
                    adopt(*d, std::move(f), true);
                    // Its files durable before the marker that says it was made.
                    pool_files files{*ctx_, "default"};
                    try {
                      ctx_->files->commit_all(
                          {files.definition(*def), files.autostart(), files.status(*d)});
                      mark();
                      log_info(uri + ": storage pool 'default' made at " + dir);
                    } catch (const protocol::error& e) {
                      log_error(uri + ": the storage pool 'default' runs but was not " +
                                "saved: " + e.what());
                    }
                    then();
                  });
            });
      });
}

void instance_pools::volumes_read(caf::actor_id id) {
  if (!unread_.erase(id) || !unread_.empty())
    return;
  // The volume requests that waited go now, in the order they came, before anything
  // that comes after them in the mailbox (a client's pipelined create then delete of a
  // volume stay in that order).
  std::vector<rpc> waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& r : waiting) {
    try {
      handle(r);
    } catch (const protocol::error& e) {
      ctx_->gw->reply(r.serial, protocol::encode_error(r.id, e.code(), e.what()));
    }
  }
}

// -- requests ---------------------------------------------------------------------------

void instance_pools::check_served() const {
  if (!pool_plugin_)
    throw protocol::error(errc::unsupported,
                          "no driver serves storage pools for '" + scheme_ + "' URIs");
  if (!unavailable_.empty())
    throw protocol::error(errc::operation_failed, unavailable_);
}

void instance_pools::handle(const rpc& r) {
  check_served();
  // Every volume procedure (the catalogue's vol.*) reads a pool's volumes.
  bool volumes = protocol::entry(r.proc).name.rfind("vol.", 0) == 0;
  if (volumes && !unread_.empty()) {
    // An adopted pool's volumes are being read: a wait bounded by the read's deadline,
    // and in size by the requests clients may have in flight (max_client_requests).
    waiting_.push_back(r);
    return;
  }
  switch (r.proc) {
  case proc::pool_list:
  case proc::pool_info:
  case proc::pool_xml:
    return query(r);
  case proc::pool_define:
  case proc::pool_create:
    return definition(r);
  case proc::vol_list:
  case proc::vol_info:
  case proc::vol_xml:
    return volume_query(r);
  case proc::vol_create:
  case proc::vol_create_from:
  case proc::vol_clone:
    return volume_definition(r);
  case proc::vol_delete:
  case proc::vol_resize:
  case proc::vol_wipe:
  case proc::vol_upload:
  case proc::vol_download:
    return volume_change(r);
  case proc::vol_jobinfo:
  case proc::vol_jobabort:
    return volume_job(r);
  default:
    return change(r);
  }
}

// -- volumes ----------------------------------------------------------------------------

// The pool `name` and its facts, active (volumes live in active pools), for `op`.
instance_pools::pool_view instance_pools::active_pool(const std::string& name, proc op) {
  std::vector<caf::actor> gone;
  const auto& e = pools_.lookup(name, gone);
  stop(gone);
  pool_view out{&e, e.slot->read()};
  if (auto refused = check_pool_op(op, out.facts, e.slot->name()))
    throw protocol::error(errc::invalid_operation, *refused);
  return out;
}

// A volume by its name in `pool` when given, else by its key, else by its path, in any
// active pool: virsh's order.
instance_pools::volume_view instance_pools::find_volume(const json& args, proc op) {
  std::string key = required_string(args, "vol");
  if (auto pool = optional_string(args, "pool")) {
    pool_view p = active_pool(*pool, op);
    if (const driver_volume* v = p.facts.volume(key))
      return {p, *v};
  }
  for (bool by_key : {true, false})
    for (const auto* e : pools_.all()) {
      if (!e->slot->defined())
        continue;
      pool_facts f = e->slot->read();
      if (!f.active() || !f.volumes)
        continue;
      const driver_volume* found = nullptr;
      f.volumes->any_of([&](const driver_volume& v) {
        found = (by_key ? v.key : v.path) == key ? &v : nullptr;
        return found != nullptr;
      });
      if (found)
        return {{e, f}, *found};
    }
  throw protocol::error(
      errc::no_volume, "no storage volume with matching name, key or path '" + key + "'");
}

void instance_pools::volume_query(const rpc& r) {
  gateway& gw = *ctx_->gw;
  json out;
  if (r.proc == proc::vol_list) {
    // In name order, in pages that fit max_reply_bytes (a directory may hold 100,000
    // files), each after the name `after` when given.
    pool_view p = active_pool(required_string(r.args, "pool"), r.proc);
    auto after = optional_string(r.args, "after");
    if (!p.facts.volumes)
      throw protocol::error(errc::operation_failed,
                            "the volumes of storage pool '" + p.entry->slot->name() +
                                "' are not known: reading them failed (the daemon's log "
                                "says why); pool-refresh reads them again");
    // Only the rows that can fit a page are sorted (a row is at least 64 bytes), so
    // that paging through 100,000 volumes does not sort them all for every page.
    uint64_t budget = page_budget(ctx_->max_reply_bytes);
    size_t fit = static_cast<size_t>(budget / 64) + 1;
    std::vector<const driver_volume*> rows;
    p.facts.volumes->any_of([&](const driver_volume& v) {
      if (!after || v.name > *after)
        rows.push_back(&v);
      return false;
    });
    size_t candidates = rows.size();
    auto by_name = [](const driver_volume* a, const driver_volume* b) {
      return a->name < b->name;
    };
    if (rows.size() > fit) {
      std::nth_element(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(fit),
                       rows.end(), by_name);
      rows.resize(fit);
    }
    std::sort(rows.begin(), rows.end(), by_name);
    paged_list page("volumes", budget);
    for (const driver_volume* v : rows) {
      json row = volume_entry(*v);
      if (!page.add([&](std::string& text) { text += protocol::json_text(row); },
                    v->name))
        break;
    }
    return gw.reply(r.serial, protocol::encode_reply_text(
                                  r.id, page.finish(page.rows() < candidates)));
  } else {
    volume_view v = find_volume(r.args, r.proc);
    if (r.proc == proc::vol_xml) {
      out = {{"xml", volume_xml(v.vol)}};
    } else {
      out = volume_entry(v.vol);
      out["pool"] = v.pool.entry->slot->name();
      out["pool_uuid"] = v.pool.entry->slot->uuid();
    }
  }
  gw.reply(r.serial, protocol::encode_reply(r.id, out));
}

// vol.create and vol.create-from: the definition, read in the context of the pool it
// goes to; vol.clone: the source's, renamed, in its own pool. The pool's actor checks
// the name is free (it alone knows for sure) and runs the driver's create.
void instance_pools::volume_definition(const rpc& r) {
  pool_request j;
  j.request = r;
  auto mode = optional_bool(r.args, "validate", false) ? model::parse_mode::strict
                                                       : model::parse_mode::input;
  pool_view target{};
  if (r.proc == proc::vol_clone) {
    volume_view source = find_volume(r.args, r.proc);
    std::string name = required_string(r.args, "name");
    model::check_name(name, "volume");
    auto def =
        model::parse_volume(volume_xml(source.vol), "volume '" + source.vol.name + "'",
                            *source.pool.facts.def, model::parse_mode::stored);
    // The copy's key and path are its pool's to give: the source's go, from the
    // document too (its nodes would be formatted again).
    def.name = name;
    def.key.clear();
    def.target_path.clear();
    auto drop = [](model::xml_node& n, const char* child) {
      auto& kids = n.children;
      kids.erase(std::remove_if(kids.begin(), kids.end(),
                                [&](const model::xml_node& c) {
                                  return !c.is_text && c.name == child;
                                }),
                 kids.end());
    };
    drop(def.root, "key");
    if (model::xml_node* target = def.root.child("target"))
      drop(*target, "path");
    j.volume = std::make_shared<const model::volume_def>(std::move(def));
    j.from = source.vol.handle;
    j.from_name = source.vol.name;
    j.from_pool = source.pool.entry->slot->name();
    target = source.pool;
  } else {
    target = active_pool(required_string(r.args, "pool"), r.proc);
    std::string origin = optional_string(r.args, "origin").value_or("<request>");
    j.volume = std::make_shared<const model::volume_def>(
        model::parse_volume(required_string(r.args, "xml"), origin, *target.facts.def,
                            mode, ctx_->xml_limits));
    if (r.proc == proc::vol_create_from) {
      auto input = r.args.find("input");
      if (input == r.args.end() || !input->is_object())
        throw protocol::error(errc::bad_request,
                              "argument \"input\" must be an object {pool?, vol}");
      volume_view source = find_volume(*input, r.proc);
      j.from = source.vol.handle;
      j.from_name = source.vol.name;
      j.from_pool = source.pool.entry->slot->name();
    }
  }
  self_->send(target.entry->actor, call_atom::value, std::move(j));
}

// vol.jobinfo and vol.jobabort: by pool and name, not through the volume table, since a
// volume being built is not in it yet.
void instance_pools::volume_job(const rpc& r) {
  pool_view p = active_pool(required_string(r.args, "pool"), r.proc);
  pool_request j;
  j.request = r;
  j.vol = required_string(r.args, "vol");
  self_->send(p.entry->actor, call_atom::value, std::move(j));
}

void instance_pools::volume_change(const rpc& r) {
  volume_view v = find_volume(r.args, r.proc);
  // A guest's disk never goes (or turns to zeros) under it: the domains that have it,
  // defined or running, are named (libvirt's storage driver does not look).
  // An upload replaces the file: a running guest would go on writing the old one.
  bool upload = r.proc == proc::vol_upload;
  if ((r.proc == proc::vol_delete || r.proc == proc::vol_wipe || upload) && users_of_) {
    auto users = users_of_(v.pool.entry->slot->name(), v.vol, upload);
    if (!users.empty()) {
      std::string names;
      for (size_t i = 0; i < users.size() && i < 5; ++i)
        names += (i ? ", '" : "'") + users[i] + "'";
      if (users.size() > 5)
        names += " and " + std::to_string(users.size() - 5) + " more";
      throw protocol::error(errc::invalid_operation,
                            "storage volume '" + v.vol.name + "' of pool '" +
                                v.pool.entry->slot->name() + "' cannot be " +
                                (r.proc == proc::vol_delete ? "deleted"
                                 : upload                   ? "uploaded to"
                                                            : "wiped") +
                                ": " + (upload ? "running " : "") + "domain" +
                                (users.size() > 1 ? "s " : " ") + names +
                                (users.size() > 1 ? " use" : " uses") + " it");
    }
  }
  pool_request j;
  j.request = r;
  j.vol = v.vol.name;
  self_->send(v.pool.entry->actor, call_atom::value, std::move(j));
}

void instance_pools::query(const rpc& r) {
  gateway& gw = *ctx_->gw;
  if (r.proc == proc::pool_list)
    return gw.reply(r.serial,
                    protocol::encode_reply_text(
                        r.id, pools_.list(optional_bool(r.args, "active", true),
                                          optional_bool(r.args, "inactive", true),
                                          optional_string(r.args, "after"),
                                          page_budget(ctx_->max_reply_bytes))));
  std::vector<caf::actor> gone;
  const auto& e = pools_.lookup(required_string(r.args, "pool"), gone);
  stop(gone);
  pool_facts f = e.slot->read();
  json out;
  if (r.proc == proc::pool_info)
    out = pool_entry(*e.slot, f);
  else if (!optional_bool(r.args, "inactive", false) || !f.next)
    out = {{"xml", model::format_pool(*f.def)}};
  else {
    // The sizes are the pool's, whichever definition is shown.
    model::pool_def inactive = *f.next;
    inactive.sizes = f.def->sizes;
    out = {{"xml", model::format_pool(inactive)}};
  }
  gw.reply(r.serial, protocol::encode_reply(r.id, out));
}

void instance_pools::change(const rpc& r) {
  std::vector<caf::actor> gone;
  const auto& e = pools_.lookup(required_string(r.args, "pool"), gone);
  stop(gone);
  self_->send(e.actor, call_atom::value, pool_request{r, nullptr});
}

// pool.define and pool.create: the definition is read and checked against the other
// pools here (name, UUID, storage), then the pool's actor runs it: a new pool's is
// spawned for it.
void instance_pools::definition(const rpc& r) {
  std::string origin = optional_string(r.args, "origin").value_or("<request>");
  auto mode = optional_bool(r.args, "validate", false) ? model::parse_mode::strict
                                                       : model::parse_mode::input;
  auto parsed =
      model::parse_pool(required_string(r.args, "xml"), origin, mode, ctx_->xml_limits);
  model::normalize(parsed);
  auto def = std::make_shared<const model::pool_def>(std::move(parsed));
  std::string uuid = model::format_uuid(*def->uuid);
  std::vector<caf::actor> gone;
  auto* same_name = pools_.find(def->name, gone);
  auto* same_uuid = pools_.find(uuid, gone);
  stop(gone);
  if (same_name && same_name->slot->uuid() != uuid)
    throw protocol::error(errc::pool_exists, "storage pool '" + def->name +
                                                 "' is already defined with UUID " +
                                                 same_name->slot->uuid());
  if (same_uuid && same_uuid->slot->name() != def->name)
    throw protocol::error(errc::pool_exists, "storage pool '" + same_uuid->slot->name() +
                                                 "' already has UUID " + uuid);
  if (std::string claim = storage_claim(*def); !claim.empty())
    for (const auto* other : pools_.all()) {
      if (other->slot->name() == def->name)
        continue;
      pool_facts f = other->slot->read();
      if (storage_claim(*f.def) == claim || (f.next && storage_claim(*f.next) == claim))
        throw protocol::error(errc::pool_exists, "storage pool '" + other->slot->name() +
                                                     "' already uses this storage (" +
                                                     claim + ")");
    }
  if (!same_name) {
    pool_facts f;
    f.def = def;
    f.persistent = r.proc == proc::pool_define;
    adopt(*def, std::move(f), false);
    same_name = pools_.find(def->name, gone);
  }
  self_->send(same_name->actor, call_atom::value, pool_request{r, def});
}

} // namespace domus::runtime
