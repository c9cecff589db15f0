/*
 * domus/driver_v1.h: the Domus driver plugin ABI, major version 1.
 *
 * A driver is a shared object in domusd's plugin directory that exports exactly one
 * symbol, domus_driver_entry, returning a domus_driver_v1. This header is all a driver
 * needs: it compiles as C99 and as C++17, and only C types cross it.
 *
 * Rules (docs/plugins.md explains them with an example):
 *  - Structs are append-only. Every struct starts with struct_size; a reader checks
 *    struct_size before it reads a field that a later minor version appended. A NULL
 *    function slot means "not supported" and becomes an `unsupported` error.
 *  - An array of structs (open's objects) is walked with its first element's
 *    struct_size as the stride: the writer's, whichever minor it was built against.
 *  - Whoever allocates frees. Pointers handed to a callback are valid only during the
 *    call; the receiver copies what it keeps.
 *  - Nothing throws across this boundary, in either direction.
 *  - Operations complete through a domus_complete_fn, exactly once, from any thread,
 *    possibly before the operation's call returns.
 *  - Concurrency: the runtime never issues two mutating operations (define, undefine,
 *    start, shutdown, reboot, destroy, suspend, resume, release) on one domain at once,
 *    but it may call `info` on a domain while a mutating operation on it is pending, and
 *    it calls operations on different domains of one instance from several threads at
 *    once. Host services may be called from any thread.
 *  - Deadlines (since 1.1): every call has one (domusd.conf, deadline_<operation>_ms).
 *    When it passes, the caller is answered `timeout`, and the runtime calls `cancel`
 *    with the call's `user`; the call must still complete exactly once, with
 *    DOMUS_E_TIMEOUT or its real result, whose facts (state, events) the runtime then
 *    applies. While a cancelled call on a domain is out, the runtime issues only
 *    `destroy` and `info` on that domain beside it; every other change waits refused.
 *    A destroy during a start is issued the same way: the runtime cancels the start,
 *    then calls `destroy` beside it, which must end whatever the start began and
 *    complete with the shut off state even when no guest runs yet.
 *    A driver without `cancel` (1.0) gets nothing beside a late call but `info`.
 *  - Status codes are the DOMUS_E_* numbers below, the same numbers the wire protocol
 *    uses (docs/protocol.md); 0 is success.
 */
#ifndef DOMUS_DRIVER_V1_H
#define DOMUS_DRIVER_V1_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOMUS_DRIVER_ABI_MAJOR 1u
#define DOMUS_DRIVER_ABI_MINOR 4u

#if defined(__GNUC__)
#define DOMUS_DRIVER_EXPORT __attribute__((visibility("default")))
#else
#define DOMUS_DRIVER_EXPORT
#endif

/* ---- status codes: stable, never renumbered or reused ---------------------------- */

/** Error numbers shared by the ABI, the runtime and the wire protocol: DOMUS_E_X is
 * the code x of the catalogue (errors/src/errors.cpp), which says when each applies;
 * docs/protocol.md, "Error codes", lists them with their wire names. */
enum domus_status_v1 {
  DOMUS_OK = 0,
  DOMUS_E_NO_DOMAIN = 1,
  DOMUS_E_INVALID_OPERATION = 2,
  DOMUS_E_XML_ERROR = 3,
  DOMUS_E_INVALID_NAME = 4,
  DOMUS_E_PERMISSION_DENIED = 5,
  DOMUS_E_BUSY = 6,
  DOMUS_E_MESSAGE_TOO_LARGE = 7,
  DOMUS_E_BAD_REQUEST = 8,
  DOMUS_E_UNSUPPORTED = 9,
  DOMUS_E_INTERNAL = 10,
  DOMUS_E_DOMAIN_EXISTS = 11,
  DOMUS_E_UNKNOWN_PROCEDURE = 12,
  DOMUS_E_VERSION_MISMATCH = 13,
  DOMUS_E_NO_DRIVER = 14,
  DOMUS_E_OPERATION_FAILED = 15,
  DOMUS_E_SHUTTING_DOWN = 16,
  DOMUS_E_INVALID_ARGUMENT = 17,
  DOMUS_E_RESYNC = 18,
  DOMUS_E_TIMEOUT = 19,
  DOMUS_E_NO_DAEMON = 20,
  DOMUS_E_CONFIG_ERROR = 21,
  DOMUS_E_LIMIT_EXCEEDED = 22,
  /* 1.1 */
  DOMUS_E_ABORTED = 23,
  DOMUS_E_NO_POOL = 24,
  DOMUS_E_POOL_EXISTS = 25,
  DOMUS_E_NO_VOLUME = 26,
  DOMUS_E_VOLUME_EXISTS = 27
};

/** Storage pool states (since 1.1; the numbers match libvirt's virStoragePoolState): a
    pool object's `state.state` holds one. */
enum domus_pool_state_v1 {
  DOMUS_POOL_INACTIVE = 0,
  DOMUS_POOL_BUILDING = 1,
  DOMUS_POOL_RUNNING = 2,
  DOMUS_POOL_DEGRADED = 3,
  DOMUS_POOL_INACCESSIBLE = 4
};

/* ---- domain states, reasons and lifecycle events ---------------------------------- */
/* Zero means "not set" everywhere. Wire names and virsh texts: docs/protocol.md. */

/** Domain states (the numbers match libvirt's virDomainState). */
enum domus_domain_state_v1 {
  DOMUS_STATE_RUNNING = 1,
  DOMUS_STATE_BLOCKED = 2,
  DOMUS_STATE_PAUSED = 3,
  DOMUS_STATE_SHUTDOWN = 4, /**< being shut down */
  DOMUS_STATE_SHUTOFF = 5,
  DOMUS_STATE_CRASHED = 6,
  DOMUS_STATE_PMSUSPENDED = 7
};

/** Why a domain is in its state; which reasons fit which state: docs/protocol.md. */
enum domus_state_reason_v1 {
  DOMUS_REASON_UNKNOWN = 1,
  DOMUS_REASON_BOOTED = 2,
  DOMUS_REASON_MIGRATED = 3,
  DOMUS_REASON_RESTORED = 4,
  DOMUS_REASON_FROM_SNAPSHOT = 5,
  DOMUS_REASON_UNPAUSED = 6,
  DOMUS_REASON_MIGRATION_CANCELED = 7,
  DOMUS_REASON_SAVE_CANCELED = 8,
  DOMUS_REASON_WAKEUP = 9,
  DOMUS_REASON_CRASHED = 10,
  DOMUS_REASON_POSTCOPY = 11,
  DOMUS_REASON_POSTCOPY_FAILED = 12,
  DOMUS_REASON_USER = 13,
  DOMUS_REASON_MIGRATION = 14,
  DOMUS_REASON_SAVE = 15,
  DOMUS_REASON_DUMP = 16,
  DOMUS_REASON_IOERROR = 17,
  DOMUS_REASON_WATCHDOG = 18,
  DOMUS_REASON_SHUTTING_DOWN = 19,
  DOMUS_REASON_SNAPSHOT = 20,
  DOMUS_REASON_API_ERROR = 21,
  DOMUS_REASON_STARTING_UP = 22,
  DOMUS_REASON_SHUTDOWN = 23,
  DOMUS_REASON_DESTROYED = 24,
  DOMUS_REASON_SAVED = 25,
  DOMUS_REASON_FAILED = 26,
  DOMUS_REASON_DAEMON = 27,
  DOMUS_REASON_PANICKED = 28
};

