// Domain commands: list, dominfo, domstate, domid, domname, domuuid, dumpxml, define,
// create, undefine, start, shutdown, reboot, destroy, suspend, resume, autostart.
#include "command_table.hpp"
#include "format.hpp"
#include "input_file.hpp"
#include "shell.hpp"
#include "xpath.hpp"

#include <domus/protocol/flags.hpp>
#include <domus/protocol/vocabulary.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <unistd.h>

namespace domus::cli {

using protocol::json;

namespace {

std::string state_text(const json& d) {
  auto* s = protocol::find_state(d.value("state", std::string()));
  return s ? std::string(s->text) : "no state";
}

std::string reason_text(const json& d) {
  auto* s = protocol::find_state(d.value("state", std::string()));
  if (!s)
    return "unknown";
  auto* r = protocol::find_reason(s->state, d.value("reason", std::string()));
  return r ? std::string(r->text) : "unknown";
}

std::string id_text(const json& d) {
  return d.contains("id") && d["id"].is_number() ? std::to_string(d["id"].get<int64_t>())
                                                 : "-";
}

json lookup(shell& sh, const parsed_command& pc) {
  return sh.call("domain.lookup", {{"domain", *pc.value("domain")}});
}

// A lifecycle command: the request, then virsh's confirmation with the name as typed.
bool simple(shell& sh, const parsed_command& pc, std::string_view proc,
            std::string_view text, uint32_t flags = 0) {
  std::string d = *pc.value("domain");
  json args = {{"domain", d}};
  if (flags)
    args["flags"] = flags;
  sh.call(proc, args);
  std::cout << "Domain '" << d << "' " << text << '\n';
  return true;
}

// shutdown and reboot --mode: a comma-separated list of modes; nullopt (the error
// printed, in virsh's words, whose shutdown and reboot differ by a comma) when one is
// unknown.
std::optional<uint32_t> mode_flags(const parsed_command& pc, protocol::proc p) {
  uint32_t flags = 0;
  std::string modes = pc.value("mode").value_or("");
  size_t at = 0;
  while (!modes.empty() && at <= modes.size()) {
    size_t comma = std::min(modes.find(',', at), modes.size());
    std::string mode = modes.substr(at, comma - at);
    at = comma + 1;
    bool known = false;
    for (auto& f : protocol::flag_bits(p))
      if (f.name == mode) {
        flags |= f.bit;
        known = true;
      }
    if (!known) {
      shell::error("Unknown mode " + mode +
                   " value, expecting 'acpi', 'agent', 'initctl', 'signal'" +
                   (p == protocol::proc::domain_shutdown ? "," : "") + " or 'paravirt'");
      return std::nullopt;
    }
  }
  return flags;
}

// virsh's check of options that contradict each other; false (printed) when both.
bool exclusive(const parsed_command& pc, const char* a, const char* b) {
  if (!pc.flag(a) || !pc.flag(b))
    return true;
  shell::error(std::string("Options --") + a + " and --" + b + " are mutually exclusive");
  return false;
}

} // namespace

bool cmd_list(shell& sh, const parsed_command& pc) {
  bool inactive = pc.flag("inactive") || pc.flag("state-shutoff");
  bool all = pc.flag("all");
  json args = {{"active", all || !inactive}, {"inactive", all || inactive}};
  if (pc.flag("table") && (pc.flag("name") || pc.flag("uuid") || pc.flag("id"))) {
    shell::error(std::string("Options --table and --") +
                 (pc.flag("name")   ? "name"
                  : pc.flag("uuid") ? "uuid"
                                    : "id") +
                 " are mutually exclusive");
    return false;
  }
  json domains = sh.call_all("domain.list", args, "domains");
  std::vector<json> rows;
  for (auto& d : domains) {
    std::string st = d.value("state", "");
    bool persistent = d.value("persistent", true);
    bool autostart = d.value("autostart", false);
    if (pc.flag("transient") && persistent)
      continue;
    if (pc.flag("persistent") && !persistent)
      continue;
    if (pc.flag("autostart") && !autostart)
      continue;
    if (pc.flag("no-autostart") && autostart)
      continue;
    bool any_state = pc.flag("state-running") || pc.flag("state-paused") ||
                     pc.flag("state-shutoff") || pc.flag("state-other");
    if (any_state) {
      bool other = st != "running" && st != "paused" && st != "shutoff";
      if (!((pc.flag("state-running") && st == "running") ||
            (pc.flag("state-paused") && st == "paused") ||
            (pc.flag("state-shutoff") && st == "shutoff") ||
            (pc.flag("state-other") && other)))
        continue;
    }
    rows.push_back(d);
  }
  if (pc.flag("name") || pc.flag("uuid") || pc.flag("id")) {
    // Fields in virsh's order, uuid, id, name; --id alone skips inactive domains.
    bool only_id = pc.flag("id") && !pc.flag("name") && !pc.flag("uuid");
    for (auto& d : rows) {
      if (only_id && id_text(d) == "-")
        continue;
      std::string line;
      auto add = [&](const std::string& s) { line += (line.empty() ? "" : " ") + s; };
      if (pc.flag("uuid"))
        add(d.value("uuid", ""));
      if (pc.flag("id"))
        add(id_text(d));
      if (pc.flag("name"))
        add(d.value("name", ""));
      std::cout << line << '\n';
    }
    return true;
  }
  std::vector<std::vector<std::string>> cells;
  for (auto& d : rows)
    cells.push_back({id_text(d), d.value("name", ""), state_text(d)});
  std::cout << format_table({"Id", "Name", "State"}, cells, sh.quiet());
  return true;
}

bool cmd_dominfo(shell& sh, const parsed_command& pc) {
  json d = sh.call("domain.info", {{"domain", *pc.value("domain")}});
  auto kv = [](const std::string& k, const std::string& v) {
    return key_value(k, v, 15);
  };
  std::ostringstream out;
  out << kv("Id:", id_text(d)) << kv("Name:", d.value("name", ""))
      << kv("UUID:", d.value("uuid", "")) << kv("OS Type:", d.value("os_type", ""))
      << kv("State:", state_text(d))
      << kv("CPU(s):", std::to_string(d.value("vcpus", 0)));
  uint64_t cpu_ns = d.value("cpu_time_ns", uint64_t{0});
  if (cpu_ns) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1lfs", static_cast<double>(cpu_ns) / 1e9);
    out << kv("CPU time:", buf);
  }
  out << kv("Max memory:",
            std::to_string(d.value("max_memory_kib", uint64_t{0})) + " KiB")
      << kv("Used memory:", std::to_string(d.value("memory_kib", uint64_t{0})) + " KiB")
      << kv("Persistent:", d.value("persistent", true) ? "yes" : "no")
      << kv("Autostart:", d.value("autostart", false) ? "enable" : "disable")
      << kv("Managed save:", d.value("managed_save", false) ? "yes" : "no");
  const json& sec = d.contains("security") ? d["security"] : json::object();
  std::string model = sec.value("model", "");
  if (!model.empty()) {
    out << kv("Security model:", model) << kv("Security DOI:", sec.value("doi", ""));
    std::string label = sec.value("label", "");
    if (!label.empty())
      out << kv("Security label:",
                label + " (" +
                    (sec.value("enforcing", true) ? "enforcing" : "permissive") + ")");
  }
  std::cout << out.str();
  return true;
}

