/* s3_xml_write.c — writes S3 response bodies. A tiny element writer (open, close, escaped text)
 * carries every byte; one typed function per response lays out the elements in the order S3 sends
 * them. No user string reaches the buffer without ksm_xw_escape(), and the output is always
 * well-formed XML 1.0, even for keys XML cannot carry (see docs/s3-xml.md). */
#include "storage/s3_xml.h"

#include <inttypes.h>
#include <string.h>

#include "core/util.h"

static const char XML_DECL[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* ---- the element writer ---- */

void ksm_xw_begin(struct ksm_xw *w, struct ksm_buf *b, const char *root, bool ns)
{
    w->b = b;
    w->depth = 0;
    w->replaced = 0;
    ksm_buf_puts(b, XML_DECL);
    if (ns) {
        ksm_buf_printf(b, "<%s xmlns=\"%s\">", root, KSM_S3_XMLNS);
        w->stack[w->depth++] = root;
    } else {
        ksm_xw_open(w, root);
    }
}

void ksm_xw_open(struct ksm_xw *w, const char *name)
{
    ksm_buf_printf(w->b, "<%s>", name);
    if (w->depth < KSM_XW_MAX_DEPTH) /* our layouts are 4 deep; the names are literals */
        w->stack[w->depth++] = name;
}

void ksm_xw_close(struct ksm_xw *w)
{
    if (w->depth > 0)
        ksm_buf_printf(w->b, "</%s>", w->stack[--w->depth]);
}

size_t ksm_xw_end(struct ksm_xw *w)
{
    while (w->depth > 0)
        ksm_xw_close(w);
    return w->replaced;
}

/* Length of the valid UTF-8 sequence at s (1..4) with its code point, or 0 if it is not valid. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    static const struct {
        unsigned char mask, lead;
        size_t len;
        unsigned min;
    } forms[] = {
        {0xe0, 0xc0, 2, 0x80},
        {0xf0, 0xe0, 3, 0x800},
        {0xf8, 0xf0, 4, 0x10000},
    };
    for (size_t f = 0; f < KSM_NELEM(forms); f++) {
        if ((s[0] & forms[f].mask) != forms[f].lead)
            continue;
        size_t len = forms[f].len;
        unsigned c = s[0] & (0x7fu >> len);
        if (n < len)
            return 0;
        for (size_t i = 1; i < len; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            c = c << 6 | (s[i] & 0x3f);
        }
        if (c < forms[f].min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        *cp = c;
        return len;
    }
    return 0;
}

/* The five markup characters, plus CR, LF and TAB as references so that a parser's end-of-line and
 * white-space normalisation cannot change a key (S3 documents the same replacements). */
static const char *const ascii_entity[0x80] = {
    ['&'] = "&amp;",   ['<'] = "&lt;",   ['>'] = "&gt;",   ['"'] = "&quot;",
    ['\''] = "&apos;", ['\r'] = "&#13;", ['\n'] = "&#10;", ['\t'] = "&#9;",
};

void ksm_xw_escape(struct ksm_xw *w, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0; /* run: bytes at s + i - run that need no escaping */
    while (i < n) {
        const char *ent = NULL;
        size_t len = 1;
        unsigned cp;
        if (s[i] < 0x80) {
            ent = ascii_entity[s[i]];
            if (!ent && s[i] < 0x20)
                ent = REPLACEMENT; /* C0 controls are not XML 1.0 characters at all */
        } else {
            len = utf8_next(s + i, n - i, &cp);
            if (len == 0 || cp == 0xfffe || cp == 0xffff)
                ent = REPLACEMENT, len = len ? len : 1;
        }
        if (!ent) {
            i += len, run += len;
            continue;
        }
        ksm_buf_append(w->b, s + i - run, run);
        ksm_buf_puts(w->b, ent);
        w->replaced += ent == REPLACEMENT;
        i += len;
        run = 0;
    }
    ksm_buf_append(w->b, s + i - run, run);
}

void ksm_xw_str(struct ksm_xw *w, const char *name, const char *s)
{
    if (!s)
        return;
    ksm_buf_printf(w->b, "<%s>", name);
    ksm_xw_escape(w, s, strlen(s));
    ksm_buf_printf(w->b, "</%s>", name);
}

void ksm_s3_url_encode(struct ksm_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-_./*", c))
            ksm_buf_putc(b, (char)c);
        else if (c == ' ')
            ksm_buf_putc(b, '+');
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            ksm_buf_append(b, e, 3);
        }
    }
}

void ksm_xw_key(struct ksm_xw *w, const char *name, const char *s, bool url)
{
    struct ksm_buf enc = KSM_BUF_INIT;
    if (!s || !url) {
        ksm_xw_str(w, name, s);
        return;
    }
    ksm_s3_url_encode(&enc, s);
    ksm_xw_str(w, name, enc.data ? enc.data : "");
    ksm_buf_free(&enc);
}

void ksm_xw_int(struct ksm_xw *w, const char *name, int64_t v)
{
    ksm_buf_printf(w->b, "<%s>%" PRId64 "</%s>", name, v, name);
}

void ksm_xw_bool(struct ksm_xw *w, const char *name, bool v)
{
    ksm_buf_printf(w->b, "<%s>%s</%s>", name, v ? "true" : "false", name);
}

void ksm_xw_time(struct ksm_xw *w, const char *name, int64_t ms)
{
    char t[32];
    ksm_rfc3339_ms(ms, t);
    ksm_xw_str(w, name, t);
}

void ksm_xw_etag(struct ksm_xw *w, const char *name, const char *etag)
{
    size_t n;
    if (!etag)
        return;
    n = strlen(etag);
    ksm_buf_printf(w->b, "<%s>", name);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
        ksm_xw_escape(w, etag, n);
    } else {
        ksm_xw_escape(w, "\"", 1);
        ksm_xw_escape(w, etag, n);
        ksm_xw_escape(w, "\"", 1);
    }
    ksm_buf_printf(w->b, "</%s>", name);
}

/* ---- shared pieces ---- */

static void write_owner(struct ksm_xw *w, const char *elem, const struct ksm_s3_owner *o)
{
    ksm_xw_open(w, elem);
    ksm_xw_str(w, "ID", o->id ? o->id : "");
    if (o->display_name)
        ksm_xw_str(w, "DisplayName", o->display_name);
    ksm_xw_close(w);
}

static void write_prefixes(struct ksm_xw *w, const char *const *p, size_t n, bool url)
{
    for (size_t i = 0; i < n; i++) {
        ksm_xw_open(w, "CommonPrefixes");
        ksm_xw_key(w, "Prefix", p[i], url);
        ksm_xw_close(w);
    }
}

/* ---- one function per response ---- */

size_t ksm_s3_write_error(struct ksm_buf *b, const struct ksm_s3_error *e)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "Error", false); /* S3's errors carry no namespace */
    ksm_xw_str(&w, "Code", e->code ? e->code : ksm_err_s3_code(e->err));
    ksm_xw_str(&w, "Message", e->message ? e->message : ksm_err_message(e->err));
    ksm_xw_str(&w, "BucketName", e->bucket);
    ksm_xw_str(&w, "Key", e->key);
    for (size_t i = 0; i + 1 < 2 * e->nextra; i += 2)
        ksm_xw_str(&w, e->extra[i], e->extra[i + 1]);
    ksm_xw_str(&w, "Resource", e->resource);
    ksm_xw_str(&w, "RequestId", e->request_id);
    ksm_xw_str(&w, "HostId", e->host_id);
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_list_buckets(struct ksm_buf *b, const struct ksm_s3_list_buckets *l)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "ListAllMyBucketsResult", true);
    write_owner(&w, "Owner", &l->owner);
    ksm_xw_open(&w, "Buckets");
    for (size_t i = 0; i < l->nbuckets; i++) {
        const struct ksm_s3_bucket_entry *e = &l->buckets[i];
        ksm_xw_open(&w, "Bucket");
        ksm_xw_str(&w, "Name", e->name);
        ksm_xw_time(&w, "CreationDate", e->created_ms);
        ksm_xw_str(&w, "BucketRegion", e->region);
        ksm_xw_close(&w);
    }
    ksm_xw_close(&w);
    ksm_xw_str(&w, "ContinuationToken", l->continuation_token);
    ksm_xw_str(&w, "Prefix", l->prefix);
    return ksm_xw_end(&w);
}

