/*
 * weir_plugin.h: the C ABI between Weir and plugin libraries, version 1.2.
 *
 * The same contract as the Rust crate weir-plugin-abi (plugins/abi/src/lib.rs), whose
 * documentation is the reference; a test compiles this header and checks every size, offset
 * and constant against the Rust definitions.
 *
 * A library exports `const WeirLibraryV1 *weir_plugin_entry_v1(void)`. The descriptor lives as
 * long as the library. Data crosses as OTLP protobuf bytes, text as UTF-8, both borrowed for the
 * call only; nothing allocated on one side is freed on the other. The host drives each instance
 * from one thread of its own (its calls never overlap); the host functions may be called from
 * any thread between create and the return of destroy.
 *
 * Versioning: a minor version only appends (struct fields at the end, status codes, kinds,
 * signals, flags, log levels); anything else needs a new major, and the host refuses a library
 * built for another major before reading past WeirLibraryPrefix.
 */
#ifndef WEIR_PLUGIN_H
#define WEIR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEIR_ABI_MAJOR 1u
#define WEIR_ABI_MINOR 2u
/* "WEIRPLUG" read as a big-endian 64-bit integer. */
#define WEIR_PLUGIN_MAGIC 0x57454952504C5547ULL

typedef uint32_t WeirStatus;
#define WEIR_OK 0u               /* done */
#define WEIR_PENDING 1u          /* exporters: outcome comes later through complete() */
#define WEIR_FULL 2u             /* cannot take it now: try again later (backpressure) */
#define WEIR_RETRYABLE 3u        /* failed, worth trying again */
#define WEIR_PERMANENT 4u        /* failed, never worth trying again */
#define WEIR_INVALID_ARGUMENT 5u /* bad config, malformed data, unknown signal */
#define WEIR_UNSUPPORTED 6u      /* not supported by this component */
#define WEIR_SHUTTING_DOWN 7u    /* takes nothing more */
#define WEIR_PANICKED 8u         /* the instance panicked; it answers this from then on */
#define WEIR_INTERNAL 9u         /* anything else */

#define WEIR_KIND_RECEIVER 1u
#define WEIR_KIND_PROCESSOR 2u
#define WEIR_KIND_EXPORTER 3u
/* Since ABI 1.2: consumes what upstream pipelines export into it, emits into the pipelines it
 * feeds (the downstream signals of its pairs). */
#define WEIR_KIND_CONNECTOR 4u

/* Since ABI 1.2: bits in a connector's `pairs`, (upstream signal, downstream signal). */
#define WEIR_PAIR_TRACES_TRACES (1u << 0)
#define WEIR_PAIR_TRACES_METRICS (1u << 1)
#define WEIR_PAIR_TRACES_LOGS (1u << 2)
#define WEIR_PAIR_METRICS_TRACES (1u << 3)
#define WEIR_PAIR_METRICS_METRICS (1u << 4)
#define WEIR_PAIR_METRICS_LOGS (1u << 5)
#define WEIR_PAIR_LOGS_TRACES (1u << 6)
#define WEIR_PAIR_LOGS_METRICS (1u << 7)
#define WEIR_PAIR_LOGS_LOGS (1u << 8)

/* Bits in a component's `signals`; one of them as the `signal` of a call. */
#define WEIR_SIGNAL_TRACES 1u  /* ExportTraceServiceRequest */
#define WEIR_SIGNAL_METRICS 2u /* ExportMetricsServiceRequest */
#define WEIR_SIGNAL_LOGS 4u    /* ExportLogsServiceRequest */

#define WEIR_LOG_ERROR 1u
#define WEIR_LOG_WARN 2u
#define WEIR_LOG_INFO 3u
#define WEIR_LOG_DEBUG 4u
#define WEIR_LOG_TRACE 5u

/* Errors are reported as status codes and never abort the process (Rust: panic = "unwind";
 * C: the library never calls abort()). The host refuses libraries without it. */
#define WEIR_LIBRARY_PANIC_UNWIND 1u

/* UTF-8 text borrowed for one call, not NUL-terminated. */
typedef struct WeirStr {
    const uint8_t *ptr;
    size_t len;
} WeirStr;

/* Protobuf bytes borrowed for one call. */
typedef struct WeirBytes {
    const uint8_t *ptr;
    size_t len;
} WeirBytes;

