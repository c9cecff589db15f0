/* The plugin ABI header compiles as strict C99, and its layout on x86_64 is pinned: a
 * change that moves a field breaks every driver built before it, so it must fail here. */
#include <domus/driver_v1.h>

#include <stddef.h>
#include <stdio.h>

#define PIN(type, field, offset)                                                         \
  typedef char pin_##type##_##field[(offsetof(type, field) == (offset)) ? 1 : -1]

PIN(domus_driver_v1, abi_major, 0);
PIN(domus_driver_v1, abi_minor, 4);
PIN(domus_driver_v1, struct_size, 8);
PIN(domus_driver_v1, name, 16);
PIN(domus_driver_v1, version, 24);
PIN(domus_driver_v1, schemes, 32);
PIN(domus_driver_v1, open, 40);
PIN(domus_driver_v1, close, 48);
PIN(domus_driver_v1, node_info, 56);
PIN(domus_driver_v1, version_info, 64);
PIN(domus_driver_v1, domain, 72);
/* 1.1 */
PIN(domus_driver_v1, capabilities, 80);
PIN(domus_driver_v1, domain_capabilities, 88);
PIN(domus_driver_v1, kinds, 96);
PIN(domus_driver_v1, n_kinds, 104);
PIN(domus_driver_v1, pool, 112);
PIN(domus_driver_v1, volume, 120);
PIN(domus_driver_v1, network, 128);
PIN(domus_kind_schemes_v1, schemes, 8);

PIN(domus_domcaps_query_v1, struct_size, 0);
PIN(domus_domcaps_query_v1, emulator, 8);
PIN(domus_domcaps_query_v1, arch, 16);
PIN(domus_domcaps_query_v1, machine, 24);
PIN(domus_domcaps_query_v1, virttype, 32);

PIN(domus_domain_ops_v1, struct_size, 0);
PIN(domus_domain_ops_v1, normalize, 8);
PIN(domus_domain_ops_v1, define, 16);
PIN(domus_domain_ops_v1, undefine, 24);
PIN(domus_domain_ops_v1, start, 32);
PIN(domus_domain_ops_v1, shutdown, 40);
PIN(domus_domain_ops_v1, reboot, 48);
PIN(domus_domain_ops_v1, destroy, 56);
PIN(domus_domain_ops_v1, suspend, 64);
PIN(domus_domain_ops_v1, resume, 72);
PIN(domus_domain_ops_v1, info, 80);
PIN(domus_domain_ops_v1, reconnect, 88);
PIN(domus_domain_ops_v1, release, 96);
/* 1.1 */
PIN(domus_domain_ops_v1, cancel, 104);
PIN(domus_domain_ops_v1, define_flags, 112);
PIN(domus_domain_ops_v1, undefine_flags, 120);
PIN(domus_domain_ops_v1, suspend_flags, 128);
PIN(domus_domain_ops_v1, resume_flags, 136);
PIN(domus_domain_ops_v1, attach_device, 144);
PIN(domus_domain_ops_v1, detach_device, 152);
PIN(domus_domain_ops_v1, update_device, 160);
PIN(domus_domain_ops_v1, open_console, 168);
PIN(domus_domain_ops_v1, dump, 176);
/* 1.2 */
PIN(domus_domain_ops_v1, to_native, 184);

