// The volume operations of the storage driver for `dir` pools: raw volumes are files the
// dir backend makes, resizes and wipes itself; qcow2 volumes are made and resized by
// Debian's qemu-img, which gets the file as an inherited descriptor (never a path). Each
// runs as blocking work, beneath the pool's directory descriptor.
#include "permissions.hpp"
#include "pool_volumes.hpp"
#include "qemu_img_run.hpp"
#include "storage_state.hpp"
#include "volume_transfer.hpp"

#include "pool_dir.hpp"
#include "qemu_img.hpp"
#include "volume_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>

namespace domus::storage_driver {

namespace {

using namespace std::chrono_literals;

// How long one qemu-img may run: the runtime's volume deadlines are 120 s, and a
// qemu-img that outlives its call must never write into a file the runtime gave up on.
constexpr auto qemu_img_bound = 110s;

std::string vol_label(const domus_pool& p, const std::string& name) {
  return "volume '" + name + "' of " + pool_label(p);
}

using dir_backend::fd_guard;

// A long-running call's side of the runtime's job: its progress, told as bytes, and
// whether it was aborted (the volume table's cancel). Empty for the plain calls.
struct job_link {
  domus_instance* inst = nullptr;
  domus_job* job = nullptr;
  std::shared_ptr<std::atomic<bool>> cancelled;

