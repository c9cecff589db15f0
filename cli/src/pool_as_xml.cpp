#include "pool_as_xml.hpp"

namespace domus::cli {

namespace {

using k = option_kind;

// XML's five special characters, escaped for text and attribute values.
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '&':
      out += "&amp;";
      break;
    case '\'':
      out += "&apos;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace

std::vector<option_spec> pool_as_options() {
  return {
      {"name", k::string, true, true, "name of the pool"},
      {"type", k::string, true, true, "type of the pool"},
      {"print-xml", k::flag, false, false, "print XML document, but don't define/create"},
      {"source-host", k::string, false, false, "source-host for underlying storage"},
      {"source-path", k::string, false, false, "source path for underlying storage"},
      {"source-dev", k::string, false, false, "source device for underlying storage"},
      {"source-name", k::string, false, false, "source name for underlying storage"},
      {"target", k::string, false, false, "target for underlying storage"},
      {"source-format", k::string, false, false, "format for underlying storage"},
      {"auth-type", k::string, false, false,
       "auth type to be used for underlying storage"},
      {"auth-username", k::string, false, false,
       "auth username to be used for underlying storage"},
      {"secret-usage", k::string, false, false,
       "auth secret usage to be used for underlying storage"},
      {"secret-uuid", k::string, false, false,
       "auth secret UUID to be used for underlying storage"},
      {"adapter-name", k::string, false, false,
       "adapter name to be used for underlying storage"},
      {"adapter-wwnn", k::string, false, false,
       "adapter wwnn to be used for underlying storage"},
      {"adapter-wwpn", k::string, false, false,
       "adapter wwpn to be used for underlying storage"},
      {"adapter-parent", k::string, false, false,
       "adapter parent scsi_hostN to be used for underlying vHBA storage"},
      {"adapter-parent-wwnn", k::string, false, false,
       "adapter parent scsi_hostN wwnn to be used for underlying vHBA storage"},
      {"adapter-parent-wwpn", k::string, false, false,
       "adapter parent scsi_hostN wwpn to be used for underlying vHBA storage"},
      {"adapter-parent-fabric-wwn", k::string, false, false,
       "adapter parent scsi_hostN fabric_wwn to be used for underlying vHBA storage"},
      {"source-protocol-ver", k::string, false, false,
       "nfsvers value for NFS pool mount option"},
      {"source-initiator", k::string, false, false,
       "initiator iqn for underlying storage"},
  };
}

std::string pool_xml_from_options(const parsed_command& pc) {
  auto v = [&](const char* n) { return escaped(pc.value(n).value_or("")); };
  auto has = [&](const char* n) { return pc.value(n).has_value(); };
  std::string x = "<pool type='" + v("type") + "'>\n  <name>" + v("name") + "</name>\n";
  bool fc = has("adapter-wwnn") && has("adapter-wwpn");
  if (has("source-host") || has("source-path") || has("source-dev") ||
      has("source-initiator") || has("source-format") || has("source-name") || fc ||
      has("adapter-name")) {
    x += "  <source>\n";
    if (has("source-host"))
      x += "    <host name='" + v("source-host") + "'/>\n";
    if (has("source-path"))
      x += "    <dir path='" + v("source-path") + "'/>\n";
    if (has("source-dev"))
      x += "    <device path='" + v("source-dev") + "'/>\n";
    if (has("source-initiator"))
      x += "    <initiator>\n      <iqn name='" + v("source-initiator") +
           "'/>\n    </initiator>\n";
    if (fc) {
      x += "    <adapter type='fc_host'";
      if (has("adapter-parent"))
        x += " parent='" + v("adapter-parent") + "'";
      else if (has("adapter-parent-wwnn") && has("adapter-parent-wwpn"))
        x += " parent_wwnn='" + v("adapter-parent-wwnn") + "' parent_wwpn='" +
             v("adapter-parent-wwpn") + "'";
      else if (has("adapter-parent-fabric-wwn"))
        x += " parent_fabric_wwn='" + v("adapter-parent-fabric-wwn") + "'";
      x += " wwnn='" + v("adapter-wwnn") + "' wwpn='" + v("adapter-wwpn") + "'/>\n";
    } else if (has("adapter-name")) {
      x += "    <adapter type='scsi_host' name='" + v("adapter-name") + "'/>\n";
    }
    if (has("auth-type") && has("auth-username") &&
        (has("secret-usage") || has("secret-uuid"))) {
      x += "    <auth type='" + v("auth-type") + "' username='" + v("auth-username") +
           "'>\n";
      x += has("secret-usage") ? "      <secret usage='" + v("secret-usage") + "'/>\n"
                               : "      <secret uuid='" + v("secret-uuid") + "'/>\n";
      x += "    </auth>\n";
    }
    if (has("source-format"))
      x += "    <format type='" + v("source-format") + "'/>\n";
    if (has("source-name"))
      x += "    <name>" + v("source-name") + "</name>\n";
    if (has("source-protocol-ver"))
      x += "    <protocol ver='" + v("source-protocol-ver") + "'/>\n";
    x += "  </source>\n";
  }
  if (has("target"))
    x += "  <target>\n    <path>" + v("target") + "</path>\n  </target>\n";
  return x + "</pool>\n";
}

} // namespace domus::cli