/** Lifecycle events (libvirt's virDomainEventType, shifted by one). */
enum domus_event_type_v1 {
  DOMUS_EVENT_DEFINED = 1,
  DOMUS_EVENT_UNDEFINED = 2,
  DOMUS_EVENT_STARTED = 3,
  DOMUS_EVENT_SUSPENDED = 4,
  DOMUS_EVENT_RESUMED = 5,
  DOMUS_EVENT_STOPPED = 6,
  DOMUS_EVENT_SHUTDOWN = 7,
  DOMUS_EVENT_PMSUSPENDED = 8,
  DOMUS_EVENT_CRASHED = 9
};

/** Event details; which details fit which event: docs/protocol.md. */
enum domus_event_detail_v1 {
  DOMUS_DETAIL_ADDED = 1,
  DOMUS_DETAIL_UPDATED = 2,
  DOMUS_DETAIL_RENAMED = 3,
  DOMUS_DETAIL_FROM_SNAPSHOT = 4,
  DOMUS_DETAIL_REMOVED = 5,
  DOMUS_DETAIL_BOOTED = 6,
  DOMUS_DETAIL_MIGRATED = 7,
  DOMUS_DETAIL_RESTORED = 8,
  DOMUS_DETAIL_WAKEUP = 9,
  DOMUS_DETAIL_PAUSED = 10,
  DOMUS_DETAIL_IOERROR = 11,
  DOMUS_DETAIL_WATCHDOG = 12,
  DOMUS_DETAIL_API_ERROR = 13,
  DOMUS_DETAIL_POSTCOPY = 14,
  DOMUS_DETAIL_POSTCOPY_FAILED = 15,
  DOMUS_DETAIL_UNPAUSED = 16,
  DOMUS_DETAIL_SHUTDOWN = 17,
  DOMUS_DETAIL_DESTROYED = 18,
  DOMUS_DETAIL_CRASHED = 19,
  DOMUS_DETAIL_SAVED = 20,
  DOMUS_DETAIL_FAILED = 21,
  DOMUS_DETAIL_FINISHED = 22,
  DOMUS_DETAIL_GUEST = 23,
  DOMUS_DETAIL_HOST = 24,
  DOMUS_DETAIL_MEMORY = 25,
  DOMUS_DETAIL_DISK = 26,
  DOMUS_DETAIL_PANICKED = 27,
  DOMUS_DETAIL_CRASHLOADED = 28
};

/** Log levels for domus_host_v1.log. */
enum domus_log_level_v1 {
  DOMUS_LOG_ERROR = 1,
  DOMUS_LOG_WARNING = 2,
  DOMUS_LOG_INFO = 3,
  DOMUS_LOG_DEBUG = 4
};

/** Kinds of objects an instance hands over at open. */
enum domus_object_kind_v1 {
  DOMUS_OBJECT_DOMAIN = 1,
  DOMUS_OBJECT_NETWORK = 2,
  DOMUS_OBJECT_POOL = 3
};

/** users_of's flags (since 1.4). */
enum {
  /** Only running domains, by their live definitions (else every domain, by its
      persistent and its live definition). */
  DOMUS_USERS_RUNNING = 1u << 0
};

/** Whether a struct handed over by the other side (struct_size first) reaches `field`
    (since 1.1): read a field a later minor appended only when it does. */
#define DOMUS_REACHES(ptr, type, field)                                                  \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/** domus_open_args_v1.flags */
#define DOMUS_OPEN_FRESH 0x1u /**< the daemon has no state for this instance yet */

/**
 * Operation flags (since 1.1), libvirt's numbers. The runtime passes a driver only the
 * bits defined here for the operation and for the driver's minor version; any other
 * bit never reaches it. A driver refuses a defined bit it does not implement with
 * DOMUS_E_UNSUPPORTED, naming it.
 */
/** start (and the start of a create) */
#define DOMUS_START_PAUSED 0x1u       /**< leave the vCPUs paused */
#define DOMUS_START_AUTODESTROY 0x2u  /**< (the runtime refuses it for now) */
#define DOMUS_START_BYPASS_CACHE 0x4u /**< restore a managed save bypassing the cache */
#define DOMUS_START_FORCE_BOOT 0x8u   /**< boot, discarding a managed save */
#define DOMUS_START_RESET_NVRAM 0x20u /**< start from a fresh copy of the NVRAM */
/** undefine */
#define DOMUS_UNDEFINE_MANAGED_SAVE 0x1u
#define DOMUS_UNDEFINE_SNAPSHOTS_METADATA 0x2u
#define DOMUS_UNDEFINE_NVRAM 0x4u      /**< remove the NVRAM file too */
#define DOMUS_UNDEFINE_KEEP_NVRAM 0x8u /**< keep it */
#define DOMUS_UNDEFINE_CHECKPOINTS_METADATA 0x10u
#define DOMUS_UNDEFINE_TPM 0x20u      /**< remove the TPM state too */
#define DOMUS_UNDEFINE_KEEP_TPM 0x40u /**< keep it */
/** destroy */
#define DOMUS_DESTROY_GRACEFUL 0x1u    /**< SIGTERM only, never SIGKILL */
#define DOMUS_DESTROY_REMOVE_LOGS 0x2u /**< remove the domain's log files */
/** shutdown and reboot: how the guest is asked (none set: the driver's choice) */
#define DOMUS_SHUTDOWN_ACPI_POWER_BTN 0x1u
#define DOMUS_SHUTDOWN_GUEST_AGENT 0x2u
#define DOMUS_SHUTDOWN_INITCTL 0x4u
#define DOMUS_SHUTDOWN_SIGNAL 0x8u
#define DOMUS_SHUTDOWN_PARAVIRT 0x10u
/** attach_device, detach_device, update_device: which definition changes (libvirt's
    VIR_DOMAIN_AFFECT_*). The runtime always passes LIVE, CONFIG or both: it resolves
    "current" (neither) to LIVE on an active domain and CONFIG on an inactive one, and
    refuses LIVE on an inactive domain and CONFIG on a transient one itself. */
#define DOMUS_DEVICE_LIVE 0x1u   /**< the running guest (a hotplug or unplug) */
#define DOMUS_DEVICE_CONFIG 0x2u /**< the persistent definition (the next start) */
#define DOMUS_DEVICE_FORCE                                                               \
  0x4u /**< update_device only: force it (eject a locked tray)                           \
        */
/** open_console (libvirt's VIR_DOMAIN_CONSOLE_*) */
#define DOMUS_CONSOLE_FORCE 0x1u /**< take the console from a client that has it */
#define DOMUS_CONSOLE_SAFE 0x2u  /**< refuse unless the driver can keep it exclusive */
/** dump (since 1.1), libvirt's virDomainCoreDumpFlags */
#define DOMUS_DUMP_CRASH 0x1u /**< crash the guest after the dump (shut off, crashed) */
#define DOMUS_DUMP_LIVE 0x2u  /**< dump without pausing the guest */
#define DOMUS_DUMP_BYPASS_CACHE 0x4u /**< write without the host's file cache */
#define DOMUS_DUMP_RESET 0x8u        /**< reset the guest after the dump */
#define DOMUS_DUMP_MEMORY_ONLY 0x10u /**< the guest's memory only, in `format` */

/** domus_host_v1.watch_fd events */
#define DOMUS_FD_READABLE 0x1u
#define DOMUS_FD_WRITABLE 0x2u

/* ---- opaque handles ---------------------------------------------------------------- */

