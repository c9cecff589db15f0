#define BOOST_TEST_MODULE pools_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <sys/stat.h>

// Storage pools by kind (docs/architecture.md, "Pools and networks"): an instance lists
// the pools its driver reported when it opened, when that driver is the one serving pools
// for its scheme (the test driver's default-pool, a node file's); a scheme whose pools a
// host-wide driver ("*") serves gets that driver's instance (storage_integration); one
// with none is answered unsupported. Each
// pool's changes run in its own actor, announced on pool.lifecycle; a hung driver call
// holds its pool only. domsh's pool commands are compared with virsh in cli_integration,
// their files across SIGKILL in persistence_integration.

using namespace domus::testing;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

domus::protocol::reply call(domus::protocol::connection& c, const std::string& uri,
                            const std::string& proc, const json& args = json::object()) {
  return c.call(uri, proc, args, 10s);
}

} // namespace

BOOST_AUTO_TEST_CASE(pools_come_from_the_driver_that_serves_them) {
  daemon_process d({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})});
  domus::protocol::connection c(d.socket(), false);
  auto own = call(c, "test:///default", "pool.list");
  BOOST_TEST_REQUIRE(own.ok, own.message);
  BOOST_TEST(own.result["pools"].size() == 1u);
  BOOST_TEST(own.result["pools"][0]["name"] == "default-pool");
  BOOST_TEST(own.result["pools"][0]["state"] == "running");
  // Inactive ones only: none.
  BOOST_TEST(call(c, "test:///default", "pool.list", {{"active", false}})
                 .result["pools"]
                 .empty());
  // The probe serves its own pools and has none.
  auto probe = call(c, "probe:///one", "pool.list");
  BOOST_TEST_REQUIRE(probe.ok, probe.message);
  BOOST_TEST(probe.result["pools"].empty());
  // A 1.0 driver's scheme: the storage driver's (host-wide), an instance of which is
  // opened for the URI; a node-file-like path is not persisted and gets no `default`.
  auto wide = call(c, "probe10:///one", "pool.list");
  BOOST_TEST_REQUIRE(wide.ok, wide.message);
  BOOST_TEST(wide.result["pools"].empty());
  // Queries: the read-only socket answers them.
  domus::protocol::connection ro(d.socket(), true);
  auto info = call(ro, "test:///default", "pool.info",
                   {{"pool", "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"}});
  BOOST_TEST_REQUIRE(info.ok, info.message);
  BOOST_TEST(info.result["capacity"] == 107374182400u);
  auto none = call(ro, "test:///default", "pool.xml", {{"pool", "nosuch"}});
  BOOST_TEST((none.code == errc::no_pool), none.message);
  auto bad = call(ro, "test:///default", "pool.info", {{"pool", 7}});
  BOOST_TEST((bad.code == errc::bad_request), bad.message);
}

BOOST_AUTO_TEST_CASE(a_scheme_without_a_pool_driver) {
  daemon_process d({"--plugin-dir", probe_plugin_dir()});
  domus::protocol::connection c(d.socket(), false);
  auto r = call(c, "probe10:///one", "pool.list");
  BOOST_TEST((r.code == errc::unsupported), r.message);
  BOOST_TEST(r.message == "no driver serves storage pools for 'probe10' URIs");
}

// A pool the driver reports that does not parse is skipped, named in the log; the rest
// of the instance serves.
BOOST_AUTO_TEST_CASE(a_pool_that_does_not_parse_is_skipped) {
  std::string dir = temp_dir("pn");
  std::string node = dir + "/node.xml";
  write_file(node, "<node>\n"
                   "  <pool type='dir'><uuid>5e6a1f9c-3bd1-4b84-a9b4-0d1c77a44c02</uuid>"
                   "<target><path>/p</path></target></pool>\n"
                   "  <pool type='dir'><name>good</name><target><path>/g</path></target>"
                   "</pool>\n"
                   "</node>\n");
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  auto r = call(c, "test://" + node, "pool.list");
  BOOST_TEST_REQUIRE(r.ok, r.message);
  BOOST_TEST_REQUIRE(r.result["pools"].size() == 1u, r.result.dump());
  BOOST_TEST(r.result["pools"][0]["name"] == "good"); // with a UUID of its own
  BOOST_TEST(d.log().find("a pool does not parse: test://" + node +
                          ":1: /pool/name: missing the required element <name>; "
                          "skipped") != std::string::npos,
             d.log());
}

