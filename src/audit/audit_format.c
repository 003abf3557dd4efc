/* audit_format.c — the audit log's line format: building a record's JSON body, naming and listing
 * segment files, and parsing one line back (for recovery, the index rebuild and the verifier, which
 * all read untrusted bytes: every check here is an error return, never an assert). */
#include "audit/audit_int.h"
#include "core/jscan.h"
#include "core/util.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ksm_audit_zero_hash[KSM_AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Invalid UTF-8 from a client (a source address, a target path) must not make the line invalid
 * JSON, or the verifier would reject our own log: such strings are copied with U+FFFD instead. */
void ksm_audit_utf8_fix(struct ksm_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = 1;
        while (n <= 4 && p[n - 1] && !ksm_utf8_valid((const char *)p, n))
            n++;
        if (n <= 4 && p[n - 1]) {
            ksm_buf_append(b, p, n);
            p += n;
        } else {
            ksm_buf_puts(b, "\xef\xbf\xbd");
            p++;
        }
    }
    ksm_buf_append(b, "", 1);
}

static void json_str_sanitized(struct ksm_buf *b, const char *s)
{
    struct ksm_buf tmp = KSM_BUF_INIT;
    ksm_audit_utf8_fix(&tmp, s);
    ksm_buf_json_str(b, tmp.data);
    ksm_buf_free(&tmp);
}

void ksm_audit_json_str(struct ksm_buf *b, const char *s)
{
    if (!s)
        ksm_buf_append(b, "null", 4);
    else if (!ksm_buf_json_str_utf8(b, s))
        json_str_sanitized(b, s);
}

static void field(struct ksm_buf *b, const char *name, const char *v)
{
    ksm_buf_puts(b, name);
    ksm_audit_json_str(b, v);
}

void ksm_audit_format_body(struct ksm_buf *b, const struct ksm_audit_rec *rec, const char *time_str,
                           const char *env)
{
    ksm_buf_puts(b, "\"time\":\"");
    ksm_buf_puts(b, time_str);
    ksm_buf_putc(b, '"');
    field(b, ",\"env\":", env);
    field(b, ",\"request_id\":", rec->request_id);
    field(b, ",\"principal\":", rec->principal);
    field(b, ",\"tenant\":", rec->tenant);
    field(b, ",\"project\":", rec->project);
    field(b, ",\"source\":", rec->source);
    field(b, ",\"action\":", rec->action);
    field(b, ",\"target\":", rec->target);
    field(b, ",\"outcome\":", rec->outcome);
    ksm_buf_puts(b, ",\"status\":");
    ksm_buf_put_i64(b, rec->status);
    field(b, ",\"detail\":", rec->detail);
    ksm_buf_putc(b, '}');
}

static const char *str_of(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

void ksm_audit_rec_from_line(json_t *o, struct ksm_audit_rec *rec)
{
    *rec = (struct ksm_audit_rec){
        .request_id = str_of(o, "request_id"), .principal = str_of(o, "principal"),
        .tenant = str_of(o, "tenant"), .project = str_of(o, "project"),
        .source = str_of(o, "source"), .action = str_of(o, "action"),
        .target = str_of(o, "target"), .outcome = str_of(o, "outcome"),
        .status = (int)json_integer_value(json_object_get(o, "status")),
        .detail = str_of(o, "detail")};
}

void ksm_audit_seg_name(uint32_t n, char out[KSM_AUDIT_SEG_NAME])
{
    snprintf(out, KSM_AUDIT_SEG_NAME, "seg-%06" PRIu32 ".log", n);
}

uint32_t ksm_audit_seg_parse(const char *name)
{
    if (strlen(name) != 14 || strncmp(name, "seg-", 4) || strcmp(name + 10, ".log"))
        return 0;
    uint32_t v = 0;
    for (int i = 4; i < 10; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(name[i] - '0');
    }
    return v;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

int ksm_audit_seg_list(const char *dir, uint32_t **out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    uint32_t *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint32_t s = ksm_audit_seg_parse(e->d_name);
        if (!s)
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            v = ksm_xrealloc(v, cap * sizeof *v);
        }
        v[len++] = s;
    }
    closedir(d);
    if (len)
        qsort(v, len, sizeof *v, cmp_u32);
    *out = v;
    *n = len;
    return 0;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A hex string field of exactly n digits, copied to out (n+1 bytes). */
static int hex_field(json_t *o, const char *name, size_t n, char *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_string(v) || json_string_length(v) != n || !is_hex(json_string_value(v), n))
        return -1;
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int parse_signed(json_t *o, struct ksm_audit_line *out, const char **why)
{
    char sig[KSM_AUDIT_SIG_HEX + 1];
    if (hex_field(o, "sig", KSM_AUDIT_SIG_HEX, sig)) {
        *why = "missing or malformed signature";
        return -1;
    }
    ksm_unhex(sig, KSM_AUDIT_SIG_HEX, out->sig);
    if (out->kind == KSM_AUDIT_SEAL) {
        json_t *s = json_object_get(o, "segment");
        if (!json_is_string(s) || json_string_length(s) >= KSM_AUDIT_SEG_NAME) {
            *why = "seal without a segment name";
            return -1;
        }
        memcpy(out->segment, json_string_value(s), json_string_length(s) + 1);
    }
    return 0;
}

int ksm_audit_line_parse(const char *p, size_t n, struct ksm_audit_line *out, const char **why)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    /* our reader first (the verifier parses every line of a year's log); jansson words what it
     * refuses, and gives the same tree where it accepts (core/jscan.h) */
    json_t *o = ksm_jscan_load(p, n);
    if (!o)
        o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        *why = o ? "not a JSON object" : "not valid JSON";
        goto fail;
    }
    json_t *kind = json_object_get(o, "kind");
    if (!kind) {
        out->kind = KSM_AUDIT_RECORD;
    } else if (json_is_string(kind) && !strcmp(json_string_value(kind), "checkpoint")) {
        out->kind = KSM_AUDIT_CHECKPOINT;
    } else if (json_is_string(kind) && !strcmp(json_string_value(kind), "seal")) {
        out->kind = KSM_AUDIT_SEAL;
    } else {
        *why = "unknown line kind";
        goto fail;
    }
    json_t *seq = json_object_get(o, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 0 ||
        (out->kind == KSM_AUDIT_RECORD && json_integer_value(seq) < 1)) {
        *why = "missing or malformed seq";
        goto fail;
    }
    out->seq = (uint64_t)json_integer_value(seq);
    if (hex_field(o, "prev", KSM_AUDIT_HASH_HEX, out->prev)) {
        *why = "missing or malformed prev hash";
        goto fail;
    }
    if (!json_is_string(json_object_get(o, "time"))) {
        *why = "missing time";
        goto fail;
    }
    if (out->kind != KSM_AUDIT_RECORD && parse_signed(o, out, why))
        goto fail;
    out->obj = o;
    return 0;
fail:
    json_decref(o);
    return -1;
}
