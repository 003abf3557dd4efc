/* audit_verify.c — the offline verifier: reads every segment of a log directory in order and checks
 * each line's syntax, the hash chain across segments, seq continuity, segment numbering, the
 * checkpoint and seal signatures against a public key kept outside the directory, that every segment
 * but the last ends in its seal, and that no record sits after the last signature. The files are
 * untrusted: any byte sequence must produce a report, never a crash. The same walk serves the CLI
 * (offline, the whole directory) and the daemon (live: up to the records acknowledged as durable,
 * while the writer keeps appending).
 *
 * Which signatures: a signed line signs its own prefix, whose prev is the hash of the chain up to
 * it, and the walk checks every line's prev against the hash it computed itself. So one valid
 * signature authenticates every line before it: a change anywhere before it changes the chain it
 * signs. The walk therefore checks each segment's seal and the last signed line, not every
 * checkpoint (Ed25519 verifies ~8,500 signatures/s here, and a quiet log has about one checkpoint
 * per record: a year of them is hours). When the log is not intact, the walk is run again checking
 * every signature, so the report names the first bad place exactly as a full check would. every_sig
 * asks for the full check from the start. */
#include "audit/audit_int.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct verifier {
    struct ksm_audit_verification *out;
    EVP_PKEY *key;
    uint64_t upto;                       /* live: stop at the signed line covering this seq */
    bool done;                           /* live: reached it */
    char prev[KSM_AUDIT_HASH_HEX + 1];   /* what the next line's prev must be */
    uint64_t seq;                        /* last record seq */
    uint64_t records, checkpoints, seals, last_signed;
    /* the first record not yet covered by a signature */
    bool unsigned_pending;
    char unsigned_file[KSM_AUDIT_SEG_NAME];
    size_t unsigned_line;
    uint64_t unsigned_seq;
    bool last_sealed;
    /* signatures: checked at every signed line, or only at seals and the last one (see above) */
    bool every_sig;
    uint64_t sigs_checked;
    struct ksm_buf pending;              /* the last checkpoint line, its signature not yet checked */
    char pending_file[KSM_AUDIT_SEG_NAME];
    size_t pending_line;
    uint64_t pending_seq;
};

static int bad(struct verifier *v, const char *file, size_t line, uint64_t seq, const char *why)
{
    struct ksm_audit_verification *o = v->out;
    o->intact = false;
    snprintf(o->bad_segment, sizeof o->bad_segment, "%s", file);
    o->bad_line = line;
    o->bad_seq = seq;
    snprintf(o->reason, sizeof o->reason, "%s", why);
    return -1;
}

/* The line's "time" (records, checkpoints and seals all carry one), "" when it has none. */
static void line_time(const struct ksm_audit_line *l, char *out, size_t n)
{
    const char *t = json_string_value(json_object_get(l->obj, "time"));
    snprintf(out, n, "%s", t ? t : "");
}

/* The checkpoint held back for its signature, checked now (at the end of the walk). */
static int check_pending(struct verifier *v)
{
    if (!v->pending.len)
        return 0;
    struct ksm_audit_line l;
    const char *why;
    int rc = 0;
    v->sigs_checked++;
    if (ksm_audit_line_parse(v->pending.data, v->pending.len, &l, &why) ||
        !ksm_audit_line_sig_ok(v->key, v->pending.data, v->pending.len, &l))
        rc = bad(v, v->pending_file, v->pending_line, v->pending_seq, "signature invalid");
    json_decref(l.obj);
    ksm_buf_reset(&v->pending);
    return rc;
}

