/* audit_verify.c — the offline verifier: reads every segment of a log directory in order and checks
 * each line's syntax, the hash chain across segments, seq continuity, segment numbering, every
 * checkpoint and seal signature against a public key kept outside the directory, that every segment
 * but the last ends in its seal, and that no record sits after the last signature. The files are
 * untrusted: any byte sequence must produce a report, never a crash. */
#include "audit/audit_int.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct verifier {
    struct ksm_buf *report;
    EVP_PKEY *key;
    char prev[KSM_AUDIT_HASH_HEX + 1];   /* what the next line's prev must be */
    uint64_t seq;                        /* last record seq */
    uint64_t records, checkpoints, seals, last_signed;
    /* the first record not yet covered by a signature */
    bool unsigned_pending;
    char unsigned_file[KSM_AUDIT_SEG_NAME];
    size_t unsigned_line;
    uint64_t unsigned_seq;
    bool last_sealed;
};

static int bad(struct verifier *v, const char *file, size_t line, uint64_t seq, const char *why)
{
    ksm_buf_printf(v->report, "%s line %zu (seq %" PRIu64 "): %s\n", file, line, seq, why);
    return -1;
}

static int check_signed(struct verifier *v, const char *file, size_t lineno, const char *p,
                        size_t n, const struct ksm_audit_line *l, bool last_line)
{
    if (l->seq != v->seq)
        return bad(v, file, lineno, l->seq, "signed seq is not the last record's seq");
    if (!ksm_audit_line_sig_ok(v->key, p, n, l))
        return bad(v, file, lineno, l->seq, "signature invalid");
    if (l->kind == KSM_AUDIT_SEAL && strcmp(l->segment, file))
        return bad(v, file, lineno, l->seq, "seal names another segment");
    if (l->kind == KSM_AUDIT_SEAL && !last_line)
        return bad(v, file, lineno, l->seq, "lines after the seal");
    v->unsigned_pending = false;
    v->last_signed = l->seq;
    v->checkpoints += l->kind == KSM_AUDIT_CHECKPOINT;
    v->seals += l->kind == KSM_AUDIT_SEAL;
    return 0;
}

static int check_line(struct verifier *v, const char *file, size_t lineno, const char *p, size_t n,
                      bool last_line)
{
    struct ksm_audit_line l;
    const char *why;
    char msg[160];
    int rc = -1;
    if (ksm_audit_line_parse(p, n, &l, &why))
        return bad(v, file, lineno, v->seq + 1, why);
    if (strcmp(l.prev, v->prev)) {
        snprintf(msg, sizeof msg, "hash chain broken: prev is not the hash of the line before%s",
                 lineno == 1 ? " (the previous segment's last line, or genesis)" : "");
        bad(v, file, lineno, l.seq, msg);
        goto out;
    }
    if (l.kind == KSM_AUDIT_RECORD) {
        if (l.seq != v->seq + 1) {
            snprintf(msg, sizeof msg, "sequence gap: expected seq %" PRIu64, v->seq + 1);
            bad(v, file, lineno, l.seq, msg);
            goto out;
        }
        v->seq = l.seq;
        v->records++;
        if (!v->unsigned_pending) {
            v->unsigned_pending = true;
            snprintf(v->unsigned_file, sizeof v->unsigned_file, "%s", file);
            v->unsigned_line = lineno;
            v->unsigned_seq = l.seq;
        }
    } else if (check_signed(v, file, lineno, p, n, &l, last_line)) {
        goto out;
    }
    v->last_sealed = l.kind == KSM_AUDIT_SEAL;
    ksm_sha256_hex(p, n, v->prev);
    rc = 0;
out:
    json_decref(l.obj);
    return rc;
}

static int check_segment(struct verifier *v, const char *dir, const char *file, bool last_seg)
{
    char path[4096];
    size_t len, lineno = 0;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *p = ksm_read_file(path, &len);
    int rc = -1;
    if (!p) {
        ksm_buf_printf(v->report, "%s: cannot read: %s\n", file, strerror(errno));
        return -1;
    }
    v->last_sealed = false;
    for (size_t off = 0; off < len;) {
        const char *nl = memchr(p + off, '\n', len - off);
        lineno++;
        if (!nl) {
            bad(v, file, lineno, v->seq + 1, "truncated line (no newline at the end of the file)");
            goto out;
        }
        size_t n = (size_t)(nl - p) - off;
        if (check_line(v, file, lineno, p + off, n, off + n + 1 == len))
            goto out;
        off += n + 1;
    }
    if (!last_seg && !v->last_sealed) {
        bad(v, file, lineno, v->seq, "segment does not end with its seal, yet a later one exists");
        goto out;
    }
    rc = 0;
out:
    free(p);
    return rc;
}

static int check_numbering(struct verifier *v, const uint32_t *segs, size_t i)
{
    char name[KSM_AUDIT_SEG_NAME], missing[KSM_AUDIT_SEG_NAME], msg[96];
    uint32_t expect = i ? segs[i - 1] + 1 : 1;
    if (segs[i] == expect)
        return 0;
    ksm_audit_seg_name(segs[i], name);
    ksm_audit_seg_name(expect, missing);
    snprintf(msg, sizeof msg, "segment %s is missing", missing);
    return bad(v, name, 1, v->seq + 1, msg);
}

static void summary(struct verifier *v, size_t nsegs)
{
    ksm_buf_printf(v->report,
                   "intact: %zu segments, %" PRIu64 " records (seq 1..%" PRIu64 "), %" PRIu64
                   " checkpoints, %" PRIu64 " seals; last signed seq %" PRIu64
                   ", last line hash %s; last segment %s\n",
                   nsegs, v->records, v->seq, v->checkpoints, v->seals, v->last_signed, v->prev,
                   v->last_sealed ? "sealed" : "open (being written, or the writer crashed)");
}

int ksm_audit_verify(const char *dir, const char *public_key_pem_path, struct ksm_buf *report)
{
    struct verifier v;
    uint32_t *segs = NULL;
    size_t nsegs = 0;
    char err[512], name[KSM_AUDIT_SEG_NAME];
    int rc = -1;
    memset(&v, 0, sizeof v);
    v.report = report;
    memcpy(v.prev, ksm_audit_zero_hash, sizeof v.prev);
    if (!(v.key = ksm_audit_pubkey_load(public_key_pem_path, err, sizeof err))) {
        ksm_buf_printf(report, "%s\n", err);
        goto out;
    }
    if (ksm_audit_seg_list(dir, &segs, &nsegs)) {
        ksm_buf_printf(report, "%s: %s\n", dir, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < nsegs; i++) {
        ksm_audit_seg_name(segs[i], name);
        if (check_numbering(&v, segs, i) || check_segment(&v, dir, name, i + 1 == nsegs))
            goto out;
    }
    if (v.unsigned_pending) {
        bad(&v, v.unsigned_file, v.unsigned_line, v.unsigned_seq,
            "record after the last signature (unsigned: truncated or appended without the key)");
        goto out;
    }
    summary(&v, nsegs);
    rc = 0;
out:
    EVP_PKEY_free(v.key);
    free(segs);
    return rc;
}
