// Storage pools without a daemon: the lifecycle table, what a definition claims of the
// host's storage, and the files a persisted instance keeps of its pools.
#include <boost/test/unit_test.hpp>

#include "actors/pool_rules.hpp"
#include "actors/volume_table.hpp"
#include "actors/volume_users.hpp"
#include "persist/pool_files.hpp"
#include "test_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

using namespace domus::runtime;
using domus::protocol::proc;
using domus::testing::write_file;

namespace {

domus::model::pool_def pool(const std::string& xml) {
  auto def = domus::model::parse_pool(xml, "test");
  domus::model::normalize(def);
  return def;
}

pool_facts facts(int32_t state, bool persistent) {
  pool_facts f;
  f.state = state;
  f.persistent = persistent;
  return f;
}

const char* const p1 = "<pool type='dir'><name>p1</name>"
                       "<uuid>5a3c1f9e-3bd1-4b84-a9b4-0d1c77a44c01</uuid>"
                       "<target><path>/srv/p1</path></target></pool>";

} // namespace

BOOST_AUTO_TEST_SUITE(pool_rules)

BOOST_AUTO_TEST_CASE(each_operation_needs_its_state) {
  auto running = facts(DOMUS_POOL_RUNNING, true);
  auto inactive = facts(DOMUS_POOL_INACTIVE, true);
  auto transient = facts(DOMUS_POOL_RUNNING, false);
  for (auto op :
       {proc::pool_start, proc::pool_undefine, proc::pool_build, proc::pool_delete}) {
    BOOST_TEST(!check_pool_op(op, inactive, "p1"));
    BOOST_TEST(check_pool_op(op, running, "p1").has_value());
  }
  for (auto op : {proc::pool_destroy, proc::pool_refresh}) {
    BOOST_TEST(!check_pool_op(op, running, "p1"));
    BOOST_TEST(check_pool_op(op, inactive, "p1").has_value());
  }
  BOOST_TEST(*check_pool_op(proc::pool_start, running, "p1") ==
             "cannot start storage pool 'p1': it is active (start needs an inactive "
             "pool)");
  BOOST_TEST(*check_pool_op(proc::pool_refresh, inactive, "p1") ==
             "cannot refresh storage pool 'p1': it is not active (refresh needs an "
             "active pool)");
  // Autostart: any state, persistent pools only.
  BOOST_TEST(!check_pool_op(proc::pool_autostart, running, "p1"));
  BOOST_TEST(!check_pool_op(proc::pool_autostart, inactive, "p1"));
  BOOST_TEST(*check_pool_op(proc::pool_autostart, transient, "p1") ==
             "cannot set autostart of storage pool 'p1': it is transient (autostart "
             "needs a persistent pool)");
  // Define, create and the queries have no row.
  for (auto op : {proc::pool_define, proc::pool_create, proc::pool_info})
    BOOST_TEST(!check_pool_op(op, running, "p1"));
  BOOST_TEST(find_pool_rule(proc::pool_build)->event == "created");
}

