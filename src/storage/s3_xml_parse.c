/* s3_xml_parse.c — parses the XML bodies of S3 requests with expat, chunk by chunk, into the plain
 * structs of s3_xml.h. Each body kind is a table of element nodes (name, parent, limits, where the
 * text goes); one generic driver walks expat's events against the table. DTDs are refused outright,
 * so no entity can be declared and nothing external is ever loaded. Element names are matched by
 * local name whatever the namespace (clients send the S3 namespace, none, or a wrong one). */
#include "storage/s3_xml.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Debian builds libexpat with XML_DTD; only then does expat.h declare the billion-laughs knobs */
#ifndef XML_DTD
#define XML_DTD 1
#endif
#include <expat.h>

#include "core/arena.h"
#include "core/util.h"

#define MAX_DEPTH 16      /* of known elements; their tables are 4 deep at most */
#define MAX_SKIP_DEPTH 32 /* inside an ignored subtree */
#define NS_SEP '\x01'

enum {
    N_LEAF = 1, /* holds text, no children */
    N_SKIP = 2, /* known to S3 but not used by kasumi: the subtree is ignored */
    N_TRIM = 4, /* surrounding white space is dropped (numbers, enums, ETags) */
    N_LIST = 8, /* the text is appended to a NULL-terminated list */
    N_NONEMPTY = 16,
};

struct ksm_s3_xml_parser;
typedef enum ksm_err (*leaf_fn)(struct ksm_s3_xml_parser *p, const char *s, size_t n);
typedef enum ksm_err (*node_fn)(struct ksm_s3_xml_parser *p);

struct node {
    const char *name;
    int parent; /* index of the enclosing node; -1 for the root */
    unsigned flags;
    size_t max;                 /* leaf: bytes of text allowed */
    enum ksm_err too_long;      /* leaf: the error past max (0: MALFORMED_XML) */
    size_t off, count_off;      /* string leaf: where it goes in the current item */
    const char *const *choices; /* leaf: the allowed values, or NULL for any */
    leaf_fn leaf;               /* leaf with its own conversion instead of off */
    node_fn open, close;        /* container hooks */
};

struct kind_def {
    const struct node *nodes;
    size_t nnodes;
    size_t max_body;
    bool empty_ok;
};

struct ksm_s3_xml_parser {
    XML_Parser xp;
    enum ksm_s3_xml_kind kind;
    const struct kind_def *def;
    struct ksm_s3_body *body;
    void *item; /* the struct that string leaves write into */
    int stack[MAX_DEPTH];
    int depth, skip;
    bool root_seen, tagset_seen, quiet_seen;
    struct ksm_buf text;
    size_t fed;
    enum ksm_err err;
    char detail[KSM_S3_XML_DETAIL_MAX];
};

/* ---- helpers ---- */

static enum ksm_err fail(struct ksm_s3_xml_parser *p, enum ksm_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum ksm_err fail(struct ksm_s3_xml_parser *p, enum ksm_err e, const char *fmt, ...)
{
    if (p->err == KSM_E_OK) { /* the first failure is the one worth reporting */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->detail, sizeof p->detail, fmt, ap);
        va_end(ap);
        /* a name cut at its byte limit may end mid-character; the detail goes to clients */
        ksm_utf8_cut(p->detail, SIZE_MAX);
        p->err = e;
    }
    XML_StopParser(p->xp, XML_FALSE);
    return p->err;
}

/* Appends one zeroed element to an arena array kept zero-terminated; capacities are 8, 16, 32...
 * so the capacity need not be stored: it is full exactly when n + 1 is a power of two >= 8. */