/** A driver instance: one per normalized URI (scheme and path). Owned by the driver. */
typedef struct domus_instance domus_instance;
/** A driver's domain object. Owned by the driver; freed when the runtime releases it. */
typedef struct domus_dom domus_dom;
/** A storage pool, a volume and a virtual network (since 1.1). Owned by the driver, as
    domus_dom is; the storage and network operation tables (below) pass them. */
typedef struct domus_pool domus_pool;
typedef struct domus_vol domus_vol;
typedef struct domus_net domus_net;
/** A byte stream between a client and the driver (since 1.1), e.g. a console. Owned by
    the runtime; valid from the call that hands it over until on_end runs or the driver
    calls stream_finish. */
typedef struct domus_stream domus_stream;
/** A long-running job (since 1.1): an operation that runs beside its object's other
    changes for seconds to minutes (a dump; transfers and block jobs later). Owned by
    the runtime; valid from the call that hands it over until that call completes. The
    driver reports progress on it (host job_progress). */
typedef struct domus_job domus_job;

/* ---- values -------------------------------------------------------------------------
 */

/** A byte string (driver-private status data). data == NULL means "absent". */
typedef struct domus_bytes_v1 {
  const void* data;
  size_t len;
} domus_bytes_v1;

/** One lifecycle event, a domus_event_type_v1 and a domus_event_detail_v1. */
typedef struct domus_event_v1 {
  int32_t event;
  int32_t detail;
} domus_event_v1;

/** A domain's run state. id is the hypervisor's domain id while active, -1 otherwise. */
typedef struct domus_dom_state_v1 {
  int32_t state;  /**< domus_domain_state_v1 */
  int32_t reason; /**< domus_state_reason_v1 */
  int32_t id;
} domus_dom_state_v1;

/** Result of `info`. */
typedef struct domus_dom_info_v1 {
  uint32_t struct_size;
  domus_dom_state_v1 state;
  uint64_t max_memory_kib;
  uint64_t memory_kib;
  uint32_t vcpus;
  uint64_t cpu_time_ns;
  const char* os_type;        /**< NULL: the definition's os type */
  const char* security_label; /**< NULL: no label */
  int32_t security_enforcing; /**< 1 enforcing, 0 permissive */
} domus_dom_info_v1;

/** Result of `node_info`: the host as `nodeinfo` shows it. */
typedef struct domus_node_info_v1 {
  uint32_t struct_size;
  const char* cpu_model;
  uint64_t memory_kib;
  uint32_t cpus;
  uint32_t mhz;
  uint32_t numa_nodes;
  uint32_t sockets_per_node;
  uint32_t cores_per_socket;
  uint32_t threads_per_core;
} domus_node_info_v1;

/** Result of `version_info`. */
typedef struct domus_version_v1 {
  uint32_t struct_size;
  const char* hypervisor_type; /**< e.g. "TEST", "QEMU" */
  uint64_t hypervisor_version; /**< major * 1000000 + minor * 1000 + micro */
  const char* security_model;  /**< "" or NULL: none */
  const char* security_doi;
} domus_version_v1;

/** An object an instance already has, handed to the runtime by `open`. A pool (since
    1.1, kind POOL, for a driver that declares pools for the instance's scheme): its
    definition with its sizes as it holds them now (capacity, allocation, available),
    state.state a domus_pool_state_v1. */
typedef struct domus_object_v1 {
  uint32_t struct_size;
  int32_t kind;       /**< domus_object_kind_v1 */
  domus_dom* dom;     /**< kind DOMAIN: the driver's handle */
  const char* xml;    /**< the definition (the live one while active) */
  int32_t persistent; /**< 1 persistent, 0 transient */
  int32_t autostart;  /**< 1 or 0 */
  domus_dom_state_v1 state;
  domus_bytes_v1 private_data; /**< status data the runtime keeps for reconnect */
  /* ---- 1.1 ---- */
  domus_pool* pool; /**< kind POOL: the driver's handle (for the pool operations) */
} domus_object_v1;

/** A storage pool's state and sizes in bytes (since 1.1), as `pool-info` shows them.
    An inactive pool's sizes are what its definition shows (libvirt's mock: what a
    started pool would have; a directory: 0). */
typedef struct domus_pool_info_v1 {
  uint32_t struct_size;
  int32_t state; /**< domus_pool_state_v1 */
  uint64_t capacity;
  uint64_t allocation;
  uint64_t available;
} domus_pool_info_v1;

/** Storage volume types (since 1.1; libvirt's virStorageVolType numbers). */
enum domus_volume_type_v1 {
  DOMUS_VOL_FILE = 0,
  DOMUS_VOL_BLOCK = 1,
  DOMUS_VOL_DIR = 2,
  DOMUS_VOL_NETWORK = 3,
  DOMUS_VOL_NETDIR = 4,
  DOMUS_VOL_PLOOP = 5
};

/** A storage volume as its pool holds it now (since 1.1): what lists and `vol-info`
    show, typed, so that a pool of 10,000 volumes is listed without reading 10,000
    documents. */
typedef struct domus_volume_v1 {
  uint32_t struct_size;
  domus_vol* vol;      /**< the driver's handle, for the volume operations */
  const char* name;    /**< unique in its pool */
  const char* key;     /**< unique on the host (a file's path, a block device's id) */
  const char* path;    /**< where a domain finds it */
  int32_t type;        /**< domus_volume_type_v1 */
  const char* format;  /**< "raw", "qcow2", ...; NULL: raw */
  uint64_t capacity;   /**< bytes a guest sees */
  uint64_t allocation; /**< bytes it takes on the host */
  const char* backing_path;   /**< NULL: no backing store */
  const char* backing_format; /**< NULL: not known */
  const char* xml; /**< its whole definition in libvirt's format when the driver has
                        more to show than these fields (permissions, timestamps, qcow2
                        features); NULL: the runtime formats it from them */
} domus_volume_v1;

/** What an operation produced. Only the fields its operation documents are read. */
typedef struct domus_result_v1 {
  uint32_t struct_size;
  int32_t status;      /**< DOMUS_OK or a DOMUS_E_* number */
  const char* message; /**< on error: what failed on which object, and why */
  domus_dom* dom;      /**< define, reconnect: the domain's handle */
  const domus_dom_state_v1*
      state; /**< the domain's state after the operation; NULL: unchanged */
  const domus_event_v1* events; /**< lifecycle events the operation caused, in order */
  size_t n_events;
  const char* xml;             /**< normalize: the definition with the driver's defaults;
                                    start: the live definition (NULL: as defined) */
  domus_bytes_v1 private_data; /**< status data to keep for reconnect (NULL: unchanged) */
  const domus_dom_info_v1* info;   /**< info */
  const domus_node_info_v1* node;  /**< node_info */
  const domus_version_v1* version; /**< version_info */
  domus_instance* instance;        /**< open */
  const domus_object_v1* objects;  /**< open: objects the instance already has */
  size_t n_objects;
  /* ---- 1.1 ---- */
  const char* config_xml; /**< attach_device, detach_device, update_device with
                               DOMUS_DEVICE_CONFIG: the persistent definition after the
                               change, which the runtime keeps durably */
  domus_pool* pool;       /**< pool define: the pool's handle */
  const domus_pool_info_v1* pool_info; /**< the pool operations: its state and
                                                   sizes after the operation (NULL:
                                                   unchanged) */
  /** Pool start and refresh: every volume of the pool (the runtime's list is replaced);
      volume create: the volume made. The strings are the driver's until `done`
      returns. */
  const domus_volume_v1* volumes;
  size_t n_volumes;
} domus_result_v1;

