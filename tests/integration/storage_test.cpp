#define BOOST_TEST_MODULE storage_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "dir_pools_fixture.hpp"
#include "test_files.hpp"

#include <domus/protocol/client.hpp>

#include <cctype>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// The storage driver (plugins/storage/) serving real dir pools for a hypervisor scheme
// whose domain driver keeps no pools of its own, as libvirt's storage driver serves
// qemu:///system. probe10 (the probe driver built against ABI 1.0) stands for that
// hypervisor here; its instance /system is persisted, as qemu:///system will be. Each
// test drives the real daemon through domsh or the protocol and checks the files.

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

const std::string system_uri = dir_pools_fixture::system_uri;

struct fixture : dir_pools_fixture {
  json create(const std::string& xml) {
    return ok("vol.create", {{"pool", "default"}, {"xml", xml}});
  }
};

struct stat stat_of(const std::string& path) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::lstat(path.c_str(), &st) == 0, path);
  return st;
}

// What qemu-img itself says of a file: "FORMAT VIRTUAL-SIZE [BACKING]".
std::string qemu_img_info(const std::string& path) {
  auto r = run({"/usr/bin/qemu-img", "info", "-U", "--output=json", path});
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  auto j = json::parse(r.out);
  std::string out = j["format"].get<std::string>() + " " +
                    std::to_string(j["virtual-size"].get<uint64_t>());
  if (j.contains("backing-filename"))
    out += " " + j["backing-filename"].get<std::string>();
  return out;
}

std::string vol_xml(const std::string& name, const std::string& capacity,
                    const std::string& more = "") {
  return "<volume><name>" + name + "</name><capacity>" + capacity + "</capacity>" + more +
         "</volume>";
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(storage, fixture)

// A first start makes the pool `default` at var/lib/domus/images, running and
// autostart, as libvirt's tools make /var/lib/libvirt/images; it comes back after a
// SIGKILL with what it holds.
BOOST_AUTO_TEST_CASE(the_default_pool_is_made_once_and_survives_sigkill) {
  auto info = sh("pool-info default");
  BOOST_TEST_REQUIRE(info.status == 0, info.err);
  BOOST_TEST(info.out.find("State:          running") != std::string::npos, info.out);
  BOOST_TEST(info.out.find("Autostart:      yes") != std::string::npos, info.out);
  struct stat st = stat_of(images());
  BOOST_TEST(S_ISDIR(st.st_mode));
  BOOST_TEST((st.st_mode & 07777) == 0711u);
  auto xml = ok("pool.xml", {{"pool", "default"}})["xml"].get<std::string>();
  BOOST_TEST(xml.find("<path>" + images() + "</path>") != std::string::npos, xml);
  auto made = sh("vol-create-as default kept.qcow2 1G --format qcow2");
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  std::string root = d.root();
  d.kill9();
  // Not made again: the same pool (its UUID) and its volume.
  daemon_process again({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})}, root);
  auto list =
      again.domsh({"pool-list --all; vol-list default"}, "", "/system", "probe10");
  BOOST_TEST_REQUIRE(list.status == 0, list.err);
  BOOST_TEST(list.out.find(" default   active   yes") != std::string::npos, list.out);
  BOOST_TEST(list.out.find("kept.qcow2") != std::string::npos, list.out);
  domus::protocol::connection c2(again.socket(), false);
  auto x2 = c2.call(system_uri, "pool.xml", {{"pool", "default"}}, 10s);
  BOOST_TEST_REQUIRE(x2.ok, x2.message);
  std::string uuid = xml.substr(xml.find("<uuid>"), 42);
  BOOST_TEST(x2.result["xml"].get<std::string>().find(uuid) != std::string::npos, uuid);
  again.stop();
}