static int check_signed(struct verifier *v, const char *file, size_t lineno, const char *p,
                        size_t n, const struct ksm_audit_line *l, bool last_line)
{
    if (l->seq != v->seq)
        return bad(v, file, lineno, l->seq, "signed seq is not the last record's seq");
    if (v->every_sig || l->kind == KSM_AUDIT_SEAL) {
        v->sigs_checked++;
        if (!ksm_audit_line_sig_ok(v->key, p, n, l))
            return bad(v, file, lineno, l->seq, "signature invalid");
        ksm_buf_reset(&v->pending);   /* covered by this one */
    } else {
        ksm_buf_reset(&v->pending);
        ksm_buf_append(&v->pending, p, n);
        snprintf(v->pending_file, sizeof v->pending_file, "%s", file);
        v->pending_line = lineno;
        v->pending_seq = l->seq;
    }
    if (l->kind == KSM_AUDIT_SEAL && strcmp(l->segment, file))
        return bad(v, file, lineno, l->seq, "seal names another segment");
    if (l->kind == KSM_AUDIT_SEAL && !last_line)
        return bad(v, file, lineno, l->seq, "lines after the seal");
    v->unsigned_pending = false;
    v->last_signed = l->seq;
    line_time(l, v->out->last_signed_time, sizeof v->out->last_signed_time);
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
        line_time(&l, v->out->last_time, sizeof v->out->last_time);
        if (v->records == 1) {
            v->out->first_seq = l.seq;
            line_time(&l, v->out->first_time, sizeof v->out->first_time);
        }
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
        char why[160];
        snprintf(why, sizeof why, "cannot read: %s", strerror(errno));
        return bad(v, file, 0, v->seq + 1, why);
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
        /* live: what follows was appended after the walk began (or is being written now) */
        if (v->upto && !v->unsigned_pending && v->last_signed >= v->upto) {
            v->done = true;
            break;
        }
    }
    if (!last_seg && !v->last_sealed && !v->done) {
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

/* Walks the segments of dir in order. upto 0: all of them (offline); otherwise stop at the signed
 * line that covers seq upto, which must exist. */
static int walk_dir(const char *dir, EVP_PKEY *key, uint64_t upto, bool every_sig,
                    struct ksm_audit_verification *out)
{
    struct verifier v;
    uint32_t *segs = NULL;
    size_t nsegs = 0;
    char name[KSM_AUDIT_SEG_NAME], why[160];
    int rc = -1;
    memset(&v, 0, sizeof v);
    v.out = out;
    v.key = key;
    v.upto = upto;
    v.every_sig = every_sig;
    memcpy(v.prev, ksm_audit_zero_hash, sizeof v.prev);
    if (ksm_audit_seg_list(dir, &segs, &nsegs)) {
        snprintf(out->reason, sizeof out->reason, "%s: %s", dir, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < nsegs && !v.done; i++) {
        ksm_audit_seg_name(segs[i], name);
        out->segments++;
        if (check_numbering(&v, segs, i) || check_segment(&v, dir, name, i + 1 == nsegs))
            goto out;
    }
    if (upto && !v.done) {
        snprintf(why, sizeof why, "the log ends before seq %" PRIu64 ", which was acknowledged as durable",
                 upto);
        bad(&v, nsegs ? name : "", 0, v.seq + 1, why);
        goto out;
    }
    if (v.unsigned_pending) {
        bad(&v, v.unsigned_file, v.unsigned_line, v.unsigned_seq,
            "record after the last signature (unsigned: truncated or appended without the key)");
        goto out;
    }
    if (check_pending(&v))
        goto out;
    out->intact = true;
    rc = 0;
out:
    out->signatures_checked = v.sigs_checked;
    ksm_buf_free(&v.pending);
    out->records = v.records;
    out->checkpoints = v.checkpoints;
    out->seals = v.seals;
    out->last_seq = v.seq;
    out->last_signed_seq = v.last_signed;
    out->last_sealed = v.last_sealed;
    memcpy(out->last_hash, v.prev, sizeof out->last_hash);
    free(segs);
    return rc;
}

static int verify_dir(const char *dir, EVP_PKEY *key, uint64_t upto, bool every_sig,
                      struct ksm_audit_verification *out)
{
    int rc = walk_dir(dir, key, upto, every_sig, out);
    if (rc == 0 || every_sig)
        return rc;
    /* Not intact. The place to report is the first bad line a full check meets, which may be a
     * checkpoint whose signature was held back (a flipped signature byte shows first as the next
     * line's broken chain): walk again checking every signature, up to there. */
    memset(out, 0, sizeof *out);
    return walk_dir(dir, key, upto, true, out);
}

static void report_text(const struct ksm_audit_verification *o, struct ksm_buf *report)
{
    if (!o->intact && !o->bad_segment[0])
        ksm_buf_printf(report, "%s\n", o->reason);
    else if (!o->intact && !o->bad_line)
        ksm_buf_printf(report, "%s: %s\n", o->bad_segment, o->reason);
    else if (!o->intact)
        ksm_buf_printf(report, "%s line %zu (seq %" PRIu64 "): %s\n", o->bad_segment, o->bad_line,
                       o->bad_seq, o->reason);
    else
        ksm_buf_printf(report,
                       "intact: %zu segments, %" PRIu64 " records (seq 1..%" PRIu64 "), %" PRIu64
                       " checkpoints, %" PRIu64 " seals, %" PRIu64
                       " signatures checked; last signed seq %" PRIu64
                       ", last line hash %s; last segment %s\n",
                       o->segments, o->records, o->last_seq, o->checkpoints, o->seals,
                       o->signatures_checked, o->last_signed_seq, o->last_hash,
                       o->last_sealed ? "sealed" : "open (being written, or the writer crashed)");
}

int ksm_audit_verify(const char *dir, const char *public_key_pem_path, bool every_signature,
                     struct ksm_buf *report)
{
    struct ksm_audit_verification o;
    int rc = -1;
    memset(&o, 0, sizeof o);
    EVP_PKEY *key = ksm_audit_pubkey_load(public_key_pem_path, o.reason, sizeof o.reason);
    if (key)
        rc = verify_dir(dir, key, 0, every_signature, &o);
    report_text(&o, report);
    EVP_PKEY_free(key);
    return rc;
}

int ksm_audit_verify_live(struct ksm_audit *a, struct ksm_audit_verification *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&a->mu);
    uint64_t upto = a->durable_seq;
    pthread_mutex_unlock(&a->mu);
    if (!upto) {   /* nothing written yet: an empty chain is intact */
        out->intact = true;
        memcpy(out->last_hash, ksm_audit_zero_hash, sizeof out->last_hash);
        return 0;
    }
    return verify_dir(a->dir, a->key, upto, false, out);
}