/** How far a long-running job is (since 1.1), in bytes. */
typedef struct domus_job_progress_v1 {
  uint32_t struct_size;
  uint64_t processed; /**< done so far */
  uint64_t total;     /**< in all; 0 when not known yet */
} domus_job_progress_v1;

/** Completes an operation: called exactly once, from any thread. */
typedef void (*domus_complete_fn)(void* user, const domus_result_v1* result);

/* ---- host services: what the runtime offers a driver ------------------------------ */

/** An unsolicited change a driver reports (a guest powered itself off). */
typedef struct domus_report_v1 {
  uint32_t struct_size;
  domus_dom_state_v1 state;     /**< the new state */
  const domus_event_v1* events; /**< events to publish, in order */
  size_t n_events;
  domus_bytes_v1 private_data; /**< new status data to keep (NULL: unchanged) */
  /* ---- 1.1 ---- */
  const char* live_xml; /**< the running guest's definition after the change (a device
                             unplugged, a balloon target); NULL: unchanged */
  /* ---- 1.2 ---- */
  const char* error; /**< why, when the change is a failure nobody asked for (the
                          hypervisor process exited by itself: its last words); the
                          runtime keeps it as the domain's last error. NULL: none */
} domus_report_v1;

/**
 * A child process to spawn. NULL envp inherits the daemon's environment. The child
 * runs in a session and process group of its own (a terminal's Ctrl-C to a foreground
 * daemon never reaches it), with the signal mask and dispositions reset, and with
 * every descriptor closed but 0-2 and `pass_fds`. The runtime duplicates every
 * descriptor the spec names before `spawn` returns: the driver may close its own at
 * once (since 1.1; a 1.0 driver kept them open until SPAWNED or FAILED).
 */
typedef struct domus_spawn_v1 {
  uint32_t struct_size;
  const char* file;        /**< program; searched in PATH when it has no '/' */
  const char* const* argv; /**< NULL-terminated, argv[0] included */
  const char* const* envp; /**< NULL-terminated "K=V" strings, or NULL */
  const char* cwd;         /**< NULL: the daemon's */
  int32_t stdin_fd;        /**< fd to inherit as the child's stdin; -1: /dev/null */
  int32_t stdout_fd;
  int32_t stderr_fd;
  /* ---- 1.1 ---- */
  const int32_t* pass_fds; /**< descriptors (3 or more) the child keeps at their
                                numbers, e.g. a listening QMP socket; at most
                                DOMUS_SPAWN_MAX_PASS_FDS */
  size_t n_pass_fds;
  int64_t uid; /**< -1: the daemon's user; else run as this user, with its
                    supplementary groups (a QEMU as `libvirt-qemu` keeps `kvm`) */
  int64_t gid; /**< -1: the user's primary group (or the daemon's, without uid) */
} domus_spawn_v1;

/** Descriptors one spawn may pass besides stdin, stdout and stderr (since 1.1). */
#define DOMUS_SPAWN_MAX_PASS_FDS 64

/** domus_child_event_v1.kind */
#define DOMUS_CHILD_SPAWNED 1 /**< pid is set */
#define DOMUS_CHILD_FAILED 2  /**< could not spawn; status is -errno */
#define DOMUS_CHILD_EXITED 3  /**< status is the exit status, or signal is set */

/** What a spawned child did. */
typedef struct domus_child_event_v1 {
  uint32_t struct_size;
  int32_t kind;
  int64_t pid;
  int64_t status;
  int32_t signal;
} domus_child_event_v1;

typedef void (*domus_task_fn)(void* arg);
typedef void (*domus_fd_fn)(void* arg, int fd, uint32_t revents);
typedef void (*domus_child_fn)(void* arg, const domus_child_event_v1* event);
/** Ends blocking work (since 1.1): status 0 after it ran, -ECANCELED if it never began.
 */
typedef void (*domus_work_done_fn)(void* arg, int32_t status);

/** What a driver does with a stream's traffic (since 1.1). Every callback runs on the
    loop thread. */
typedef struct domus_stream_cbs_v1 {
  uint32_t struct_size;
  /** Bytes from the client, 1 to DOMUS_STREAM_CHUNK_BYTES, valid during the call. Not
      called while the driver has paused the stream. */
  void (*on_data)(void* arg, const void* data, size_t len);
  /** The client can take data again, after stream_send returned -EAGAIN. */
  void (*on_writable)(void* arg);
  /** The stream is over: the client ended it (status 0), aborted it or went away, or
      the daemon stops (a DOMUS_E_* status, with a message). No callback follows, and
      the stream must not be used once this returns. */
  void (*on_end)(void* arg, int32_t status, const char* message);
  /* ---- 1.3 ---- */
  /** `bytes` of zeros from the client, sent as a hole (a sparse upload), in order with
      on_data; NULL: the stream takes no holes (a client's hole then aborts it). Not
      called while the driver has paused the stream. */
  void (*on_hole)(void* arg, uint64_t bytes);
  /** The client sent all it had (its `end`); NULL: that end is the stream's, on_end(0)
      as before. Set, the stream stays open after it for the driver's stream_finish,
      which tells the client the outcome (an upload made durable, or what failed); the
      client may still abort it meanwhile (on_end follows then). */
  void (*on_eof)(void* arg);
} domus_stream_cbs_v1;

/** The most bytes one stream_send or on_data carries (since 1.1). */
#define DOMUS_STREAM_CHUNK_BYTES 262144

/** Blocking work: items of one instance that run at once, and that wait or run. */
#define DOMUS_WORK_THREADS 4
#define DOMUS_WORK_MAX_ITEMS 1024

/**
 * Services of the runtime, valid from open until the instance is closed. Every
 * function takes `ctx` first. Handles returned are never 0; 0 means failure.
 *
 * Threads. Callbacks (tasks, timers, fd watches, child events, the `done` of blocking
 * work) run on the runtime's event-loop thread, which must never block: anything that
 * may (a file read, fsync, a library that waits) goes to `queue_work`. Every service
 * may be called from any thread: the loop thread, a worker running `queue_work`, a
 * thread of the driver's own, or the thread that called one of the driver's
 * operations. What a "stop" (timer_stop, unwatch_fd, unwatch_pid) promises, that its
 * callback is not called again once it returns, holds when it is called on the loop
 * thread; from another thread the stop takes effect soon after, and the callback may
 * run once more in between. A `done` of an operation may likewise be called from any
 * thread, once.
 */