namespace {

std::string pool_xml(const std::string& name, const std::string& path,
                     const std::string& uuid = "") {
  return "<pool type='dir'><name>" + name + "</name>" +
         (uuid.empty() ? "" : "<uuid>" + uuid + "</uuid>") + "<target><path>" + path +
         "</path></target></pool>";
}

json ok(domus::protocol::connection& c, const std::string& proc, const json& args,
        const std::string& uri = "test:///default") {
  auto r = call(c, uri, proc, args);
  BOOST_TEST_REQUIRE(r.ok, proc << ": " << r.message);
  return r.result;
}

} // namespace

// Every change is announced on pool.lifecycle (refresh on pool.refresh), in order,
// journaled: events.since gives them again.
BOOST_AUTO_TEST_CASE(pool_changes_are_announced_and_journaled) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  domus::protocol::subscriber sub(c, {"pool."});
  sub.handshake(5s);
  std::string uuid = "5a3c1f9e-3bd1-4b84-a9b4-0d1c77a44c01";
  auto defined = ok(c, "pool.define", {{"xml", pool_xml("p1", "/srv/p1", uuid)}});
  BOOST_TEST(defined["state"] == "inactive");
  BOOST_TEST(defined["capacity"] == 107374182400u); // the mock's, as libvirt's
  for (auto proc : {"pool.build", "pool.start", "pool.refresh", "pool.destroy",
                    "pool.delete", "pool.undefine"})
    ok(c, proc, {{"pool", "p1"}});
  auto events = sub.until_now(5s);
  std::vector<std::string> seen;
  uint64_t first_seq = 0, last_seq = 0;
  for (auto& e : events) {
    BOOST_TEST(e.body["uri"] == "test:///default");
    BOOST_TEST(e.body["pool"]["name"] == "p1");
    BOOST_TEST(e.body["pool"]["uuid"] == uuid);
    BOOST_TEST(e.body.contains("time"));
    uint64_t seq = e.body["seq"].get<uint64_t>();
    BOOST_TEST(seq > last_seq);
    first_seq = first_seq ? first_seq : seq;
    last_seq = seq;
    seen.push_back(e.topic + (e.body.contains("event")
                                  ? " " + e.body["event"].get<std::string>()
                                  : std::string()));
  }
  BOOST_TEST((seen ==
              std::vector<std::string>{"pool.lifecycle defined", "pool.lifecycle created",
                                       "pool.lifecycle started", "pool.refresh",
                                       "pool.lifecycle stopped", "pool.lifecycle deleted",
                                       "pool.lifecycle undefined"}));
  auto again = ok(c, "events.since", {{"after", first_seq - 1}, {"topic", "pool."}}, "");
  BOOST_TEST(again["events"].size() == 7u);
  // A transient pool: started, then stopped and gone.
  ok(c, "pool.create", {{"xml", pool_xml("pt", "/srv/pt")}});
  ok(c, "pool.destroy", {{"pool", "pt"}});
  seen.clear();
  for (auto& e : sub.until_now(5s))
    seen.push_back(e.body["event"].get<std::string>());
  BOOST_TEST((seen == std::vector<std::string>{"started", "stopped"}));
  BOOST_TEST(
      (call(c, "test:///default", "pool.info", {{"pool", "pt"}}).code == errc::no_pool));
}