PIN(domus_result_v1, struct_size, 0);
PIN(domus_result_v1, status, 4);
PIN(domus_result_v1, message, 8);
PIN(domus_result_v1, dom, 16);
PIN(domus_result_v1, state, 24);
PIN(domus_result_v1, events, 32);
PIN(domus_result_v1, n_events, 40);
PIN(domus_result_v1, xml, 48);
PIN(domus_result_v1, private_data, 56);
PIN(domus_result_v1, info, 72);
PIN(domus_result_v1, node, 80);
PIN(domus_result_v1, version, 88);
PIN(domus_result_v1, instance, 96);
PIN(domus_result_v1, objects, 104);
PIN(domus_result_v1, n_objects, 112);
/* 1.1 */
PIN(domus_result_v1, config_xml, 120);
PIN(domus_result_v1, pool, 128);
PIN(domus_result_v1, pool_info, 136);
PIN(domus_result_v1, volumes, 144);
PIN(domus_result_v1, n_volumes, 152);
PIN(domus_volume_v1, vol, 8);
PIN(domus_volume_v1, name, 16);
PIN(domus_volume_v1, key, 24);
PIN(domus_volume_v1, path, 32);
PIN(domus_volume_v1, type, 40);
PIN(domus_volume_v1, format, 48);
PIN(domus_volume_v1, capacity, 56);
PIN(domus_volume_v1, allocation, 64);
PIN(domus_volume_v1, backing_path, 72);
PIN(domus_volume_v1, backing_format, 80);
PIN(domus_volume_v1, xml, 88);
PIN(domus_volume_ops_v1, create, 8);
PIN(domus_volume_ops_v1, delete_volume, 16);
PIN(domus_volume_ops_v1, resize, 24);
PIN(domus_volume_ops_v1, wipe, 32);
/* 1.3 */
PIN(domus_volume_ops_v1, upload, 40);
PIN(domus_volume_ops_v1, download, 48);
PIN(domus_volume_ops_v1, create_job, 56);
PIN(domus_volume_ops_v1, wipe_job, 64);
PIN(domus_volume_ops_v1, cancel, 72);
PIN(domus_pool_info_v1, state, 4);
PIN(domus_pool_info_v1, capacity, 8);
PIN(domus_pool_info_v1, allocation, 16);
PIN(domus_pool_info_v1, available, 24);
PIN(domus_pool_ops_v1, define, 8);
PIN(domus_pool_ops_v1, start, 16);
PIN(domus_pool_ops_v1, destroy, 24);
PIN(domus_pool_ops_v1, build, 32);
PIN(domus_pool_ops_v1, delete_storage, 40);
PIN(domus_pool_ops_v1, refresh, 48);
PIN(domus_pool_ops_v1, release, 56);

PIN(domus_host_v1, struct_size, 0);
PIN(domus_host_v1, ctx, 8);
PIN(domus_host_v1, log, 16);
PIN(domus_host_v1, report, 24);
PIN(domus_host_v1, post, 32);
PIN(domus_host_v1, timer_start, 40);
PIN(domus_host_v1, timer_stop, 48);
PIN(domus_host_v1, watch_fd, 56);
PIN(domus_host_v1, unwatch_fd, 64);
PIN(domus_host_v1, spawn, 72);
PIN(domus_host_v1, kill, 80);
/* 1.1 */
PIN(domus_host_v1, watch_pid, 88);
PIN(domus_host_v1, unwatch_pid, 96);
PIN(domus_host_v1, signal_pid, 104);
PIN(domus_host_v1, queue_work, 112);
PIN(domus_host_v1, cancel_work, 120);
PIN(domus_host_v1, emit, 128);
PIN(domus_host_v1, stream_attach, 136);
PIN(domus_host_v1, stream_send, 144);
PIN(domus_host_v1, stream_pause, 152);
PIN(domus_host_v1, stream_finish, 160);
PIN(domus_host_v1, job_progress, 168);
/* 1.3 */
PIN(domus_host_v1, stream_send_hole, 176);
PIN(domus_host_v1, resolve_volume, 184);
/* 1.4 */
PIN(domus_host_v1, users_of, 192);
PIN(domus_job_progress_v1, processed, 8);
PIN(domus_job_progress_v1, total, 16);
PIN(domus_stream_cbs_v1, on_data, 8);
PIN(domus_stream_cbs_v1, on_writable, 16);
PIN(domus_stream_cbs_v1, on_end, 24);
/* 1.3 */
PIN(domus_stream_cbs_v1, on_hole, 32);
PIN(domus_stream_cbs_v1, on_eof, 40);

PIN(domus_open_args_v1, uri, 8);
PIN(domus_open_args_v1, flags, 48);
PIN(domus_open_args_v1, host, 56);
/* 1.1 */
PIN(domus_open_args_v1, log_dir, 64);
PIN(domus_open_args_v1, cache_dir, 72);
PIN(domus_open_args_v1, settings_file, 80);
PIN(domus_open_args_v1, settings, 88);
PIN(domus_open_args_v1, n_settings, 96);
PIN(domus_setting_v1, key, 0);
PIN(domus_setting_v1, value, 8);
PIN(domus_setting_v1, line, 16);

PIN(domus_dom_state_v1, state, 0);
PIN(domus_dom_state_v1, reason, 4);
PIN(domus_dom_state_v1, id, 8);

PIN(domus_dom_info_v1, state, 4);
PIN(domus_dom_info_v1, max_memory_kib, 16);
PIN(domus_dom_info_v1, memory_kib, 24);
PIN(domus_dom_info_v1, vcpus, 32);
PIN(domus_dom_info_v1, cpu_time_ns, 40);
PIN(domus_dom_info_v1, os_type, 48);
PIN(domus_dom_info_v1, security_label, 56);
PIN(domus_dom_info_v1, security_enforcing, 64);