typedef struct domus_host_v1 {
  uint32_t struct_size;
  void* ctx;
  /** Writes one line to the daemon's log, prefixed with the instance's URI. */
  void (*log)(void* ctx, int32_t level, const char* message);
  /** Reports an unsolicited state change of a domain; its events get published. */
  void (*report)(void* ctx, domus_dom* dom, const domus_report_v1* report);
  /** Runs fn(arg) on the loop thread, soon. Returns 0 on success. */
  int32_t (*post)(void* ctx, domus_task_fn fn, void* arg);
  /** Calls fn(arg) after delay_ms, then every repeat_ms when that is not 0. */
  uint64_t (*timer_start)(void* ctx, uint64_t delay_ms, uint64_t repeat_ms,
                          domus_task_fn fn, void* arg);
  /** Stops a timer; called on the loop thread, fn is not called again. */
  void (*timer_stop)(void* ctx, uint64_t timer);
  /** Calls fn when fd becomes readable or writable (DOMUS_FD_* bits). */
  uint64_t (*watch_fd)(void* ctx, int fd, uint32_t events, domus_fd_fn fn, void* arg);
  /** Stops watching; called on the loop thread, fn is not called again. */
  void (*unwatch_fd)(void* ctx, uint64_t watch);
  /** Spawns a child and watches it: fn gets SPAWNED (or FAILED), then EXITED. */
  uint64_t (*spawn)(void* ctx, const domus_spawn_v1* spec, domus_child_fn fn, void* arg);
  /** Sends a signal to a child spawned by `spawn`. Returns 0 or -errno. */
  int32_t (*kill)(void* ctx, uint64_t child, int32_t signal);
  /* ---- 1.1 ---- */
  /** Watches a process that need not be the daemon's child (a guest that outlived a
      daemon restart, a dnsmasq): fn gets EXITED (status -1: unknown) once it exits,
      whether it is reaped or stays a zombie. `start_time` is field 22 of
      /proc/PID/stat as recorded when the process was started (0: not checked); a pid
      now held by another process, or a zombie, gives 0 (the process is gone). */
  uint64_t (*watch_pid)(void* ctx, int64_t pid, uint64_t start_time, domus_child_fn fn,
                        void* arg);
  /** Stops watching; called on the loop thread, fn is not called again. */
  void (*unwatch_pid)(void* ctx, uint64_t watch);
  /** Sends a signal to a watched process, through its pidfd: never to another process
      that took its pid. Returns 0 or -errno (-ESRCH once it exited). */
  int32_t (*signal_pid)(void* ctx, uint64_t watch, int32_t signal);
  /** Runs work(arg) on a worker thread of this instance, where it may block (file I/O,
      fsync, reading image headers, a slow library call), then done(arg, 0) on the loop
      thread. Items run in order of queueing, DOMUS_WORK_THREADS at once; an instance's
      threads are its own, so its stuck work never delays another driver's. Returns 0
      (refused) when DOMUS_WORK_MAX_ITEMS of the instance wait or run. `done` may be
      NULL. Work still queued when the instance closes is cancelled first; close comes
      after every item ended. */
  uint64_t (*queue_work)(void* ctx, domus_task_fn work, domus_work_done_fn done,
                         void* arg);
  /** Cancels work that has not begun: returns 0 and done(arg, -ECANCELED) follows on the
      loop thread. -EBUSY while it runs (a driver stops its own work), -ENOENT once it
      ran or for an unknown handle. */
  int32_t (*cancel_work)(void* ctx, uint64_t work);
  /** Publishes a driver event about `dom` beside its lifecycle events: `topic` one of
      docs/protocol.md's "Driver events" (e.g. "domain.device-removed"), `body` a JSON
      object of that topic's fields only (strings at most 1024 bytes). The runtime adds
      the topic, time, URI and domain, and a seq when the topic is journaled; a sample
      topic (balloon-change) is published at most once a second per domain, the latest
      body winning. Returns 0; DOMUS_E_INVALID_ARGUMENT for an unknown topic or a body
      that does not match it (logged, naming the field); DOMUS_E_NO_DOMAIN for a
      domain the daemon does not know. */
  int32_t (*emit)(void* ctx, domus_dom* dom, const char* topic, const char* body);
  /* Streams (1.1). stream_attach may be called from any thread, before the call that
     handed the stream over completes; the others on the loop thread only (from a
     stream callback, a timer, an fd watch or a posted task), where credit is counted. */
  /** Says what to call on the stream's traffic. Returns 0, or DOMUS_E_INVALID_ARGUMENT
      when it is attached already or cbs is too small. */
  int32_t (*stream_attach)(void* ctx, domus_stream* stream,
                           const domus_stream_cbs_v1* cbs, void* arg);
  /** Sends 1 to DOMUS_STREAM_CHUNK_BYTES bytes to the client. Returns 0; -EAGAIN when
      the client has granted no credit (on_writable follows once it does: keep the
      bytes until then); -EMSGSIZE past the chunk size; -EPIPE once the stream is over. */
  int32_t (*stream_send)(void* ctx, domus_stream* stream, const void* data, size_t len);
  /** paused != 0: no on_data until it is resumed (the client gets no more credit, so
      what it sends within its credit waits in the runtime, bounded by the window). */
  void (*stream_pause)(void* ctx, domus_stream* stream, int32_t paused);
  /** Ends the stream from the driver's side: status 0 (the end of the data, e.g. the
      guest's console closed) or a DOMUS_E_* status and a message for the client. No
      callback follows; the stream must not be used after. */
  void (*stream_finish)(void* ctx, domus_stream* stream, int32_t status,
                        const char* message);
  /** How far a long-running job is; from any thread, until its call completes (never
      after, nor while completing it). Each report restarts the job's deadline, which
      counts from its last progress: a job that reports none for its deadline times
      out. The runtime keeps the latest for `domain.jobinfo` and publishes it as the
      sample topic domain.job-progress. Returns 0; DOMUS_E_INVALID_ARGUMENT for a NULL
      job or progress, or processed past a non-zero total. */
  int32_t (*job_progress)(void* ctx, domus_job* job,
                          const domus_job_progress_v1* progress);
  /* ---- 1.3 ---- */
  /** Sends a hole of `bytes` zeros (1 or more) to the client, in order with the data,
      on a stream whose client asked for holes (a sparse download; otherwise send the
      zeros as data). Spends one credit as a data message does; returns what
      stream_send returns, and -ENOTSUP when the client takes no holes. */
  int32_t (*stream_send_hole)(void* ctx, domus_stream* stream, uint64_t bytes);
  /** The storage volume `volume` of the pool `pool` (by name) of this URI, as a
      domain's <disk type='volume'> names them, whatever driver serves the pools (the
      storage driver, for qemu:///system): `take(arg, vol)` is called once before it
      returns, with the volume as its pool lists it (path, type, format, sizes; `vol`
      NULL, the strings valid during the call). Returns 0; DOMUS_E_NO_POOL (no such
      pool), DOMUS_E_INVALID_OPERATION (the pool is not active), DOMUS_E_NO_VOLUME.
      From any thread; it never waits for the pool's changes. */
  int32_t (*resolve_volume)(void* ctx, const char* pool, const char* volume,
                            void (*take)(void* arg, const domus_volume_v1* vol),
                            void* arg);
  /* ---- 1.4 ---- */
  /** The domains of this URI whose definitions use a storage pool, one of its volumes
      or a virtual network, for a driver that must not take one away under a guest:
      `kind` DOMUS_OBJECT_POOL with `name` a pool and `volume` NULL (a <disk
      type='volume'> naming the pool) or one of its volumes (such a disk naming it, or a
      disk whose source file or device is the volume's path), or DOMUS_OBJECT_NETWORK
      with `name` a network (an <interface type='network'> naming it; `volume` NULL).
      `flags`: DOMUS_USERS_*. `take(arg, domain)` is called once per domain, by name in
      byte order, before it returns. Returns 0; DOMUS_E_INVALID_ARGUMENT for another
      kind, a NULL name or take, a volume with a network, or a flag no version defines.
      From any thread; it reads what each domain's actor last published and never waits
      for a domain's changes. */
  int32_t (*users_of)(void* ctx, int32_t kind, const char* name, const char* volume,
                      uint32_t flags, void (*take)(void* arg, const char* domain),
                      void* arg);
} domus_host_v1;

/* ---- the driver ------------------------------------------------------------------- */

/** One `key = value` line of the driver's settings file (since 1.1). */
typedef struct domus_setting_v1 {
  const char* key;
  const char* value; /**< without the double quotes it may have had */
  uint32_t line;     /**< 1-based, for error messages */
} domus_setting_v1;