// The done-when of the storage issue, through domsh: a qcow2 volume in the default
// pool, a raw one, a qcow2 on a backing volume; each file is what qemu-img says it is.
BOOST_AUTO_TEST_CASE(domsh_makes_real_volumes) {
  auto r = sh("vol-create-as default disk1.qcow2 1G --format qcow2; "
              "vol-create-as default raw1 10M; "
              "vol-create-as default sparse 10M --allocation 0; "
              "vol-create-as default child.qcow2 0 --format qcow2 --backing-vol " +
              images() + "/disk1.qcow2");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(r.out ==
             "Vol disk1.qcow2 created\n\nVol raw1 created\n\nVol sparse created\n\n"
             "Vol child.qcow2 created\n\n");
  BOOST_TEST(qemu_img_info(images() + "/disk1.qcow2") == "qcow2 1073741824");
  BOOST_TEST(qemu_img_info(images() + "/child.qcow2") ==
             "qcow2 1073741824 " + images() + "/disk1.qcow2");
  BOOST_TEST(qemu_img_info(images() + "/raw1") == "raw 10485760");
  // raw1 is allocated in full (no --allocation), sparse is not.
  BOOST_TEST(stat_of(images() + "/raw1").st_blocks * 512 >= 10485760);
  BOOST_TEST(stat_of(images() + "/sparse").st_blocks * 512 < 1048576);
  BOOST_TEST((stat_of(images() + "/raw1").st_mode & 07777) == 0600u);
  // --allocation below the capacity: that much allocated, the rest sparse.
  auto part = sh("vol-create-as default part 10M --allocation 4M");
  BOOST_TEST_REQUIRE(part.status == 0, part.err);
  BOOST_TEST(stat_of(images() + "/part").st_size == 10485760);
  BOOST_TEST(stat_of(images() + "/part").st_blocks * 512 >= 4194304);
  BOOST_TEST(stat_of(images() + "/part").st_blocks * 512 < 10485760);
  auto child = ok("vol.info", {{"pool", "default"}, {"vol", "child.qcow2"}});
  BOOST_TEST(child["format"] == "qcow2");
  BOOST_TEST(child["capacity"] == 1073741824u);
  BOOST_TEST(child["allocation"].get<uint64_t>() ==
             uint64_t(stat_of(images() + "/child.qcow2").st_blocks) * 512);
  auto xml = ok("vol.xml", {{"pool", "default"}, {"vol", "child.qcow2"}})["xml"]
                 .get<std::string>();
  BOOST_TEST(xml.find("<backingStore>\n    <path>" + images() +
                      "/disk1.qcow2</path>\n    <format type='qcow2'/>") !=
                 std::string::npos,
             xml);
  // Resized (qcow2 by qemu-img, raw by the driver), wiped, deleted.
  r = sh("vol-resize disk1.qcow2 2G --pool default; vol-resize raw1 20M --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(qemu_img_info(images() + "/disk1.qcow2") == "qcow2 2147483648");
  BOOST_TEST(stat_of(images() + "/raw1").st_size == 20971520);
  BOOST_TEST(sh("vol-resize raw1 1M --pool default").status != 0);
  BOOST_TEST(stat_of(images() + "/raw1").st_size == 20971520);
  r = sh("vol-resize raw1 1M --pool default --shrink; vol-wipe sparse --pool default; "
         "vol-delete child.qcow2 --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(stat_of(images() + "/raw1").st_size == 1048576);
  BOOST_TEST(!file_exists(images() + "/child.qcow2"));
  // A thin volume stays thin when wiped (cut to nothing and grown back, as libvirt).
  BOOST_TEST(stat_of(images() + "/sparse").st_size == 10485760);
  BOOST_TEST(stat_of(images() + "/sparse").st_blocks * 512 < 1048576);
  // --delta with --shrink takes away, as libvirt's.
  ok("vol.resize", {{"pool", "default"},
                    {"vol", "raw1"},
                    {"capacity", 524288},
                    {"flags", 2 | 4}}); // delta, shrink (docs/protocol.md)
  BOOST_TEST(stat_of(images() + "/raw1").st_size == 524288);
  // A file removed outside Domus since the last refresh: its delete is done all the same.
  BOOST_TEST_REQUIRE(::unlink((images() + "/raw1").c_str()) == 0);
  ok("vol.delete", {{"pool", "default"}, {"vol", "raw1"}});
  BOOST_TEST(ok("pool.info", {{"pool", "default"}})["available"].get<uint64_t>() > 0u);
}

// A volume a domain uses is not wiped (nor deleted): its content is the guest's disk.
BOOST_AUTO_TEST_CASE(a_volume_in_use_is_not_wiped) {
  create(vol_xml("disk", "1048576"));
  write_file(images() + "/disk", "the guest's data");
  ok("domain.define",
     {{"xml", "<domain type='probe'><name>user</name><memory>1024</memory>"
              "<os><type>hvm</type></os><devices><disk type='volume' "
              "device='disk'><source pool='default' volume='disk'/>"
              "<target dev='vda'/></disk></devices></domain>"}});
  refused(
      "vol.wipe", {{"pool", "default"}, {"vol", "disk"}}, errc::invalid_operation,
      "storage volume 'disk' of pool 'default' cannot be wiped: domain 'user' uses it");
  BOOST_TEST(read_file(images() + "/disk") == "the guest's data");
  ok("domain.undefine", {{"domain", "user"}});
  ok("vol.wipe", {{"pool", "default"}, {"vol", "disk"}});
  BOOST_TEST(read_file(images() + "/disk") == std::string(16, '\0'));
}

// vol-clone and vol-create-from copy the content: raw to raw here (holes kept), the rest
// through qemu-img convert; across pools; never through a link out of the pool.
BOOST_AUTO_TEST_CASE(clones_copy_the_content) {
  create(vol_xml("src.raw", "8388608", "<allocation>0</allocation>"));
  {
    int fd = ::open((images() + "/src.raw").c_str(), O_WRONLY);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::pwrite(fd, "boot sector", 11, 0) == 11);
    BOOST_TEST_REQUIRE(::pwrite(fd, "far away", 8, 6 << 20) == 8);
    ::close(fd);
  }
  auto r = sh("vol-clone src.raw copy.raw --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(r.out == "Vol copy.raw cloned from src.raw\n\n");
  BOOST_TEST(read_file(images() + "/copy.raw") == read_file(images() + "/src.raw"));
  BOOST_TEST(stat_of(images() + "/copy.raw").st_blocks * 512 < 1 << 20);
  // Into qcow2 (vol-create-from with a qcow2 definition), then back into raw.
  ok("vol.create-from",
     {{"pool", "default"},
      {"xml", vol_xml("conv.qcow2", "0", "<target><format type='qcow2'/></target>")},
      {"input", {{"pool", "default"}, {"vol", "src.raw"}}}});
  BOOST_TEST(qemu_img_info(images() + "/conv.qcow2") == "qcow2 8388608");
  ok("vol.clone", {{"pool", "default"}, {"vol", "conv.qcow2"}, {"name", "again.qcow2"}});
  ok("vol.create-from", {{"pool", "default"},
                         {"xml", vol_xml("back.raw", "16777216")},
                         {"input", {{"pool", "default"}, {"vol", "again.qcow2"}}}});
  std::string back = read_file(images() + "/back.raw");
  BOOST_TEST(back.size() ==
             16777216u); // the definition's capacity, larger than the source
  BOOST_TEST(back.compare(0, 11, "boot sector") == 0);
  BOOST_TEST(back.compare(6 << 20, 8, "far away") == 0);
  // Into another pool.
  std::string other = temp_dir("op");
  auto made = sh("pool-create-as other dir --target " + other);
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  ok("vol.create-from", {{"pool", "other"},
                         {"xml", vol_xml("there.raw", "0")},
                         {"input", {{"pool", "default"}, {"vol", "src.raw"}}}});
  BOOST_TEST(read_file(other + "/there.raw") == read_file(images() + "/src.raw"));
  // A link out of the pool is listed, and never read.
  std::string secret = temp_dir("cs") + "/secret";
  write_file(secret, "private\n");
  BOOST_TEST_REQUIRE(::symlink(secret.c_str(), (images() + "/link").c_str()) == 0);
  ok("pool.refresh", {{"pool", "default"}});
  refused("vol.clone", {{"pool", "default"}, {"vol", "link"}, {"name", "stolen"}},
          errc::operation_failed, "it is a link out of its pool");
  BOOST_TEST(!file_exists(images() + "/stolen"));
}

// A header is content: a copy never follows one out of the pool (a backing file
// elsewhere, an external data file), whoever wrote it.
BOOST_AUTO_TEST_CASE(copies_never_follow_a_header_out_of_the_pool) {
  std::string elsewhere = temp_dir("hx");
  write_file(elsewhere + "/secret.raw", "not for guests\n");
  auto made =
      run({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b",
           elsewhere + "/secret.raw", "-F", "raw", images() + "/overlay.qcow2", "1M"});
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  made = run({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", "-o",
              "data_file=" + elsewhere + "/data.raw", images() + "/split.qcow2", "1M"});
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  ok("pool.refresh", {{"pool", "default"}});
  refused("vol.clone", {{"pool", "default"}, {"vol", "overlay.qcow2"}, {"name", "o2"}},
          errc::operation_failed,
          "its backing file '" + elsewhere + "/secret.raw' lies outside its pool");
  refused("vol.clone", {{"pool", "default"}, {"vol", "split.qcow2"}, {"name", "s2"}},
          errc::unsupported, "keeps its data in an external file");
  refused("vol.resize",
          {{"pool", "default"}, {"vol", "split.qcow2"}, {"capacity", 1 << 21}},
          errc::unsupported, "keeps its data in an external file");
  BOOST_TEST(!file_exists(images() + "/o2"));
  BOOST_TEST(!file_exists(images() + "/s2"));
  // Inside the pool, a chain is copied flat.
  create(vol_xml("base.raw", "1048576"));
  ok("vol.create",
     {{"pool", "default"},
      {"xml", vol_xml("top.qcow2", "0",
                      "<target><format type='qcow2'/></target><backingStore>"
                      "<path>" +
                          images() + "/base.raw</path></backingStore>")}});
  ok("vol.clone", {{"pool", "default"}, {"vol", "top.qcow2"}, {"name", "flat.qcow2"}});
  BOOST_TEST(qemu_img_info(images() + "/flat.qcow2") == "qcow2 1048576");
}

// pool-refresh reads the directory again: files made and removed outside Domus, a link
// out of the pool (listed read-only, never written through), what is not a volume.
BOOST_AUTO_TEST_CASE(refresh_sees_what_changed_outside) {
  create(vol_xml("gone", "1024"));
  BOOST_TEST_REQUIRE(::unlink((images() + "/gone").c_str()) == 0);
  auto made = run({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2",
                   images() + "/outside.qcow2", "64M"});
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  std::string secret = temp_dir("sec") + "/secret";
  write_file(secret, "not a volume's content\n");
  BOOST_TEST_REQUIRE(::symlink(secret.c_str(), (images() + "/link").c_str()) == 0);
  BOOST_TEST_REQUIRE(::mkfifo((images() + "/fifo").c_str(), 0600) == 0);
  ok("pool.refresh", {{"pool", "default"}});
  auto list = ok("vol.list", {{"pool", "default"}})["volumes"];
  std::vector<std::string> names;
  for (auto& v : list)
    names.push_back(v["name"]);
  BOOST_TEST((names == std::vector<std::string>{"link", "outside.qcow2"}));
  BOOST_TEST(list[1]["format"] == "qcow2");
  BOOST_TEST(list[1]["capacity"] == 67108864u);
  BOOST_TEST(list[0]["capacity"] == 23u); // the target's size; its content is never read
  BOOST_TEST(d.log().find("'fifo': neither a file, a directory nor a symbolic link") !=
             std::string::npos);
  // Read-only: neither resized nor wiped; a delete removes the link, not its target.
  refused("vol.resize", {{"pool", "default"}, {"vol", "link"}, {"capacity", 1 << 20}},
          errc::invalid_operation, "symbolic link, listed read-only");
  refused("vol.wipe", {{"pool", "default"}, {"vol", "link"}}, errc::invalid_operation,
          "symbolic link");
  ok("vol.delete", {{"pool", "default"}, {"vol", "link"}});
  BOOST_TEST(read_file(secret) == "not a volume's content\n");
  BOOST_TEST(!file_exists(images() + "/link"));
}

// Bad input is refused naming what is wrong, and nothing is made, inside the pool or
// outside it.
BOOST_AUTO_TEST_CASE(bad_volumes_change_nothing) {
  std::string outside = temp_dir("out");
  // A link planted where a new volume goes: the create fails, nothing appears outside.
  BOOST_TEST_REQUIRE(
      ::symlink((outside + "/planted").c_str(), (images() + "/planted").c_str()) == 0);
  refused("vol.create", {{"pool", "default"}, {"xml", vol_xml("planted", "1024")}},
          errc::operation_failed, "planted");
  BOOST_TEST(!file_exists(outside + "/planted"));
  refused("vol.create", {{"pool", "default"}, {"xml", vol_xml("a/b", "1024")}},
          errc::invalid_name, "a/b");
  refused("vol.create", {{"pool", "default"}, {"xml", vol_xml("..", "1024")}},
          errc::invalid_name, "..");
  auto available = ok("pool.info", {{"pool", "default"}})["available"].get<uint64_t>();
  refused("vol.create",
          {{"pool", "default"}, {"xml", vol_xml("huge", std::to_string(available + 1))}},
          errc::operation_failed,
          "not enough space in storage pool 'default' for volume 'huge': it allocates " +
              std::to_string(available + 1) + " bytes, ");
  // A sparse raw volume allocates nothing: it may be larger than the free space.
  create(vol_xml("thin", std::to_string(available + 1), "<allocation>0</allocation>"));
  refused("vol.create", {{"pool", "default"}, {"xml", vol_xml("thin", "1024")}},
          errc::volume_exists, "thin");
  refused("vol.create",
          {{"pool", "default"},
           {"xml", vol_xml("child", "0",
                           "<target><format type='qcow2'/></target><backingStore><path>" +
                               outside + "/nosuch</path></backingStore>")}},
          errc::no_volume, outside + "/nosuch");
  // qemu-img's own refusal, in its words; no file left behind.
  refused("vol.create",
          {{"pool", "default"},
           {"xml", vol_xml("toobig.qcow2", "9223372036854775807",
                           "<target><format type='qcow2'/></target>")}},
          errc::operation_failed, "qemu-img create of volume 'toobig.qcow2'");
  BOOST_TEST(!file_exists(images() + "/toobig.qcow2"));
  refused("vol.create",
          {{"pool", "default"},
           {"xml", vol_xml("v.vmdk", "1024", "<target><format type='vmdk'/></target>")}},
          errc::unsupported, "format 'vmdk'");
  // A device named as a backing volume is refused untouched (its open could act: a
  // watchdog arms when opened).
  refused("vol.create",
          {{"pool", "default"},
           {"xml", vol_xml("dev.qcow2", "1024",
                           "<target><format type='qcow2'/></target><backingStore><path>"
                           "/dev/null</path></backingStore>")}},
          errc::invalid_argument, "its backing volume '/dev/null' is not a file");
  auto names = run({"/bin/ls", "-A", images()});
  BOOST_TEST(names.out == "planted\nthin\n");
}

// Pools of their own: built, started, stopped, deleted; a target that is not a
// directory; a type the driver does not run.
BOOST_AUTO_TEST_CASE(pools_are_directories) {
  std::string base = temp_dir("pd");
  std::string target = base + "/a/b";
  auto r = sh("pool-define-as p2 dir --target " + target);
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  r = sh("pool-start p2");
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.err.find("cannot open its target directory '" + target +
                        "': it does not exist") != std::string::npos,
             r.err);
  r = sh("pool-build p2; pool-start p2; vol-create-as p2 v 1M");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(file_exists(target + "/v"));
  r = sh("pool-destroy p2; pool-delete p2");
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.err.find("cannot remove its directory '" + target +
                        "': it is not empty") != std::string::npos,
             r.err);
  BOOST_TEST_REQUIRE(::unlink((target + "/v").c_str()) == 0);
  r = sh("pool-delete p2");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(!file_exists(target));
  write_file(base + "/file", "x");
  sh("pool-define-as p3 dir --target " + base + "/file");
  r = sh("pool-start p3");
  BOOST_TEST(r.err.find("it is not a directory") != std::string::npos, r.err);
  sh("pool-define-as lv logical --source-name vg0 --target /dev/vg0");
  r = sh("pool-start lv");
  BOOST_TEST(r.err.find("storage pool 'lv' has type 'logical', which Domus cannot start "
                        "yet") != std::string::npos,
             r.err);
}

