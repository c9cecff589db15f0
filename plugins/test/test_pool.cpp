#include "test_pool.hpp"

#include "completion.hpp"

#include <domus/errors.hpp>

#include <cstdio>

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

// Completes with the pool's state and sizes.
void complete(domus_pool* p, domus_complete_fn done, void* user) {
  domus_pool_info_v1 info{};
  info.struct_size = sizeof info;
  {
    std::lock_guard<std::mutex> lock(p->mutex);
    info.state = p->state;
    info.capacity = p->def.sizes.capacity;
    info.allocation = p->def.sizes.allocation;
    info.available = p->def.sizes.available;
  }
  domus_result_v1 r = blank();
  r.pool = p;
  r.pool_info = &info;
  done(user, &r);
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
    complete(p.release(), done, user);
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
    complete(p, done, user);
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
  complete(p, done, user);
}

void pool_release(domus_instance* inst, domus_pool* p) {
  {
    std::lock_guard<std::mutex> lock(inst->doms_mutex);
    inst->pools.erase(p);
  }
  delete p;
}

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

std::unique_ptr<domus_pool> seed_pool(const std::string& xml, int32_t state,
                                      const std::string& origin) {
  auto p = std::make_unique<domus_pool>();
  try {
    p->def = model::parse_pool(xml, origin, model::parse_mode::stored);
  } catch (const error&) {
    return nullptr; // reported as it is: the runtime reads it, names why and skips it
  }
  p->state = state;
  return p;
}

} // namespace domus::test_driver