BOOST_AUTO_TEST_CASE(storage_claims_by_type) {
  BOOST_TEST(storage_claim(pool(p1)) == "dir /srv/p1");
  // A target written with repeated or trailing slashes is the same directory.
  BOOST_TEST(storage_claim(pool("<pool type='dir'><name>q</name><target><path>/srv//p1/"
                                "</path></target></pool>")) == "dir /srv/p1");
  BOOST_TEST(storage_claim(pool("<pool type='netfs'><name>n</name><source><host "
                                "name='nfs.example'/><dir path='/export'/></source>"
                                "<target><path>/mnt</path></target></pool>")) ==
             "netfs nfs.example:/export");
  BOOST_TEST(storage_claim(pool("<pool type='logical'><name>vg0</name></pool>")) ==
             "logical vg0");
  BOOST_TEST(storage_claim(pool("<pool type='fs'><name>f</name><source><device "
                                "path='/dev/sdb1'/></source><target><path>/mnt/f</path>"
                                "</target></pool>")) == "device /dev/sdb1");
  // A type whose storage Domus does not compare claims nothing.
  BOOST_TEST(storage_claim(pool("<pool type='rbd'><name>r</name><source><name>rbd"
                                "</name><host name='ceph'/></source></pool>")) == "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pool_files_on_disk)

// What read_persisted_pools finds: definitions with their autostart links, active pools
// with their live definitions (a transient one has no definition), and what it skips.
BOOST_AUTO_TEST_CASE(definitions_links_and_status_read_back) {
  std::string root = domus::testing::temp_dir("unit");
  instance_paths paths{root + "/etc", root + "/run"};
  for (auto d :
       {"/etc", "/etc/storage", "/etc/storage/autostart", "/run", "/run/storage"})
    ::mkdir((root + d).c_str(), 0700);
  auto def = pool(p1);
  store files;
  pool_files f{paths, "p1"};
  files.commit_all({f.definition(def), f.autostart(), f.status(def)});
  auto pt = pool("<pool type='dir'><name>pt</name><target><path>/srv/pt</path></target>"
                 "</pool>");
  files.commit_all({pool_files{paths, "pt"}.status(pt)});
  // A file that does not parse, one whose pool has another name, and a status whose
  // UUID is not its definition's are skipped, each named.
  write_file(pool_definition_dir(paths) + "/bad.xml", "<pool type='dir'>");
  write_file(pool_definition_dir(paths) + "/other.xml", p1);
  auto q = pool("<pool type='dir'><name>q</name><target><path>/q</path></target></pool>");
  files.commit_all({pool_files{paths, "q"}.definition(q)});
  auto q2 =
      pool("<pool type='dir'><name>q</name><target><path>/q</path></target></pool>");
  files.commit_all({pool_files{paths, "q"}.status(q2)});

  std::vector<std::string> skipped;
  auto found = read_persisted_pools(paths, skipped);
  BOOST_TEST_REQUIRE(found.size() == 2u);
  BOOST_TEST(found[0].name == "p1");
  BOOST_TEST(found[0].def.has_value());
  BOOST_TEST(found[0].live.has_value());
  BOOST_TEST(found[0].autostart);
  BOOST_TEST(found[0].def->target_path == "/srv/p1");
  BOOST_TEST(found[1].name == "pt");
  BOOST_TEST(!found[1].def.has_value());
  BOOST_TEST(found[1].live.has_value());
  BOOST_TEST(!found[1].autostart);
  BOOST_TEST_REQUIRE(skipped.size() == 3u);
  BOOST_TEST(skipped[0].find("bad.xml") != std::string::npos, skipped[0]);
  BOOST_TEST(skipped[1].find("defines storage pool 'p1', not 'other'") !=
                 std::string::npos,
             skipped[1]);
  BOOST_TEST(skipped[2].find("another UUID than its definition") != std::string::npos,
             skipped[2]);
  // A definition on disk has no sizes: they are the pool's state.
  BOOST_TEST(domus::testing::read_file(pool_definition_dir(paths) + "/p1.xml")
                 .find("<capacity unit='bytes'>0</capacity>") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(volume_tables)

namespace {
driver_volume vol(const std::string& name, uint64_t capacity = 1) {
  driver_volume v;
  v.name = name;
  v.path = "/p/" + name;
  v.capacity = capacity;
  return v;
}
} // namespace

// A table never changes once made: with() and without() make new ones, and the old
// one a reader holds still answers as before.
BOOST_AUTO_TEST_CASE(changes_make_new_tables_and_leave_the_old) {
  volume_table empty;
  BOOST_TEST(empty.size() == 0u);
  BOOST_TEST(empty.find("a") == nullptr);
  BOOST_TEST(empty.without("a").size() == 0u);

  volume_table one = empty.with(vol("a"));
  volume_table two = one.with(vol("b"));
  volume_table replaced = two.with(vol("a", 7));
  BOOST_TEST(one.size() == 1u);
  BOOST_TEST(two.size() == 2u);
  BOOST_TEST(replaced.size() == 2u);
  BOOST_TEST(two.find("a")->capacity == 1u);
  BOOST_TEST(replaced.find("a")->capacity == 7u);
  BOOST_TEST(empty.find("a") == nullptr);

  volume_table gone = replaced.without("a");
  BOOST_TEST(gone.size() == 1u);
  BOOST_TEST(gone.find("a") == nullptr);
  BOOST_TEST(replaced.find("a") != nullptr);
  BOOST_TEST(gone.without("nothing").size() == 1u);
  BOOST_TEST(gone.without("b").size() == 0u);
}

// Lists come in name order, whatever shard each name fell in; a driver's list with a
// name twice keeps the later entry once.
BOOST_AUTO_TEST_CASE(lists_are_in_name_order) {
  std::vector<driver_volume> list;
  for (int i = 999; i >= 0; --i)
    list.push_back(vol("v" + std::to_string(i)));
  list.push_back(vol("v5", 55));
  volume_table t(std::move(list));
  BOOST_TEST(t.size() == 1000u);
  BOOST_TEST(t.find("v5")->capacity == 55u);
  auto sorted = t.sorted();
  BOOST_TEST(sorted.size() == 1000u);
  for (size_t i = 1; i < sorted.size(); ++i)
    BOOST_TEST((sorted[i - 1]->name < sorted[i]->name),
               sorted[i - 1]->name << " before " << sorted[i]->name);
  size_t seen = 0;
  BOOST_TEST(!t.any_of([&](const driver_volume&) { return ++seen, false; }));
  BOOST_TEST(seen == 1000u);
  BOOST_TEST(t.any_of([](const driver_volume& v) { return v.path == "/p/v17"; }));
}

BOOST_AUTO_TEST_SUITE_END()

// Which definitions use a volume: disks of type volume by pool and name, file and block
// disks by path; compacted definitions (as domains keep them) read the same.
BOOST_AUTO_TEST_SUITE(volume_users)

BOOST_AUTO_TEST_CASE(disks_name_volumes_by_pool_or_by_path) {
  auto domain = [](const std::string& disks) {
    return domus::model::parse_domain(
        "<domain type='test'><name>d</name><memory>1024</memory><os><type>hvm</type>"
        "</os><devices>" +
            disks + "</devices></domain>",
        "test");
  };
  volume_ref v{"images", "a&b.qcow2", "/var/lib/images/a&b.qcow2"};
  auto by_volume = domain("<disk type='volume' device='disk'><source pool='images' "
                          "volume='a&amp;b.qcow2'/><target dev='vda'/></disk>");
  auto by_path = domain("<disk type='file' device='disk'><source "
                        "file='/var/lib/images/a&amp;b.qcow2'/><target dev='vda'/></disk>");
  auto by_other_spelling = domain("<disk type='file' device='disk'><source "
                                  "file='/var/lib//images/./a&amp;b.qcow2'/><target "
                                  "dev='vda'/></disk>");
  auto by_dev = domain("<disk type='block' device='disk'><source "
                       "dev='/var/lib/images/a&amp;b.qcow2'/><target dev='vda'/></disk>");
  auto other_pool = domain("<disk type='volume' device='disk'><source pool='other' "
                           "volume='a&amp;b.qcow2'/><target dev='vda'/></disk>");
  auto other_file = domain("<disk type='file' device='disk'><source "
                           "file='/var/lib/images/a.qcow2'/><target dev='vda'/></disk>");
  auto none = domain("");
  for (bool compact : {false, true}) {
    auto check = [&](const domus::model::domain_def& d) {
      return uses_volume(compact ? domus::model::compacted(d) : d, v);
    };
    BOOST_TEST(check(by_volume), compact);
    BOOST_TEST(check(by_path), compact);
    BOOST_TEST(check(by_dev), compact);
    BOOST_TEST(check(by_other_spelling), compact);
    BOOST_TEST(!check(other_pool), compact);
    BOOST_TEST(!check(other_file), compact);
    BOOST_TEST(!check(none), compact);
  }
}

BOOST_AUTO_TEST_SUITE_END()
