/* fuzz_s3_xml.c — libFuzzer target for the S3 XML layer. The first byte picks the body kind, the
 * second the chunk size the rest is fed in (streaming must not depend on where chunks split). On
 * success the result must honour every documented limit, and its strings must survive the writer:
 * written back as a request body they parse to the same values, and every response written from
 * them is well-formed XML. Independently, the raw bytes go through the escaper as an error message,
 * which must come out well-formed whatever they are. */
#include <expat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void well_formed(const struct ksm_buf *b)
{
    XML_Parser xp = XML_ParserCreate("UTF-8");
    if (XML_Parse(xp, b->data, (int)b->len, XML_TRUE) != XML_STATUS_OK)
        abort();
    XML_ParserFree(xp);
}

static void str_ok(const char *s, size_t max)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (n > max || !ksm_utf8_valid(s, n))
        abort();
}

/* Delete: keys written back as a Delete body parse to the same keys. */
static void check_delete(const struct ksm_s3_body *b)
{
    struct ksm_buf x = KSM_BUF_INIT;
    struct ksm_xw w;
    struct ksm_s3_body *again = NULL;
    struct ksm_s3_delete_entry *e = calloc(b->u.del.nobjs, sizeof *e);
    if (b->u.del.nobjs < 1 || b->u.del.nobjs > KSM_S3_MAX_DELETE_OBJECTS)
        abort();
    ksm_xw_begin(&w, &x, "Delete", true);
    for (size_t i = 0; i < b->u.del.nobjs; i++) {
        const struct ksm_s3_delete_obj *o = &b->u.del.objs[i];
        if (!o->key || !*o->key)
            abort();
        str_ok(o->key, KSM_S3_MAX_KEY_BYTES);
        str_ok(o->version_id, 1024);
        ksm_xw_open(&w, "Object");
        ksm_xw_str(&w, "Key", o->key);
        ksm_xw_close(&w);
        e[i].key = o->key;
        e[i].version_id = o->version_id;
        e[i].err = i & 1 ? KSM_E_FORBIDDEN : KSM_E_OK;
    }
    if (ksm_xw_end(&w) != 0)
        abort(); /* parsed text is always XML-clean, so nothing may need replacing */
    if (ksm_s3_xml_parse(KSM_S3X_DELETE, x.data, x.len, &again, NULL) != KSM_E_OK ||
        again->u.del.nobjs != b->u.del.nobjs)
        abort();
    for (size_t i = 0; i < b->u.del.nobjs; i++)
        if (strcmp(again->u.del.objs[i].key, b->u.del.objs[i].key))
            abort();
    ksm_s3_body_free(again);
    ksm_buf_reset(&x);
    ksm_s3_write_delete_result(&x, e, b->u.del.nobjs, b->u.del.quiet);
    well_formed(&x);

    /* the same keys in both listing encodings */
    struct ksm_s3_object_entry *o = calloc(b->u.del.nobjs, sizeof *o);
    for (size_t i = 0; i < b->u.del.nobjs; i++)
        o[i] = (struct ksm_s3_object_entry){.key = b->u.del.objs[i].key, .etag = "e"};
    for (int v = 1; v <= 2; v++) {
        struct ksm_s3_list_objects l = {.version = v,
                                        .bucket = "b",
                                        .prefix = o[0].key,
                                        .delimiter = o[0].key,
                                        .url = b->u.del.quiet,
                                        .truncated = true,
                                        .next_marker = o[0].key,
                                        .start_after = o[0].key,
                                        .objects = o,
                                        .nobjects = b->u.del.nobjs};
        ksm_buf_reset(&x);
        ksm_s3_write_list_objects(&x, &l);
        well_formed(&x);
    }
    free(o);
    free(e);
    ksm_buf_free(&x);
}

static void check_tagging(const struct ksm_s3_body *b)
{
    size_t max =
        b->kind == KSM_S3X_BUCKET_TAGGING ? KSM_S3_MAX_BUCKET_TAGS : KSM_S3_MAX_OBJECT_TAGS;
    struct ksm_buf x = KSM_BUF_INIT;
    struct ksm_s3_body *again = NULL;
    if (b->u.tagging.ntags > max)
        abort();
    for (size_t i = 0; i < b->u.tagging.ntags; i++) {
        str_ok(b->u.tagging.tags[i].key, 4 * KSM_S3_MAX_TAG_KEY_CHARS);
        str_ok(b->u.tagging.tags[i].value, 4 * KSM_S3_MAX_TAG_VALUE_CHARS);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(b->u.tagging.tags[i].key, b->u.tagging.tags[j].key))
                abort();
    }
    if (ksm_s3_write_tagging(&x, b->u.tagging.tags, b->u.tagging.ntags) != 0)
        abort();
    if (ksm_s3_xml_parse(b->kind, x.data, x.len, &again, NULL) != KSM_E_OK ||
        again->u.tagging.ntags != b->u.tagging.ntags)
        abort();
    for (size_t i = 0; i < b->u.tagging.ntags; i++)
        if (strcmp(again->u.tagging.tags[i].key, b->u.tagging.tags[i].key) ||
            strcmp(again->u.tagging.tags[i].value, b->u.tagging.tags[i].value))
            abort();
    ksm_s3_body_free(again);
    ksm_buf_free(&x);
}

