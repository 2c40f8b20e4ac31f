/*
 * drop_spans: a Weir processor plugin written in plain C against weir_plugin.h.
 *
 * Drops every span whose name starts with the configured prefix (health checks, readiness
 * probes, ...), by rewriting the OTLP protobuf bytes directly: no protobuf library, no decode of
 * what it keeps. A batch with nothing to drop is emitted as the very buffer it came in, so Weir
 * copies nothing. Counts what it drops in the `dropped_spans` counter.
 *
 *   cc -shared -fPIC -O2 -I plugins/abi -o libweir_drop_spans.so drop_spans.c
 *
 * config: { "prefix": "GET /health" }
 */
#include <stdlib.h>
#include <string.h>

#include "weir_plugin.h"

#define S(text) { (const uint8_t *)(text), sizeof(text) - 1 }

typedef struct DropSpans {
    WeirHostV1 host;
    char *prefix;
    size_t prefix_len;
} DropSpans;

static void say(const WeirHostV1 *host, uint32_t level, const char *message) {
    WeirStr text = { (const uint8_t *)message, strlen(message) };
    host->log(host->ctx, level, text);
}

/* ---- config: {"prefix": "<string>"}, already validated against the schema by Weir ---------- */

/* Reads the JSON string starting after its opening quote; ASCII escapes only. */
static char *json_string(const char *p, size_t *len) {
    size_t cap = strlen(p) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            switch (*p) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            default: free(out); return NULL; /* \uXXXX and the rest: not supported */
            }
        }
        out[n++] = c;
    }
    if (*p != '"') { free(out); return NULL; }
    out[n] = '\0';
    *len = n;
    return out;
}

static char *config_prefix(WeirStr config, size_t *len) {
    char *text = malloc(config.len + 1);
    if (!text) return NULL;
    memcpy(text, config.ptr, config.len);
    text[config.len] = '\0';
    char *result = NULL;
    /* The schema allows exactly one key, so the first "prefix" is the key. */
    const char *key = strstr(text, "\"prefix\"");
    if (key) {
        const char *p = key + strlen("\"prefix\"");
        while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (*p == '"') result = json_string(p + 1, len);
    }
    free(text);
    return result;
}

/* ---- protobuf ------------------------------------------------------------------------------ */

typedef struct Field {
    uint32_t number;
    uint32_t wire;
    const uint8_t *start;  /* the tag */
    const uint8_t *value;  /* length-delimited: the payload */
    size_t value_len;
    const uint8_t *end;    /* one past the field */
} Field;

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return 0;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *out = v; return 1; }
    }
    return 0;
}

/* Reads the next field at *p; 1 on success, 0 at the end, -1 on malformed input. */
static int next_field(const uint8_t **p, const uint8_t *end, Field *f) {
    if (*p >= end) return 0;
    f->start = *p;
    uint64_t tag, n;
    if (!read_varint(p, end, &tag)) return -1;
    f->number = (uint32_t)(tag >> 3);
    f->wire = (uint32_t)(tag & 7);
    f->value = NULL;
    f->value_len = 0;
    switch (f->wire) {
    case 0: if (!read_varint(p, end, &n)) return -1; break;
    case 1: if (end - *p < 8) return -1; *p += 8; break;
    case 5: if (end - *p < 4) return -1; *p += 4; break;
    case 2:
        if (!read_varint(p, end, &n) || n > (uint64_t)(end - *p)) return -1;
        f->value = *p;
        f->value_len = (size_t)n;
        *p += n;
        break;
    default: return -1;
    }
    f->end = *p;
    return 1;
}

typedef struct Writer {
    uint8_t *buf;
    size_t len, cap;
    int failed;
} Writer;

static void put(Writer *w, const void *data, size_t len) {
    if (!w || w->failed) return;
    if (w->len + len > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        while (cap < w->len + len) cap *= 2;
        uint8_t *grown = realloc(w->buf, cap);
        if (!grown) { w->failed = 1; return; }
        w->buf = grown;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, len);
    w->len += len;
}

static void put_varint(Writer *w, uint64_t v) {
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    put(w, b, n);
}

/* Writes field `number` (length-delimited) holding what `child` collected. */
static void put_message(Writer *w, uint32_t number, Writer *child) {
    if (!w) return;
    if (child->failed) { w->failed = 1; return; }
    put_varint(w, ((uint64_t)number << 3) | 2);
    put_varint(w, child->len);
    put(w, child->buf, child->len);
}

/* Span.name is field 5. */
static int span_matches(const DropSpans *d, const uint8_t *p, const uint8_t *end) {
    Field f;
    int r;
    while ((r = next_field(&p, end, &f)) > 0) {
        if (f.number == 5 && f.wire == 2)
            return f.value_len >= d->prefix_len && memcmp(f.value, d->prefix, d->prefix_len) == 0;
    }
    return r < 0 ? -1 : 0;
}

/* Each level copies the fields it keeps byte for byte and rebuilds the ones that contain
 * dropped spans. With `w` NULL it only counts. Returns -1 on malformed input. */

