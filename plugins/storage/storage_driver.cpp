// The `storage` driver: libvirt's storage driver as a plugin. It serves the storage pools
// of every hypervisor scheme ("*": qemu:///system, qemu:///session, a vendor's), one
// instance per URI, and runs `dir` pools on real directories with the dir backend
// (plugins/dir/). The test driver keeps its own in-memory pools for test:///.
#include "storage_state.hpp"

#include "image_probe.hpp"
#include "qemu_img.hpp"
#include "volume_files.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <unistd.h>

domus_pool::~domus_pool() {
  if (dirfd >= 0)
    ::close(dirfd);
}

namespace domus::storage_driver {

domus_result_v1 blank() {
  domus_result_v1 r{};
  r.struct_size = sizeof r;
  return r;
}

void fail(domus_complete_fn done, void* user, errc code, const std::string& message) {
  domus_result_v1 r = blank();
  r.status = static_cast<int32_t>(code);
  r.message = message.c_str();
  done(user, &r);
}

void guarded(domus_complete_fn done, void* user, const std::function<void()>& body) {
  try {
    body();
  } catch (const error& e) {
    fail(done, user, e.code(), e.what());
  } catch (const dir_backend::volume_error& e) {
    fail(done, user, errc::operation_failed, e.what());
  } catch (const dir_backend::qemu_img_error& e) {
    fail(done, user, errc::invalid_argument, e.what());
  } catch (const dir_backend::image_error& e) {
    fail(done, user, errc::operation_failed, e.what());
  } catch (const std::system_error& e) {
    fail(done, user, errc::operation_failed, e.what());
  } catch (const std::exception& e) {
    fail(done, user, errc::internal, std::string("storage driver: ") + e.what());
  }
}

namespace {

struct blocking_item {
  std::string what;
  domus_complete_fn done;
  void* user;
  std::function<void()> body;
};

void run_item(void* arg) {
  auto* w = static_cast<blocking_item*>(arg);
  guarded(w->done, w->user, w->body);
}

void item_ended(void* arg, int32_t status) {
  std::unique_ptr<blocking_item> w(static_cast<blocking_item*>(arg));
  if (status != 0)
    fail(w->done, w->user, errc::shutting_down,
         w->what + " was cancelled before it began: the daemon stops");
}

} // namespace

void run_blocking(domus_instance* inst, const std::string& what, domus_complete_fn done,
                  void* user, std::function<void()> body) {
  auto* w = new blocking_item{what, done, user, std::move(body)};
  if (inst->host->queue_work(inst->host->ctx, run_item, item_ended, w))
    return;
  delete w;
  fail(done, user, errc::limit_exceeded,
       what + " was refused: " + std::to_string(DOMUS_WORK_MAX_ITEMS) +
           " blocking operations of " + inst->uri + "'s storage already wait or run");
}

void log(domus_instance* inst, int32_t level, const std::string& message) {
  inst->host->log(inst->host->ctx, level, message.c_str());
}

std::shared_ptr<std::atomic<bool>> register_job(domus_instance* inst, void* user,
                                                void* transfer,
                                                void (*abort_transfer)(void*)) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::lock_guard<std::mutex> lock(inst->jobs_mutex);
  inst->jobs[user] = {flag, transfer, abort_transfer};
  return flag;
}

void unregister_job(domus_instance* inst, void* user) {
  std::lock_guard<std::mutex> lock(inst->jobs_mutex);
  inst->jobs.erase(user);
}

namespace {

struct loop_abort {
  domus_instance* inst;
  void* user;
};

// On the loop thread, where transfers live and are unregistered: one still registered
// is alive for the length of this call.
void abort_on_loop(void* arg) {
  std::unique_ptr<loop_abort> a(static_cast<loop_abort*>(arg));
  void* transfer = nullptr;
  void (*abort)(void*) = nullptr;
  {
    std::lock_guard<std::mutex> lock(a->inst->jobs_mutex);
    auto it = a->inst->jobs.find(a->user);
    if (it == a->inst->jobs.end())
      return;
    transfer = it->second.transfer;
    abort = it->second.abort_transfer;
  }
  if (transfer && abort)
    abort(transfer);
}

} // namespace

