// A dir pool's raw volumes as files: made (sparse, or allocated with fallocate),
// resized, wiped and deleted through the pool directory's descriptor, never through a
// path and never through a symbolic link (pool_dir.hpp's open_beneath). qcow2 volumes
// are made by qemu-img, which gets the file from here as an inherited descriptor. No
// CAF, no runtime: the driver runs these as blocking work, off the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace domus::dir_backend {

/// A volume file operation that failed: what, on which volume, and the system's reason.
/// Nothing is left half-made: a create that fails removes the file it made.
class volume_error : public std::runtime_error {
public:
  volume_error(std::string message, int error_number)
      : std::runtime_error(std::move(message)), errno_(error_number) {}
  /// The errno that caused it (ENOSPC, EEXIST, ...); 0 for a refusal of the request.
  int error_number() const { return errno_; }

private:
  int errno_;
};

/// Told how far a long copy or wipe is (bytes done, of `total`) every 64 MiB or so;
/// returns false to stop it, which then throws volume_error with ECANCELED.
using progress_fn = std::function<bool(uint64_t done, uint64_t total)>;

/// Makes the raw volume `name` of `capacity` bytes in the pool directory `dirfd`: a new
/// file (never an existing name or link) whose first `allocation` bytes (at most the
/// capacity) are allocated and the rest sparse, as libvirt's `<allocation>` asks;
/// flushed with its directory entry before it returns. Returns the file's descriptor,
/// open read-write (close it, or hand it to qemu-img). Throws volume_error; nothing is
/// left of a create that fails.
int create_file(int dirfd, const std::string& name, uint64_t capacity,
                uint64_t allocation);

/// Sets the raw volume's size to `capacity` bytes. Shrinking is refused unless `shrink`
/// (it destroys data, as `vol-resize --shrink` says); `allocate` allocates what grows.
void resize_file(int dirfd, const std::string& name, uint64_t capacity, bool allocate,
                 bool shrink);

/// Overwrites the volume's content with zeros, keeping its size (`vol-wipe`'s default
/// algorithm), as libvirt does: a sparse file is cut to nothing and grown back, so that a
/// thin volume stays thin and never fills its filesystem; a file allocated in full is
/// zeroed in place and stays allocated.
void zero_file(int dirfd, const std::string& name, const progress_fn& progress = nullptr);

/// Copies the `size` bytes of the file open at `from` into the new file open at `to`
/// (a raw clone), keeping holes as holes: only the data extents are copied
/// (SEEK_DATA/SEEK_HOLE, copy_file_range); then `to` is `capacity` bytes (at least
/// `size`) and flushed. `name` is the new volume's, for errors. Throws volume_error.
void copy_data(int from, int to, uint64_t size, uint64_t capacity,
               const std::string& name, const progress_fn& progress = nullptr);

/// Uploads write into a file of their own beside the volume, named with this prefix
/// (never a volume's name, never listed), which replaces the volume only once complete.
inline constexpr const char* upload_prefix = ".domus-upload-";
/// Whether `name` is such a file.
bool is_upload_file(const std::string& name);

/// A new, empty upload file in the pool directory: its descriptor (read-write) and its
/// name. Throws volume_error, naming the volume `for_volume`.
int create_upload_file(int dirfd, const std::string& for_volume, std::string& name);

/// Makes the upload file `temp` (open at `fd`) the volume `name`: `size` bytes, the
/// volume's mode and owner, flushed, then renamed over the volume and the directory
/// flushed, so that the volume is either what it was or all of the upload, whatever
/// happens meanwhile. Throws volume_error (the upload file then stays: remove it).
void commit_upload(int dirfd, int fd, const std::string& temp, const std::string& name,
                   uint64_t size);

/// Removes the upload files a daemon killed during an upload left behind.
void remove_upload_leftovers(int dirfd);

/// Removes the volume: a file or a link (the link, never its target), or an empty
/// subdirectory when `directory`.
void remove_file(int dirfd, const std::string& name, bool directory);

} // namespace domus::dir_backend