/* ScopeSpans.spans is field 2. */
static int scope_spans(const DropSpans *d, Writer *w, const uint8_t *p, const uint8_t *end, uint64_t *dropped) {
    Field f;
    int r;
    while ((r = next_field(&p, end, &f)) > 0) {
        if (f.number == 2 && f.wire == 2) {
            int m = span_matches(d, f.value, f.value + f.value_len);
            if (m < 0) return -1;
            if (m) { (*dropped)++; continue; }
        }
        put(w, f.start, (size_t)(f.end - f.start));
    }
    return r;
}

/* ResourceSpans.scope_spans is field 2. */
static int resource_spans(const DropSpans *d, Writer *w, const uint8_t *p, const uint8_t *end, uint64_t *dropped) {
    Field f;
    int r;
    while ((r = next_field(&p, end, &f)) > 0) {
        if (f.number == 2 && f.wire == 2) {
            Writer child = {0};
            int c = scope_spans(d, w ? &child : NULL, f.value, f.value + f.value_len, dropped);
            if (c < 0) { free(child.buf); return -1; }
            put_message(w, 2, &child);
            free(child.buf);
        } else {
            put(w, f.start, (size_t)(f.end - f.start));
        }
    }
    return r;
}

/* ExportTraceServiceRequest.resource_spans is field 1. */
static int request(const DropSpans *d, Writer *w, const uint8_t *p, const uint8_t *end, uint64_t *dropped) {
    Field f;
    int r;
    while ((r = next_field(&p, end, &f)) > 0) {
        if (f.number == 1 && f.wire == 2) {
            Writer child = {0};
            int c = resource_spans(d, w ? &child : NULL, f.value, f.value + f.value_len, dropped);
            if (c < 0) { free(child.buf); return -1; }
            put_message(w, 1, &child);
            free(child.buf);
        } else {
            put(w, f.start, (size_t)(f.end - f.start));
        }
    }
    return r;
}

/* ---- entry points ---------------------------------------------------------------------------- */

static WeirStatus create(const WeirHostV1 *host, WeirStr config, void **instance) {
    /* Needs only the ABI 1.0 functions: copies what the host has (the rest stays zeroed), so
     * it runs in any 1.x Weir. */
    if (!host || host->struct_size < WEIR_HOST_V1_0_SIZE || !instance) return WEIR_INVALID_ARGUMENT;
    DropSpans *d = calloc(1, sizeof(DropSpans));
    if (!d) return WEIR_INTERNAL;
    memcpy(&d->host, host, host->struct_size < sizeof(WeirHostV1) ? host->struct_size : sizeof(WeirHostV1));
    d->prefix = config_prefix(config, &d->prefix_len);
    if (!d->prefix) {
        say(host, WEIR_LOG_ERROR, "drop_spans: config needs \"prefix\": a string without \\u escapes");
        free(d);
        return WEIR_INVALID_ARGUMENT;
    }
    *instance = d;
    return WEIR_OK;
}

static WeirStatus consume(void *instance, uint32_t signal, WeirBytes data, uint64_t token) {
    (void)token;
    DropSpans *d = instance;
    if (signal != WEIR_SIGNAL_TRACES) return WEIR_INVALID_ARGUMENT;
    const uint8_t *end = data.ptr + data.len;
    uint64_t dropped = 0;
    if (request(d, NULL, data.ptr, end, &dropped) < 0) {
        say(&d->host, WEIR_LOG_WARN, "drop_spans: malformed ExportTraceServiceRequest");
        return WEIR_INVALID_ARGUMENT;
    }
    if (dropped == 0) return d->host.emit(d->host.ctx, signal, data);
    Writer out = {0};
    dropped = 0;
    request(d, &out, data.ptr, end, &dropped);
    if (out.failed) { free(out.buf); return WEIR_INTERNAL; }
    static const WeirStr counter = S("dropped_spans");
    d->host.counter_add(d->host.ctx, counter, dropped);
    WeirBytes kept = { out.buf, out.len };
    WeirStatus status = d->host.emit(d->host.ctx, signal, kept);
    free(out.buf); /* Weir copied it during emit: nothing crosses the boundary to be freed */
    return status;
}

static void destroy(void *instance) {
    DropSpans *d = instance;
    if (!d) return;
    free(d->prefix);
    free(d);
}

static const WeirComponentV1 DROP_SPANS = {
    sizeof(WeirComponentV1),
    WEIR_KIND_PROCESSOR,
    WEIR_SIGNAL_TRACES,
    0,
    S("drop_spans"),
    S("{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"prefix\"],"
      "\"properties\":{\"prefix\":{\"type\":\"string\",\"minLength\":1,"
      "\"description\":\"Spans whose name starts with this are dropped.\"}}}"),
    create,
    NULL, /* start: nothing to start */
    consume,
    NULL, /* shutdown: holds nothing */
    destroy,
    0, /* pairs: not a connector */
    0, /* reserved2 */
};

static const WeirComponentV1 *const COMPONENTS[] = { &DROP_SPANS };

static const WeirLibraryV1 LIBRARY = {
    { WEIR_PLUGIN_MAGIC, WEIR_ABI_MAJOR, WEIR_ABI_MINOR, sizeof(WeirLibraryV1),
      WEIR_LIBRARY_PANIC_UNWIND },
    S("weir-plugin-drop-spans"),
    S("0.1.0"),
    S("c"),
    COMPONENTS,
    1,
};

__attribute__((visibility("default"))) const WeirLibraryV1 *weir_plugin_entry_v1(void) {
    return &LIBRARY;
}