void cancel_job(domus_instance* inst, void* user) {
  bool transfer = false;
  {
    std::lock_guard<std::mutex> lock(inst->jobs_mutex);
    auto it = inst->jobs.find(user);
    if (it == inst->jobs.end())
      return;
    it->second.cancelled->store(true);
    transfer = it->second.transfer != nullptr;
  }
  if (!transfer)
    return;
  auto* a = new loop_abort{inst, user};
  if (inst->host->post(inst->host->ctx, abort_on_loop, a) != 0)
    delete a; // the daemon stops: its streams end anyway
}

std::string pool_label(const domus_pool& p) {
  return "storage pool '" + p.def.name + "'";
}

namespace {

// Settings (etc/domus/storage.conf): the qemu-img binary.
void apply_settings(domus_instance& inst, const domus_open_args_v1& a) {
  inst.qemu_img = "/usr/bin/qemu-img";
  if (!DOMUS_REACHES(&a, domus_open_args_v1, n_settings))
    return;
  for (size_t i = 0; i < a.n_settings; ++i) {
    const domus_setting_v1& s = a.settings[i];
    std::string where =
        std::string(a.settings_file) + ":" + std::to_string(s.line) + ": " + s.key + ": ";
    if (std::strcmp(s.key, "qemu_img") == 0) {
      if (s.value[0] != '/' || ::access(s.value, X_OK) != 0)
        throw error(errc::config_error,
                    where + "'" + s.value + "' is not an absolute path to a program");
      inst.qemu_img = s.value;
    } else {
      throw error(errc::config_error,
                  where + "unknown setting (the storage driver knows qemu_img)");
    }
  }
}

void storage_open(const domus_open_args_v1* a, domus_complete_fn done, void* user) {
  guarded(done, user, [&] {
    if (!DOMUS_REACHES(a->host, domus_host_v1, queue_work))
      throw error(errc::unsupported, "the storage driver needs a runtime with blocking "
                                     "work (plugin ABI 1.1)");
    auto inst = std::make_unique<domus_instance>();
    inst->host = a->host;
    inst->uri = a->uri;
    apply_settings(*inst, *a);
    // It reports no objects: the runtime keeps every pool's definition and gives them
    // back with define and start.
    domus_result_v1 r = blank();
    r.instance = inst.release();
    done(user, &r);
  });
}

void storage_close(domus_instance* inst) {
  {
    std::lock_guard<std::mutex> lock(inst->mutex);
    for (domus_pool* p : inst->pools)
      delete p;
  }
  delete inst;
}

const char* const no_domain_schemes[] = {nullptr};
const char* const every_scheme[] = {"*", nullptr};
const domus_kind_schemes_v1 kinds[] = {{DOMUS_OBJECT_POOL, every_scheme}};

domus_driver_v1 make_driver() {
  domus_driver_v1 d{};
  d.abi_major = DOMUS_DRIVER_ABI_MAJOR;
  d.abi_minor = DOMUS_DRIVER_ABI_MINOR;
  d.struct_size = sizeof d;
  d.name = "storage";
  d.version = DOMUS_VERSION;
  d.schemes = no_domain_schemes;
  d.open = storage_open;
  d.close = storage_close;
  d.kinds = kinds;
  d.n_kinds = 1;
  d.pool = &pool_ops();
  d.volume = &volume_ops();
  return d;
}

} // namespace
} // namespace domus::storage_driver

DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t host_abi_major) {
  if (host_abi_major != DOMUS_DRIVER_ABI_MAJOR)
    return nullptr;
  static const domus_driver_v1 driver = domus::storage_driver::make_driver();
  return &driver;
}
