#include "xpath.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <dlfcn.h>

#include <memory>
#include <stdexcept>
#include <type_traits>

namespace domus::cli {

namespace {

// libxml2 is loaded when an XPath is first asked for, not when domsh starts: it brings
// ICU, zlib and lzma with it, milliseconds every other command would pay at exec
// (docs/benchmarks.md: domsh against the CLI floor). Only its headers are compiled in.
struct libxml2 {
  decltype(&::xmlSetGenericErrorFunc) set_error_func;
  decltype(&::xmlReadMemory) read_memory;
  decltype(&::xmlFreeDoc) free_doc;
  decltype(&::xmlXPathNewContext) new_context;
  decltype(&::xmlXPathFreeContext) free_context;
  decltype(&::xmlXPathEvalExpression) eval;
  decltype(&::xmlXPathFreeObject) free_object;
  decltype(&::xmlNewDoc) new_doc;
  decltype(&::xmlNewNode) new_node;
  decltype(&::xmlDocSetRootElement) set_root;
  decltype(&::xmlAddChild) add_child;
  decltype(&::xmlDocCopyNode) copy_node;
  decltype(&::xmlBufferCreate) buffer_create;
  decltype(&::xmlBufferFree) buffer_free;
  decltype(&::xmlBufferContent) buffer_content;
  decltype(&::xmlBufferLength) buffer_length;
  decltype(&::xmlNodeDump) node_dump;
};

const libxml2& libxml() {
  static const libxml2 lib = [] {
    void* h = dlopen("libxml2.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h)
      throw std::runtime_error(std::string("cannot load libxml2: ") + dlerror());
    libxml2 l{};
    auto bind = [h](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      if (!fn)
        throw std::runtime_error(std::string("libxml2 has no ") + name);
    };
    bind(l.set_error_func, "xmlSetGenericErrorFunc");
    bind(l.read_memory, "xmlReadMemory");
    bind(l.free_doc, "xmlFreeDoc");
    bind(l.new_context, "xmlXPathNewContext");
    bind(l.free_context, "xmlXPathFreeContext");
    bind(l.eval, "xmlXPathEvalExpression");
    bind(l.free_object, "xmlXPathFreeObject");
    bind(l.new_doc, "xmlNewDoc");
    bind(l.new_node, "xmlNewNode");
    bind(l.set_root, "xmlDocSetRootElement");
    bind(l.add_child, "xmlAddChild");
    bind(l.copy_node, "xmlDocCopyNode");
    bind(l.buffer_create, "xmlBufferCreate");
    bind(l.buffer_free, "xmlBufferFree");
    bind(l.buffer_content, "xmlBufferContent");
    bind(l.buffer_length, "xmlBufferLength");
    bind(l.node_dump, "xmlNodeDump");
    return l;
  }();
  return lib;
}

struct doc_deleter {
  void operator()(xmlDoc* d) const { libxml().free_doc(d); }
};
struct ctx_deleter {
  void operator()(xmlXPathContext* c) const { libxml().free_context(c); }
};
struct obj_deleter {
  void operator()(xmlXPathObject* o) const { libxml().free_object(o); }
};
struct buf_deleter {
  void operator()(xmlBuffer* b) const { libxml().buffer_free(b); }
};

// libxml2's serialization of one node, indented as virsh's output is.
std::string dump(xmlDoc* doc, xmlNode* node, int level) {
  const auto& x = libxml();
  std::unique_ptr<xmlBuffer, buf_deleter> buf(x.buffer_create());
  x.node_dump(buf.get(), doc, node, level, 1);
  return std::string(reinterpret_cast<const char*>(x.buffer_content(buf.get())),
                     static_cast<size_t>(x.buffer_length(buf.get())));
}

void quiet(void*, const char*, ...) {}

std::unique_ptr<xmlDoc, doc_deleter> read_document(const std::string& xml) {
  // libxml2 would print its own diagnostics on stderr; the error below says it once.
  const auto& x = libxml();
  x.set_error_func(nullptr, quiet);
  std::unique_ptr<xmlDoc, doc_deleter> doc(
      x.read_memory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOBLANKS));
  if (!doc)
    throw std::runtime_error("the daemon's XML does not parse");
  return doc;
}

} // namespace

std::vector<std::vector<std::string>>
xpath_records(const std::string& xml, const std::string& nodes,
              const std::vector<std::string>& fields) {
  const auto& x = libxml();
  auto doc = read_document(xml);
  std::unique_ptr<xmlXPathContext, ctx_deleter> ctx(x.new_context(doc.get()));
  std::unique_ptr<xmlXPathObject, obj_deleter> set(
      x.eval(reinterpret_cast<const xmlChar*>(nodes.c_str()), ctx.get()));
  std::vector<std::vector<std::string>> out;
  if (!set || set->type != XPATH_NODESET || !set->nodesetval)
    return out;
  for (int i = 0; i < set->nodesetval->nodeNr; ++i) {
    ctx->node = set->nodesetval->nodeTab[i];
    std::vector<std::string> row;
    for (const auto& f : fields) {
      std::unique_ptr<xmlXPathObject, obj_deleter> v(
          x.eval(reinterpret_cast<const xmlChar*>(f.c_str()), ctx.get()));
      row.push_back(v && v->type == XPATH_STRING && v->stringval
                        ? reinterpret_cast<const char*>(v->stringval)
                        : "");
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::string xpath_select(const std::string& xml, const std::string& expr, bool wrap) {
  const auto& x = libxml();
  auto doc = read_document(xml);
  std::unique_ptr<xmlXPathContext, ctx_deleter> ctx(x.new_context(doc.get()));
  std::unique_ptr<xmlXPathObject, obj_deleter> result(
      x.eval(reinterpret_cast<const xmlChar*>(expr.c_str()), ctx.get()));
  if (!result)
    throw std::runtime_error("invalid XPath expression '" + expr + "'");
  if (result->type != XPATH_NODESET)
    throw std::runtime_error("XPath expression '" + expr +
                             "' does not select nodes (a number, string or boolean is "
                             "not printed)");
  xmlNodeSet* set = result->nodesetval;
  int n = set ? set->nodeNr : 0;
  if (wrap) {
    std::unique_ptr<xmlDoc, doc_deleter> out(x.new_doc(BAD_CAST "1.0"));
    xmlNode* root = x.new_node(nullptr, BAD_CAST "nodes");
    x.set_root(out.get(), root);
    for (int i = 0; i < n; ++i)
      x.add_child(root, x.copy_node(set->nodeTab[i], out.get(), 1));
    return dump(out.get(), root, 0) + "\n";
  }
  std::string text;
  for (int i = 0; i < n; ++i)
    text += dump(doc.get(), set->nodeTab[i], 0) + "\n";
  return text;
}

} // namespace domus::cli
