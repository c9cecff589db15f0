#include "test_pool.hpp"

#include "completion.hpp"

#include <domus/errors.hpp>

#include <cstdio>
#include <vector>

namespace domus::test_driver {

namespace {

// What libvirt's mock gives every pool it defines: 100 GiB, nothing allocated.
constexpr uint64_t mock_capacity = 100ull << 30;

std::string name_of(domus_pool* p) {
  std::lock_guard<std::mutex> lock(p->mutex);
  return p->def.name;
}

bool injected(domus_instance* inst, const char* op, domus_pool* p, domus_complete_fn done,
              void* user) {
  if (inst->faults.entries.empty())
    return false;
  return injected_fault(*inst, op, "pool", name_of(p), done, user);
}

// A volume as the ABI hands it over; its strings are the volume's.
domus_volume_v1 entry_of(domus_vol& v) {
  domus_volume_v1 e{};
  e.struct_size = sizeof e;
  e.vol = &v;
  e.name = v.def.name.c_str();
  e.key = v.def.key.c_str();
  e.path = v.def.target_path.c_str();
  e.type = DOMUS_VOL_FILE;
  e.format = v.def.format.empty() ? nullptr : v.def.format.c_str();
  e.capacity = v.def.capacity;
  e.allocation = v.def.allocation;
  e.backing_path = v.def.backing_path.empty() ? nullptr : v.def.backing_path.c_str();
  e.backing_format =
      v.def.backing_format.empty() ? nullptr : v.def.backing_format.c_str();
  e.xml = v.xml.c_str();
  return e;
}

// What the result carries of the volumes.
enum class volumes { none, all, one };

// Completes with the pool's state and sizes, and its volumes (all of them, or `one`);
// with `handle` (a define) the pool's handle too: only a define hands one over.
void complete(domus_pool* p, domus_complete_fn done, void* user,
              volumes which = volumes::none, domus_vol* one = nullptr,
              bool handle = false) {
  domus_pool_info_v1 info{};
  info.struct_size = sizeof info;
  std::vector<domus_volume_v1> list;
  {
    std::lock_guard<std::mutex> lock(p->mutex);
    info.state = p->state;
    info.capacity = p->def.sizes.capacity;
    info.allocation = p->def.sizes.allocation;
    info.available = p->def.sizes.available;
    if (which == volumes::all)
      for (auto& [name, v] : p->vols)
        list.push_back(entry_of(*v));
    else if (which == volumes::one)
      list.push_back(entry_of(*one));
  }
  domus_result_v1 r = blank();
  r.pool = handle ? p : nullptr;
  r.pool_info = &info;
  r.volumes = list.data();
  r.n_volumes = list.size();
  done(user, &r);
}

// Adds a volume, as the mock keeps it: its path the pool's target and its name, its
// key the path. The caller holds the pool's lock (or owns the pool alone).
domus_vol& add_volume(domus_pool& p, model::volume_def def) {
  if (def.target_path.empty())
    def.target_path = p.def.target_path + "/" + def.name;
  if (def.key.empty())
    def.key = def.target_path;
  auto v = std::make_unique<domus_vol>();
  v->def = std::move(def);
  v->xml = model::format_volume(v->def);
  auto& slot = p.vols[v->def.name];
  slot = std::move(v);
  return *slot;
}

// The mock's sizes after a volume came or went: what volumes allocate is no longer
// available.
void account(domus_pool& p, int64_t allocated) {
  auto& z = p.def.sizes;
  z.allocation = static_cast<uint64_t>(static_cast<int64_t>(z.allocation) + allocated);
  z.available = z.capacity > z.allocation ? z.capacity - z.allocation : 0;
}

// libvirt's mock builds nothing, so it takes none of the options of a build.
void refuse_flags(uint32_t flags, const char* op) {
  if (flags == 0)
    return;
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", flags);
  throw error(errc::unsupported, std::string("the test driver's pools have no storage to "
                                             "build: flags ") +
                                     hex + " of " + op + " are not supported");
}

void pool_define(domus_instance* inst, const char* xml, uint32_t flags,
                 domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    refuse_flags(flags, "pool define");
    auto p = std::make_unique<domus_pool>();
    p->def =
        model::parse_pool(xml, "the runtime's definition", model::parse_mode::stored);
    p->def.sizes = {mock_capacity, 0, mock_capacity};
    {
      std::lock_guard<std::mutex> lock(inst->doms_mutex);
      inst->pools.insert(p.get());
    }
    complete(p.release(), done, user, volumes::none, nullptr, true);
  });
}