// <permissions> are applied as libvirt applies them: a built directory and a new
// volume get the mode, owner and group asked for (by default 0711 and 0600, the
// daemon's owner).
BOOST_AUTO_TEST_CASE(permissions_are_applied) {
  std::string target = temp_dir("pm") + "/pool";
  std::string pool_xml = "<pool type='dir'><name>pm</name><target><path>" + target +
                         "</path><permissions><mode>0750</mode><owner>1234</owner>"
                         "<group>4321</group></permissions></target></pool>";
  ok("pool.define", {{"xml", pool_xml}});
  ok("pool.build", {{"pool", "pm"}});
  ok("pool.start", {{"pool", "pm"}});
  struct stat d = stat_of(target);
  BOOST_TEST((d.st_mode & 07777) == 0750u);
  BOOST_TEST(d.st_uid == 1234u);
  BOOST_TEST(d.st_gid == 4321u);
  ok("vol.create",
     {{"pool", "pm"},
      {"xml", vol_xml("shared", "1048576",
                      "<target><permissions><mode>0644</mode><owner>107"
                      "</owner><group>108</group></permissions></target>")}});
  struct stat v = stat_of(target + "/shared");
  BOOST_TEST((v.st_mode & 07777) == 0644u);
  BOOST_TEST(v.st_uid == 107u);
  BOOST_TEST(v.st_gid == 108u);
  // Without them: 0600, the daemon's user.
  ok("vol.create", {{"pool", "pm"}, {"xml", vol_xml("plain", "1048576")}});
  struct stat pl = stat_of(target + "/plain");
  BOOST_TEST((pl.st_mode & 07777) == 0600u);
  BOOST_TEST(pl.st_uid == ::geteuid());
}

