#include "xpath.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <memory>
#include <stdexcept>

namespace domus::cli {

namespace {

struct doc_deleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct ctx_deleter {
  void operator()(xmlXPathContext* c) const { xmlXPathFreeContext(c); }
};
struct obj_deleter {
  void operator()(xmlXPathObject* o) const { xmlXPathFreeObject(o); }
};
struct buf_deleter {
  void operator()(xmlBuffer* b) const { xmlBufferFree(b); }
};

// libxml2's serialization of one node, indented as virsh's output is.
std::string dump(xmlDoc* doc, xmlNode* node, int level) {
  std::unique_ptr<xmlBuffer, buf_deleter> buf(xmlBufferCreate());
  xmlNodeDump(buf.get(), doc, node, level, 1);
  return std::string(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                     static_cast<size_t>(xmlBufferLength(buf.get())));
}

void quiet(void*, const char*, ...) {}

} // namespace

std::string xpath_select(const std::string& xml, const std::string& expr, bool wrap) {
  // libxml2 would print its own diagnostics on stderr; the error below says it once.
  xmlSetGenericErrorFunc(nullptr, quiet);
  std::unique_ptr<xmlDoc, doc_deleter> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOBLANKS));
  if (!doc)
    throw std::runtime_error("the daemon's XML does not parse");
  std::unique_ptr<xmlXPathContext, ctx_deleter> ctx(xmlXPathNewContext(doc.get()));
  std::unique_ptr<xmlXPathObject, obj_deleter> result(
      xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(expr.c_str()), ctx.get()));
  if (!result)
    throw std::runtime_error("invalid XPath expression '" + expr + "'");
  if (result->type != XPATH_NODESET)
    throw std::runtime_error("XPath expression '" + expr +
                             "' does not select nodes (a number, string or boolean is "
                             "not printed)");
  xmlNodeSet* set = result->nodesetval;
  int n = set ? set->nodeNr : 0;
  if (wrap) {
    std::unique_ptr<xmlDoc, doc_deleter> out(xmlNewDoc(BAD_CAST "1.0"));
    xmlNode* root = xmlNewNode(nullptr, BAD_CAST "nodes");
    xmlDocSetRootElement(out.get(), root);
    for (int i = 0; i < n; ++i)
      xmlAddChild(root, xmlDocCopyNode(set->nodeTab[i], out.get(), 1));
    return dump(out.get(), root, 0) + "\n";
  }
  std::string text;
  for (int i = 0; i < n; ++i)
    text += dump(doc.get(), set->nodeTab[i], 0) + "\n";
  return text;
}

} // namespace domus::cli
