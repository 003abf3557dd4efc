/* export_tar_read.c — a streaming reader of POSIX tar archives (ustar with pax extended headers),
 * for `kasumi export verify`. It parses untrusted bytes: every field is checked, sizes are bounded,
 * and nothing is allocated in proportion to the input except a pax header (capped). */
#include "lifecycle/export_tar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define PAX_MAX (1u << 20) /* a pax header larger than this is refused */

enum { S_HEADER, S_DATA, S_PAD, S_END, S_FAILED };

void ksm_tar_reader_init(struct ksm_tar_reader *t, const struct ksm_tar_cbs *cb)
{
    memset(t, 0, sizeof *t);
    t->cb = *cb;
    t->pax_size = -1;
}

void ksm_tar_reader_free(struct ksm_tar_reader *t)
{
    ksm_buf_free(&t->pax);
    free(t->pax_path);
    t->pax_path = NULL;
}

static int fail(struct ksm_tar_reader *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(struct ksm_tar_reader *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
    t->state = S_FAILED;
    return -1;
}

/* An octal field: optional leading spaces, digits, then NULs or spaces to the end. */
static int parse_octal(const unsigned char *f, size_t width, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < width && f[i] == ' ')
        i++;
    size_t digits = 0;
    for (; i < width && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < width; i++)
        if (f[i] != '\0' && f[i] != ' ')
            return -1;
    if (!digits)
        return -1;
    *out = v;
    return 0;
}

static bool checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (parse_octal(h + 148, 8, &want))
        return false;
    uint64_t sum = 0;
    for (size_t i = 0; i < KSM_TAR_BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

static bool all_zero(const unsigned char *b)
{
    for (size_t i = 0; i < KSM_TAR_BLOCK; i++)
        if (b[i])
            return false;
    return true;
}

/* The pax records of t->pax: path and size are kept for the next entry, the rest ignored. */
static int parse_pax(struct ksm_tar_reader *t, bool global)
{
    const char *p = t->pax.data ? t->pax.data : "", *end = p + t->pax.len;
    while (p < end) {
        char *q;
        unsigned long long len = strtoull(p, &q, 10);
        if (q == p || *q != ' ' || len < 5 || len > (unsigned long long)(end - p) ||
            p[len - 1] != '\n')
            return fail(t, "malformed pax record");
        const char *kv = q + 1, *rec_end = p + len - 1;
        const char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
        if (!eq || eq == kv)
            return fail(t, "malformed pax record");
        size_t klen = (size_t)(eq - kv), vlen = (size_t)(rec_end - eq - 1);
        const char *v = eq + 1;
        if (!global && klen == 4 && !memcmp(kv, "path", 4)) {
            if (vlen == 0 || vlen > KSM_TAR_NAME_MAX || memchr(v, '\0', vlen))
                return fail(t, "bad pax path");
            free(t->pax_path);
            t->pax_path = ksm_xmalloc(vlen + 1);
            memcpy(t->pax_path, v, vlen);
            t->pax_path[vlen] = '\0';
        } else if (!global && klen == 4 && !memcmp(kv, "size", 4)) {
            uint64_t s = 0;
            if (vlen == 0 || vlen > 19)
                return fail(t, "bad pax size");
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return fail(t, "bad pax size");
                s = s * 10 + (uint64_t)(v[i] - '0');
            }
            t->pax_size = (int64_t)s;
        }
        p += len;
    }
    return 0;
}