bool cmd_domstate(shell& sh, const parsed_command& pc) {
  json d = lookup(sh, pc);
  std::cout << state_text(d);
  if (!pc.flag("reason")) {
    std::cout << '\n';
    return true;
  }
  std::cout << " (" << reason_text(d) << ")\n";
  // Why it last failed, when it did (Domus's own line; virsh has none).
  json info = sh.call("domain.info", {{"domain", *pc.value("domain")}});
  if (const json& e = info.value("last_error", json()); e.is_object())
    std::cout << "last error: " << e.value("time", "") << ": " << e.value("message", "")
              << '\n';
  return true;
}

bool cmd_domid(shell& sh, const parsed_command& pc) {
  std::cout << id_text(lookup(sh, pc)) << '\n';
  return true;
}

bool cmd_domname(shell& sh, const parsed_command& pc) {
  std::cout << lookup(sh, pc).value("name", "") << '\n';
  return true;
}

bool cmd_domuuid(shell& sh, const parsed_command& pc) {
  std::cout << lookup(sh, pc).value("uuid", "") << '\n';
  return true;
}

bool cmd_dumpxml(shell& sh, const parsed_command& pc) {
  json r = sh.call("domain.xml", {{"domain", *pc.value("domain")},
                                  {"inactive", pc.flag("inactive")},
                                  {"secure", pc.flag("security-info")}});
  if (auto expr = pc.value("xpath"))
    std::cout << xpath_select(r.value("xml", ""), *expr, pc.flag("wrap"));
  else
    std::cout << r.value("xml", "");
  return true;
}