static void *vec_push(struct ksm_arena *a, void *arrp, size_t *n, size_t size)
{
    void **arr = arrp;
    size_t n0 = *n;
    if (n0 == 0 || (n0 + 1 >= 8 && ((n0 + 1) & n0) == 0)) {
        size_t cap = n0 == 0 ? 8 : 2 * (n0 + 1);
        void *na = ksm_arena_calloc(a, cap * size);
        if (n0)
            memcpy(na, *arr, n0 * size);
        *arr = na;
    }
    (*n)++;
    return (char *)*arr + n0 * size;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

static bool parse_i64(const char *s, size_t n, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > 18) /* 18 digits cannot overflow */
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static const char *cur_name(const struct ksm_s3_xml_parser *p)
{
    return p->def->nodes[p->stack[p->depth - 1]].name;
}

/* ---- leaf conversions ---- */

static enum ksm_err leaf_part_number(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    struct ksm_s3_part *part = p->item;
    bool sign = n > 0 && (s[0] == '-' || s[0] == '+');
    int64_t v;
    if (part->number)
        return fail(p, KSM_E_MALFORMED_XML, "PartNumber given twice");
    if (!parse_i64(s + sign, n - sign, INT64_MAX / 10, &v))
        return fail(p, KSM_E_MALFORMED_XML, "PartNumber is not an integer");
    if (s[0] == '-' || v < 1 || v > KSM_S3_MAX_PART_NUMBER)
        return fail(p, KSM_E_INVALID_ARGUMENT,
                    "Part number must be an integer between 1 and 10000, inclusive");
    part->number = (int)v;
    return KSM_E_OK;
}

/* ETags arrive quoted ("abc"), entity-quoted or bare; they are stored bare. */
static const char *unquote_etag(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    return ksm_arena_strndup(p->body->arena, s, n);
}

static enum ksm_err leaf_part_etag(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    struct ksm_s3_part *part = p->item;
    if (part->etag)
        return fail(p, KSM_E_MALFORMED_XML, "ETag given twice");
    part->etag = unquote_etag(p, s, n);
    return KSM_E_OK;
}

static enum ksm_err leaf_obj_etag(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    struct ksm_s3_delete_obj *o = p->item;
    if (o->etag)
        return fail(p, KSM_E_MALFORMED_XML, "ETag given twice");
    o->etag = unquote_etag(p, s, n);
    return KSM_E_OK;
}

static enum ksm_err leaf_obj_size(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    struct ksm_s3_delete_obj *o = p->item;
    if (o->size >= 0)
        return fail(p, KSM_E_MALFORMED_XML, "Size given twice");
    if (!parse_i64(s, n, INT64_MAX / 10, &o->size))
        return fail(p, KSM_E_MALFORMED_XML, "Size is not a non-negative integer");
    return KSM_E_OK;
}

static enum ksm_err leaf_quiet(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    if (p->quiet_seen)
        return fail(p, KSM_E_MALFORMED_XML, "Quiet given twice");
    p->quiet_seen = true;
    if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 1 && s[0] == '1'))
        p->body->u.del.quiet = true;
    else if ((n == 5 && !strncasecmp(s, "false", 5)) || (n == 1 && s[0] == '0'))
        p->body->u.del.quiet = false;
    else
        return fail(p, KSM_E_MALFORMED_XML, "Quiet must be true or false");
    return KSM_E_OK;
}

static enum ksm_err leaf_tag_key(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    struct ksm_s3_tag *t = p->item;
    size_t c = utf8_chars(s, n);
    if (t->key)
        return fail(p, KSM_E_MALFORMED_XML, "a Tag has two Keys");
    if (c < 1 || c > KSM_S3_MAX_TAG_KEY_CHARS)
        return fail(p, KSM_E_INVALID_TAG, "The TagKey you have provided is invalid");
    if (n >= 4 && !strncasecmp(s, "aws:", 4)) /* reserved for AWS-made tags in S3 too */
        return fail(p, KSM_E_INVALID_TAG, "System tags cannot be added/updated by requester");
    t->key = ksm_arena_strndup(p->body->arena, s, n);
    return KSM_E_OK;
}

static enum ksm_err leaf_tag_value(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    struct ksm_s3_tag *t = p->item;
    if (t->value)
        return fail(p, KSM_E_MALFORMED_XML, "a Tag has two Values");
    if (utf8_chars(s, n) > KSM_S3_MAX_TAG_VALUE_CHARS)
        return fail(p, KSM_E_INVALID_TAG, "The TagValue you have provided is invalid");
    t->value = ksm_arena_strndup(p->body->arena, s, n);
    return KSM_E_OK;
}