static void check_complete(const struct ksm_s3_body *b)
{
    if (b->u.complete.nparts < 1 || b->u.complete.nparts > KSM_S3_MAX_PART_NUMBER)
        abort();
    for (size_t i = 0; i < b->u.complete.nparts; i++) {
        const struct ksm_s3_part *p = &b->u.complete.parts[i];
        if (p->number < 1 || p->number > KSM_S3_MAX_PART_NUMBER || !p->etag)
            abort();
        if (i && p->number <= b->u.complete.parts[i - 1].number)
            abort();
        str_ok(p->etag, 256);
    }
    struct ksm_buf x = KSM_BUF_INIT;
    ksm_s3_write_complete_mpu(&x, "l", "b", "k", b->u.complete.parts[0].etag);
    well_formed(&x);
    ksm_buf_free(&x);
}

static void check_result(const struct ksm_s3_body *b)
{
    switch (b->kind) {
    case KSM_S3X_CREATE_BUCKET: {
        struct ksm_buf x = KSM_BUF_INIT;
        str_ok(b->u.create_bucket.location, 64);
        ksm_s3_write_location(&x, b->u.create_bucket.location);
        well_formed(&x);
        ksm_buf_free(&x);
        break;
    }
    case KSM_S3X_COMPLETE_MPU:
        check_complete(b);
        break;
    case KSM_S3X_DELETE:
        check_delete(b);
        break;
    case KSM_S3X_BUCKET_TAGGING:
    case KSM_S3X_OBJECT_TAGGING:
        check_tagging(b);
        break;
    case KSM_S3X_VERSIONING: {
        const char *s = b->u.versioning.status;
        if (s && strcmp(s, "Enabled") && strcmp(s, "Suspended"))
            abort();
        break;
    }
    case KSM_S3X_CORS:
        if (b->u.cors.nrules < 1 || b->u.cors.nrules > KSM_S3_MAX_CORS_RULES)
            abort();
        for (size_t i = 0; i < b->u.cors.nrules; i++)
            if (!b->u.cors.rules[i].nmethods || !b->u.cors.rules[i].norigins ||
                b->u.cors.rules[i].methods[b->u.cors.rules[i].nmethods] != NULL)
                abort();
        break;
    case KSM_S3X_OBJECT_LOCK: {   /* enums hold only their choices */
        const char *en = b->u.object_lock.enabled, *m = b->u.object_lock.mode;
        if ((en && strcmp(en, "Enabled")) || (m && strcmp(m, "GOVERNANCE") && strcmp(m, "COMPLIANCE")))
            abort();
        break;
    }
    case KSM_S3X_RETENTION: {
        const char *m = b->u.retention.mode;
        if (m && strcmp(m, "GOVERNANCE") && strcmp(m, "COMPLIANCE"))
            abort();
        break;
    }
    case KSM_S3X_LEGAL_HOLD: {
        const char *st = b->u.legal_hold.status;
        if (st && strcmp(st, "ON") && strcmp(st, "OFF"))
            abort();
        break;
    }
    default:
        abort();
    }
}

/* Arbitrary bytes, as a message, must still give well-formed XML. */
static void check_escaper(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct ksm_buf x = KSM_BUF_INIT;
    memcpy(s, data, size);
    s[size] = 0;
    struct ksm_s3_error e = {.err = KSM_E_MALFORMED_XML, .message = s, .key = s};
    ksm_s3_write_error(&x, &e);
    well_formed(&x);
    ksm_buf_reset(&x);
    struct ksm_xw w;
    ksm_xw_begin(&w, &x, "K", false);
    ksm_xw_key(&w, "U", s, true);
    ksm_xw_end(&w);
    well_formed(&x);
    ksm_buf_free(&x);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum ksm_s3_xml_kind kind = (enum ksm_s3_xml_kind)(data[0] % KSM_S3X__COUNT);
    size_t chunk = (size_t)data[1] + 1;
    struct ksm_s3_xml_parser *p = ksm_s3_xml_parser_new(kind);
    struct ksm_s3_body *b = NULL;
    enum ksm_err e = KSM_E_OK;
    data += 2, size -= 2;
    for (size_t off = 0; off < size && e == KSM_E_OK; off += chunk)
        e = ksm_s3_xml_parser_feed(p, data + off, size - off < chunk ? size - off : chunk);
    if (e == KSM_E_OK)
        e = ksm_s3_xml_parser_finish(p, &b);
    if (e == KSM_E_OK) {
        if (!b || b->kind != kind)
            abort();
        check_result(b);
    } else {
        const char *d = ksm_s3_xml_parser_detail(p);
        if (b || !*d || !ksm_utf8_valid(d, strlen(d)) || ksm_err_status(e) != 400)
            abort();
    }
    ksm_s3_body_free(b);
    ksm_s3_xml_parser_free(p);
    check_escaper(data, size < 4096 ? size : 4096);
    return 0;
}