// Refused definitions and operations name what is wrong and change nothing.
BOOST_AUTO_TEST_CASE(bad_input_changes_nothing) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  std::string u1 = "5a3c1f9e-3bd1-4b84-a9b4-0d1c77a44c01";
  ok(c, "pool.define", {{"xml", pool_xml("p1", "/srv/p1", u1)}});
  auto before = ok(c, "pool.list", json::object());
  struct refused {
    std::string proc;
    json args;
    errc code;
    std::string message;
  };
  std::vector<refused> cases = {
      {"pool.define",
       {{"xml", "<pool type='dir'>\n<name>x</name>\n<target><bogus/></target></pool>"},
        {"origin", "x.xml"},
        {"validate", true}},
       errc::xml_error,
       "x.xml:3:"},
      {"pool.define",
       {{"xml",
         "<pool type='dir'><name>a/b</name><target><path>/a</path></target></pool>"}},
       errc::invalid_name,
       "a/b"},
      {"pool.define",
       {{"xml", pool_xml("p1", "/srv/other", "5a3c1f9e-3bd1-4b84-a9b4-0d1c77a44c09")}},
       errc::pool_exists,
       "storage pool 'p1' is already defined with UUID " + u1},
      {"pool.define",
       {{"xml", pool_xml("p2", "/srv/other", u1)}},
       errc::pool_exists,
       "storage pool 'p1' already has UUID " + u1},
      {"pool.define",
       {{"xml", pool_xml("p2", "/srv//p1/")}},
       errc::pool_exists,
       "storage pool 'p1' already uses this storage (dir /srv/p1)"},
      {"pool.create",
       {{"xml", pool_xml("default-pool", "/default-pool",
                         "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566")}},
       errc::invalid_operation,
       "cannot create storage pool 'default-pool': it is already active"},
      {"pool.start", {{"pool", "default-pool"}}, errc::invalid_operation, "it is active"},
      {"pool.start", {{"pool", "nosuch"}}, errc::no_pool, "'nosuch'"},
      {"pool.start",
       {{"pool", "p1"}, {"flags", 0x10}},
       errc::invalid_argument,
       "flags 0x10 of pool.start are not defined"},
      {"pool.autostart", {{"pool", "p1"}}, errc::bad_request, "\"enable\""},
      {"pool.start",
       {{"pool", "p1"}, {"flags", 1}},
       errc::unsupported,
       "the test driver's pools have no storage to build"},
  };
  for (auto& k : cases) {
    BOOST_TEST_CONTEXT(k.proc << " " << k.args.dump()) {
      auto r = call(c, "test:///default", k.proc, k.args);
      BOOST_TEST(!r.ok);
      BOOST_TEST((r.code == k.code), r.message);
      BOOST_TEST(r.message.find(k.message) != std::string::npos, r.message);
    }
  }
  BOOST_TEST(ok(c, "pool.list", json::object()) == before);
  // The read-only socket reads, and refuses every change.
  domus::protocol::connection ro(d.socket(), true);
  BOOST_TEST(call(ro, "test:///default", "pool.info", {{"pool", "p1"}}).ok);
  BOOST_TEST((call(ro, "test:///default", "pool.start", {{"pool", "p1"}}).code ==
              errc::permission_denied));
}

namespace {

// A node-file instance whose test driver never completes `pool_start` of pool 'slow'.
struct hung_pool {
  std::string root = temp_dir("ph");
  std::string node = root + "/faulty.xml";
  std::string uri = "test://" + node;
  std::unique_ptr<daemon_process> d;
  explicit hung_pool(const std::string& conf) {
    ::mkdir((root + "/etc").c_str(), 0755);
    ::mkdir((root + "/etc/domus").c_str(), 0755);
    write_file(root + "/etc/domus/domusd.conf", "shutdown_timeout_ms = 1000\n" + conf);
    write_file(node, "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
                     "  <test:fault operation='pool_start' action='hang' pool='slow'/>\n"
                     "</node>\n");
    d = std::make_unique<daemon_process>(std::vector<std::string>{}, root);
  }
};

} // namespace

// A hung pool call passes its deadline: the caller hears timeout naming it, the driver
// is asked to cancel it (the test driver then completes it), and the pool is as it was.
BOOST_AUTO_TEST_CASE(a_hung_pool_call_times_out) {
  hung_pool h("deadline_pool_start_ms = 300\n");
  domus::protocol::connection c(h.d->socket(), false);
  ok(c, "pool.define", {{"xml", pool_xml("slow", "/srv/slow")}}, h.uri);
  auto r = call(c, h.uri, "pool.start", {{"pool", "slow"}});
  BOOST_TEST((r.code == errc::timeout), r.message);
  BOOST_TEST(r.message == "the test driver's 'pool_start' of storage pool 'slow' did not "
                          "complete within 0.3 s (deadline_pool_start_ms in domusd.conf);"
                          " the driver was asked to cancel it");
  BOOST_TEST(ok(c, "pool.info", {{"pool", "slow"}}, h.uri)["state"] == "inactive");
  // Once the cancelled call is back, the next start hangs again (not refused as busy).
  auto again = call(c, h.uri, "pool.start", {{"pool", "slow"}});
  BOOST_TEST((again.code == errc::timeout), again.message);
}