static enum ksm_err leaf_max_age(struct ksm_s3_xml_parser *p, const char *s, size_t n)
{
    struct ksm_s3_cors_rule *r = p->item;
    if (r->max_age >= 0)
        return fail(p, KSM_E_MALFORMED_XML, "MaxAgeSeconds given twice");
    if (!parse_i64(s, n, INT32_MAX, &r->max_age))
        return fail(p, KSM_E_MALFORMED_XML, "MaxAgeSeconds is not a non-negative integer");
    return KSM_E_OK;
}

/* ---- container hooks ---- */

static enum ksm_err open_root(struct ksm_s3_xml_parser *p)
{
    p->item = p->body;
    return KSM_E_OK;
}

static enum ksm_err open_part(struct ksm_s3_xml_parser *p)
{
    struct ksm_s3_body *b = p->body;
    if (b->u.complete.nparts >= KSM_S3_MAX_PART_NUMBER)
        return fail(p, KSM_E_MALFORMED_XML, "more than 10000 parts");
    p->item =
        vec_push(b->arena, &b->u.complete.parts, &b->u.complete.nparts, sizeof(struct ksm_s3_part));
    return KSM_E_OK;
}

static enum ksm_err close_part(struct ksm_s3_xml_parser *p)
{
    struct ksm_s3_body *b = p->body;
    size_t n = b->u.complete.nparts;
    struct ksm_s3_part *part = &b->u.complete.parts[n - 1];
    if (!part->number || !part->etag)
        return fail(p, KSM_E_MALFORMED_XML, "each Part needs a PartNumber and an ETag");
    if (n > 1 && part->number <= b->u.complete.parts[n - 2].number)
        return fail(p, KSM_E_INVALID_PART_ORDER,
                    "The list of parts was not in ascending order. The parts list must be "
                    "specified in order by part number.");
    p->item = b;
    return KSM_E_OK;
}

static enum ksm_err close_complete(struct ksm_s3_xml_parser *p)
{
    if (p->body->u.complete.nparts == 0)
        return fail(p, KSM_E_MALFORMED_XML, "CompleteMultipartUpload lists no Part");
    return KSM_E_OK;
}

static enum ksm_err open_object(struct ksm_s3_xml_parser *p)
{
    struct ksm_s3_body *b = p->body;
    struct ksm_s3_delete_obj *o;
    if (b->u.del.nobjs >= KSM_S3_MAX_DELETE_OBJECTS)
        return fail(p, KSM_E_MALFORMED_XML, "more than 1000 objects to delete");
    o = vec_push(b->arena, &b->u.del.objs, &b->u.del.nobjs, sizeof *o);
    o->size = -1;
    p->item = o;
    return KSM_E_OK;
}

static enum ksm_err close_object(struct ksm_s3_xml_parser *p)
{
    struct ksm_s3_delete_obj *o = p->item;
    if (!o->key)
        return fail(p, KSM_E_MALFORMED_XML, "each Object needs a Key");
    p->item = p->body;
    return KSM_E_OK;
}

static enum ksm_err close_delete(struct ksm_s3_xml_parser *p)
{
    if (p->body->u.del.nobjs == 0)
        return fail(p, KSM_E_MALFORMED_XML, "Delete lists no Object");
    return KSM_E_OK;
}

static enum ksm_err open_tagset(struct ksm_s3_xml_parser *p)
{
    if (p->tagset_seen)
        return fail(p, KSM_E_MALFORMED_XML, "TagSet given twice");
    p->tagset_seen = true;
    return KSM_E_OK;
}

static enum ksm_err open_tag(struct ksm_s3_xml_parser *p)
{
    struct ksm_s3_body *b = p->body;
    bool bucket = p->kind == KSM_S3X_BUCKET_TAGGING;
    size_t max = bucket ? KSM_S3_MAX_BUCKET_TAGS : KSM_S3_MAX_OBJECT_TAGS;
    if (b->u.tagging.ntags >= max)
        return fail(p, KSM_E_INVALID_TAG, "%s tags cannot be greater than %zu",
                    bucket ? "Bucket" : "Object", max);
    p->item =
        vec_push(b->arena, &b->u.tagging.tags, &b->u.tagging.ntags, sizeof(struct ksm_s3_tag));
    return KSM_E_OK;
}