static void write_object(struct ksm_xw *w, const struct ksm_s3_list_objects *l,
                         const struct ksm_s3_object_entry *o)
{
    ksm_xw_open(w, "Contents");
    ksm_xw_key(w, "Key", o->key, l->url);
    ksm_xw_time(w, "LastModified", o->mtime_ms);
    ksm_xw_etag(w, "ETag", o->etag);
    ksm_xw_int(w, "Size", o->size);
    if (o->owner && (l->version == 1 || l->fetch_owner))
        write_owner(w, "Owner", o->owner);
    ksm_xw_str(w, "StorageClass", o->storage_class ? o->storage_class : "STANDARD");
    ksm_xw_close(w);
}

size_t ksm_s3_write_list_objects(struct ksm_buf *b, const struct ksm_s3_list_objects *l)
{
    struct ksm_xw w;
    bool v2 = l->version == 2;
    ksm_xw_begin(&w, b, "ListBucketResult", true);
    ksm_xw_str(&w, "Name", l->bucket);
    ksm_xw_key(&w, "Prefix", l->prefix ? l->prefix : "", l->url);
    if (v2) {
        ksm_xw_str(&w, "ContinuationToken", l->continuation_token); /* opaque: never encoded */
        ksm_xw_str(&w, "NextContinuationToken", l->truncated ? l->next_continuation_token : NULL);
        ksm_xw_key(&w, "StartAfter", l->start_after, l->url);
        ksm_xw_int(&w, "KeyCount", (int64_t)(l->nobjects + l->nprefixes));
    } else {
        ksm_xw_key(&w, "Marker", l->marker ? l->marker : "", l->url);
        /* S3 sends NextMarker only when a delimiter was given; without one, clients use the
         * last key. */
        if (l->truncated && l->delimiter && *l->delimiter)
            ksm_xw_key(&w, "NextMarker", l->next_marker, l->url);
    }
    ksm_xw_int(&w, "MaxKeys", l->max_keys);
    if (l->delimiter && *l->delimiter)
        ksm_xw_key(&w, "Delimiter", l->delimiter, l->url);
    if (l->url)
        ksm_xw_str(&w, "EncodingType", "url");
    ksm_xw_bool(&w, "IsTruncated", l->truncated);
    for (size_t i = 0; i < l->nobjects; i++)
        write_object(&w, l, &l->objects[i]);
    write_prefixes(&w, l->prefixes, l->nprefixes, l->url);
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_location(struct ksm_buf *b, const char *region)
{
    ksm_buf_puts(b, XML_DECL);
    ksm_buf_puts(b, "<LocationConstraint xmlns=\"" KSM_S3_XMLNS "\">");
    struct ksm_xw w = {.b = b};
    ksm_xw_escape(&w, region ? region : "", region ? strlen(region) : 0);
    ksm_buf_puts(b, "</LocationConstraint>");
    return w.replaced;
}

size_t ksm_s3_write_initiate_mpu(struct ksm_buf *b, const char *bucket, const char *key,
                                 const char *upload_id)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "InitiateMultipartUploadResult", true);
    ksm_xw_str(&w, "Bucket", bucket);
    ksm_xw_str(&w, "Key", key);
    ksm_xw_str(&w, "UploadId", upload_id);
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_complete_mpu(struct ksm_buf *b, const char *location, const char *bucket,
                                 const char *key, const char *etag)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "CompleteMultipartUploadResult", true);
    ksm_xw_str(&w, "Location", location);
    ksm_xw_str(&w, "Bucket", bucket);
    ksm_xw_str(&w, "Key", key);
    ksm_xw_etag(&w, "ETag", etag);
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_list_parts(struct ksm_buf *b, const struct ksm_s3_list_parts *l)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "ListPartsResult", true);
    ksm_xw_str(&w, "Bucket", l->bucket);
    ksm_xw_str(&w, "Key", l->key);
    ksm_xw_str(&w, "UploadId", l->upload_id);
    write_owner(&w, "Initiator", &l->initiator);
    write_owner(&w, "Owner", &l->owner);
    ksm_xw_str(&w, "StorageClass", l->storage_class ? l->storage_class : "STANDARD");
    ksm_xw_int(&w, "PartNumberMarker", l->part_number_marker);
    if (l->truncated)
        ksm_xw_int(&w, "NextPartNumberMarker", l->next_part_number_marker);
    ksm_xw_int(&w, "MaxParts", l->max_parts);
    ksm_xw_bool(&w, "IsTruncated", l->truncated);
    for (size_t i = 0; i < l->nparts; i++) {
        const struct ksm_s3_part_entry *p = &l->parts[i];
        ksm_xw_open(&w, "Part");
        ksm_xw_int(&w, "PartNumber", p->number);
        ksm_xw_time(&w, "LastModified", p->mtime_ms);
        ksm_xw_etag(&w, "ETag", p->etag);
        ksm_xw_int(&w, "Size", p->size);
        ksm_xw_close(&w);
    }
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_list_uploads(struct ksm_buf *b, const struct ksm_s3_list_uploads *l)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "ListMultipartUploadsResult", true);
    ksm_xw_str(&w, "Bucket", l->bucket);
    ksm_xw_key(&w, "KeyMarker", l->key_marker ? l->key_marker : "", l->url);
    ksm_xw_str(&w, "UploadIdMarker", l->upload_id_marker ? l->upload_id_marker : "");
    if (l->truncated) {
        ksm_xw_key(&w, "NextKeyMarker", l->next_key_marker, l->url);
        ksm_xw_str(&w, "NextUploadIdMarker", l->next_upload_id_marker);
    }
    if (l->delimiter && *l->delimiter)
        ksm_xw_key(&w, "Delimiter", l->delimiter, l->url);
    if (l->prefix && *l->prefix)
        ksm_xw_key(&w, "Prefix", l->prefix, l->url);
    ksm_xw_int(&w, "MaxUploads", l->max_uploads);
    if (l->url)
        ksm_xw_str(&w, "EncodingType", "url");
    ksm_xw_bool(&w, "IsTruncated", l->truncated);
    for (size_t i = 0; i < l->nuploads; i++) {
        const struct ksm_s3_upload_entry *u = &l->uploads[i];
        ksm_xw_open(&w, "Upload");
        ksm_xw_key(&w, "Key", u->key, l->url);
        ksm_xw_str(&w, "UploadId", u->upload_id);
        write_owner(&w, "Initiator", &u->initiator);
        write_owner(&w, "Owner", &u->owner);
        ksm_xw_str(&w, "StorageClass", u->storage_class ? u->storage_class : "STANDARD");
        ksm_xw_time(&w, "Initiated", u->initiated_ms);
        ksm_xw_close(&w);
    }
    write_prefixes(&w, l->prefixes, l->nprefixes, l->url);
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_copy_result(struct ksm_buf *b, bool part, int64_t mtime_ms, const char *etag)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, part ? "CopyPartResult" : "CopyObjectResult", true);
    ksm_xw_time(&w, "LastModified", mtime_ms);
    ksm_xw_etag(&w, "ETag", etag);
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_delete_result(struct ksm_buf *b, const struct ksm_s3_delete_entry *e, size_t n,
                                  bool quiet)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "DeleteResult", true);
    for (size_t i = 0; i < n; i++) {
        bool ok = e[i].err == KSM_E_OK;
        if (ok && quiet)
            continue;
        ksm_xw_open(&w, ok ? "Deleted" : "Error");
        ksm_xw_str(&w, "Key", e[i].key);
        ksm_xw_str(&w, "VersionId", e[i].version_id);
        if (ok) {
            if (e[i].delete_marker) {
                ksm_xw_bool(&w, "DeleteMarker", true);
                ksm_xw_str(&w, "DeleteMarkerVersionId", e[i].delete_marker_version_id);
            }
        } else {
            ksm_xw_str(&w, "Code", ksm_err_s3_code(e[i].err));
            ksm_xw_str(&w, "Message", e[i].message ? e[i].message : ksm_err_message(e[i].err));
        }
        ksm_xw_close(&w);
    }
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_tagging(struct ksm_buf *b, const struct ksm_s3_tag *tags, size_t n)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "Tagging", true);
    ksm_xw_open(&w, "TagSet");
    for (size_t i = 0; i < n; i++) {
        ksm_xw_open(&w, "Tag");
        ksm_xw_str(&w, "Key", tags[i].key);
        ksm_xw_str(&w, "Value", tags[i].value ? tags[i].value : "");
        ksm_xw_close(&w);
    }
    return ksm_xw_end(&w);
}

size_t ksm_s3_write_versioning(struct ksm_buf *b, const char *status, const char *mfa_delete)
{
    struct ksm_xw w;
    ksm_xw_begin(&w, b, "VersioningConfiguration", true);
    ksm_xw_str(&w, "Status", status);
    ksm_xw_str(&w, "MfaDelete", mfa_delete);
    return ksm_xw_end(&w);
}