// While a pool's call hangs, that pool's queries and every other pool and domain go on.
BOOST_AUTO_TEST_CASE(a_hung_pool_call_holds_only_its_pool) {
  hung_pool h("deadline_pool_start_ms = 600000\n");
  domus::protocol::connection c(h.d->socket(), false);
  ok(c, "pool.define", {{"xml", pool_xml("slow", "/srv/slow")}}, h.uri);
  int64_t hung = c.send(h.uri, "pool.start", {{"pool", "slow"}});
  // The start is out (the driver holds it); the other pools, and slow's queries, go on.
  ok(c, "pool.define", {{"xml", pool_xml("fast", "/srv/fast")}}, h.uri);
  ok(c, "pool.start", {{"pool", "fast"}}, h.uri);
  ok(c, "pool.destroy", {{"pool", "fast"}}, h.uri);
  BOOST_TEST(ok(c, "pool.info", {{"pool", "slow"}}, h.uri)["state"] == "inactive");
  BOOST_TEST(ok(c, "pool.list", json::object(), h.uri)["pools"].size() == 2u);
  std::string guest = "<domain type='test'><name>g</name><memory>65536</memory>"
                      "<os><type>hvm</type></os></domain>";
  ok(c, "domain.define", {{"xml", guest}}, h.uri);
  ok(c, "domain.start", {{"domain", "g"}}, h.uri);
  // The daemon stops with the call still out: its caller is answered, not forgotten.
  BOOST_TEST(h.d->stop() == 0);
  auto r = c.wait_for(hung, 10s);
  BOOST_TEST(!r.ok);
}

// The volumes of a pool the driver reports active at open are read by the runtime's own
// refresh: until it has ended, volume requests wait (none sees the pool empty, as one
// did in CI when vol-list was the first request of a node file's instance), while the
// domains go on. A read that fails is said so, never shown as no volumes.
BOOST_AUTO_TEST_CASE(volume_requests_wait_for_an_adopted_pools_volumes) {
  std::string root = temp_dir("pv");
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  write_file(root + "/etc/domus/domusd.conf", "deadline_pool_refresh_ms = 3000\n");
  std::string node = root + "/node.xml";
  write_file(node,
             "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
             "  <test:fault operation='pool_refresh' action='hang' pool='slowpool'/>\n"
             "  <pool type='dir'><name>slowpool</name>"
             "<uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53ff</uuid>"
             "<target><path>/slowpool</path></target>"
             "<volume><name>v1</name><capacity>1000</capacity><target/></volume>"
             "</pool>\n</node>\n");
  daemon_process d(std::vector<std::string>{}, root);
  domus::protocol::connection c(d.socket(), false);
  std::string uri = "test://" + node;
  // The first request opens the instance; the read of slowpool's volumes hangs.
  int64_t listing = c.send(uri, "vol.list", {{"pool", "slowpool"}});
  BOOST_TEST(call(c, uri, "domain.list").ok);
  BOOST_TEST(call(c, uri, "pool.info", {{"pool", "slowpool"}}).ok);
  BOOST_TEST(!c.receive(0ms).has_value()); // the listing still waits
  auto r = c.wait_for(listing, 20s);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.message == "the volumes of storage pool 'slowpool' are not known: reading "
                          "them failed (the daemon's log says why); pool-refresh reads "
                          "them again",
             r.message);
}

// A fault on a pool operation names a pool; a domain attribute there is refused.
BOOST_AUTO_TEST_CASE(pool_faults_name_a_pool) {
  std::string dir = temp_dir("pf");
  std::string node = dir + "/node.xml";
  write_file(node, "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
                   "  <test:fault operation='pool_start' action='hang' domain='x'/>\n"
                   "</node>\n");
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  auto r = call(c, "test://" + node, "pool.list");
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.message.find("unknown attribute 'domain' (operation pool_start takes "
                            "'pool')") != std::string::npos,
             r.message);
}