static enum ksm_err close_tag(struct ksm_s3_xml_parser *p)
{
    struct ksm_s3_body *b = p->body;
    size_t n = b->u.tagging.ntags;
    const struct ksm_s3_tag *t = &b->u.tagging.tags[n - 1];
    if (!t->key || !t->value)
        return fail(p, KSM_E_MALFORMED_XML, "each Tag needs a Key and a Value");
    for (size_t i = 0; i + 1 < n; i++) /* at most 50 tags: quadratic is cheapest */
        if (!strcmp(b->u.tagging.tags[i].key, t->key))
            return fail(p, KSM_E_INVALID_TAG, "Cannot provide multiple Tags with the same key");
    p->item = b;
    return KSM_E_OK;
}

static enum ksm_err close_tagging(struct ksm_s3_xml_parser *p)
{
    if (!p->tagset_seen)
        return fail(p, KSM_E_MALFORMED_XML, "Tagging needs a TagSet");
    return KSM_E_OK;
}

static enum ksm_err open_rule(struct ksm_s3_xml_parser *p)
{
    struct ksm_s3_body *b = p->body;
    struct ksm_s3_cors_rule *r;
    if (b->u.cors.nrules >= KSM_S3_MAX_CORS_RULES)
        return fail(p, KSM_E_MALFORMED_XML, "more than 100 CORSRules");
    r = vec_push(b->arena, &b->u.cors.rules, &b->u.cors.nrules, sizeof *r);
    r->max_age = -1;
    p->item = r;
    return KSM_E_OK;
}

static enum ksm_err close_rule(struct ksm_s3_xml_parser *p)
{
    const struct ksm_s3_cors_rule *r = p->item;
    if (!r->nmethods || !r->norigins)
        return fail(p, KSM_E_MALFORMED_XML,
                    "each CORSRule needs an AllowedMethod and an AllowedOrigin");
    p->item = p->body;
    return KSM_E_OK;
}

static enum ksm_err close_cors(struct ksm_s3_xml_parser *p)
{
    if (p->body->u.cors.nrules == 0)
        return fail(p, KSM_E_MALFORMED_XML, "CORSConfiguration lists no CORSRule");
    return KSM_E_OK;
}

/* ---- the tables ---- */

#define B(field) offsetof(struct ksm_s3_body, field)
#define P(field) offsetof(struct ksm_s3_part, field)
#define O(field) offsetof(struct ksm_s3_delete_obj, field)
#define R(field) offsetof(struct ksm_s3_cors_rule, field)
#define ROOT(nm, op, cl)                                                                           \
    {                                                                                              \
        .name = nm, .parent = -1, .open = op, .close = cl                                          \
    }
#define CONT(nm, par, op, cl)                                                                      \
    {                                                                                              \
        .name = nm, .parent = par, .open = op, .close = cl                                         \
    }
#define SKIP(nm, par)                                                                              \
    {                                                                                              \
        .name = nm, .parent = par, .flags = N_SKIP                                                 \
    }
#define STR(nm, par, fl, mx, of)                                                                   \
    {                                                                                              \
        .name = nm, .parent = par, .flags = N_LEAF | (fl), .max = mx, .off = of                    \
    }
#define FN(nm, par, fl, mx, fn)                                                                    \
    {                                                                                              \
        .name = nm, .parent = par, .flags = N_LEAF | (fl), .max = mx, .leaf = fn                   \
    }
#define LIST(nm, fl, mx, arr, cnt, ch)                                                             \
    {                                                                                              \
        .name = nm, .parent = 1, .flags = N_LEAF | N_TRIM | N_LIST | (fl), .max = mx,              \
        .off = R(arr), .count_off = R(cnt), .choices = ch                                          \
    }

static const char *const versioning_status[] = {"Enabled", "Suspended", NULL};
static const char *const mfa_status[] = {"Enabled", "Disabled", NULL};
static const char *const cors_methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD", NULL};
static const char *const lock_enabled[] = {"Enabled", NULL};
static const char *const lock_modes[] = {"GOVERNANCE", "COMPLIANCE", NULL};
static const char *const hold_status[] = {"ON", "OFF", NULL};