/** What `open` gets. */
typedef struct domus_open_args_v1 {
  uint32_t struct_size;
  const char* uri;       /**< normalized, e.g. "test:///default" */
  const char* scheme;    /**< e.g. "test" */
  const char* path;      /**< e.g. "/default" */
  const char* state_dir; /**< a directory private to this instance (var/lib) */
  const char* run_dir;   /**< a directory private to this instance (run) */
  uint32_t flags;        /**< DOMUS_OPEN_* */
  const domus_host_v1* host;
  /* ---- 1.1 ---- */
  const char* log_dir;   /**< this instance's logs (var/log/domus/<instance>), e.g. a
                              guest's NAME.log */
  const char* cache_dir; /**< what the driver can rebuild, shared by its instances
                              (var/cache/domus/<driver>), e.g. probed capabilities */
  /** The driver's settings file, etc/domus/<driver>.conf (as libvirt's qemu.conf), and
      its lines in order, syntax already checked (an absent file has none). The driver
      validates keys and values; a bad one fails open with DOMUS_E_CONFIG_ERROR and a
      message naming the file, the line and the key ("FILE:LINE: KEY: why"). */
  const char* settings_file;
  const domus_setting_v1* settings;
  size_t n_settings;
} domus_open_args_v1;

/**
 * Domain operations. Each completes through `done(user, result)`; on success the
 * result carries the fields listed.
 */
typedef struct domus_domain_ops_v1 {
  uint32_t struct_size;
  /** Fills the driver's defaults into a definition: result.xml. Must keep name and uuid.
   */
  void (*normalize)(domus_instance* inst, const char* xml, domus_complete_fn done,
                    void* user);
  /** Registers a new definition (existing == NULL: result.dom) or replaces the one
      `existing` starts with next time. Persistence is the runtime's, not the driver's. */
  void (*define)(domus_instance* inst, domus_dom* existing, const char* xml,
                 domus_complete_fn done, void* user);
  /** Forgets an inactive domain's definition. The runtime releases the handle after. */
  void (*undefine)(domus_instance* inst, domus_dom* dom, domus_complete_fn done,
                   void* user);
  /** Starts a domain: result.state (with its id), result.events, optionally result.xml
      and result.private_data. */
  void (*start)(domus_instance* inst, domus_dom* dom, uint32_t flags,
                domus_complete_fn done, void* user);
  /** Asks the guest to shut down: result.state, result.events (if it already stopped). */
  void (*shutdown)(domus_instance* inst, domus_dom* dom, uint32_t flags,
                   domus_complete_fn done, void* user);
  /** Reboots the guest: result.state, result.events. */
  void (*reboot)(domus_instance* inst, domus_dom* dom, uint32_t flags,
                 domus_complete_fn done, void* user);
  /** Stops the domain at once: result.state, result.events. */
  void (*destroy)(domus_instance* inst, domus_dom* dom, uint32_t flags,
                  domus_complete_fn done, void* user);
  /** Pauses the guest's vCPUs: result.state, result.events. */
  void (*suspend)(domus_instance* inst, domus_dom* dom, domus_complete_fn done,
                  void* user);
  /** Resumes a paused guest: result.state, result.events. */
  void (*resume)(domus_instance* inst, domus_dom* dom, domus_complete_fn done,
                 void* user);
  /** Current facts: result.info. May run while a mutating operation is pending. */
  void (*info)(domus_instance* inst, domus_dom* dom, domus_complete_fn done, void* user);
  /** Takes an active domain back after a daemon restart, from its live definition and
      the status data the runtime kept: result.dom, result.state. */
  void (*reconnect)(domus_instance* inst, const char* live_xml,
                    domus_bytes_v1 private_data, domus_complete_fn done, void* user);
  /** The runtime holds no more reference to dom and has no call on it outstanding (it
      waits for every completion first); the driver may free it. Synchronous. */
  void (*release)(domus_instance* inst, domus_dom* dom);
  /* ---- 1.1 ---- */
  /** Asks the driver to give up the call it was handed `user` with: its deadline passed
      (or a destroy overtakes it). dom is the call's domain, NULL for a call on none
      (normalize, reconnect, node_info, version_info). The call still completes exactly
      once, soon: with DOMUS_E_TIMEOUT, or with its real result when it is too late to
      stop. A `user` whose call has completed is never passed. Synchronous: it may
      complete the call before it returns. */
  void (*cancel)(domus_instance* inst, domus_dom* dom, void* user);
  /** Successors of the slots above that had no flags, used instead of them when set:
      the same operations with the DOMUS_* flags the runtime passes (none are defined
      for define, suspend and resume yet: they get 0). */
  void (*define_flags)(domus_instance* inst, domus_dom* existing, const char* xml,
                       uint32_t flags, domus_complete_fn done, void* user);
  void (*undefine_flags)(domus_instance* inst, domus_dom* dom, uint32_t flags,
                         domus_complete_fn done, void* user);
  void (*suspend_flags)(domus_instance* inst, domus_dom* dom, uint32_t flags,
                        domus_complete_fn done, void* user);
  void (*resume_flags)(domus_instance* inst, domus_dom* dom, uint32_t flags,
                       domus_complete_fn done, void* user);
  /** Device changes: `device_xml` is one device element (<disk>, <interface>, ...)
      that the runtime has checked against the domain schema and written in libvirt's
      form; `flags` holds DOMUS_DEVICE_LIVE, DOMUS_DEVICE_CONFIG or both (see there).
      LIVE changes the running guest, and result.xml carries its live definition after
      the change. CONFIG changes the definition the domain starts with next, and
      result.config_xml carries it; the driver uses it from now on (as after `define`),
      and the runtime writes it to disk. Should that write fail, the runtime calls
      `define` with the previous definition to put it back, and the caller hears the
      file's error. A change the driver cannot make to both fails, changing neither.
      attach adds the device; detach removes the one the element identifies (a disk by
      its target, an interface by its MAC, as libvirt matches them); update changes a
      device in place (a CD-ROM's medium, a link's state), with DOMUS_DEVICE_FORCE
      allowed too. A detach the guest must complete (a PCI unplug) may complete once
      the guest was asked, and emit domain.device-removed when it is gone. */
  void (*attach_device)(domus_instance* inst, domus_dom* dom, const char* device_xml,
                        uint32_t flags, domus_complete_fn done, void* user);
  void (*detach_device)(domus_instance* inst, domus_dom* dom, const char* device_xml,
                        uint32_t flags, domus_complete_fn done, void* user);
  void (*update_device)(domus_instance* inst, domus_dom* dom, const char* device_xml,
                        uint32_t flags, domus_complete_fn done, void* user);
  /** Connects `stream` to the guest's console (`device`: a console or serial alias,
      NULL the first console), libvirt's virDomainOpenConsole. Attach the stream's
      callbacks (host stream_attach) before completing; on success the runtime gives it
      to the client, on failure it discards it. DOMUS_CONSOLE_FORCE takes the console
      from another stream (finish that one), DOMUS_CONSOLE_SAFE refuses when it could
      not be kept exclusive. */
  void (*open_console)(domus_instance* inst, domus_dom* dom, const char* device,
                       uint32_t flags, domus_stream* stream, domus_complete_fn done,
                       void* user);
  /** Dumps the running guest's core to `path` (absolute; the runtime checked it),
      libvirt's virDomainCoreDumpWithFormat: flags DOMUS_DUMP_*; `format` NULL, or with
      DOMUS_DUMP_MEMORY_ONLY one of "elf", "kdump-zlib", "kdump-lzo", "kdump-snappy",
      "win-dmp". A long-running job (`job`): it runs beside the domain's other changes,
      reports progress with host job_progress, and is aborted through `cancel` (the
      client's domain.jobabort, or a destroy), after which it removes what it wrote and
      completes with DOMUS_E_ABORTED. Beside it the runtime issues only `destroy`,
      `info`, `define` and `open_console` on the domain. result.state: the state after
      it (shut off, crashed, with DOMUS_DUMP_CRASH), with its events. */
  void (*dump)(domus_instance* inst, domus_dom* dom, const char* path, const char* format,
               uint32_t flags, domus_job* job, domus_complete_fn done, void* user);
  /* ---- 1.2 ---- */
  /** The hypervisor's own configuration for a definition, libvirt's
      virConnectDomainXMLToNative (`virsh domxml-to-native`): `format` names it (the QEMU
      driver's "qemu-argv"; an unknown one: DOMUS_E_INVALID_ARGUMENT naming it and the
      ones known), `xml` is a definition as a client gave it, unchecked by any driver.
      result.xml carries the text. Changes nothing; secrets (graphics passwords) never
      appear in it. */
  void (*to_native)(domus_instance* inst, const char* format, const char* xml,
                    domus_complete_fn done, void* user);
} domus_domain_ops_v1;