namespace {

// define and create: the file's XML, with its name for error messages.
bool from_file(shell& sh, const parsed_command& pc, std::string_view proc,
               std::string_view done) {
  std::string file = *pc.value("file");
  json args = {{"xml", read_input_file(file)},
               {"origin", file},
               {"validate", pc.flag("validate")}};
  if (uint32_t flags = option_flags(pc, protocol::proc::domain_create);
      flags && proc == "domain.create")
    args["flags"] = flags;
  json r = sh.call(proc, args);
  std::cout << "Domain '" << r.value("name", "") << "' " << done << " from " << file
            << '\n';
  return true;
}

} // namespace

// virsh domxml-to-native: a file's definition, or a defined domain's.
bool cmd_domxml_to_native(shell& sh, const parsed_command& pc) {
  auto file = pc.value("xml");
  auto domain = pc.value("domain");
  if (file && domain) {
    shell::error("Options --xml and --domain are mutually exclusive");
    return false;
  }
  if (!file && !domain) {
    shell::error("either --xml or --domain is required");
    return false;
  }
  json args = {{"format", *pc.value("format")}};
  if (file) {
    args["xml"] = read_input_file(*file);
    args["origin"] = *file;
  } else {
    args["xml"] =
        sh.call("domain.xml", {{"domain", *domain}, {"inactive", true}, {"secure", true}})
            .value("xml", "");
  }
  std::cout << sh.call("connect.domain-xml-to-native", args).value("native", "") << '\n';
  return true;
}

bool cmd_define(shell& sh, const parsed_command& pc) {
  return from_file(sh, pc, "domain.define", "defined");
}
bool cmd_create(shell& sh, const parsed_command& pc) {
  return from_file(sh, pc, "domain.create", "created");
}

bool cmd_undefine(shell& sh, const parsed_command& pc) {
  if (!exclusive(pc, "nvram", "keep-nvram") || !exclusive(pc, "tpm", "keep-tpm"))
    return false;
  return simple(sh, pc, "domain.undefine", "has been undefined",
                option_flags(pc, protocol::proc::domain_undefine));
}
bool cmd_start(shell& sh, const parsed_command& pc) {
  return simple(sh, pc, "domain.start", "started",
                option_flags(pc, protocol::proc::domain_start));
}
bool cmd_shutdown(shell& sh, const parsed_command& pc) {
  auto modes = mode_flags(pc, protocol::proc::domain_shutdown);
  return modes && simple(sh, pc, "domain.shutdown", "is being shutdown", *modes);
}
bool cmd_reboot(shell& sh, const parsed_command& pc) {
  auto modes = mode_flags(pc, protocol::proc::domain_reboot);
  return modes && simple(sh, pc, "domain.reboot", "is being rebooted", *modes);
}
bool cmd_destroy(shell& sh, const parsed_command& pc) {
  return simple(sh, pc, "domain.destroy", "destroyed",
                option_flags(pc, protocol::proc::domain_destroy));
}
// virsh's layout (its qemu driver's jobs; libvirt's test driver has none): the type,
// then for a running job its operation and time, columns of 17 and 12, and for a
// long-running one the data it has moved.
bool cmd_domjobinfo(shell& sh, const parsed_command& pc) {
  json r = sh.call("domain.jobinfo", {{"domain", *pc.value("domain")}});
  char line[128];
  const json& job = r.contains("job") ? r["job"] : json();
  std::snprintf(line, sizeof line, "%-17s %-12s\n",
                "Job type:", job.is_null() ? "None" : "Unbounded");
  std::cout << line;
  if (job.is_null())
    return true;
  // libvirt's names of the job operations the runtime has; the rest are unknown to it.
  std::string proc = job.value("proc", "");
  std::snprintf(line, sizeof line, "%-17s %-12s\n", "Operation:",
                proc == "domain.start" || proc == "domain.create" ? "Start"
                : proc == "domain.dump"                           ? "Dump"
                                                                  : "Unknown");
  std::cout << line;
  std::snprintf(line, sizeof line, "%-17s %-12llu ms\n", "Time elapsed:",
                static_cast<unsigned long long>(job.value("elapsed_ms", uint64_t{0})));
  std::cout << line;
  uint64_t total = job.value("total", uint64_t{0});
  if (total == 0)
    return true;
  uint64_t done = std::min(job.value("processed", uint64_t{0}), total);
  std::cout << "Data processed:   " << pretty_capacity(done, 3) << '\n'
            << "Data remaining:   " << pretty_capacity(total - done, 3) << '\n'
            << "Data total:       " << pretty_capacity(total, 3) << '\n';
  return true;
}

