// The storage model: libvirt storage pool and volume definitions checked against their
// schemas (storage_schema.cpp), normalized as libvirt normalizes them, with the values
// the runtime and drivers use at hand as typed fields.
#pragma once

#include "domus/model/domain_def.hpp"
#include "domus/model/uuid.hpp"
#include "domus/model/xml_tree.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// What a pool holds, in bytes: zero for an inactive pool, as libvirt writes it.
struct pool_sizes {
  uint64_t capacity = 0;
  uint64_t allocation = 0;
  uint64_t available = 0;
};

/// A storage pool definition.
struct pool_def {
  std::string type; ///< dir, fs, netfs, logical, disk, iscsi, ...
  std::string name;
  std::optional<model::uuid> uuid; ///< absent until normalized when the input had none
  std::string target_path;         ///< cleaned; "" when none was given
  /// As the document says (a driver's pool as it is now); normalize() zeroes them, as
  /// a definition's sizes are not its own.
  pool_sizes sizes;
  /// The whole definition, checked and in libvirt's order; unknown nodes kept after the
  /// known children of their parent. The typed fields win over it when formatted.
  xml_node root;
  std::vector<std::string> unknown; ///< "LINE: PATH" of each kept unknown node
};

/// Parses and validates a pool definition. Errors read "ORIGIN:LINE: /pool/capacity:
/// unknown unit 'GB2' (...)" and throw domus::error(xml_error), or invalid_name.
pool_def parse_pool(std::string_view xml, std::string_view origin,
                    parse_mode mode = parse_mode::input, const xml_limits& limits = {});

/// libvirt's normalization of a pool: its sizes zeroed, a UUID generated when absent, the
/// target path
/// cleaned (no repeated or trailing '/'), and per type the source's defaults (a logical
/// pool's volume group named after the pool, format lvm2; fs and netfs format auto).
void normalize(pool_def& def);

/// Formats a pool definition in libvirt's element order, with its sizes.
std::string format_pool(const pool_def& def);

/// A storage volume definition, read in the context of its pool.
struct volume_def {
  std::string type; ///< file (the default), block, dir, network, netdir, ploop
  std::string name;
  std::string key;    ///< "" when not given (the pool assigns it)
  std::string format; ///< the target's format type: raw (the default), qcow2, ...
  std::string target_path;
  uint64_t capacity = 0;    ///< bytes
  uint64_t allocation = 0;  ///< bytes; the capacity when not given
  std::string backing_path; ///< "" without a backing store
  std::string backing_format;
  xml_node root;
  std::vector<std::string> unknown;
};

/// Parses and validates a volume definition of `pool`, and normalizes it as libvirt
/// does: sizes in bytes, the allocation defaulted to the capacity, the format to raw,
/// permissions written as libvirt writes them (mode in octal with a leading 0, owner and
/// group in decimal), qcow2 features implying compat 1.1; what only libvirt reports (the
/// source's extents, timestamps) is not kept.
volume_def parse_volume(std::string_view xml, std::string_view origin,
                        const pool_def& pool, parse_mode mode = parse_mode::input,
                        const xml_limits& limits = {});

/// Formats a volume definition in libvirt's element order.
std::string format_volume(const volume_def& def);

} // namespace domus::model