/** What `domain_capabilities` is asked about (since 1.1), as `virsh domcapabilities`
    names it; a NULL field means the driver's default (the host's architecture, the
    default emulator, machine and virtualization type). */
typedef struct domus_domcaps_query_v1 {
  uint32_t struct_size;
  const char* emulator; /**< e.g. "/usr/bin/qemu-system-x86_64" */
  const char* arch;     /**< e.g. "x86_64" */
  const char* machine;  /**< e.g. "pc-q35-7.2" or an alias, "q35" */
  const char* virttype; /**< the domain type: "kvm", "qemu", ... */
} domus_domcaps_query_v1;

/** pool start flags (since 1.1, libvirt's virStoragePoolCreateFlags): build the pool
    first, and how. */
#define DOMUS_POOL_START_BUILD 0x1u              /**< build it first */
#define DOMUS_POOL_START_BUILD_OVERWRITE 0x2u    /**< build, overwriting what is there */
#define DOMUS_POOL_START_BUILD_NO_OVERWRITE 0x4u /**< build, refusing to overwrite */
/** pool build flags (since 1.1, libvirt's virStoragePoolBuildFlags) */
#define DOMUS_POOL_BUILD_REPAIR 0x1u
#define DOMUS_POOL_BUILD_RESIZE 0x2u
#define DOMUS_POOL_BUILD_NO_OVERWRITE 0x4u /**< refuse when something is there */
#define DOMUS_POOL_BUILD_OVERWRITE 0x8u    /**< overwrite what is there */
/** pool delete flags (since 1.1, libvirt's virStoragePoolDeleteFlags) */
#define DOMUS_POOL_DELETE_ZEROED 0x1u /**< clear every byte first */

/** Storage pool operations (since 1.1). The runtime owns every pool's definition,
    persistence, name and UUID and checks each operation against the pool's state (a
    start of an active pool never reaches the driver), so a driver keeps only what it
    needs to run a pool. `xml` is always a definition the runtime validated and
    normalized. Mutating calls on one pool never overlap; on different pools they may.
    Each completes once, from any thread, with result.pool_info where it documents it.
    The volume operations come with the volumes. A table's struct_size still says how
    much of it the driver knows. */
typedef struct domus_pool_ops_v1 {
  uint32_t struct_size;
  /** A new pool (`pool-define`, and the first step of `pool-create`): result.pool, the
      driver's handle, and result.pool_info (inactive, and its sizes). Redefining an
      existing pool is the runtime's alone; the driver sees the new definition at the
      pool's next start. flags: none yet. */
  void (*define)(domus_instance* inst, const char* xml, uint32_t flags,
                 domus_complete_fn done, void* user);
  /** Starts an inactive pool with definition `xml` (mounts, activates, checks the
      target): result.pool_info. flags: DOMUS_POOL_START_*. */
  void (*start)(domus_instance* inst, domus_pool* pool, const char* xml, uint32_t flags,
                domus_complete_fn done, void* user);
  /** Stops an active pool; its storage is left as it is: result.pool_info. */
  void (*destroy)(domus_instance* inst, domus_pool* pool, domus_complete_fn done,
                  void* user);
  /** Builds an inactive pool's storage (a directory: creates it). flags:
      DOMUS_POOL_BUILD_*. */
  void (*build)(domus_instance* inst, domus_pool* pool, uint32_t flags,
                domus_complete_fn done, void* user);
  /** Deletes an inactive pool's storage (a directory: removes it, empty). flags:
      DOMUS_POOL_DELETE_*. */
  void (*delete_storage)(domus_instance* inst, domus_pool* pool, uint32_t flags,
                         domus_complete_fn done, void* user);
  /** Reads an active pool's volumes and sizes again: result.pool_info. */
  void (*refresh)(domus_instance* inst, domus_pool* pool, domus_complete_fn done,
                  void* user);
  /** The runtime is done with the pool (undefined while inactive, or a transient pool
      stopped): frees its handle. Synchronous; never while a call on it is out. */
  void (*release)(domus_instance* inst, domus_pool* pool);
} domus_pool_ops_v1;
/** volume create flags (since 1.1, libvirt's virStorageVolCreateFlags) */
#define DOMUS_VOL_CREATE_PREALLOC_METADATA 0x1u /**< qcow2: allocate its metadata */
#define DOMUS_VOL_CREATE_REFLINK 0x2u           /**< clone by reflink where possible */
/** volume delete flags (since 1.1, libvirt's virStorageVolDeleteFlags) */
#define DOMUS_VOL_DELETE_ZEROED 0x1u         /**< clear every byte first */
#define DOMUS_VOL_DELETE_WITH_SNAPSHOTS 0x2u /**< its snapshots too */
/** volume resize flags (since 1.1, libvirt's virStorageVolResizeFlags) */
#define DOMUS_VOL_RESIZE_ALLOCATE 0x1u /**< allocate the new space */
#define DOMUS_VOL_RESIZE_DELTA 0x2u    /**< capacity is a change, not a size */
#define DOMUS_VOL_RESIZE_SHRINK 0x4u   /**< allow a smaller size */
/** volume upload and download flags (since 1.3, libvirt's
    virStorageVolUploadFlags/virStorageVolDownloadFlags) */
#define DOMUS_VOL_TRANSFER_SPARSE 0x1u /**< holes travel as holes (stream_send_hole) */

/** Storage volume operations (since 1.1), on a pool the runtime checked is active.
    `xml` is a volume definition the runtime validated and normalized in the context of
    its pool; names it checked are unique in the pool. A volume being created, cloned,
    resized or wiped is refused to every other operation by the runtime. Each completes
    once, from any thread; result.pool_info carries the pool's sizes after it. A
    volume's handle is the driver's: valid until the volume is deleted, a start or
    refresh of its pool no longer lists it, or the pool is released; the runtime calls
    the operations of one pool one at a time, so it never uses a handle past that. */