// Volumes live in their pool's actor: made, copied (within a pool and across pools) and
// deleted there, announced on pool.volume, and found by name in a pool or by key or
// path in any.
BOOST_AUTO_TEST_CASE(volumes_are_made_found_and_announced) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  domus::protocol::subscriber sub(c, {"pool.volume"});
  sub.handshake(5s);
  ok(c, "pool.create", {{"xml", pool_xml("other", "/srv/other")}});
  auto v1 = ok(c, "vol.create",
               {{"pool", "default-pool"},
                {"xml", "<volume><name>v1.qcow2</name><capacity unit='M'>10</capacity>"
                        "<allocation unit='M'>1</allocation><target><format "
                        "type='qcow2'/></target></volume>"}});
  BOOST_TEST(v1["path"] == "/default-pool/v1.qcow2");
  BOOST_TEST(v1["key"] == "/default-pool/v1.qcow2");
  BOOST_TEST(v1["format"] == "qcow2");
  BOOST_TEST(v1["capacity"] == 10485760u);
  BOOST_TEST(v1["pool"] == "default-pool");
  // The pool's sizes follow what its volumes allocate.
  BOOST_TEST(ok(c, "pool.info", {{"pool", "default-pool"}})["allocation"] == 1048576u);
  // Found by name in its pool, by key or path in any.
  for (json args : {json{{"pool", "default-pool"}, {"vol", "v1.qcow2"}},
                    json{{"vol", "/default-pool/v1.qcow2"}}})
    BOOST_TEST(ok(c, "vol.info", args)["name"] == "v1.qcow2");
  auto clone = ok(c, "vol.clone", {{"vol", "/default-pool/v1.qcow2"}, {"name", "v2"}});
  BOOST_TEST(clone["path"] == "/default-pool/v2");
  BOOST_TEST(clone["format"] == "qcow2");
  auto copy = ok(c, "vol.create-from",
                 {{"pool", "other"},
                  {"xml", "<volume><name>c</name><capacity>1024</capacity></volume>"},
                  {"input", {{"pool", "default-pool"}, {"vol", "v2"}}}});
  BOOST_TEST(copy["path"] == "/srv/other/c");
  auto list = ok(c, "vol.list", {{"pool", "default-pool"}})["volumes"];
  BOOST_TEST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0]["name"] == "v1.qcow2");
  BOOST_TEST(list[1]["name"] == "v2");
  ok(c, "vol.delete", {{"pool", "default-pool"}, {"vol", "v2"}});
  BOOST_TEST(ok(c, "vol.xml", {{"vol", "/srv/other/c"}})["xml"].get<std::string>().find(
                 "<key>/srv/other/c</key>") != std::string::npos);
  std::vector<std::string> seen;
  for (auto& e : sub.until_now(5s))
    seen.push_back(e.body["pool"]["name"].get<std::string>() + " " +
                   e.body["volume"]["name"].get<std::string>() + " " +
                   e.body["event"].get<std::string>());
  std::string all;
  for (auto& x : seen)
    all += x + "; ";
  BOOST_TEST(
      (seen == std::vector<std::string>{"default-pool v1.qcow2 created",
                                        "default-pool v2 created", "other c created",
                                        "default-pool v2 deleted"}),
      all);
  // A volume survives its pool's stop, as libvirt's mock keeps it, and is listed again
  // once the pool runs.
  ok(c, "pool.destroy", {{"pool", "default-pool"}});
  BOOST_TEST((call(c, "test:///default", "vol.list", {{"pool", "default-pool"}}).code ==
              errc::invalid_operation));
  ok(c, "pool.start", {{"pool", "default-pool"}});
  BOOST_TEST(ok(c, "vol.list", {{"pool", "default-pool"}})["volumes"].size() == 1u);
}