#define ENUM(nm, par, of, ch)                                                                      \
    {                                                                                              \
        .name = nm, .parent = par, .flags = N_LEAF | N_TRIM, .max = 16, .off = of, .choices = ch   \
    }

static const struct node create_bucket_nodes[] = {
    ROOT("CreateBucketConfiguration", open_root, NULL),
    STR("LocationConstraint", 0, N_TRIM, 64, B(u.create_bucket.location)),
    SKIP("Location", 0), /* directory buckets */
    SKIP("Bucket", 0),   /* directory buckets */
};

static const struct node complete_nodes[] = {
    ROOT("CompleteMultipartUpload", open_root, close_complete),
    CONT("Part", 0, open_part, close_part),
    FN("PartNumber", 1, N_TRIM, 32, leaf_part_number),
    FN("ETag", 1, N_TRIM, 256, leaf_part_etag),
    STR("ChecksumCRC32", 1, N_TRIM, 128, P(crc32)),
    STR("ChecksumCRC32C", 1, N_TRIM, 128, P(crc32c)),
    STR("ChecksumCRC64NVME", 1, N_TRIM, 128, P(crc64nvme)),
    STR("ChecksumSHA1", 1, N_TRIM, 128, P(sha1)),
    STR("ChecksumSHA256", 1, N_TRIM, 128, P(sha256)),
};

static const struct node delete_nodes[] = {
    ROOT("Delete", open_root, close_delete),
    CONT("Object", 0, open_object, close_object),
    {.name = "Key",
     .parent = 1,
     .flags = N_LEAF | N_NONEMPTY,
     .max = KSM_S3_MAX_KEY_BYTES,
     .too_long = KSM_E_KEY_TOO_LONG,
     .off = O(key)}, /* never trimmed: spaces are key bytes */
    STR("VersionId", 1, N_TRIM, 1024, O(version_id)),
    FN("ETag", 1, N_TRIM, 256, leaf_obj_etag),
    STR("LastModifiedTime", 1, N_TRIM, 64, O(last_modified)),
    FN("Size", 1, N_TRIM, 32, leaf_obj_size),
    FN("Quiet", 0, N_TRIM, 16, leaf_quiet),
};

/* Byte limits are 4 bytes per character; the character counts are checked on the text. */
static const struct node tagging_nodes[] = {
    ROOT("Tagging", open_root, close_tagging),
    CONT("TagSet", 0, open_tagset, NULL),
    CONT("Tag", 1, open_tag, close_tag),
    {.name = "Key",
     .parent = 2,
     .flags = N_LEAF,
     .max = 4 * KSM_S3_MAX_TAG_KEY_CHARS,
     .too_long = KSM_E_INVALID_TAG,
     .leaf = leaf_tag_key},
    {.name = "Value",
     .parent = 2,
     .flags = N_LEAF,
     .max = 4 * KSM_S3_MAX_TAG_VALUE_CHARS,
     .too_long = KSM_E_INVALID_TAG,
     .leaf = leaf_tag_value},
};

static const struct node versioning_nodes[] = {
    ROOT("VersioningConfiguration", open_root, NULL),
    {.name = "Status",
     .parent = 0,
     .flags = N_LEAF | N_TRIM,
     .max = 16,
     .off = B(u.versioning.status),
     .choices = versioning_status},
    {.name = "MfaDelete",
     .parent = 0,
     .flags = N_LEAF | N_TRIM,
     .max = 16,
     .off = B(u.versioning.mfa_delete),
     .choices = mfa_status},
};

static const struct node cors_nodes[] = {
    ROOT("CORSConfiguration", open_root, close_cors),
    CONT("CORSRule", 0, open_rule, close_rule),
    STR("ID", 1, 0, 255, R(id)),
    LIST("AllowedMethod", 0, 16, methods, nmethods, cors_methods),
    LIST("AllowedOrigin", N_NONEMPTY, 1024, origins, norigins, NULL),
    LIST("AllowedHeader", N_NONEMPTY, 1024, headers, nheaders, NULL),
    LIST("ExposeHeader", N_NONEMPTY, 1024, expose, nexpose, NULL),
    FN("MaxAgeSeconds", 1, N_TRIM, 16, leaf_max_age),
};