  bool aborted() const { return cancelled && cancelled->load(); }
  const std::atomic<bool>* flag() const { return cancelled.get(); }
  // The progress callback of the dir backend: reports, and says whether to go on.
  dir_backend::progress_fn progress() const {
    if (!job)
      return nullptr;
    return [this](uint64_t done, uint64_t total) {
      domus_job_progress_v1 pr{sizeof pr, std::min(done, total), total};
      inst->host->job_progress(inst->host->ctx, job, &pr);
      return !aborted();
    };
  }
};

// Removes what a create or copy made before it failed; the failure's own error is the
// one to report (a file left over shows at the next refresh).
void remove_unfinished(const domus_pool& p, const std::string& name) {
  try {
    dir_backend::remove_file(p.dirfd, name, false);
  } catch (const dir_backend::volume_error&) {
  }
}

// Refuses what would allocate more than the pool's filesystem has left.
void check_space(const domus_pool& p, const std::string& name, uint64_t need) {
  if (need == 0)
    return;
  dir_backend::pool_space s = dir_backend::space_of(p.dirfd);
  if (need > s.available)
    throw error(errc::operation_failed,
                "not enough space in " + pool_label(p) + " for volume '" + name +
                    "': it allocates " + std::to_string(need) + " bytes, " +
                    std::to_string(s.available) + " are available");
}

// The text of the child `name` of the volume's <target>, or "".
std::string target_text(const model::volume_def& def, const char* name) {
  const model::xml_node* t = def.root.child("target");
  const model::xml_node* c = t ? t->child(name) : nullptr;
  return c ? c->trimmed_text() : "";
}

bool has_feature(const model::volume_def& def, const char* name) {
  const model::xml_node* t = def.root.child("target");
  const model::xml_node* f = t ? t->child("features") : nullptr;
  return f && f->child(name);
}

// The backing volume of a new qcow2 volume: it must exist; its format is read from its
// header when the definition does not give it, and its size is the new volume's when
// the definition gives none.
void read_backing(const domus_pool& p, const model::volume_def& def,
                  dir_backend::qcow2_spec& spec) {
  spec.backing_path = def.backing_path;
  spec.backing_format = def.backing_format;
  if (spec.backing_path.empty() || spec.backing_path[0] != '/')
    throw error(errc::invalid_argument, vol_label(p, def.name) +
                                            ": its backing volume's path '" +
                                            def.backing_path + "' is not absolute");
  // Looked at before it is opened (O_PATH opens nothing): a device named here (a
  // watchdog armed by its open) is refused untouched; a file is then opened for reading
  // through that very descriptor, never through its path again.
  int at = ::open(spec.backing_path.c_str(), O_PATH | O_CLOEXEC);
  if (at < 0)
    throw error(errc::no_volume, vol_label(p, def.name) + ": its backing volume '" +
                                     spec.backing_path +
                                     "' cannot be opened: " + std::strerror(errno));
  fd_guard ga{at};
  struct stat st {};
  if (::fstat(at, &st) != 0 || !S_ISREG(st.st_mode))
    throw error(errc::invalid_argument, vol_label(p, def.name) +
                                            ": its backing volume '" + spec.backing_path +
                                            "' is not a file");
  int fd = ::open(("/proc/self/fd/" + std::to_string(at)).c_str(),
                  O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    throw error(errc::no_volume, vol_label(p, def.name) + ": its backing volume '" +
                                     spec.backing_path +
                                     "' cannot be read: " + std::strerror(errno));
  fd_guard g{fd};
  dir_backend::image_info info = dir_backend::probe_fd(fd);
  if (spec.backing_format.empty())
    spec.backing_format = info.format;
  if (spec.capacity == 0)
    spec.capacity = info.virtual_size.value_or(static_cast<uint64_t>(st.st_size));
}

void create_raw(domus_pool& p, const model::volume_def& def, uint32_t flags) {
  if (flags & DOMUS_VOL_CREATE_PREALLOC_METADATA)
    throw error(errc::unsupported,
                vol_label(p, def.name) + ": metadata preallocation is for qcow2 volumes");
  if (!def.backing_path.empty())
    throw error(errc::unsupported,
                vol_label(p, def.name) + ": a raw volume cannot have a backing volume");
  // libvirt's rule: a raw file's first `allocation` bytes are allocated (all of it
  // without --allocation, which defaults to the capacity), the rest left sparse.
  uint64_t allocate = std::min(def.allocation, def.capacity);
  check_space(p, def.name, allocate);
  ::close(dir_backend::create_file(p.dirfd, def.name, def.capacity, allocate));
}

void create_qcow2(domus_pool& p, const model::volume_def& def, uint32_t flags) {
  const domus_instance& inst = *p.inst;
  dir_backend::qcow2_spec spec;
  spec.capacity = def.capacity;
  if (std::string compat = target_text(def, "compat"); !compat.empty())
    spec.compat = compat;
  spec.lazy_refcounts = has_feature(def, "lazy_refcounts");
  spec.extended_l2 = has_feature(def, "extended_l2");
  spec.prealloc_metadata = (flags & DOMUS_VOL_CREATE_PREALLOC_METADATA) != 0;
  if (!def.backing_path.empty())
    read_backing(p, def, spec);
  // Checked before a file exists: a refused request leaves nothing behind.
  dir_backend::qcow2_create_argv(inst.qemu_img, 3, spec);
  int fd = dir_backend::create_file(p.dirfd, def.name, 0, 0);
  fd_guard g{fd};
  run_outcome run =
      run_qemu_img(inst.host, dir_backend::qcow2_create_argv(inst.qemu_img, fd, spec),
                   {fd}, "qemu-img create of " + vol_label(p, def.name), qemu_img_bound);
  if (!run.ok) {
    remove_unfinished(p, def.name);
    throw error(errc::operation_failed, run.message);
  }
}

// The volume a clone copies, as it was when the request came: its pool's directory
// (a descriptor of its own, so that the source pool may stop meanwhile) and its facts.
struct clone_source {
  int dirfd = -1;
  std::string pool, target, name, format;
  int32_t type = DOMUS_VOL_FILE;
  uint64_t capacity = 0;
  ~clone_source() {
    if (dirfd >= 0)
      ::close(dirfd);
  }
};

// qemu-img opens the files an image's header names, by path: an external data file
// (read-write, on a resize) and the backing chain (read, on a copy, which flattens it).
// A header is content anyone with the file could have written (a guest into its own raw
// disk, found qcow2 at the next refresh), so a copy or resize never follows one out of
// the image's own pool, and never an external data file at all.
// (A resize reads no data of the chain: only the data file counts, `pool_dir` "".)
void check_chain(const dir_backend::image_info& info, const std::string& what,
                 const std::string& pool_dir) {
  if (!info.data_file.empty())
    throw error(errc::unsupported, what + " keeps its data in an external file ('" +
                                       info.data_file +
                                       "'), which the storage driver does not follow");
  if (info.backing_path.empty() || pool_dir.empty())
    return;
  const std::string& b = info.backing_path;
  bool inside = b.find("/../") == std::string::npos && b.rfind("../", 0) != 0 &&
                (b[0] != '/' || b.rfind(pool_dir + "/", 0) == 0) &&
                b.find(':') == std::string::npos;
  if (!inside)
    throw error(errc::operation_failed,
                what + ": its backing file '" + b +
                    "' lies outside its pool; the storage driver does not read it");
}

// What a copy needs of its source, read under the source pool's lock.
std::shared_ptr<clone_source> source_facts(const domus_pool& sp, const domus_vol& from) {
  auto src = std::make_shared<clone_source>();
  src->dirfd = sp.dirfd >= 0 ? ::fcntl(sp.dirfd, F_DUPFD_CLOEXEC, 3) : -1;
  src->pool = sp.def.name;
  src->target = sp.def.target_path;
  src->name = from.name;
  src->format = from.format;
  src->type = from.type;
  src->capacity = from.capacity;
  return src;
}

// The handle is first found among the instance's pools (by its address, never read
// before): the runtime took it from its table, and the source pool's own calls may have
// freed it since (a delete, a refresh that no longer lists it). Null when it is gone.
std::shared_ptr<clone_source> source_of(domus_instance* inst, domus_vol* from) {
  std::lock_guard<std::mutex> pools(inst->mutex); // no pool is released meanwhile
  for (domus_pool* sp : inst->pools) {
    std::lock_guard<std::mutex> lock(sp->mutex); // none of its volumes is freed meanwhile
    for (auto& entry : sp->vols)
      if (entry.second.get() == from)
        return source_facts(*sp, *from);
  }
  return nullptr;
}

// vol-clone and vol-create-from: the source's content into a new volume of the format
// the definition asks; raw to raw copied here (holes kept), anything else by qemu-img
// convert, both files passed as descriptors. The copy is at least the source's size.
void copy_volume(domus_pool& p, const model::volume_def& def, const clone_source& src,
                 const job_link& jl) {
  const domus_instance& inst = *p.inst;
  std::string what = "volume '" + src.name + "' of storage pool '" + src.pool + "'";
  if (src.dirfd < 0)
    throw error(errc::invalid_operation,
                what + " cannot be copied: its pool is not active");
  if (src.type != DOMUS_VOL_FILE)
    throw error(errc::unsupported, what + " is a directory: it cannot be copied");
  if (def.format != "raw" && def.format != "qcow2")
    throw error(errc::unsupported, vol_label(p, def.name) + ": format '" + def.format +
                                       "': the storage driver copies into raw and qcow2");
  // A link out of its pool is listed, never read (EXDEV).
  int in = dir_backend::open_beneath(src.dirfd, src.name, O_RDONLY | O_NONBLOCK, true);
  if (in < 0)
    throw error(errc::operation_failed,
                what + " cannot be read" +
                    (errno == EXDEV ? std::string(": it is a link out of its pool")
                                    : ": " + std::string(std::strerror(errno))));
  fd_guard gin{in};
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
    throw error(errc::operation_failed, what + " is not a file any more");
  check_chain(dir_backend::probe_fd(in), what, src.target);
  uint64_t capacity = std::max(def.capacity, src.capacity);
  check_space(p, def.name, static_cast<uint64_t>(st.st_blocks) * 512);
  int out = dir_backend::create_file(p.dirfd, def.name, 0, 0);
  fd_guard gout{out};
  try {
    if (src.format == "raw" && def.format == "raw") {
      dir_backend::copy_data(in, out, static_cast<uint64_t>(st.st_size), capacity,
                             def.name, jl.progress());
      return;
    }
    run_outcome run = run_qemu_img(
        inst.host,
        dir_backend::convert_argv(inst.qemu_img, in, src.format, out, def.format),
        {in, out}, "qemu-img convert of " + what + " into " + vol_label(p, def.name),
        qemu_img_bound, jl.flag());
    if (run.ok && capacity > src.capacity) {
      if (def.format == "raw")
        run.ok = ::ftruncate(out, static_cast<off_t>(capacity)) == 0;
      else
        run = run_qemu_img(
            inst.host,
            dir_backend::qcow2_resize_argv(inst.qemu_img, out, capacity, false), {out},
            "qemu-img resize of " + vol_label(p, def.name), qemu_img_bound);
    }
    if (!run.ok)
      throw error(run.aborted ? errc::aborted : errc::operation_failed,
                  run.message.empty() ? "cannot size " + vol_label(p, def.name)
                                      : run.message);
  } catch (...) {
    remove_unfinished(p, def.name);
    throw;
  }
}

// The new volume's <permissions>, libvirt's default mode 0600 where it names none; a
// volume whose permissions cannot be given is removed again.
void set_permissions(const domus_pool& p, const model::volume_def& def) {
  int fd = dir_backend::open_beneath(p.dirfd, def.name, O_RDONLY | O_NONBLOCK, false);
  try {
    if (fd < 0)
      throw error(errc::operation_failed,
                  vol_label(p, def.name) + " cannot be opened: " + std::strerror(errno));
    fd_guard g{fd};
    apply_permissions(fd, permissions_of(def.root.child("target"), 0600),
                      vol_label(p, def.name));
  } catch (...) {
    remove_unfinished(p, def.name);
    throw;
  }
}

// A volume made (vol-create, vol-create-as) or copied (vol-clone, vol-create-from), as
// a plain call or a long-running job (`jl` then names it). An aborted job removes what
// it made and fails with `aborted`.
void make_volume(domus_pool* p, const std::string& text, domus_vol* from,
                 const std::shared_ptr<clone_source>& src, uint32_t flags,
                 domus_complete_fn done, void* user, const job_link& jl) {
  if (from && !src)
    throw error(errc::no_volume, pool_label(*p) + ": the volume to copy is gone");
  if (src && flags)
    throw error(errc::unsupported, pool_label(*p) + ": a copy takes no flags "
                                                    "(--prealloc-metadata, --reflink)");
  if (flags & ~DOMUS_VOL_CREATE_PREALLOC_METADATA)
    throw error(errc::unsupported, pool_label(*p) + ": volume create flags other than "
                                                    "--prealloc-metadata");
  auto def = model::parse_volume(text, "the runtime's definition", p->def,
                                 model::parse_mode::stored);
  if (std::string why = dir_backend::volume_name_problem(def.name); !why.empty())
    throw error(errc::invalid_name, "volume name '" + def.name + "': " + why);
  if (def.type != "file")
    throw error(errc::unsupported, vol_label(*p, def.name) +
                                       ": a dir pool makes files, "
                                       "not volumes of type '" +
                                       def.type + "'");
  try {
    if (src)
      copy_volume(*p, def, *src, jl);
    else if (def.format == "raw")
      create_raw(*p, def, flags);
    else if (def.format == "qcow2")
      create_qcow2(*p, def, flags);
    else
      throw error(errc::unsupported, vol_label(*p, def.name) + ": format '" + def.format +
                                         "': the storage driver makes raw and qcow2 "
                                         "volumes");
  } catch (const dir_backend::volume_error& e) {
    if (e.error_number() == ECANCELED)
      throw error(errc::aborted, e.what());
    throw;
  }
  if (jl.aborted()) { // (made before the abort was heard: it goes all the same)
    remove_unfinished(*p, def.name);
    throw error(errc::aborted,
                "the create of " + vol_label(*p, def.name) + " was aborted");
  }
  set_permissions(*p, def);
  auto v = std::make_unique<domus_vol>();
  v->name = def.name;
  read_volume(*p, *v);
  domus_vol* made = v.get();
  {
    std::lock_guard<std::mutex> lock(p->mutex);
    p->vols[def.name] = std::move(v);
  }
  if (jl.job)
    unregister_job(jl.inst, user); // before its completion
  complete(p, done, user, volumes::one, made);
}

void vol_create(domus_instance* inst, domus_pool* p, const char* xml, domus_vol* from,
                uint32_t flags, domus_complete_fn done, void* user) {
  std::string text = xml;
  std::shared_ptr<clone_source> src = from ? source_of(inst, from) : nullptr;
  run_blocking(inst, "the create of a volume of " + pool_label(*p), done, user,
               [=] { make_volume(p, text, from, src, flags, done, user, job_link{}); });
}

// Forgets a long-running call's registration when its body leaves by an exception (its
// error completion follows, in `guarded`).
// (On success the body forgets it itself, just before it completes: after, the runtime
// may reuse the address for another call.)
struct job_registration {
  domus_instance* inst;
  void* user;
  int exceptions = std::uncaught_exceptions();
  ~job_registration() {
    if (std::uncaught_exceptions() > exceptions)
      unregister_job(inst, user);
  }
};

void vol_create_job(domus_instance* inst, domus_pool* p, const char* xml, domus_vol* from,
                    uint32_t flags, domus_job* job, domus_complete_fn done, void* user) {
  std::string text = xml;
  std::shared_ptr<clone_source> src = from ? source_of(inst, from) : nullptr;
  job_link jl{inst, job, register_job(inst, user)};
  run_blocking(inst, "the create of a volume of " + pool_label(*p), done, user, [=] {
    job_registration reg{inst, user};
    make_volume(p, text, from, src, flags, done, user, jl);
  });
}

// A volume the operation may change: a file of the pool's own, not a link to one.
void check_writable(const domus_pool& p, const domus_vol& v, const char* op) {
  if (v.symlink)
    throw error(errc::invalid_operation,
                vol_label(p, v.name) +
                    " is a symbolic link, listed read-only: it cannot be " + op);
  if (v.type != DOMUS_VOL_FILE)
    throw error(errc::unsupported,
                vol_label(p, v.name) + " is a directory: it cannot be " + op);
}

void vol_delete(domus_instance* inst, domus_pool* p, domus_vol* v, uint32_t flags,
                domus_complete_fn done, void* user) {
  run_blocking(inst, "the delete of " + vol_label(*p, v->name), done, user, [=] {
    if (flags & ~DOMUS_VOL_DELETE_ZEROED)
      throw error(errc::unsupported,
                  vol_label(*p, v->name) +
                      ": a dir pool's volumes have no snapshots to delete");
    if (flags & DOMUS_VOL_DELETE_ZEROED) {
      check_writable(*p, *v, "zeroed");
      dir_backend::zero_file(p->dirfd, v->name);
    }
    try {
      dir_backend::remove_file(p->dirfd, v->name, v->type == DOMUS_VOL_DIR);
    } catch (const dir_backend::volume_error& e) {
      // Removed outside Domus since the last refresh: what was asked is done.
      if (e.error_number() != ENOENT)
        throw;
    }
    {
      std::lock_guard<std::mutex> lock(p->mutex);
      p->vols.erase(std::string(v->name)); // frees v
    }
    complete(p, done, user);
  });
}

void vol_resize(domus_instance* inst, domus_pool* p, domus_vol* v, uint64_t capacity,
                uint32_t flags, domus_complete_fn done, void* user) {
  run_blocking(inst, "the resize of " + vol_label(*p, v->name), done, user, [=] {
    check_writable(*p, *v, "resized");
    uint64_t size = capacity;
    bool shrink = (flags & DOMUS_VOL_RESIZE_SHRINK) != 0;
    // --delta: a change; with --shrink, libvirt's meaning, a decrease.
    if ((flags & DOMUS_VOL_RESIZE_DELTA) && shrink) {
      if (capacity > v->capacity)
        throw error(errc::invalid_argument,
                    vol_label(*p, v->name) + ": cannot shrink it by " +
                        std::to_string(capacity) + " bytes, its capacity is " +
                        std::to_string(v->capacity));
      size = v->capacity - capacity;
    } else if (flags & DOMUS_VOL_RESIZE_DELTA) {
      if (capacity > UINT64_MAX - v->capacity)
        throw error(errc::invalid_argument,
                    vol_label(*p, v->name) + ": its capacity plus " +
                        std::to_string(capacity) + " bytes overflows");
      size = v->capacity + capacity;
    }
    bool allocate = (flags & DOMUS_VOL_RESIZE_ALLOCATE) != 0;
    if (size < v->capacity && !shrink)
      throw error(errc::invalid_argument,
                  vol_label(*p, v->name) + ": " + std::to_string(size) +
                      " bytes is less than its capacity of " +
                      std::to_string(v->capacity) + " (--shrink allows it)");
    if (v->format == "raw") {
      check_space(*p, v->name,
                  allocate && size > v->allocation ? size - v->allocation : 0);
      dir_backend::resize_file(p->dirfd, v->name, size, allocate, shrink);
    } else if (v->format == "qcow2") {
      if (allocate)
        throw error(errc::unsupported,
                    vol_label(*p, v->name) + ": --allocate is for raw volumes");
      int fd = dir_backend::open_beneath(p->dirfd, v->name, O_RDWR | O_NONBLOCK, false);
      if (fd < 0)
        throw error(errc::operation_failed,
                    vol_label(*p, v->name) +
                        " cannot be opened: " + std::strerror(errno));
      fd_guard g{fd};
      check_chain(dir_backend::probe_fd(fd), vol_label(*p, v->name), "");
      run_outcome run = run_qemu_img(
          inst->host, dir_backend::qcow2_resize_argv(inst->qemu_img, fd, size, shrink),
          {fd}, "qemu-img resize of " + vol_label(*p, v->name), qemu_img_bound);
      if (!run.ok)
        throw error(errc::operation_failed, run.message);
    } else {
      throw error(errc::unsupported, vol_label(*p, v->name) + ": format '" + v->format +
                                         "': the storage driver resizes raw and qcow2 "
                                         "volumes");
    }
    read_volume(*p, *v);
    complete(p, done, user, volumes::one, v);
  });
}

// The wipe, as a plain call or a long-running job (`jl`): aborted, the volume is left
// partly zeroed and the call fails with `aborted`.
void wipe_volume(domus_pool* p, domus_vol* v, uint32_t algorithm, uint32_t flags,
                 domus_complete_fn done, void* user, const job_link& jl) {
  if (algorithm != 0)
    throw error(errc::unsupported,
                vol_label(*p, v->name) + ": wipe algorithm " + std::to_string(algorithm) +
                    ": the storage driver writes zeros only (algorithm zero)");
  if (flags)
    throw error(errc::unsupported, "volume wipe takes no flags");
  check_writable(*p, *v, "wiped");
  try {
    dir_backend::zero_file(p->dirfd, v->name, jl.progress());
  } catch (const dir_backend::volume_error& e) {
    if (e.error_number() == ECANCELED)
      throw error(errc::aborted, e.what());
    throw;
  }
  read_volume(*p, *v);
  if (jl.job)
    unregister_job(jl.inst, user); // before its completion
  complete(p, done, user, volumes::one, v);
}

// libvirt's zero algorithm, as libvirt runs it on a file of any format: every byte
// zero (a qcow2 volume is raw and empty after), a thin volume left thin (zero_file).
void vol_wipe(domus_instance* inst, domus_pool* p, domus_vol* v, uint32_t algorithm,
              uint32_t flags, domus_complete_fn done, void* user) {
  run_blocking(inst, "the wipe of " + vol_label(*p, v->name), done, user,
               [=] { wipe_volume(p, v, algorithm, flags, done, user, job_link{}); });
}

void vol_wipe_job(domus_instance* inst, domus_pool* p, domus_vol* v, uint32_t algorithm,
                  uint32_t flags, domus_job* job, domus_complete_fn done, void* user) {
  job_link jl{inst, job, register_job(inst, user)};
  run_blocking(inst, "the wipe of " + vol_label(*p, v->name), done, user, [=] {
    job_registration reg{inst, user};
    wipe_volume(p, v, algorithm, flags, done, user, jl);
  });
}

} // namespace

const domus_volume_ops_v1& volume_ops() {
  static const domus_volume_ops_v1 table = {
      sizeof(domus_volume_ops_v1),
      vol_create,
      vol_delete,
      vol_resize,
      vol_wipe,
      transfers().upload,
      transfers().download,
      vol_create_job,
      vol_wipe_job,
      cancel_job,
  };
  return table;
}

} // namespace domus::storage_driver