// virsh's dump: the request runs as a long job, so instead of one bounded wait domsh
// asks for the job's progress every half second while it waits (printing it with
// --verbose, as virsh does on stderr); it waits as long as the daemon answers.
bool cmd_dump(shell& sh, const parsed_command& pc) {
  using namespace std::chrono_literals;
  std::string d = *pc.value("domain");
  std::string file = *pc.value("file");
  auto format = pc.value("format");
  if (format && !pc.flag("memory-only")) {
    shell::error("--format only works with --memory-only");
    return false;
  }
  if (!file.empty() && file[0] != '/') { // the daemon's host is this one: our directory
    std::vector<char> cwd(4096);
    if (::getcwd(cwd.data(), cwd.size()))
      file = std::string(cwd.data()) + "/" + file;
  }
  json args = {{"domain", d}, {"file", file}};
  if (uint32_t flags = option_flags(pc, protocol::proc::domain_dump))
    args["flags"] = flags;
  if (format)
    args["format"] = *format;
  // The first request goes through call(): it checks that the daemon answers.
  sh.call("domain.lookup", {{"domain", d}});
  auto& c = sh.connection();
  int64_t id = c.send(sh.uri(), "domain.dump", args);
  bool verbose = pc.flag("verbose");
  for (;;) {
    auto r = c.receive(500ms);
    if (r && r->id == id) {
      if (!r->ok)
        throw protocol::error(r->code, r->message);
      break;
    }
    if (r)
      continue; // a jobinfo's answer that came late
    auto info = c.call(sh.uri(), "domain.jobinfo", {{"domain", d}}, 30s);
    const json job = info.ok ? info.result.value("job", json()) : json();
    if (verbose && job.is_object() && job.value("total", uint64_t{0}) > 0) {
      auto total = job.value("total", uint64_t{1});
      auto done = std::min(job.value("processed", uint64_t{0}), total);
      std::fprintf(stderr, "\rDump: [%3d %%]", static_cast<int>(done * 100 / total));
    }
  }
  if (verbose)
    std::fprintf(stderr, "\rDump: [100 %%]\n");
  std::cout << "\nDomain '" << d << "' dumped to " << file << '\n';
  return true;
}

// Prints nothing on success, as virsh.
bool cmd_domjobabort(shell& sh, const parsed_command& pc) {
  sh.call("domain.jobabort", {{"domain", *pc.value("domain")}});
  return true;
}

bool cmd_suspend(shell& sh, const parsed_command& pc) {
  return simple(sh, pc, "domain.suspend", "suspended");
}
bool cmd_resume(shell& sh, const parsed_command& pc) {
  return simple(sh, pc, "domain.resume", "resumed");
}

bool cmd_autostart(shell& sh, const parsed_command& pc) {
  std::string d = *pc.value("domain");
  bool enable = !pc.flag("disable");
  sh.call("domain.autostart", {{"domain", d}, {"enable", enable}});
  std::cout << "Domain '" << d << "' " << (enable ? "marked" : "unmarked")
            << " as autostarted\n";
  return true;
}

uint32_t option_flags(const parsed_command& pc, protocol::proc p) {
  uint32_t flags = 0;
  for (auto& f : protocol::flag_bits(p))
    if (pc.flag(f.name))
      flags |= f.bit;
  return flags;
}

} // namespace domus::cli