/* The part of the descriptor no ABI version changes. */
typedef struct WeirLibraryPrefix {
    uint64_t magic;       /* WEIR_PLUGIN_MAGIC */
    uint32_t abi_major;   /* WEIR_ABI_MAJOR */
    uint32_t abi_minor;   /* WEIR_ABI_MINOR */
    uint32_t struct_size; /* sizeof(WeirLibraryV1) */
    uint32_t flags;       /* WEIR_LIBRARY_* */
} WeirLibraryPrefix;

/* The host's functions for one instance, valid until destroy returns. */
typedef struct WeirHostV1 {
    uint32_t struct_size;   /* fields past it do not exist */
    uint32_t max_log_level; /* the most verbose WEIR_LOG_* recorded */
    void *ctx;              /* first argument of every function below */
    void (*log)(void *ctx, uint32_t level, WeirStr message);
    /* Receivers and processors: hand a batch on. OK, FULL (refused for now), INVALID_ARGUMENT,
     * SHUTTING_DOWN, UNSUPPORTED. Data inside the buffer of the consume call in progress is
     * reused without a copy. */
    WeirStatus (*emit)(void *ctx, uint32_t signal, WeirBytes data);
    /* Exporters: the outcome of a consume that answered PENDING, once per token. */
    void (*complete)(void *ctx, uint64_t token, WeirStatus status, uint64_t retry_after_ms,
                     WeirStr message);
    /* Adds value to the instance's counter `name`. */
    void (*counter_add)(void *ctx, WeirStr name, uint64_t value);
    /* Since ABI 1.1: absent from a 1.0 host (struct_size <= offsetof(WeirHostV1, answer)), and
     * may be NULL. Exporters, during the consume call of `token`, before it returns a status at
     * once (not PENDING): the delay before a retry (0: the retry policy's own) and a message,
     * as complete carries them for a PENDING answer. The last call before consume returns
     * counts. */
    void (*answer)(void *ctx, uint64_t token, uint64_t retry_after_ms, WeirStr message);
} WeirHostV1;

/* struct_size of an ABI 1.0 host vtable (the fields up to counter_add). */
#define WEIR_HOST_V1_0_SIZE 48u

typedef WeirStatus (*WeirCreateFn)(const WeirHostV1 *host, WeirStr config, void **instance);
typedef WeirStatus (*WeirStartFn)(void *instance);
typedef WeirStatus (*WeirConsumeFn)(void *instance, uint32_t signal, WeirBytes data,
                                    uint64_t token);
typedef WeirStatus (*WeirShutdownFn)(void *instance);
typedef void (*WeirDestroyFn)(void *instance);

/* One component type. */
typedef struct WeirComponentV1 {
    uint32_t struct_size;  /* sizeof(WeirComponentV1) */
    uint32_t kind;         /* WEIR_KIND_* */
    uint32_t signals;      /* WEIR_SIGNAL_* bits */
    uint32_t reserved;     /* 0 */
    WeirStr type_name;     /* type name in YAML */
    WeirStr config_schema; /* JSON Schema of the config, as JSON text */
    WeirCreateFn create;   /* required */
    WeirStartFn start;     /* optional */
    WeirConsumeFn consume; /* required for processors, exporters and connectors */
    WeirShutdownFn shutdown; /* optional */
    WeirDestroyFn destroy; /* required */
    /* Since ABI 1.2, read for connectors only: WEIR_PAIR_* bits. A connector's `signals` must
     * be exactly the upstream signals of its pairs. During consume it may emit batches of the
     * downstream signals paired with the input's (sent on once consume answered OK, with the
     * input's metadata); emits from its own threads block until the pipelines take them. */
    uint32_t pairs;
    uint32_t reserved2; /* 0 */
} WeirComponentV1;

/* struct_size of an ABI 1.0/1.1 component descriptor (the fields up to destroy). */
#define WEIR_COMPONENT_V1_0_SIZE 88u

/* What weir_plugin_entry_v1 returns. */
typedef struct WeirLibraryV1 {
    WeirLibraryPrefix prefix;
    WeirStr name;        /* the library's name */
    WeirStr version;     /* the library's version */
    WeirStr sdk_version; /* what built it */
    const WeirComponentV1 *const *components;
    size_t component_count;
} WeirLibraryV1;

typedef const WeirLibraryV1 *(*WeirEntryV1)(void);

#ifdef __cplusplus
}
#endif

#endif /* WEIR_PLUGIN_H */