static const struct node object_lock_nodes[] = {
    ROOT("ObjectLockConfiguration", open_root, NULL),
    ENUM("ObjectLockEnabled", 0, B(u.object_lock.enabled), lock_enabled),
    CONT("Rule", 0, NULL, NULL),
    CONT("DefaultRetention", 2, NULL, NULL),
    ENUM("Mode", 3, B(u.object_lock.mode), lock_modes),
    STR("Days", 3, N_TRIM, 16, B(u.object_lock.days)),
    STR("Years", 3, N_TRIM, 16, B(u.object_lock.years)),
};

static const struct node retention_nodes[] = {
    ROOT("Retention", open_root, NULL),
    ENUM("Mode", 0, B(u.retention.mode), lock_modes),
    STR("RetainUntilDate", 0, N_TRIM, 64, B(u.retention.until)),
};

static const struct node legal_hold_nodes[] = {
    ROOT("LegalHold", open_root, NULL),
    ENUM("Status", 0, B(u.legal_hold.status), hold_status),
};

#define KIND(nodes, max, empty)                                                                    \
    {                                                                                              \
        nodes, KSM_NELEM(nodes), max, empty                                                        \
    }
static const struct kind_def kinds[KSM_S3X__COUNT] = {
    [KSM_S3X_CREATE_BUCKET] = KIND(create_bucket_nodes, 64 << 10, true),
    /* 10,000 parts with every checksum and generous indentation stay under 8 MiB */
    [KSM_S3X_COMPLETE_MPU] = KIND(complete_nodes, 8 << 20, false),
    /* 1,000 keys of 1,024 bytes, escaped, stay under 8 MiB */
    [KSM_S3X_DELETE] = KIND(delete_nodes, 8 << 20, false),
    [KSM_S3X_BUCKET_TAGGING] = KIND(tagging_nodes, 256 << 10, false),
    [KSM_S3X_OBJECT_TAGGING] = KIND(tagging_nodes, 64 << 10, false),
    [KSM_S3X_VERSIONING] = KIND(versioning_nodes, 64 << 10, false),
    [KSM_S3X_CORS] = KIND(cors_nodes, 64 << 10, false), /* S3's own CORS limit is 64 KB */
    [KSM_S3X_OBJECT_LOCK] = KIND(object_lock_nodes, 64 << 10, false),
    [KSM_S3X_RETENTION] = KIND(retention_nodes, 64 << 10, false),
    [KSM_S3X_LEGAL_HOLD] = KIND(legal_hold_nodes, 64 << 10, false),
};

size_t ksm_s3_xml_max_body(enum ksm_s3_xml_kind kind)
{
    return (unsigned)kind < KSM_S3X__COUNT ? kinds[kind].max_body : 0;
}

/* ---- the driver ---- */

static const char *local_name(const char *name)
{
    const char *sep = strrchr(name, NS_SEP);
    return sep ? sep + 1 : name;
}

static int find_child(const struct kind_def *d, int parent, const char *name)
{
    for (size_t i = 1; i < d->nnodes; i++)
        if (d->nodes[i].parent == parent && !strcmp(d->nodes[i].name, name))
            return (int)i;
    return -1;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct ksm_s3_xml_parser *p = ud;
    const char *local = local_name(name);
    int idx;
    if (p->err)
        return;
    if (p->skip) {
        if (++p->skip > MAX_SKIP_DEPTH)
            fail(p, KSM_E_MALFORMED_XML, "elements nested too deep");
        return;
    }
    if (p->depth == 0) {
        if (strcmp(local, p->def->nodes[0].name)) {
            fail(p, KSM_E_MALFORMED_XML, "the root element must be %s", p->def->nodes[0].name);
            return;
        }
        idx = 0;
        p->root_seen = true;
    } else {
        const struct node *cur = &p->def->nodes[p->stack[p->depth - 1]];
        idx = (cur->flags & N_LEAF) ? -1 : find_child(p->def, p->stack[p->depth - 1], local);
        if (idx < 0) {
            fail(p, KSM_E_MALFORMED_XML, "unexpected element %.40s in %s", local, cur->name);
            return;
        }
    }
    const struct node *nd = &p->def->nodes[idx];
    if (nd->flags & N_SKIP) {
        p->skip = 1;
        return;
    }
    if (p->depth == MAX_DEPTH) { /* tables are shallower; kept as a guard */
        fail(p, KSM_E_MALFORMED_XML, "elements nested too deep");
        return;
    }
    p->stack[p->depth++] = idx;
    ksm_buf_reset(&p->text);
    if (nd->open)
        nd->open(p);
}