typedef struct domus_volume_ops_v1 {
  uint32_t struct_size;
  /** Creates a volume (`vol-create`): result.volumes[0], the volume made. With `from`
      (`vol-clone`, `vol-create-from`), its content is copied from that volume, which
      may be in another pool of the instance. flags: DOMUS_VOL_CREATE_*. */
  void (*create)(domus_instance* inst, domus_pool* pool, const char* xml, domus_vol* from,
                 uint32_t flags, domus_complete_fn done, void* user);
  /** Deletes a volume (and frees its handle). flags: DOMUS_VOL_DELETE_*. */
  void (*delete_volume)(domus_instance* inst, domus_pool* pool, domus_vol* vol,
                        uint32_t flags, domus_complete_fn done, void* user);
  /** Resizes a volume to `capacity` bytes (DOMUS_VOL_RESIZE_DELTA: by it):
      result.volumes[0], the volume after. NULL: not supported. */
  void (*resize)(domus_instance* inst, domus_pool* pool, domus_vol* vol,
                 uint64_t capacity, uint32_t flags, domus_complete_fn done, void* user);
  /** Overwrites a volume's content (`algorithm` libvirt's virStorageVolWipeAlgorithm,
      0 zeroes). NULL: not supported. */
  void (*wipe)(domus_instance* inst, domus_pool* pool, domus_vol* vol, uint32_t algorithm,
               uint32_t flags, domus_complete_fn done, void* user);
  /* ---- 1.3 ---- */
  /** Writes what the client sends on `stream` into the volume from byte `offset`: at
      most `length` bytes (0: all it sends), libvirt's virStorageVolUpload. A
      long-running job: attach the stream (host stream_attach, with on_eof) before the
      call returns, report progress on `job`, and complete once the stream is over: on
      the client's end, after the content is durable, with result.volumes[0] (the
      volume after) and stream_finish(0) just before; on an error or an abort (the
      client's, or `cancel`), with the error, the volume as it was before the upload
      (an upload is never left half-applied where the volume is read). Beside it the
      runtime issues no other call on this volume (a download of it neither). flags:
      DOMUS_VOL_TRANSFER_SPARSE (the client may send holes). NULL: not supported. */
  void (*upload)(domus_instance* inst, domus_pool* pool, domus_vol* vol, uint64_t offset,
                 uint64_t length, uint32_t flags, domus_stream* stream, domus_job* job,
                 domus_complete_fn done, void* user);
  /** Sends the volume's content from byte `offset` on `stream`: at most `length` bytes
      (0: to its end), libvirt's virStorageVolDownload. A long-running job as `upload`
      is: attach the stream before the call returns, report progress, and complete
      once it is over (stream_finish(0) after the last byte); a volume that changed
      while it was read fails it. flags: DOMUS_VOL_TRANSFER_SPARSE (send holes as
      holes). NULL: not supported. */
  void (*download)(domus_instance* inst, domus_pool* pool, domus_vol* vol,
                   uint64_t offset, uint64_t length, uint32_t flags, domus_stream* stream,
                   domus_job* job, domus_complete_fn done, void* user);
  /** `create` as a long-running job (since 1.3): the same operation, with `job` for
      its progress (bytes copied or allocated of the total), for copies and allocated
      volumes that take minutes. Aborted through `cancel`: it removes what it made and
      completes with DOMUS_E_ABORTED. When set, the runtime calls it instead of
      `create`, beside the pool's other calls, holding the new volume's name (libvirt's
      `building`) and the source of a copy in the same pool (libvirt's `in_use`). */
  void (*create_job)(domus_instance* inst, domus_pool* pool, const char* xml,
                     domus_vol* from, uint32_t flags, domus_job* job,
                     domus_complete_fn done, void* user);
  /** `wipe` as a long-running job (since 1.3), likewise; aborted, the volume is left
      partly zeroed and the call completes with DOMUS_E_ABORTED. */
  void (*wipe_job)(domus_instance* inst, domus_pool* pool, domus_vol* vol,
                   uint32_t algorithm, uint32_t flags, domus_job* job,
                   domus_complete_fn done, void* user);
  /** Aborts a long-running volume call (upload, download, create_job, wipe_job) by its
      `user` (`vol.jobabort`, a deadline): it completes soon with DOMUS_E_ABORTED (a
      transfer ends its stream with it). A call that already completed is ignored; the
      runtime never names one whose completion it has handled. NULL: jobs cannot be
      aborted but by their streams. */
  void (*cancel)(domus_instance* inst, void* user);
} domus_volume_ops_v1;
typedef struct domus_network_ops_v1 {
  uint32_t struct_size;
} domus_network_ops_v1;

/** The URI schemes a driver serves objects of one kind for (since 1.1). "*" serves
    every hypervisor scheme, the schemes any driver serves domains for: a host-wide
    storage or network driver, libvirt's model (`virsh -c qemu:///system pool-list`
    reaches the storage driver). A driver that names a scheme itself (the test driver,
    for its in-memory pools) takes precedence over "*" for it. */
typedef struct domus_kind_schemes_v1 {
  int32_t kind;               /**< DOMUS_OBJECT_POOL or DOMUS_OBJECT_NETWORK */
  const char* const* schemes; /**< NULL-terminated */
} domus_kind_schemes_v1;

/** The driver, as domus_driver_entry returns it. Lives as long as the process. */
typedef struct domus_driver_v1 {
  uint32_t abi_major; /**< DOMUS_DRIVER_ABI_MAJOR the driver was built with */
  uint32_t abi_minor;
  uint32_t struct_size;       /**< sizeof(domus_driver_v1) of the driver's header */
  const char* name;           /**< e.g. "test" */
  const char* version;        /**< the driver's own version, e.g. "0.1.0" */
  const char* const* schemes; /**< URI schemes served, NULL-terminated */
  /** Opens an instance: result.instance and result.objects (what it already has). */
  void (*open)(const domus_open_args_v1* args, domus_complete_fn done, void* user);
  /** Closes an instance when the daemon stops, after every operation completed: frees
      the instance and every domus_dom not released yet. Guests keep running (the next
      daemon reconnects them). Synchronous. */
  void (*close)(domus_instance* inst);
  /** Host facts for `nodeinfo`: result.node. */
  void (*node_info)(domus_instance* inst, domus_complete_fn done, void* user);
  /** Hypervisor name, version and security model: result.version. */
  void (*version_info)(domus_instance* inst, domus_complete_fn done, void* user);
  const domus_domain_ops_v1* domain;
  /* ---- 1.1 ---- */
  /** The host's capabilities in libvirt's <capabilities> format (`virsh
      capabilities`): result.xml. */
  void (*capabilities)(domus_instance* inst, domus_complete_fn done, void* user);
  /** What a domain of the queried kind can use, in libvirt's <domainCapabilities>
      format (`virsh domcapabilities`): result.xml. A query the driver cannot answer (an
      architecture or machine it lacks) fails with DOMUS_E_INVALID_ARGUMENT naming the
      value and listing the ones it has. */
  void (*domain_capabilities)(domus_instance* inst, const domus_domcaps_query_v1* query,
                              domus_complete_fn done, void* user);
  /** What else the driver serves, by kind; NULL (or none): domains only. A driver that
      serves no domains leaves `schemes` with no entry but its NULL. */
  const domus_kind_schemes_v1* kinds;
  size_t n_kinds;
  const domus_pool_ops_v1* pool;
  const domus_volume_ops_v1* volume;
  const domus_network_ops_v1* network;
} domus_driver_v1;

/** The one exported symbol. Returns NULL when the driver cannot serve host_abi_major. */
DOMUS_DRIVER_EXPORT const domus_driver_v1* domus_driver_entry(uint32_t host_abi_major);

/** The name of the entry point, for dlsym. */
#define DOMUS_DRIVER_ENTRY_SYMBOL "domus_driver_entry"

#ifdef __cplusplus
}
#endif

#endif /* DOMUS_DRIVER_V1_H */
