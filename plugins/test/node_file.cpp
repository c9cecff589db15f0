// Loads libvirt test-driver node files: <node> with inline or file=-referenced <domain>,
// <network> and <pool> elements, the node's <cpu> and <memory>, the test:runstate
// extension, and Domus's test:fault declarations (faults.hpp).
#include "test_state.hpp"

#include <domus/errors.hpp>
#include <domus/model/storage_def.hpp>
#include <domus/model/xml_tree.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace domus::test_driver {
namespace {

using domus::errc;
using domus::error;
using model::xml_node;

constexpr std::string_view test_namespace = "http://libvirt.org/schemas/domain/test/1.0";

// A node file, or a file one of its entries names, is at most this large.
constexpr off_t max_node_file_bytes = 64 << 20;

std::string read_file(const std::string& path, const std::string& referrer) {
  std::string where =
      (referrer.empty() ? std::string() : referrer + ": ") + "'" + path + "'";
  // Only regular files, and not huge ones: a name such as /dev/zero would be read
  // forever.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw error(errc::xml_error, "cannot read " + where + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw error(errc::xml_error, "cannot read " + where + ": not a regular file");
  if (st.st_size > max_node_file_bytes)
    throw error(errc::xml_error, "cannot read " + where + ": it is " +
                                     std::to_string(st.st_size) + " bytes, more than " +
                                     std::to_string(max_node_file_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw error(errc::xml_error, "cannot read " + where + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

[[noreturn]] void fail(const std::string& origin, const xml_node& at,
                       const std::string& msg) {
  throw error(errc::xml_error, origin + ":" + std::to_string(at.line) + ": " + msg);
}

uint64_t number(const std::string& origin, const xml_node& el, const std::string& path) {
  std::string t = el.trimmed_text();
  if (t.empty())
    fail(origin, el, path + ": empty value");
  for (char c : t)
    if (c < '0' || c > '9')
      fail(origin, el, path + ": '" + t + "' is not a whole number");
  try {
    return std::stoull(t);
  } catch (...) {
    fail(origin, el, path + ": '" + t + "' is too large");
  }
}

// Prefixes bound to the test namespace by xmlns declarations on these elements.
void collect_test_prefixes(const xml_node& el, std::vector<std::string>& out) {
  for (auto& a : el.attrs)
    if (a.name.rfind("xmlns:", 0) == 0 && a.value == test_namespace)
      out.push_back(a.name.substr(6));
}

// The element an entry stands for: itself, or the root of the file its file= names.
struct resolved {
  xml_node node;
  std::string origin;
};

resolved resolve(const xml_node& entry, const std::string& origin,
                 const std::string& dir) {
  const std::string* file = entry.attr("file");
  if (!file)
    return {entry, origin};
  std::string path = (!file->empty() && (*file)[0] == '/') ? *file : dir + "/" + *file;
  std::string text = read_file(path, origin + ":" + std::to_string(entry.line));
  return {model::parse_xml(text, path), path};
}

// A pool's definition as libvirt's mock holds it, and its volumes (`volumes`, each a
// <volume> document). Its <volume> children are the node file's, not the definition's;
// what they allocate is the pool's allocation, and no longer available. libvirt 9.0
// loads the volumes of a pool written inline only: those under a pool read from its own
// file are not (testnode.xml's default-pool reports nothing allocated), and neither are
// they here.
std::string load_pool(const xml_node& entry, resolved& r, const std::string& origin,
                      const std::string& dir, std::vector<std::string>& volume_xmls) {
  std::vector<xml_node> volumes;
  auto& kids = r.node.children;
  for (auto it = kids.begin(); it != kids.end();) {
    if (!it->is_text && it->name == "volume") {
      volumes.push_back(std::move(*it));
      it = kids.erase(it);
    } else {
      ++it;
    }
  }
  std::string xml = model::to_xml_string(r.node);
  if (!r.node.child("uuid")) {
    // As libvirt's parser, a pool given without a UUID gets one.
    r.node.children.push_back(model::xml_node::element("uuid"));
    r.node.children.back().set_text(model::format_uuid(model::generate_uuid()));
    xml = model::to_xml_string(r.node);
  }
  if (entry.attr("file") || volumes.empty())
    return xml;
  model::pool_def pool = model::parse_pool(xml, r.origin, model::parse_mode::stored);
  uint64_t used = 0;
  for (auto& v : volumes) {
    resolved vol = resolve(v, origin, dir);
    std::string text = model::to_xml_string(vol.node);
    used +=
        model::parse_volume(text, vol.origin, pool, model::parse_mode::stored).allocation;
    volume_xmls.push_back(std::move(text));
  }
  pool.sizes.allocation += used;
  pool.sizes.available -= std::min(used, pool.sizes.available);
  return model::format_pool(pool);
}

seed_object load_domain(const resolved& r, std::vector<std::string> prefixes) {
  seed_object obj;
  obj.kind = DOMUS_OBJECT_DOMAIN;
  obj.state = DOMUS_STATE_RUNNING; // libvirt's default runstate
  obj.origin = r.origin;
  if (r.node.name != "domain")
    fail(r.origin, r.node, "expected <domain>, found <" + r.node.name + ">");
  xml_node dom = r.node;
  collect_test_prefixes(dom, prefixes);
  auto is_test = [&](const xml_node& c, std::string_view local) {
    for (auto& p : prefixes)
      if (c.name == p + ":" + std::string(local))
        return true;
    return false;
  };
  bool transient = false;
  std::vector<xml_node> kept;
  for (auto& c : dom.children) {
    if (!c.is_text && is_test(c, "runstate")) {
      uint64_t v = number(r.origin, c, "/domain/test:runstate");
      if (v < DOMUS_STATE_RUNNING || v > DOMUS_STATE_PMSUSPENDED)
        fail(r.origin, c,
             "/domain/test:runstate: runstate '" + std::to_string(v) +
                 "' is out of range (1 to 7)");
      obj.state = static_cast<int32_t>(v);
    } else if (!c.is_text && is_test(c, "transient")) {
      transient = true;
    } else if (!c.is_text && c.name.find(':') != std::string::npos && [&] {
                 for (auto& p : prefixes)
                   if (c.name.rfind(p + ":", 0) == 0)
                     return true;
                 return false;
               }()) {
      // Other test: elements (hasmanagedsave, domainsnapshot) are not modelled; like
      // libvirt, nothing of the test namespace is written back.
    } else {
      kept.push_back(c);
    }
  }
  if (transient && obj.state == DOMUS_STATE_SHUTOFF)
    fail(r.origin, dom, "/domain: a transient domain cannot have runstate shutoff (5)");
  obj.persistent = !transient;
  dom.children = std::move(kept);
  std::vector<model::xml_attr> attrs;
  for (auto& a : dom.attrs)
    if (!(a.name.rfind("xmlns:", 0) == 0 && a.value == test_namespace))
      attrs.push_back(a);
  dom.attrs = std::move(attrs);
  obj.xml = model::to_xml_string(dom);
  return obj;
}

void load_node_facts(const std::string& origin, const xml_node& root, node_facts& n) {
  if (auto* cpu = root.child("cpu")) {
    if (auto* e = cpu->child("nodes"))
      n.nodes = static_cast<uint32_t>(number(origin, *e, "/node/cpu/nodes"));
    if (auto* e = cpu->child("sockets"))
      n.sockets = static_cast<uint32_t>(number(origin, *e, "/node/cpu/sockets"));
    if (auto* e = cpu->child("cores"))
      n.cores = static_cast<uint32_t>(number(origin, *e, "/node/cpu/cores"));
    if (auto* e = cpu->child("threads"))
      n.threads = static_cast<uint32_t>(number(origin, *e, "/node/cpu/threads"));
    if (auto* e = cpu->child("active"))
      n.active_cpus = static_cast<uint32_t>(number(origin, *e, "/node/cpu/active"));
    if (auto* e = cpu->child("mhz"))
      n.mhz = static_cast<uint32_t>(number(origin, *e, "/node/cpu/mhz"));
    if (auto* e = cpu->child("model"))
      n.cpu_model = e->text_content();
    if (n.nodes == 0 || n.sockets == 0 || n.cores == 0 || n.threads == 0)
      fail(origin, *cpu,
           "/node/cpu: nodes, sockets, cores and threads must be at least 1");
  }
  if (auto* mem = root.child("memory"))
    n.memory_kib = number(origin, *mem, "/node/memory");
}

// <test:fault operation='OP' action='fail|hang' domain='NAME|*'/>, pool='NAME|*' for a
// pool operation.
fault_plan::entry load_fault(const std::string& origin, const xml_node& el) {
  auto need = [&](const char* name) {
    const std::string* v = el.attr(name);
    if (!v || v->empty())
      fail(origin, el,
           "/node/test:fault: attribute '" + std::string(name) + "' is missing");
    return *v;
  };
  std::string op = need("operation");
  if (!is_fault_operation(op))
    fail(origin, el,
         "/node/test:fault: operation '" + op + "' is not one of " + fault_operations());
  const char* object = is_pool_fault_operation(op) ? "pool" : "domain";
  for (auto& a : el.attrs)
    if (a.name != "operation" && a.name != "action" && a.name != object)
      fail(origin, el,
           "/node/test:fault: unknown attribute '" + a.name + "' (operation " + op +
               " takes '" + object + "')");
  for (auto& c : el.children)
    if (!c.is_text)
      fail(origin, c, "/node/test:fault: unexpected <" + c.name + ">");
  std::string action = need("action"), name = need(object);
  if (action != "fail" && action != "hang")
    fail(origin, el, "/node/test:fault: action '" + action + "' is not fail or hang");
  return {op, name, action == "fail" ? fault::fail : fault::hang};
}

} // namespace

seed load_node_file(const std::string& path) {
  std::string text = read_file(path, "");
  xml_node root = model::parse_xml(text, path);
  if (root.name != "node")
    fail(path, root, "the root element is <" + root.name + ">, expected <node>");
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::vector<std::string> prefixes;
  collect_test_prefixes(root, prefixes);

  seed s;
  load_node_facts(path, root, s.node);
  for (auto& c : root.children) {
    if (c.is_text)
      continue;
    if (c.name == "domain") {
      s.objects.push_back(load_domain(resolve(c, path, dir), prefixes));
    } else if (c.name == "network" || c.name == "pool") {
      resolved r = resolve(c, path, dir);
      seed_object obj;
      obj.kind = c.name == "network" ? DOMUS_OBJECT_NETWORK : DOMUS_OBJECT_POOL;
      // libvirt's mock starts every network and pool of a node file.
      obj.state = obj.kind == DOMUS_OBJECT_POOL ? int32_t{DOMUS_POOL_RUNNING}
                                                : int32_t{DOMUS_STATE_RUNNING};
      obj.origin = r.origin;
      obj.xml = c.name == "pool" ? load_pool(c, r, path, dir, obj.volumes)
                                 : model::to_xml_string(r.node);
      s.objects.push_back(std::move(obj));
    } else if (std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) {
                 return c.name == p + ":fault";
               })) {
      s.faults.entries.push_back(load_fault(path, c));
    }
    // <interface>, <device> and <auth> are not modelled yet; libvirt's own later issues.
  }
  return s;
}

} // namespace domus::test_driver