BOOST_AUTO_TEST_SUITE_END()

// A storage driver that cannot open the URI: the domains serve, the pools are refused
// naming why. Here its settings file is wrong.
BOOST_AUTO_TEST_CASE(a_storage_driver_that_cannot_open_leaves_the_domains_serving) {
  std::string root = temp_dir("sr");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  write_file(root + "/etc/domus/storage.conf", "qemu_img = \"relative/qemu-img\"\n");
  daemon_process d({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})}, root);
  domus::protocol::connection c(d.socket(), false);
  auto list = c.call(system_uri, "domain.list", json::object(), 10s);
  BOOST_TEST(list.ok, list.message);
  auto pools = c.call(system_uri, "pool.list", json::object(), 10s);
  BOOST_TEST((pools.code == errc::operation_failed), pools.message);
  BOOST_TEST(pools.message ==
             "the storage pools of probe10:///system are unavailable: the storage driver "
             "could not open it (" +
                 root +
                 "/etc/domus/storage.conf:1: qemu_img: 'relative/qemu-img' is not "
                 "an absolute path to a program)");
  d.stop();
  // Once the driver opens, the pool `default` the first start could not make is made;
  // undefined, it stays undefined.
  ::unlink((root + "/etc/domus/storage.conf").c_str());
  auto list_of = [&](daemon_process& daemon) {
    domus::protocol::connection c2(daemon.socket(), false);
    auto r = c2.call(system_uri, "pool.list", json::object(), 10s);
    BOOST_TEST_REQUIRE(r.ok, r.message);
    std::vector<std::string> names;
    for (auto& p : r.result["pools"])
      names.push_back(p["name"]);
    return names;
  };
  {
    daemon_process again({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})}, root);
    BOOST_TEST((list_of(again) == std::vector<std::string>{"default"}));
    auto gone = again.domsh({"pool-destroy default; pool-undefine default"}, "",
                            "/system", "probe10");
    BOOST_TEST_REQUIRE(gone.status == 0, gone.err);
  }
  daemon_process third({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})}, root);
  BOOST_TEST(list_of(third).empty());
}