PIN(domus_object_v1, kind, 4);
PIN(domus_object_v1, dom, 8);
PIN(domus_object_v1, xml, 16);
PIN(domus_object_v1, state, 32);
PIN(domus_object_v1, private_data, 48);
PIN(domus_object_v1, pool, 64); /* 1.1 */

PIN(domus_report_v1, state, 4);
PIN(domus_report_v1, events, 16);
PIN(domus_report_v1, private_data, 32);
/* 1.1 */
PIN(domus_report_v1, live_xml, 48);
/* 1.2 */
PIN(domus_report_v1, error, 56);

PIN(domus_spawn_v1, file, 8);
PIN(domus_spawn_v1, argv, 16);
PIN(domus_spawn_v1, stdin_fd, 40);
PIN(domus_spawn_v1, stderr_fd, 48);
/* 1.1 */
PIN(domus_spawn_v1, pass_fds, 56);
PIN(domus_spawn_v1, n_pass_fds, 64);
PIN(domus_spawn_v1, uid, 72);
PIN(domus_spawn_v1, gid, 80);

/* The numbers are part of the contract too. */
typedef char pin_no_domain[(DOMUS_E_NO_DOMAIN == 1) ? 1 : -1];
typedef char pin_config[(DOMUS_E_CONFIG_ERROR == 21) ? 1 : -1];
typedef char pin_limit[(DOMUS_E_LIMIT_EXCEEDED == 22) ? 1 : -1];
typedef char pin_aborted[(DOMUS_E_ABORTED == 23) ? 1 : -1];
typedef char pin_shutoff[(DOMUS_STATE_SHUTOFF == 5) ? 1 : -1];
typedef char pin_stopped[(DOMUS_EVENT_STOPPED == 6) ? 1 : -1];
typedef char
    pin_paused[(DOMUS_START_PAUSED == 0x1 && DOMUS_START_RESET_NVRAM == 0x20) ? 1 : -1];
typedef char
    pin_nvram[(DOMUS_UNDEFINE_NVRAM == 0x4 && DOMUS_UNDEFINE_KEEP_TPM == 0x40) ? 1 : -1];
typedef char pin_graceful
    [(DOMUS_DESTROY_GRACEFUL == 0x1 && DOMUS_DESTROY_REMOVE_LOGS == 0x2) ? 1 : -1];
typedef char pin_modes
    [(DOMUS_SHUTDOWN_ACPI_POWER_BTN == 0x1 && DOMUS_SHUTDOWN_PARAVIRT == 0x10) ? 1 : -1];
typedef char pin_transfer[(DOMUS_VOL_TRANSFER_SPARSE == 0x1) ? 1 : -1];
typedef char pin_chunk[(DOMUS_STREAM_CHUNK_BYTES == 262144 &&
                        DOMUS_CONSOLE_FORCE == 0x1 && DOMUS_CONSOLE_SAFE == 0x2)
                           ? 1
                           : -1];
typedef char pin_users[(DOMUS_USERS_RUNNING == 0x1) ? 1 : -1];
typedef char pin_device[(DOMUS_DEVICE_LIVE == 0x1 && DOMUS_DEVICE_CONFIG == 0x2 &&
                         DOMUS_DEVICE_FORCE == 0x4)
                            ? 1
                            : -1];

int main(void) {
  printf("domus_driver_v1: %u bytes, ABI %u.%u\n", (unsigned)sizeof(domus_driver_v1),
         DOMUS_DRIVER_ABI_MAJOR, DOMUS_DRIVER_ABI_MINOR);
  return sizeof(domus_driver_v1) == 136 && sizeof(domus_domain_ops_v1) == 192 &&
                 sizeof(domus_result_v1) == 160 && sizeof(domus_domcaps_query_v1) == 40 &&
                 sizeof(domus_open_args_v1) == 104 && sizeof(domus_setting_v1) == 24 &&
                 sizeof(domus_host_v1) == 200 && sizeof(domus_job_progress_v1) == 24 &&
                 sizeof(domus_object_v1) == 72 && sizeof(domus_pool_info_v1) == 32 &&
                 sizeof(domus_pool_ops_v1) == 64 && sizeof(domus_volume_v1) == 96 &&
                 sizeof(domus_volume_ops_v1) == 80 && sizeof(domus_report_v1) == 64 &&
                 sizeof(domus_stream_cbs_v1) == 48 && DOMUS_DRIVER_ABI_MINOR == 4
             ? 0
             : 1;
}
