#define BOOST_TEST_MODULE test_driver
#include <boost/test/unit_test.hpp>

#include <domus/driver_v1.h>

#include <dlfcn.h>
#include <optional>
#include <string>
#include <vector>

// Drives the test driver plugin through its C ABI alone, as the runtime does.

namespace {

const domus_driver_v1* load() {
  static const domus_driver_v1* d = [] {
    void* h = dlopen(DOMUS_PLUGIN_DIR "/test.so", RTLD_NOW | RTLD_LOCAL);
    BOOST_TEST_REQUIRE(h != nullptr);
    auto entry = reinterpret_cast<const domus_driver_v1* (*)(uint32_t)>(
        dlsym(h, DOMUS_DRIVER_ENTRY_SYMBOL));
    BOOST_TEST_REQUIRE(entry != nullptr);
    BOOST_TEST(entry(2) == nullptr);
    return entry(DOMUS_DRIVER_ABI_MAJOR);
  }();
  return d;
}

// What a completion delivered, copied.
struct result {
  int32_t status = -1;
  std::string message;
  domus_dom* dom = nullptr;
  std::optional<domus_dom_state_v1> state;
  std::vector<std::pair<int, int>> events;
  std::string xml;
  std::optional<domus_dom_info_v1> info;
  std::optional<domus_node_info_v1> node;
  std::string cpu_model, hv_type;
  uint64_t hv_version = 0;
  domus_instance* instance = nullptr;
  struct obj {
    int kind;
    domus_dom* dom;
    std::string xml;
    domus_dom_state_v1 state;
    bool persistent;
  };
  std::vector<obj> objects;
  bool called = false;
};

void capture(void* user, const domus_result_v1* r) {
  auto* out = static_cast<result*>(user);
  BOOST_TEST(!out->called); // exactly once
  out->called = true;
  out->status = r->status;
  out->message = r->message ? r->message : "";
  out->dom = r->dom;
  if (r->state)
    out->state = *r->state;
  for (size_t i = 0; i < r->n_events; ++i)
    out->events.emplace_back(r->events[i].event, r->events[i].detail);
  out->xml = r->xml ? r->xml : "";
  if (r->info)
    out->info = *r->info;
  if (r->node) {
    out->node = *r->node;
    out->cpu_model = r->node->cpu_model;
  }
  if (r->version) {
    out->hv_type = r->version->hypervisor_type;
    out->hv_version = r->version->hypervisor_version;
  }
  out->instance = r->instance;
  for (size_t i = 0; i < r->n_objects; ++i)
    out->objects.push_back({r->objects[i].kind, r->objects[i].dom, r->objects[i].xml,
                            r->objects[i].state, r->objects[i].persistent != 0});
}

domus_host_v1 host() {
  domus_host_v1 h{};
  h.struct_size = sizeof h;
  h.log = [](void*, int32_t, const char*) {};
  return h;
}

result open(const std::string& uri, const std::string& path,
            uint32_t flags = DOMUS_OPEN_FRESH) {
  static domus_host_v1 h = host();
  domus_open_args_v1 a{};
  a.struct_size = sizeof a;
  a.uri = uri.c_str();
  a.scheme = "test";
  a.path = path.c_str();
  a.state_dir = a.run_dir = "/nonexistent";
  a.flags = flags;
  a.host = &h;
  result r;
  load()->open(&a, capture, &r);
  BOOST_TEST(r.called);
  return r;
}

template <class Op> result call(Op op) {
  result r;
  op(capture, &r);
  BOOST_TEST(r.called);
  return r;
}

using events = std::vector<std::pair<int, int>>;

} // namespace

BOOST_AUTO_TEST_CASE(identity) {
  auto* d = load();
  BOOST_TEST(std::string(d->name) == "test");
  BOOST_TEST(d->abi_major == DOMUS_DRIVER_ABI_MAJOR);
  BOOST_TEST(d->struct_size == sizeof(domus_driver_v1));
  BOOST_TEST(std::string(d->schemes[0]) == "test");
  BOOST_TEST(d->schemes[1] == nullptr);
}