// The sample conf/storage.conf, its settings uncommented, is one the driver takes.
BOOST_AUTO_TEST_CASE(the_sample_settings_file_is_valid) {
  std::string root = temp_dir("ss");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  std::string text = read_file(std::string(DOMUS_SOURCE_DIR) + "/conf/storage.conf");
  std::string uncommented;
  size_t settings = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end - at);
    if (line.size() > 1 && line[0] == '#' &&
        std::isalpha(static_cast<unsigned char>(line[1]))) {
      line = line.substr(1);
      ++settings;
    }
    uncommented += line + "\n";
    at = end == std::string::npos ? text.size() : end + 1;
  }
  BOOST_TEST_REQUIRE(settings == 1u);
  write_file(root + "/etc/domus/storage.conf", uncommented);
  daemon_process d({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})}, root);
  domus::protocol::connection c(d.socket(), false);
  auto pools = c.call(system_uri, "pool.list", json::object(), 10s);
  BOOST_TEST(pools.ok, pools.message);
}

// A storage driver whose open never returns holds the instance only until its deadline.
BOOST_AUTO_TEST_CASE(a_hung_storage_open_is_bounded) {
  std::string conf = temp_dir("hc") + "/domusd.conf";
  write_file(conf, "deadline_pool_open_ms = 300\n");
  daemon_process d(
      {"--plugin-dir", probe_plugin_dir({"kinds/host_storage.so"}), "--config", conf});
  domus::protocol::connection c(d.socket(), false);
  auto list = c.call(system_uri, "domain.list", json::object(), 10s);
  BOOST_TEST(list.ok, list.message);
  auto pools = c.call(system_uri, "pool.list", json::object(), 10s);
  BOOST_TEST((pools.code == errc::operation_failed), pools.message);
  BOOST_TEST(pools.message.find("the host-storage driver could not open it") !=
                 std::string::npos,
             pools.message);
  BOOST_TEST(pools.message.find("0.3 s") != std::string::npos, pools.message);
}