static bool in_choices(const char *const *choices, const char *s, size_t n)
{
    for (; *choices; choices++)
        if (strlen(*choices) == n && !memcmp(*choices, s, n))
            return true;
    return false;
}

static void store_leaf(struct ksm_s3_xml_parser *p, const struct node *nd)
{
    const char *s = p->text.data ? p->text.data : "";
    size_t n = p->text.len;
    if (nd->flags & N_TRIM) {
        while (n && strchr(" \t\r\n", s[0]))
            s++, n--;
        while (n && strchr(" \t\r\n", s[n - 1]))
            n--;
    }
    if ((nd->flags & N_NONEMPTY) && n == 0) {
        fail(p, KSM_E_MALFORMED_XML, "%s must not be empty", nd->name);
        return;
    }
    if (nd->choices && !in_choices(nd->choices, s, n)) {
        fail(p, KSM_E_MALFORMED_XML, "%s has an invalid value", nd->name);
        return;
    }
    if (nd->leaf) {
        nd->leaf(p, s, n);
        return;
    }
    char *v = ksm_arena_strndup(p->body->arena, s, n);
    if (nd->flags & N_LIST) {
        size_t *cnt = (size_t *)((char *)p->item + nd->count_off);
        const char **slot =
            vec_push(p->body->arena, (char *)p->item + nd->off, cnt, sizeof(char *));
        *slot = v;
        return;
    }
    const char **field = (const char **)((char *)p->item + nd->off);
    if (*field) {
        fail(p, KSM_E_MALFORMED_XML, "%s given twice", nd->name);
        return;
    }
    *field = v;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct ksm_s3_xml_parser *p = ud;
    if (p->err)
        return;
    if (p->skip) {
        p->skip--;
        return;
    }
    const struct node *nd = &p->def->nodes[p->stack[p->depth - 1]];
    if (nd->flags & N_LEAF)
        store_leaf(p, nd);
    else if (nd->close)
        nd->close(p);
    p->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct ksm_s3_xml_parser *p = ud;
    if (p->err || p->skip || p->depth == 0)
        return;
    const struct node *nd = &p->def->nodes[p->stack[p->depth - 1]];
    if (!(nd->flags & N_LEAF)) {
        for (int i = 0; i < len; i++)
            if (!strchr(" \t\r\n", s[i])) {
                fail(p, KSM_E_MALFORMED_XML, "text is not allowed in %s", nd->name);
                return;
            }
        return;
    }
    if (p->text.len + (size_t)len > nd->max) {
        enum ksm_err e = nd->too_long ? nd->too_long : KSM_E_MALFORMED_XML;
        fail(p, e, "%s is longer than %zu bytes", cur_name(p), nd->max);
        return;
    }
    ksm_buf_append(&p->text, s, (size_t)len);
}

/* DTDs are where entities are declared; refusing the DOCTYPE refuses billion laughs, external
 * entities and every other DTD trick before expat acts on any of them. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    fail(ud, KSM_E_MALFORMED_XML, "DTDs are not allowed");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    fail(ud, KSM_E_MALFORMED_XML, "entity declarations are not allowed");
}

static int XMLCALL on_external_entity(XML_Parser xp, const XML_Char *context, const XML_Char *base,
                                      const XML_Char *sysid, const XML_Char *pubid)
{
    return XML_STATUS_ERROR; /* never loaded */
}