void pool_start(domus_instance* inst, domus_pool* p, const char* xml, uint32_t flags,
                domus_complete_fn done, void* user) {
  if (injected(inst, "pool_start", p, done, user))
    return;
  guarded(done, user, [&] {
    refuse_flags(flags, "pool start");
    auto def =
        model::parse_pool(xml, "the runtime's definition", model::parse_mode::stored);
    {
      std::lock_guard<std::mutex> lock(p->mutex);
      def.sizes = p->def.sizes; // the mock's sizes never change
      p->def = std::move(def);
      p->state = DOMUS_POOL_RUNNING;
    }
    complete(p, done, user, volumes::all);
  });
}

void pool_destroy(domus_instance* inst, domus_pool* p, domus_complete_fn done,
                  void* user) {
  if (injected(inst, "pool_destroy", p, done, user))
    return;
  {
    std::lock_guard<std::mutex> lock(p->mutex);
    p->state = DOMUS_POOL_INACTIVE;
  }
  complete(p, done, user);
}

void pool_build(domus_instance* inst, domus_pool* p, uint32_t flags,
                domus_complete_fn done, void* user) {
  if (injected(inst, "pool_build", p, done, user))
    return;
  guarded(done, user, [&] {
    refuse_flags(flags, "pool build");
    complete(p, done, user);
  });
}

void pool_delete(domus_instance* inst, domus_pool* p, uint32_t flags,
                 domus_complete_fn done, void* user) {
  if (injected(inst, "pool_delete", p, done, user))
    return;
  guarded(done, user, [&] {
    if (flags != 0)
      throw error(errc::unsupported,
                  "the test driver's pools have no storage to clear: flags of pool "
                  "delete are not supported");
    complete(p, done, user);
  });
}

void pool_refresh(domus_instance* inst, domus_pool* p, domus_complete_fn done,
                  void* user) {
  if (injected(inst, "pool_refresh", p, done, user))
    return;
  complete(p, done, user, volumes::all);
}

void pool_release(domus_instance* inst, domus_pool* p) {
  {
    std::lock_guard<std::mutex> lock(inst->doms_mutex);
    inst->pools.erase(p);
  }
  delete p;
}

// -- volumes ---------------------------------------------------------------------------

// A new volume (vol-create, vol-create-as), or a copy (vol-clone, vol-create-from: the
// mock copies nothing but the definition it is given). The mock takes no flags, and
// refuses a volume that would allocate more than the pool's capacity.
void vol_create(domus_instance*, domus_pool* p, const char* xml, domus_vol* from,
                uint32_t flags, domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    if (flags != 0)
      throw error(errc::unsupported,
                  "the test driver's volumes take no flags of volume create");
    domus_vol* made = nullptr;
    {
      std::lock_guard<std::mutex> lock(p->mutex);
      auto def = model::parse_volume(xml, "the runtime's definition", p->def,
                                     model::parse_mode::stored);
      (void)from;
      auto& z = p->def.sizes;
      if (z.allocation + def.allocation > z.capacity)
        throw error(errc::operation_failed,
                    "not enough free space in storage pool '" + p->def.name +
                        "' for volume '" + def.name + "' (it allocates " +
                        std::to_string(def.allocation) + " bytes, " +
                        std::to_string(z.available) + " are available)");
      account(*p, static_cast<int64_t>(def.allocation));
      made = &add_volume(*p, std::move(def));
    }
    complete(p, done, user, volumes::one, made);
  });
}

void vol_delete(domus_instance*, domus_pool* p, domus_vol* v, uint32_t flags,
                domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    if (flags != 0)
      throw error(errc::unsupported,
                  "the test driver's volumes take no flags of volume delete");
    {
      std::lock_guard<std::mutex> lock(p->mutex);
      account(*p, -static_cast<int64_t>(v->def.allocation));
      p->vols.erase(v->def.name); // frees v
    }
    complete(p, done, user);
  });
}

// libvirt's mock resizes and wipes nothing: those slots stay empty, and the runtime says
// the driver does not support them.
const domus_volume_ops_v1 volume_table = {
    sizeof(domus_volume_ops_v1), vol_create, vol_delete, nullptr, nullptr,
};

const domus_pool_ops_v1 table = {
    sizeof(domus_pool_ops_v1),
    pool_define,
    pool_start,
    pool_destroy,
    pool_build,
    pool_delete,
    pool_refresh,
    pool_release,
};

} // namespace

const domus_pool_ops_v1& pool_ops() {
  return table;
}

const domus_volume_ops_v1& volume_ops() {
  return volume_table;
}

std::unique_ptr<domus_pool> seed_pool(const seed_object& obj) {
  auto p = std::make_unique<domus_pool>();
  try {
    p->def = model::parse_pool(obj.xml, obj.origin, model::parse_mode::stored);
    for (auto& xml : obj.volumes)
      add_volume(*p,
                 model::parse_volume(xml, obj.origin, p->def, model::parse_mode::stored));
  } catch (const error&) {
    return nullptr; // reported as it is: the runtime reads it, names why and skips it
  }
  p->state = obj.state;
  return p;
}

} // namespace domus::test_driver
