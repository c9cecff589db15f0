#include "domus/protocol/procedures.hpp"

namespace domus::protocol {

const std::vector<proc_entry>& proc_catalogue() {
  using t = proc_target;
  static const std::vector<proc_entry> entries = {
      {proc::events_ping, "events.ping", t::daemon, false, "{token}",
       "publishes sys.pong with the token on the event socket (subscription handshake)"},
      {proc::connect_open, "connect.open", t::instance, false, "{}",
       "opens the driver instance of the URI if needed; returns the normalized URI"},
      {proc::connect_version, "connect.version", t::instance, false, "{}",
       "daemon version, driver name and version, hypervisor type and version"},
      {proc::node_info, "node.info", t::instance, false, "{}",
       "the host's CPU model, memory, CPUs and topology as the driver reports them"},
      {proc::domain_list, "domain.list", t::instance, false,
       "{active?, inactive?, after?}", "summaries of the instance's domains"},
      {proc::domain_define, "domain.define", t::instance, true,
       "{xml, origin?, validate?}",
       "defines a persistent domain, or replaces the definition of the same name and "
       "UUID"},
      {proc::domain_create, "domain.create", t::instance, true,
       "{xml, origin?, validate?}", "creates and starts a transient domain"},
      {proc::domain_lookup, "domain.lookup", t::domain, false, "{domain}",
       "the summary of one domain: name, uuid, id, state, reason, persistent, autostart"},
      {proc::domain_info, "domain.info", t::domain, false, "{domain}",
       "the summary plus os type, memory, vCPUs, CPU time and security label"},
      {proc::domain_xml, "domain.xml", t::domain, false, "{domain, inactive?, secure?}",
       "the live definition of an active domain, or the persistent one; secrets "
       "(graphics passwords) only with secure, on the read-write socket",
       "secure"},
      {proc::domain_undefine, "domain.undefine", t::domain, true, "{domain}",
       "removes the persistent definition (an active domain becomes transient)"},
      {proc::domain_start, "domain.start", t::domain, true, "{domain}",
       "starts an inactive persistent domain"},
      {proc::domain_shutdown, "domain.shutdown", t::domain, true, "{domain}",
       "asks the guest to shut down"},
      {proc::domain_reboot, "domain.reboot", t::domain, true, "{domain}",
       "asks the guest to reboot"},
      {proc::domain_destroy, "domain.destroy", t::domain, true, "{domain}",
       "stops the domain at once"},
      {proc::domain_suspend, "domain.suspend", t::domain, true, "{domain}",
       "pauses the domain's vCPUs"},
      {proc::domain_resume, "domain.resume", t::domain, true, "{domain}",
       "resumes a paused domain"},
      {proc::domain_autostart, "domain.autostart", t::domain, true, "{domain, enable}",
       "marks or unmarks a persistent domain to start with the host"},
      {proc::events_since, "events.since", t::daemon, false, "{after, topic?, limit?}",
       "the journal's events after seq `after` (topic prefix, at most limit), as they "
       "were "
       "published: {events, next, last}; error resync with oldest_seq when they are "
       "gone"},
      {proc::domain_jobinfo, "domain.jobinfo", t::domain, false, "{domain}",
       "the change running on the domain: {job: null or {proc, elapsed_ms, waiting}, "
       "unresponsive}"},
      {proc::domain_jobabort, "domain.jobabort", t::domain, true, "{domain}",
       "cancels the driver call of the change running on the domain (its caller gets "
       "aborted); never waits behind it: {aborted: PROC}"},
      {proc::connect_capabilities, "connect.capabilities", t::instance, false, "{}",
       "the host's capabilities in libvirt's <capabilities> format: {xml}"},
      {proc::connect_domain_capabilities, "connect.domain-capabilities", t::instance,
       false, "{emulator?, arch?, machine?, virttype?}",
       "what a domain of that kind can use, in libvirt's <domainCapabilities> format: "
       "{xml}"},
      {proc::domain_attach_device, "domain.attach-device", t::domain, true,
       "{domain, xml, origin?, flags?}",
       "adds one device (a <disk>, <interface>, ...) to the running guest (flag live), "
       "the persistent definition (config), or both; neither: the running guest if the "
       "domain is active, else the definition"},
      {proc::domain_detach_device, "domain.detach-device", t::domain, true,
       "{domain, xml, origin?, flags?}",
       "removes the device the element identifies (a disk by its target, an interface "
       "by its MAC); flags as attach-device"},
      {proc::domain_update_device, "domain.update-device", t::domain, true,
       "{domain, xml, origin?, flags?}",
       "changes a device in place (a CD-ROM's medium, a link's state); flags as "
       "attach-device, and force"},
      {proc::domain_open_console, "domain.open-console", t::domain, true,
       "{domain, device?, flags?}",
       "connects a stream to the running guest's console (`device` a console or serial "
       "alias; absent: the first console): {stream, window, chunk_bytes}"},
      {proc::domain_dump, "domain.dump", t::domain, true,
       "{domain, file, format?, flags?}",
       "dumps the running guest's core to `file` (an absolute path on the daemon's "
       "host), a long-running job beside the domain's other changes: {file}"},
      {proc::pool_list, "pool.list", t::instance, false, "{active?, inactive?, after?}",
       "the instance's storage pools, in pages: {pools: [{name, uuid, state, "
       "persistent, autostart, capacity, allocation, available}], next?}"},
      {proc::pool_info, "pool.info", t::instance, false, "{pool}",
       "one pool (by name or UUID), as pool.list lists it"},
      {proc::pool_xml, "pool.xml", t::instance, false, "{pool, inactive?}",
       "one pool's definition in libvirt's format, with its sizes: {xml}"},
      {proc::pool_define, "pool.define", t::instance, true, "{xml, origin?, validate?}",
       "defines a persistent storage pool, or replaces the definition of the one of the "
       "same name and UUID (an active pool's at its next start): the pool as pool.info "
       "shows it"},
      {proc::pool_create, "pool.create", t::instance, true,
       "{xml, origin?, validate?, flags?}",
       "creates and starts a transient storage pool (or starts an inactive one with "
       "this definition): the pool as pool.info shows it"},
      {proc::pool_start, "pool.start", t::instance, true, "{pool, flags?}",
       "starts an inactive storage pool"},
      {proc::pool_destroy, "pool.destroy", t::instance, true, "{pool}",
       "stops an active storage pool (its storage is kept; a transient one is gone)"},
      {proc::pool_undefine, "pool.undefine", t::instance, true, "{pool}",
       "removes an inactive storage pool's definition"},
      {proc::pool_build, "pool.build", t::instance, true, "{pool, flags?}",
       "builds an inactive storage pool's storage (a directory: creates it)"},
      {proc::pool_delete, "pool.delete", t::instance, true, "{pool, flags?}",
       "deletes an inactive storage pool's storage (a directory: removes it)"},
      {proc::pool_refresh, "pool.refresh", t::instance, true, "{pool}",
       "reads an active storage pool's volumes and sizes again"},
      {proc::pool_autostart, "pool.autostart", t::instance, true, "{pool, enable}",
       "whether a persistent storage pool starts with the daemon"},
      {proc::vol_list, "vol.list", t::instance, false, "{pool, after?}",
       "an active pool's volumes, in pages: {volumes: [{name, key, path, type, format, "
       "capacity, allocation}], next?}"},
      {proc::vol_info, "vol.info", t::instance, false, "{pool?, vol}",
       "one volume (by name in `pool`, else by key or path), as vol.list lists it, with "
       "its pool's name and UUID"},
      {proc::vol_xml, "vol.xml", t::instance, false, "{pool?, vol}",
       "one volume's definition in libvirt's format: {xml}"},
      {proc::vol_create, "vol.create", t::instance, true,
       "{pool, xml, origin?, validate?, flags?}",
       "creates a volume in an active pool: the volume as vol.info shows it"},
      {proc::vol_create_from, "vol.create-from", t::instance, true,
       "{pool, xml, origin?, validate?, input: {pool?, vol}, flags?}",
       "creates a volume with the content of another: the volume as vol.info shows it"},
      {proc::vol_clone, "vol.clone", t::instance, true, "{pool?, vol, name, flags?}",
       "a copy of a volume in its pool, named `name`: the copy as vol.info shows it"},
      {proc::vol_delete, "vol.delete", t::instance, true, "{pool?, vol, flags?}",
       "deletes a volume"},
      {proc::vol_resize, "vol.resize", t::instance, true,
       "{pool?, vol, capacity, flags?}",
       "changes a volume's capacity (bytes; with flag delta, by that much)"},
      {proc::vol_wipe, "vol.wipe", t::instance, true, "{pool?, vol, algorithm?, flags?}",
       "overwrites a volume's content"},
      {proc::connect_domain_xml_to_native, "connect.domain-xml-to-native", t::instance,
       true, "{format, xml, origin?, validate?}",
       "the hypervisor's own configuration for a definition (virsh domxml-to-native), "
       "changing nothing: {native}"},
      {proc::vol_upload, "vol.upload", t::instance, true,
       "{pool?, vol, offset?, length?, flags?}",
       "opens a stream whose bytes replace the volume's content from `offset` (at most "
       "`length`; 0 or none: all sent): {stream, window, chunk_bytes, holes}; the "
       "daemon answers the client's end with its own once the content is durable "
       "(docs/protocol.md, \"Volume transfers\")"},
      // Read-write only: a volume's content is a guest's disk (libvirt refuses it on a
      // read-only connection too).
      {proc::vol_download, "vol.download", t::instance, true,
       "{pool?, vol, offset?, length?, flags?}",
       "opens a stream that carries the volume's content from `offset` (at most "
       "`length`; 0 or none: to its end): {stream, window, chunk_bytes, holes}"},
      {proc::vol_jobinfo, "vol.jobinfo", t::instance, false, "{pool, vol}",
       "the long-running jobs on a volume (a transfer, a create or copy, a wipe): {jobs: "
       "[{proc, elapsed_ms, processed, total}]}"},
      {proc::vol_jobabort, "vol.jobabort", t::instance, true, "{pool, vol}",
       "aborts the long-running jobs on a volume: {aborted}"},
  };
  return entries;
}

const proc_entry* find_proc(std::string_view name) {
  for (auto& e : proc_catalogue())
    if (e.name == name)
      return &e;
  return nullptr;
}

const proc_entry& entry(proc p) {
  return proc_catalogue().at(static_cast<size_t>(p) - 1);
}

} // namespace domus::protocol