struct ksm_s3_xml_parser *ksm_s3_xml_parser_new(enum ksm_s3_xml_kind kind)
{
    struct ksm_s3_xml_parser *p;
    if ((unsigned)kind >= KSM_S3X__COUNT)
        return NULL;
    p = ksm_xcalloc(1, sizeof *p);
    p->kind = kind;
    p->def = &kinds[kind];
    p->xp = XML_ParserCreateNS(NULL, NS_SEP);
    if (!p->xp)
        abort(); /* out of memory: fatal in kasumi, as in ksm_xmalloc */
    p->body = ksm_xcalloc(1, sizeof *p->body);
    p->body->kind = kind;
    p->body->arena = ksm_arena_create(4096);
    p->item = p->body;
    XML_SetUserData(p->xp, p);
    XML_SetElementHandler(p->xp, on_start, on_end);
    XML_SetCharacterDataHandler(p->xp, on_text);
    XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
    XML_SetEntityDeclHandler(p->xp, on_entity_decl);
    XML_SetExternalEntityRefHandler(p->xp, on_external_entity);
    XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
    /* Unreachable with DTDs refused; set anyway so a future change cannot make it reachable. */
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(p->xp, 10.0f);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(p->xp, 64 << 10);
    return p;
}

enum ksm_err ksm_s3_xml_parser_feed(struct ksm_s3_xml_parser *p, const void *data, size_t n)
{
    if (p->err)
        return p->err;
    if (n > p->def->max_body - p->fed)
        return fail(p, KSM_E_XML_TOO_LARGE, "the XML body is larger than %zu bytes",
                    p->def->max_body);
    p->fed += n;
    if (XML_Parse(p->xp, data, (int)n, XML_FALSE) == XML_STATUS_ERROR && !p->err)
        fail(p, KSM_E_MALFORMED_XML, "not well-formed XML at line %lu column %lu: %s",
             (unsigned long)XML_GetCurrentLineNumber(p->xp),
             (unsigned long)XML_GetCurrentColumnNumber(p->xp),
             XML_ErrorString(XML_GetErrorCode(p->xp)));
    return p->err;
}

enum ksm_err ksm_s3_xml_parser_finish(struct ksm_s3_xml_parser *p, struct ksm_s3_body **out)
{
    *out = NULL;
    if (p->err)
        return p->err;
    if (XML_Parse(p->xp, "", 0, XML_TRUE) == XML_STATUS_ERROR && !p->err) {
        bool empty = !p->root_seen && XML_GetErrorCode(p->xp) == XML_ERROR_NO_ELEMENTS;
        if (!(empty && p->def->empty_ok))
            return fail(p, KSM_E_MALFORMED_XML, "%s",
                        empty ? "the body is empty" : XML_ErrorString(XML_GetErrorCode(p->xp)));
    }
    if (p->err)
        return p->err;
    *out = p->body;
    p->body = NULL;
    return KSM_E_OK;
}

const char *ksm_s3_xml_parser_detail(const struct ksm_s3_xml_parser *p)
{
    return p->err ? p->detail : "";
}

void ksm_s3_xml_parser_free(struct ksm_s3_xml_parser *p)
{
    if (!p)
        return;
    if (p->xp)
        XML_ParserFree(p->xp);
    ksm_s3_body_free(p->body);
    ksm_buf_free(&p->text);
    free(p);
}

void ksm_s3_body_free(struct ksm_s3_body *b)
{
    if (!b)
        return;
    ksm_arena_destroy(b->arena);
    free(b);
}

enum ksm_err ksm_s3_xml_parse(enum ksm_s3_xml_kind kind, const void *data, size_t n,
                              struct ksm_s3_body **out, char detail[KSM_S3_XML_DETAIL_MAX])
{
    struct ksm_s3_xml_parser *p = ksm_s3_xml_parser_new(kind);
    enum ksm_err e;
    *out = NULL;
    if (!p) {
        e = KSM_E_INTERNAL;
        if (detail)
            snprintf(detail, KSM_S3_XML_DETAIL_MAX, "unknown XML body kind");
        return e;
    }
    e = ksm_s3_xml_parser_feed(p, data, n);
    if (e == KSM_E_OK)
        e = ksm_s3_xml_parser_finish(p, out);
    if (detail)
        snprintf(detail, KSM_S3_XML_DETAIL_MAX, "%s", ksm_s3_xml_parser_detail(p));
    ksm_s3_xml_parser_free(p);
    return e;
}