BOOST_AUTO_TEST_CASE(default_configuration) {
  result r = open("test:///default", "/default");
  BOOST_TEST_REQUIRE(r.status == DOMUS_OK);
  BOOST_TEST_REQUIRE(r.objects.size() == 3u);
  BOOST_TEST(r.objects[0].kind == DOMUS_OBJECT_DOMAIN);
  BOOST_TEST(r.objects[0].xml.find("<name>test</name>") != std::string::npos);
  BOOST_TEST(r.objects[0].state.state == DOMUS_STATE_RUNNING);
  BOOST_TEST(r.objects[0].state.reason == DOMUS_REASON_UNKNOWN);
  BOOST_TEST(r.objects[0].state.id == 1);
  BOOST_TEST(r.objects[1].kind == DOMUS_OBJECT_NETWORK);
  BOOST_TEST(r.objects[1].xml.find("<name>default</name>") != std::string::npos);
  BOOST_TEST(r.objects[2].kind == DOMUS_OBJECT_POOL);
  BOOST_TEST(r.objects[2].xml.find("<name>default-pool</name>") != std::string::npos);

  auto* d = load();
  result n = call([&](auto cb, void* u) { d->node_info(r.instance, cb, u); });
  BOOST_TEST(n.cpu_model == "i686");
  BOOST_TEST(n.node->cpus == 16u);
  BOOST_TEST(n.node->memory_kib == 3145728u);
  BOOST_TEST(n.node->mhz == 1400u);
  result v = call([&](auto cb, void* u) { d->version_info(r.instance, cb, u); });
  BOOST_TEST(v.hv_type == "TEST");
  BOOST_TEST(v.hv_version == 2u);

  result info = call(
      [&](auto cb, void* u) { d->domain->info(r.instance, r.objects[0].dom, cb, u); });
  BOOST_TEST(info.info->max_memory_kib == 8388608u);
  BOOST_TEST(info.info->memory_kib == 2097152u);
  BOOST_TEST(info.info->vcpus == 2u);
  d->close(r.instance);
}

BOOST_AUTO_TEST_CASE(not_fresh_means_no_seed) {
  result r = open("test:///default", "/default", 0);
  BOOST_TEST(r.status == DOMUS_OK);
  BOOST_TEST(r.objects.empty());
  load()->close(r.instance);
}

// libvirt's test driver: ids never reused, reboot in place without an event, shutdown of
// a paused guest allowed, suspend of a paused guest refused.
BOOST_AUTO_TEST_CASE(mock_lifecycle) {
  auto* d = load();
  auto* ops = d->domain;
  result o = open("test:///default", "/default");
  auto* inst = o.instance;
  const char* xml = "<domain type='test'><name>m</name><memory>1024</memory>"
                    "<os><type>hvm</type></os><devices><interface type='network'>"
                    "<source network='default'/></interface></devices></domain>";
  result norm = call([&](auto cb, void* u) { ops->normalize(inst, xml, cb, u); });
  BOOST_TEST_REQUIRE(norm.status == DOMUS_OK);
  BOOST_TEST(norm.xml.find("<type arch='i686'>hvm</type>") != std::string::npos);
  BOOST_TEST(norm.xml.find("<mac address='52:54:00:") != std::string::npos);

  result def = call(
      [&](auto cb, void* u) { ops->define(inst, nullptr, norm.xml.c_str(), cb, u); });
  BOOST_TEST_REQUIRE(def.dom != nullptr);
  domus_dom* dom = def.dom;

  result s1 = call([&](auto cb, void* u) { ops->start(inst, dom, 0, cb, u); });
  BOOST_TEST(s1.state->id == 2); // the default domain took 1
  BOOST_TEST((s1.events == events{{DOMUS_EVENT_STARTED, DOMUS_DETAIL_BOOTED}}));
  result again = call([&](auto cb, void* u) { ops->start(inst, dom, 0, cb, u); });
  BOOST_TEST(again.status == DOMUS_E_INVALID_OPERATION);

  result sus = call([&](auto cb, void* u) { ops->suspend(inst, dom, cb, u); });
  BOOST_TEST(sus.state->state == DOMUS_STATE_PAUSED);
  BOOST_TEST(sus.state->reason == DOMUS_REASON_USER);
  result sus2 = call([&](auto cb, void* u) { ops->suspend(inst, dom, cb, u); });
  BOOST_TEST(sus2.status == DOMUS_E_INVALID_OPERATION);
  result res = call([&](auto cb, void* u) { ops->resume(inst, dom, cb, u); });
  BOOST_TEST(res.state->reason == DOMUS_REASON_UNPAUSED);
  BOOST_TEST((res.events == events{{DOMUS_EVENT_RESUMED, DOMUS_DETAIL_UNPAUSED}}));

  result reb = call([&](auto cb, void* u) { ops->reboot(inst, dom, 0, cb, u); });
  BOOST_TEST(reb.state->id == 2);
  BOOST_TEST(reb.state->reason == DOMUS_REASON_BOOTED);
  BOOST_TEST(reb.events.empty());

  call([&](auto cb, void* u) { ops->suspend(inst, dom, cb, u); });
  result sd = call([&](auto cb, void* u) { ops->shutdown(inst, dom, 0, cb, u); });
  BOOST_TEST(sd.state->state == DOMUS_STATE_SHUTOFF);
  BOOST_TEST(sd.state->reason == DOMUS_REASON_SHUTDOWN);
  BOOST_TEST(sd.state->id == -1);
  BOOST_TEST((sd.events == events{{DOMUS_EVENT_STOPPED, DOMUS_DETAIL_SHUTDOWN}}));

  result s2 = call([&](auto cb, void* u) { ops->start(inst, dom, 0, cb, u); });
  BOOST_TEST(s2.state->id == 3); // never reused
  result ds = call([&](auto cb, void* u) { ops->destroy(inst, dom, 0, cb, u); });
  BOOST_TEST(ds.state->reason == DOMUS_REASON_DESTROYED);
  // A destroy of a shut off domain (the runtime's, beside a start it cancelled) changes
  // nothing and says so: shut off, no event.
  result ds2 = call([&](auto cb, void* u) { ops->destroy(inst, dom, 0, cb, u); });
  BOOST_TEST(ds2.status == 0);
  BOOST_TEST(ds2.state->state == DOMUS_STATE_SHUTOFF);
  BOOST_TEST(ds2.state->reason == DOMUS_REASON_DESTROYED);
  BOOST_TEST(ds2.events.empty());

  result info = call([&](auto cb, void* u) { ops->info(inst, dom, cb, u); });
  BOOST_TEST(info.info->state.state == DOMUS_STATE_SHUTOFF);
  BOOST_TEST(info.info->cpu_time_ns == 0u);
  BOOST_TEST(info.info->security_label == nullptr);

  result und = call([&](auto cb, void* u) { ops->undefine(inst, dom, cb, u); });
  BOOST_TEST(und.status == DOMUS_OK);
  ops->release(inst, dom);
  d->close(inst);
}

