#include "command_table.hpp"

namespace domus::cli {

namespace {

using k = option_kind;

// The domain argument every domain command takes first.
option_spec domain_arg(std::string_view help = "domain name, id or uuid") {
  return {"domain", k::string, true, true, help};
}

} // namespace

const std::vector<command_group>& command_groups() {
  static const std::vector<command_group> groups = {
      {"domain", "Domain Management"}, {"monitor", "Domain Monitoring"},
      {"events", "Domain Events"},     {"host", "Host and Hypervisor"},
      {"domsh", "Domsh itself"},
  };
  return groups;
}

const std::vector<command_spec>& commands() {
  static const std::vector<command_spec> table = {
      {"autostart", "domain", "autostart a domain",
       "Configure a domain to be automatically started at boot.",
       {domain_arg(), {"disable", k::flag, false, false, "disable autostarting"}},
       cmd_autostart},
      {"create", "domain", "create a domain from an XML file", "Create a domain.",
       {{"file", k::string, true, true, "file containing an XML domain description"}},
       cmd_create},
      {"define", "domain", "define (but don't start) a domain from an XML file",
       "Define a domain.",
       {{"file", k::string, true, true, "file containing an XML domain description"}},
       cmd_define},
      {"destroy", "domain", "destroy (stop) a domain",
       "Forcefully stop a given domain, but leave its resources intact.",
       {domain_arg()},
       cmd_destroy},
      {"domid", "domain", "convert a domain name or UUID to domain id", "",
       {domain_arg("domain name or uuid")},
       cmd_domid},
      {"domname", "domain", "convert a domain id or UUID to domain name", "",
       {domain_arg("domain id or uuid")},
       cmd_domname},
      {"domuuid", "domain", "convert a domain name or id to domain UUID", "",
       {domain_arg("domain id or name")},
       cmd_domuuid},
      {"dumpxml", "domain", "domain information in XML",
       "Output the domain information as an XML dump to stdout.",
       {domain_arg(), {"inactive", k::flag, false, false, "show inactive defined XML"}},
       cmd_dumpxml},
      {"reboot", "domain", "reboot a domain", "Run a reboot command in the target domain.",
       {domain_arg()},
       cmd_reboot},
      {"resume", "domain", "resume a domain", "Resume a previously suspended domain.",
       {domain_arg()},
       cmd_resume},
      {"shutdown", "domain", "gracefully shutdown a domain",
       "Run shutdown in the target domain.",
       {domain_arg()},
       cmd_shutdown},
      {"start", "domain", "start a (previously defined) inactive domain",
       "Start a domain, either from the last managedsave\n    state, or via a fresh boot if "
       "no managedsave state\n    is present.",
       {domain_arg("name of the inactive domain")},
       cmd_start},
      {"suspend", "domain", "suspend a domain", "Suspend a running domain.",
       {domain_arg()},
       cmd_suspend},
      {"undefine", "domain", "undefine a domain",
       "Undefine an inactive domain, or convert persistent to transient.",
       {domain_arg()},
       cmd_undefine},
      {"dominfo", "monitor", "domain information",
       "Returns basic information about the domain.",
       {domain_arg()},
       cmd_dominfo},
      {"domstate", "monitor", "domain state", "Returns state about a domain.",
       {domain_arg(), {"reason", k::flag, false, false, "also print reason for the state"}},
       cmd_domstate},
      {"list", "monitor", "list domains", "Returns list of domains.",
       {{"inactive", k::flag, false, false, "list inactive domains"},
        {"all", k::flag, false, false, "list inactive & active domains"},
        {"transient", k::flag, false, false, "list transient domains"},
        {"persistent", k::flag, false, false, "list persistent domains"},
        {"state-running", k::flag, false, false, "list domains in running state"},
        {"state-paused", k::flag, false, false, "list domains in paused state"},
        {"state-shutoff", k::flag, false, false, "list domains in shutoff state"},
        {"state-other", k::flag, false, false, "list domains in other states"},
        {"autostart", k::flag, false, false, "list domains with autostart enabled"},
        {"no-autostart", k::flag, false, false, "list domains with autostart disabled"},
        {"uuid", k::flag, false, false, "list uuid's only"},
        {"name", k::flag, false, false, "list domain names only"},
        {"id", k::flag, false, false, "list domain IDs only"},
        {"table", k::flag, false, false, "list table (default)"}},
       cmd_list},
      {"event", "events", "Domain Events", "List event types, or wait for domain events to occur",
       {{"domain", k::string, false, true, "filter by domain name, id or uuid"},
        {"event", k::string, false, false, "which event type to wait for"},
        {"all", k::flag, false, false, "wait for all events instead of just one type"},
        {"loop", k::flag, false, false, "loop until timeout or interrupt, rather than one-shot"},
        {"timeout", k::number, false, false, "timeout seconds"},
        {"list", k::flag, false, false, "list valid event types"},
        {"timestamp", k::flag, false, false, "show timestamp for each printed event"}},
       cmd_event},
      {"nodeinfo", "host", "node information", "Returns basic information about the node.",
       {},
       cmd_nodeinfo},
      {"uri", "host", "print the hypervisor canonical URI", "", {}, cmd_uri},
      {"version", "host", "show version", "Display the system version information.",
       {{"daemon", k::flag, false, false, "report daemon version too"}},
       cmd_version},
      {"exit", "domsh", "quit this interactive terminal", "", {}, cmd_quit},
      {"help", "domsh", "print help",
       "Prints global help, command specific help, or help for a\n    group of related commands",
       {{"command", k::string, false, true,
         "Prints global help, command specific help, or help for a group of related "
         "commands"}},
       cmd_help},
      {"quit", "domsh", "quit this interactive terminal", "", {}, cmd_quit},
      {"connect", "domsh", "(re)connect to hypervisor",
       "Connect to local hypervisor. This is built-in command after shell start up.",
       {{"name", k::string, false, true, "hypervisor connection URI"},
        {"readonly", k::flag, false, false, "read-only connection"}},
       cmd_connect},
  };
  return table;
}

const command_spec* find_command(std::string_view name) {
  for (auto& c : commands())
    if (c.name == name)
      return &c;
  return nullptr;
}

} // namespace domus::cli