// Bad volume input is refused naming what is wrong, and nothing is made.
BOOST_AUTO_TEST_CASE(bad_volumes_change_nothing) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  ok(c, "vol.create",
     {{"pool", "default-pool"},
      {"xml", "<volume><name>v</name><capacity>1</capacity></volume>"}});
  auto vol = [](const std::string& name, const std::string& more = "") {
    return "<volume><name>" + name + "</name><capacity>1024</capacity>" + more +
           "</volume>";
  };
  struct refused {
    std::string proc;
    json args;
    errc code;
    std::string message;
  };
  std::vector<refused> cases = {
      {"vol.create",
       {{"pool", "default-pool"}, {"xml", vol("a/b")}},
       errc::invalid_name,
       "a/b"},
      {"vol.create",
       {{"pool", "default-pool"}, {"xml", vol("..")}},
       errc::invalid_name,
       ".."},
      {"vol.create",
       {{"pool", "default-pool"}, {"xml", vol("a&#9;b")}},
       errc::invalid_name,
       ""},
      {"vol.create",
       {{"pool", "default-pool"}, {"xml", vol(std::string(201, 'x'))}},
       errc::invalid_name,
       ""},
      {"vol.create",
       {{"pool", "default-pool"},
        {"xml", vol("f", "<target><format type='bogus'/></target>")},
        {"origin", "f.xml"}},
       errc::xml_error,
       "f.xml:1: /volume/target/format: unknown volume format type"},
      {"vol.create",
       {{"pool", "default-pool"}, {"xml", vol("v")}},
       errc::volume_exists,
       "storage pool 'default-pool' already has a volume named 'v'"},
      {"vol.create",
       {{"pool", "default-pool"},
        {"xml", "<volume><name>big</name><capacity unit='G'>200</capacity></volume>"}},
       errc::operation_failed,
       "not enough free space in storage pool 'default-pool'"},
      {"vol.create", {{"pool", "nosuch"}, {"xml", vol("x")}}, errc::no_pool, "nosuch"},
      {"vol.delete",
       {{"pool", "default-pool"}, {"vol", "nosuch"}},
       errc::no_volume,
       "no storage volume with matching name, key or path 'nosuch'"},
      {"vol.clone",
       {{"vol", "/default-pool/v"}, {"name", "../x"}},
       errc::invalid_name,
       ""},
      {"vol.resize",
       {{"vol", "/default-pool/v"}, {"capacity", 4096}},
       errc::unsupported,
       "the test driver does not support 'resize volume' of storage volumes"},
      {"vol.delete",
       {{"vol", "/default-pool/v"}, {"flags", 0x10}},
       errc::invalid_argument,
       "flags 0x10 of vol.delete are not defined"},
  };
  for (auto& k : cases) {
    BOOST_TEST_CONTEXT(k.proc << " " << k.args.dump()) {
      auto r = call(c, "test:///default", k.proc, k.args);
      BOOST_TEST(!r.ok);
      BOOST_TEST((r.code == k.code), r.message);
      BOOST_TEST(r.message.find(k.message) != std::string::npos, r.message);
    }
  }
  BOOST_TEST(ok(c, "vol.list", {{"pool", "default-pool"}})["volumes"].size() == 1u);
  // An inactive pool makes no volume.
  ok(c, "pool.destroy", {{"pool", "default-pool"}});
  auto r = call(c, "test:///default", "vol.create",
                {{"pool", "default-pool"}, {"xml", vol("w")}});
  BOOST_TEST((r.code == errc::invalid_operation), r.message);
  BOOST_TEST(r.message == "cannot create a volume in storage pool 'default-pool': it is "
                          "not active (a volume create needs an active pool)");
}

// A volume a defined or running domain has as a disk is neither deleted nor wiped; the
// refusal names the domains. Once they let it go, it can be.
BOOST_AUTO_TEST_CASE(a_volume_in_use_is_not_deleted) {
  daemon_process d;
  domus::protocol::connection c(d.socket(), false);
  for (auto name : {"v1", "v2", "free"})
    ok(c, "vol.create",
       {{"pool", "default-pool"},
        {"xml", std::string("<volume><name>") + name +
                    "</name><capacity>1024</capacity></volume>"}});
  auto guest = [](const std::string& name, const std::string& disk) {
    return "<domain type='test'><name>" + name +
           "</name><memory>1024</memory><os><type>hvm</type></os><devices>" + disk +
           "<target dev='vda'/></disk></devices></domain>";
  };
  ok(c, "domain.define",
     {{"xml", guest("by-volume", "<disk type='volume' device='disk'><source "
                                 "pool='default-pool' volume='v1'/>")}});
  ok(c, "domain.define",
     {{"xml", guest("by-path", "<disk type='file' device='disk'><source "
                               "file='/default-pool/v1'/>")}});
  // A running transient domain's live definition counts too.
  ok(c, "domain.create",
     {{"xml", guest("running", "<disk type='file' device='disk'><source "
                               "file='/default-pool/v2'/>")}});
  auto refused =
      call(c, "test:///default", "vol.delete", {{"pool", "default-pool"}, {"vol", "v1"}});
  BOOST_TEST((refused.code == errc::invalid_operation), refused.message);
  BOOST_TEST(refused.message == "storage volume 'v1' of pool 'default-pool' cannot be "
                                "deleted: domains 'by-path', 'by-volume' use it");
  refused = call(c, "test:///default", "vol.delete", {{"vol", "/default-pool/v2"}});
  BOOST_TEST(refused.message == "storage volume 'v2' of pool 'default-pool' cannot be "
                                "deleted: domain 'running' uses it");
  ok(c, "vol.delete", {{"pool", "default-pool"}, {"vol", "free"}});
  ok(c, "domain.undefine", {{"domain", "by-path"}});
  ok(c, "domain.undefine", {{"domain", "by-volume"}});
  ok(c, "domain.destroy", {{"domain", "running"}});
  ok(c, "vol.delete", {{"pool", "default-pool"}, {"vol", "v1"}});
  ok(c, "vol.delete", {{"pool", "default-pool"}, {"vol", "v2"}});
}