/* The entry whose header is in t->block. */
static int start_entry(struct ksm_tar_reader *t)
{
    const unsigned char *h = t->block;
    if (all_zero(h)) {
        if (++t->zero_blocks == 2)
            t->state = S_END;
        return 0;
    }
    if (t->zero_blocks)
        return fail(t, "a lone zero block inside the archive");
    if (memcmp(h + 257, "ustar", 5))
        return fail(t, "not a ustar header");
    if (!checksum_ok(h))
        return fail(t, "header checksum mismatch");
    uint64_t size;
    if (parse_octal(h + 124, 12, &size))
        return fail(t, "bad size field");
    char type = (char)h[156];
    if (type == 'x' || type == 'g') {
        if (size > PAX_MAX)
            return fail(t, "pax header too large");
        ksm_buf_reset(&t->pax);
        t->in_file = false;
        t->left = size;
        t->pad = ksm_tar_pad(size);
        t->block[0] = (unsigned char)type; /* remembered for the end of its data */
        t->have = 0;
        if (size == 0)
            return parse_pax(t, type == 'g');
        t->state = S_DATA;
        return 0;
    }
    if (t->pax_size >= 0)
        size = (uint64_t)t->pax_size;
    char name[KSM_TAR_NAME_MAX + 260];
    if (t->pax_path) {
        snprintf(name, sizeof name, "%s", t->pax_path);
    } else {
        char base[101], prefix[156];
        memcpy(base, h, 100);
        base[100] = '\0';
        memcpy(prefix, h + 345, 155);
        prefix[155] = '\0';
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "/" : "", base);
    }
    free(t->pax_path);
    t->pax_path = NULL;
    t->pax_size = -1;
    if (!*name)
        return fail(t, "an entry without a name");
    t->left = size;
    t->pad = ksm_tar_pad(size);
    t->have = 0;
    if (type == '5') {
        if (size)
            return fail(t, "a directory with data");
        t->in_file = false;
        return 0;
    }
    if (type != '0' && type != '\0')
        return fail(t, "unsupported entry type '%c' for %.80s",
                    type >= 0x20 && type < 0x7f ? type : '?', name);
    t->in_file = true;
    if (t->cb.begin && t->cb.begin(t->cb.arg, name, size))
        return fail(t, "refused: %.120s", name);
    if (size == 0) {
        t->in_file = false;
        if (t->cb.end && t->cb.end(t->cb.arg))
            return fail(t, "refused: %.120s", name);
        return 0;
    }
    t->state = S_DATA;
    return 0;
}

/* The data of the current entry (or pax header) ended. */
static int end_data(struct ksm_tar_reader *t)
{
    t->state = t->pad ? S_PAD : S_HEADER;
    if (t->in_file) {
        t->in_file = false;
        if (t->cb.end && t->cb.end(t->cb.arg))
            return fail(t, "refused at the end of a file");
        return 0;
    }
    if (t->block[0] == 'x' || t->block[0] == 'g')
        return parse_pax(t, t->block[0] == 'g');
    return 0;
}

int ksm_tar_reader_feed(struct ksm_tar_reader *t, const char *p, size_t n)
{
    while (n) {
        switch (t->state) {
        case S_FAILED:
            return -1;
        case S_END:
            /* trailing zeros (tar pads to its record size) are fine; anything else is not */
            for (size_t i = 0; i < n; i++)
                if (p[i])
                    return fail(t, "data after the end of the archive");
            return 0;
        case S_HEADER: {
            size_t k = KSM_TAR_BLOCK - t->have < n ? KSM_TAR_BLOCK - t->have : n;
            memcpy(t->block + t->have, p, k);
            t->have += k, p += k, n -= k;
            if (t->have == KSM_TAR_BLOCK) {
                t->have = 0;
                if (start_entry(t))
                    return -1;
            }
            break;
        }
        case S_DATA: {
            size_t k = t->left < n ? (size_t)t->left : n;
            if (t->in_file) {
                if (t->cb.data && t->cb.data(t->cb.arg, p, k))
                    return fail(t, "refused in the middle of a file");
            } else if (t->block[0] == 'x' || t->block[0] == 'g') {
                ksm_buf_append(&t->pax, p, k);
            }
            t->left -= k, p += k, n -= k;
            if (t->left == 0 && end_data(t))
                return -1;
            break;
        }
        case S_PAD: {
            size_t k = t->pad < n ? t->pad : n;
            t->pad -= k, p += k, n -= k;
            if (t->pad == 0)
                t->state = S_HEADER;
            break;
        }
        }
    }
    return t->state == S_FAILED ? -1 : 0;
}

int ksm_tar_reader_finish(struct ksm_tar_reader *t)
{
    if (t->state == S_FAILED)
        return -1;
    if (t->state != S_END)
        return fail(t, "truncated: the archive has no end");
    return 0;
}
