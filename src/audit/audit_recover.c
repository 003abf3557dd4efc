/* audit_recover.c — finding where the log ends when it is opened. The writer puts a batch's records
 * and its signed checkpoint in one write() and acknowledges nothing before fdatasync, so after a
 * crash anything past the last signed line was never acknowledged: it is cut off (with a warning).
 * Damage before the last signed line is not a crash but tampering or a bad disk: open refuses, and
 * the operator runs the verifier. */
#include "audit/audit_int.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct scan {
    size_t sig_end;                        /* offset just past the last signed line */
    size_t sig_off;                        /* where that line starts */
    uint64_t sig_seq;
    char sig_hash[KSM_AUDIT_HASH_HEX + 1]; /* its hash: the next line's prev */
    bool sealed;
    size_t bad_off;                        /* first line that is not intact (or the file size) */
    const char *why;
};

static bool signed_line_follows(const char *p, size_t len, size_t off)
{
    const char *nl = memchr(p + off, '\n', len - off);
    while (nl) {
        size_t start = (size_t)(nl - p) + 1;
        nl = memchr(p + start, '\n', len - start);
        if (!nl)
            break;
        struct ksm_audit_line l;
        const char *why;
        if (!ksm_audit_line_parse(p + start, (size_t)(nl - p) - start, &l, &why)) {
            json_decref(l.obj);
            if (l.kind != KSM_AUDIT_RECORD)
                return true;
        }
    }
    return false;
}

/* Walks the lines of one segment, checking syntax, the chain inside it and seq continuity. */
static void scan_segment(const char *p, size_t len, struct scan *s)
{
    char last[KSM_AUDIT_HASH_HEX + 1] = "";
    uint64_t seq = 0;
    size_t off = 0;
    memset(s, 0, sizeof *s);
    while (off < len) {
        const char *nl = memchr(p + off, '\n', len - off);
        if (!nl) {
            s->why = "torn final line";
            break;
        }
        size_t n = (size_t)(nl - p) - off;
        struct ksm_audit_line l;
        if (ksm_audit_line_parse(p + off, n, &l, &s->why))
            break;
        json_decref(l.obj);
        bool chain_ok = !last[0] || !strcmp(l.prev, last);
        bool seq_ok = l.kind == KSM_AUDIT_RECORD ? (!seq || l.seq == seq + 1) : (!seq || l.seq == seq);
        if (!chain_ok || !seq_ok) {
            s->why = chain_ok ? "sequence gap" : "hash chain broken";
            break;
        }
        ksm_sha256_hex(p + off, n, last);
        if (l.kind == KSM_AUDIT_RECORD || !seq)
            seq = l.seq;
        if (l.kind != KSM_AUDIT_RECORD) {
            s->sig_off = off;
            s->sig_end = off + n + 1;
            s->sig_seq = seq;
            s->sealed = l.kind == KSM_AUDIT_SEAL;
            memcpy(s->sig_hash, last, sizeof last);
        }
        off += n + 1;
    }
    s->bad_off = off;
}

/* Checks the last signature and cuts what follows it. 1: the segment holds a signed state, 0: it
 * held none (now empty), -1: refused. */
static int settle_segment(const char *path, const char *name, const char *p, size_t len,
                          EVP_PKEY *key, struct scan *s, char *err, size_t errlen)
{
    if (s->bad_off < len && signed_line_follows(p, len, s->bad_off)) {
        snprintf(err, errlen, "audit log %s damaged at byte %zu (%s) before its last signed line; "
                 "run the verifier", name, s->bad_off, s->why);
        return -1;
    }
    if (s->sig_end) {
        struct ksm_audit_line l;
        const char *why;
        size_t n = s->sig_end - 1 - s->sig_off;
        bool ok = !ksm_audit_line_parse(p + s->sig_off, n, &l, &why) &&
                  ksm_audit_line_sig_ok(key, p + s->sig_off, n, &l);
        json_decref(l.obj);
        if (!ok) {
            snprintf(err, errlen, "audit log %s: the last signature does not verify with the "
                     "signing key; run the verifier", name);
            return -1;
        }
    }
    if (s->sig_end < len) {
        ksm_warn("audit: %s: cut %zu bytes after the last signed line (%s; never acknowledged)",
                 name, len - s->sig_end, s->why ? s->why : "unsigned records");
        if (truncate(path, (off_t)s->sig_end)) {
            snprintf(err, errlen, "%s: truncate: %s", path, strerror(errno));
            return -1;
        }
    }
    return s->sig_end ? 1 : 0;
}

/* Segments from the newest back: the first with a signed state gives the tail; newer ones with no
 * signed line at all (a crash right after a segment was started) are removed. */
int ksm_audit_recover(const char *dir, EVP_PKEY *key, struct ksm_audit_tail *t, char *err,
                      size_t errlen)
{
    uint32_t *segs = NULL;
    size_t nsegs = 0;
    char path[4096], name[KSM_AUDIT_SEG_NAME];
    memset(t, 0, sizeof *t);
    memcpy(t->last_hash, ksm_audit_zero_hash, sizeof t->last_hash);
    if (ksm_audit_seg_list(dir, &segs, &nsegs)) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    for (size_t i = nsegs; i-- > 0;) {
        ksm_audit_seg_name(segs[i], name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len;
        char *p = ksm_read_file(path, &len);
        if (!p) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        struct scan s;
        scan_segment(p, len, &s);
        int rc = settle_segment(path, name, p, len, key, &s, err, errlen);
        free(p);
        if (rc < 0)
            goto fail;
        if (rc > 0) {
            t->last_seq = s.sig_seq;
            memcpy(t->last_hash, s.sig_hash, sizeof t->last_hash);
            t->seg = segs[i];
            t->seg_size = s.sig_end;
            t->sealed = s.sealed;
            break;
        }
        ksm_warn("audit: %s held no signed line; removed", name);
        if (unlink(path) || ksm_fsync_dir(dir)) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
    }
    free(segs);
    return 0;
fail:
    free(segs);
    return -1;
}
