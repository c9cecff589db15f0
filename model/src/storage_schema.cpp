// The storage schemas: what a libvirt storage pool and a storage volume definition may
// hold, with value types and libvirt's output order (its storage_conf.c formats in this
// order). conf/schemas/storagepool.rng and storagevol.rng are written from them.
#include "domus/model/storage_schema.hpp"

#include "schema_build.hpp"

namespace domus::model {

namespace {

using namespace schema_build;

// <permissions>: a mode (octal), an owner and a group (numbers, -1 for "unchanged"), and
// an SELinux label. Shared by pool targets, volume targets and backing stores.
const elem_rule* permissions() {
  static const elem_rule* p = el("permissions", {},
                                 {value("mode", &vt::text), value("owner", &vt::sint),
                                  value("group", &vt::sint), value("label")});
  return p;
}

const elem_rule* format() {
  static const elem_rule* f = el("format", {req("type")});
  return f;
}

const elem_rule* timestamps() {
  static const elem_rule* t = el(
      "timestamps", {}, {value("atime"), value("mtime"), value("ctime"), value("btime")});
  return t;
}

elem_rule* pool() {
  auto* auth = el("auth", {{"type", oneof({"chap", "ceph"})}, {"username"}},
                  {el("secret", {{"uuid", &vt::uuid}, {"usage"}})});
  auto* adapter = el("adapter",
                     {{"type", oneof({"scsi_host", "fc_host"})},
                      {"name"},
                      {"parent"},
                      {"managed", &vt::yes_no},
                      {"parent_wwnn"},
                      {"parent_wwpn"},
                      {"parent_fabric_wwn"},
                      {"wwnn"},
                      {"wwpn"}},
                     {el("parentaddr", {{"unique_id", &vt::uint}},
                         {el("address", {{"domain", &vt::hex_uint},
                                         {"bus", &vt::hex_uint},
                                         {"slot", &vt::hex_uint},
                                         {"function", &vt::hex_uint}})})});
  auto* source =
      el("source", {},
         {many(el("host", {req("name"), {"port", &vt::uint}})),
          many(el("device", {req("path"), {"part_separator", &vt::yes_no}},
                  {many(el("freeExtent", {{"start", &vt::uint}, {"end", &vt::uint}}))})),
          el("dir", {req("path")}), adapter, value("name"),
          el("initiator", {}, {el("iqn", {req("name")})}), format(), auth,
          el("vendor", {req("name")}), el("product", {req("name")}),
          el("protocol", {req("ver")})});
  auto* target = el("target", {}, {value("path"), permissions(), kept("encryption")});
  return el(
      "pool",
      {req("type",
           oneof({"dir", "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct",
                  "scsi", "mpath", "rbd", "sheepdog", "gluster", "zfs", "vstorage"}))},
      {required(value("name")), value("uuid", &vt::uuid), bytes("capacity"),
       bytes("allocation"), bytes("available"),
       el("features", {}, {el("cow", {req("state", &vt::yes_no)})}), source, target,
       el("refresh", {},
          {el("volume", {},
              {el("allocation", {req("mode", oneof({"default", "capacity"}))})})})});
  // (A netfs pool's <fs:mount_opts> and an rbd pool's <rbd:config_opts> live in
  // namespaces of their own: kept as unknown nodes, as a domain's <qemu:commandline>.)
}

elem_rule* volume() {
  auto* target =
      el("target", {},
         {value("path"), format(), permissions(), timestamps(), kept("encryption"),
          value("compat"), el("nocow"), bytes("clusterSize"),
          el("features", {},
             {el("lazy_refcounts"), el("extended_l2", {{"state", &vt::on_off}})})});
  auto* backing =
      el("backingStore", {}, {value("path"), format(), permissions(), timestamps()});
  return el(
      "volume", {{"type", oneof({"file", "block", "dir", "network", "netdir", "ploop"})}},
      {required(value("name")), value("key"), kept("source"), required(bytes("capacity")),
       bytes("allocation"), bytes("physical"), target, backing});
}

} // namespace

const elem_rule& pool_schema() {
  static const elem_rule* root = index_rules(pool());
  return *root;
}

const elem_rule& volume_schema() {
  static const elem_rule* root = index_rules(volume());
  return *root;
}

} // namespace domus::model
