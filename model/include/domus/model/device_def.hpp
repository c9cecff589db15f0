// One device of a domain on its own, as attach-device, detach-device and update-device
// take it: a <disk>, <interface>, ... element, checked by the domain schema's rule for
// it, as it would be inside <devices>.
#pragma once

#include "domus/model/xml_tree.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace domus::model {

/// The element names that are devices (the children of <devices> but <emulator>), in
/// libvirt's order.
std::vector<std::string_view> device_names();

/// Checks one device element and returns it written in libvirt's form (its children
/// and attributes in libvirt's order, sizes in KiB, with a final newline). Throws
/// domus::error(xml_error) as "ORIGIN:LINE: /disk/target: message", or naming the
/// element when it is not a device ("ORIGIN:1: /domain: <domain> is not a device
/// (expected one of disk, controller, ...)"); past `limits` as parse_xml does. Secrets
/// (a graphics password) are kept: this is what the driver gets.
std::string check_device(std::string_view xml, std::string_view origin,
                         const xml_limits& limits = {});

/// The index of a disk target name (hda 0, vdb 1, sdaa 26), or -1 when it is not one of
/// hd, sd, vd, xvd, fd or ubd followed by letters, with an optional partition number.
long disk_name_index(std::string_view name);

/// Inserts a device element into <devices> at libvirt's place for it: after the last
/// device of its kind, else before the first kind libvirt writes after it.
void insert_device(xml_node& devices, xml_node device);

/// Fills in a video <model>'s sizes and heads as libvirt does for its type (vram 16384
/// for vga and cirrus, qxl's ram and vram 65536, heads 1); nothing for type none.
void video_defaults(xml_node& model);

} // namespace domus::model