BOOST_AUTO_TEST_CASE(node_files_from_libvirt) {
  for (auto file : {"testnode.xml", "testnodeinline.xml"}) {
    BOOST_TEST_CONTEXT(file) {
      std::string path = std::string(DOMUS_CONFORMANCE_DIR) + "/test-driver/" + file;
      result r = open("test://" + path, path);
      BOOST_TEST_REQUIRE(r.status == DOMUS_OK, r.message);
      std::vector<std::string> names;
      std::vector<int> ids, states;
      for (auto& o : r.objects) {
        if (o.kind != DOMUS_OBJECT_DOMAIN)
          continue;
        auto b = o.xml.find("<name>") + 6;
        names.push_back(o.xml.substr(b, o.xml.find("</name>") - b));
        ids.push_back(o.state.id);
        states.push_back(o.state.state);
        BOOST_TEST(o.xml.find("runstate") == std::string::npos); // never written back
      }
      BOOST_TEST((names == std::vector<std::string>{"fv0", "fc4", "fc5"}));
      BOOST_TEST((ids == std::vector<int>{1, 2, 3}));
      bool inline_file = std::string(file) == "testnodeinline.xml";
      BOOST_TEST(states[2] == (inline_file ? DOMUS_STATE_PAUSED : DOMUS_STATE_RUNNING));
      result n = call([&](auto cb, void* u) { load()->node_info(r.instance, cb, u); });
      BOOST_TEST(n.cpu_model == "i986");
      BOOST_TEST(n.node->cpus == 50u);
      BOOST_TEST(n.node->mhz == 6000u);
      BOOST_TEST(n.node->numa_nodes == 4u);
      BOOST_TEST(n.node->memory_kib == 8192000u);
      load()->close(r.instance);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_node_files_fail_naming_the_file) {
  std::string missing = "/nonexistent/node.xml";
  result r = open("test://" + missing, missing);
  BOOST_TEST(r.status == DOMUS_E_XML_ERROR);
  BOOST_TEST(r.message.find(missing) != std::string::npos);
  std::string not_node =
      std::string(DOMUS_CONFORMANCE_DIR) + "/test-driver/testdomfc4.xml";
  result r2 = open("test://" + not_node, not_node);
  BOOST_TEST(r2.status == DOMUS_E_XML_ERROR);
  BOOST_TEST(r2.message.find("expected <node>") != std::string::npos, r2.message);
  result r3 = open("test://relative", "relative");
  BOOST_TEST(r3.status == DOMUS_E_INVALID_ARGUMENT);
}
