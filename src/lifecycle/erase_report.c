/* erase_report.c — the erasure report: what was erased (counts and bytes per bucket, the keys
 * destroyed, the methods), when, requested and confirmed by whom; signed with the environment's
 * Ed25519 key (the audit key, whose public half GET /admin/v1/audit/public-key gives), so that
 * anyone holding the public key can check it offline (`kasumi erasure verify`).
 *
 * Canonical form (what the signature covers): the report without its "signature" member,
 * serialised with object keys sorted by their UTF-8 bytes, no insignificant whitespace, strings
 * escaped only where JSON requires it (", \, control characters), non-ASCII as UTF-8, and integers
 * only — no fractions, no exponents. The stored document may be indented: verification re-derives
 * the canonical bytes from the parsed document, so formatting does not matter and content does. */
#include "lifecycle/erase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/util.h"
#include "iam/iam.h"

#define REPORT_FORMAT "kasumi-erasure-report/1"

static json_t *time_of(sqlite3_stmt *st, int col)
{
    char t[32];
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    ksm_rfc3339_ms(sqlite3_column_int64(st, col), t);
    return json_string(t);
}

static json_t *bucket_json(sqlite3_stmt *st)
{
    static const char *const names[] = {
        "objects", "object_bytes", "noncurrent_versions", "noncurrent_version_bytes",
        "delete_markers", "multipart_uploads", "parts", "part_bytes", "data_files_removed",
        "pack_extents_wiped", "ciphertext_bytes_wiped"};
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", ksm_db_col_text(st, 0), "name",
                          ksm_db_col_text(st, 1), "project", ksm_db_col_text(st, 2), "region",
                          ksm_db_col_text(st, 3));
    for (int i = 0; i < 11; i++)
        json_object_set_new(o, names[i], json_integer(sqlite3_column_int64(st, 4 + i)));
    json_object_set_new(o, "bytes", json_integer(sqlite3_column_int64(st, 5) +
                                                 sqlite3_column_int64(st, 7) +
                                                 sqlite3_column_int64(st, 11)));
    return o;
}

static void add_total(json_t *totals, const char *name, json_int_t v)
{
    json_t *cur = json_object_get(totals, name);
    json_object_set_new(totals, name, json_integer(json_integer_value(cur) + v));
}

static json_t *buckets_of(struct ksm_db *db, const char *job, json_t *totals)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT bucket_id, name, project, region, objects, object_bytes, versions,"
            " version_bytes, delete_markers, uploads, parts, part_bytes, files, pack_extents,"
            " ciphertext_bytes FROM erasure_buckets WHERE job=?1 ORDER BY name, bucket_id");
    sqlite3_bind_text(st, 1, job, -1, SQLITE_TRANSIENT);
    json_t *a = json_array();
    static const char *const sums[] = {"objects", "noncurrent_versions", "bytes",
                                       "data_files_removed", "pack_extents_wiped",
                                       "ciphertext_bytes_wiped"};
    json_object_set_new(totals, "buckets", json_integer(0));
    for (size_t i = 0; i < KSM_NELEM(sums); i++)
        json_object_set_new(totals, sums[i], json_integer(0));
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *b = bucket_json(st);
        add_total(totals, "buckets", 1);
        for (size_t i = 0; i < KSM_NELEM(sums); i++)
            add_total(totals, sums[i], json_integer_value(json_object_get(b, sums[i])));
        json_array_append_new(a, b);
    }
    sqlite3_reset(st);
    return a;
}

static json_t *keys_of(struct ksm_db *db, const char *job)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT key_id, kind, owner, version FROM erasure_keys"
                                          " WHERE job=?1 ORDER BY kind DESC, owner, version");
    sqlite3_bind_text(st, 1, job, -1, SQLITE_TRANSIENT);
    json_t *a = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "key_id", ksm_db_col_text(st, 0),
                                           "kind", ksm_db_col_text(st, 1), "owner",
                                           ksm_db_col_text(st, 2), "version",
                                           (json_int_t)sqlite3_column_int64(st, 3)));
    sqlite3_reset(st);
    return a;
}

static json_t *methods(void)
{
    static const char *const m[][2] = {
        {"crypto_erasure", "the bucket keys (and for a tenant its tenant key), every version: "
                           "AES-256 key material overwritten with zeros in place, then removed; "
                           "every object's data key was wrapped under them"},
        {"metadata_removal", "every row of the buckets (objects, versions, delete markers, "
                             "multipart uploads and parts, configurations) deleted with SQLite "
                             "secure_delete=ON, then the WAL checkpointed with TRUNCATE"},
        {"data_deletion", "object files unlinked (directory fsynced); pack-log extents punched "
                          "out (FALLOC_FL_PUNCH_HOLE, or overwritten with zeros) and fdatasynced; "
                          "both regions"},
    };
    json_t *a = json_array();
    for (size_t i = 0; i < KSM_NELEM(m); i++)
        json_array_append_new(a, json_pack("{s:s,s:s}", "id", m[i][0], "description", m[i][1]));
    return a;
}

static json_t *retained(void)
{
    return json_pack("[s,s,s]", "the tenant's row, with status erased (tenant erasure)",
                     "audit records (metadata only; kept for their retention period)",
                     "usage and billing ledger (the last bill stays recomputable)");
}

static json_t *tenant_of(struct ksm_db *db, const char *id)
{
    json_t *t = NULL;
    if (ksm_iam_tenant_get(db, id, &t) != KSM_E_OK)
        return json_pack("{s:s}", "id", id);
    json_t *o = json_pack("{s:s,s:O,s:O}", "id", id, "name", json_object_get(t, "name"),
                          "corporate_number", json_object_get(t, "corporate_number"));
    json_decref(t);
    return o;
}

json_t *ksm_erase__report_build(struct ksm_db *db, const char *job, int users, int groups);

json_t *ksm_erase__report_build(struct ksm_db *db, const char *job, int users, int groups)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT id, tenant, scope, target, target_name, requested_by, requested_by_name,"
            " requested_at, confirmed_by, confirmed_by_name, confirmed_at, started_at, finished_at"
            " FROM erasure_jobs WHERE id=?1");
    sqlite3_bind_text(st, 1, job, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return NULL;
    }
    json_t *r = json_object();
    json_object_set_new(r, "format", json_string(REPORT_FORMAT));
    json_object_set_new(r, "erasure_id", json_string(ksm_db_col_text(st, 0)));
    json_object_set_new(r, "scope", json_string(ksm_db_col_text(st, 2)));
    json_object_set_new(r, "target", json_pack("{s:s,s:s}", "id", ksm_db_col_text(st, 3), "name",
                                               ksm_db_col_text(st, 4)));
    json_object_set_new(r, "requested_by", json_pack("{s:s,s:s}", "id", ksm_db_col_text(st, 5),
                                                     "name", ksm_db_col_text(st, 6)));
    json_object_set_new(r, "requested_at", time_of(st, 7));
    json_object_set_new(r, "confirmed_by", json_pack("{s:s,s:s}", "id", ksm_db_col_text(st, 8),
                                                     "name", ksm_db_col_text(st, 9)));
    json_object_set_new(r, "confirmed_at", time_of(st, 10));
    json_object_set_new(r, "started_at", time_of(st, 11));
    json_object_set_new(r, "finished_at", time_of(st, 12));
    char tenant[48];
    snprintf(tenant, sizeof tenant, "%s", ksm_db_col_text(st, 1));
    bool whole = !strcmp(ksm_db_col_text(st, 2), "tenant");
    sqlite3_reset(st);
    json_object_set_new(r, "tenant", tenant_of(db, tenant));
    json_t *totals = json_object();
    json_object_set_new(r, "buckets", buckets_of(db, job, totals));
    json_object_set_new(r, "totals", totals);
    json_object_set_new(r, "keys_destroyed", keys_of(db, job));
    json_object_set_new(r, "principals_removed",
                        whole ? json_pack("{s:i,s:i}", "users", users, "groups", groups)
                              : json_null());
    json_object_set_new(r, "methods", methods());
    json_object_set_new(r, "retained", retained());
    return r;
}

char *ksm_erase_report_canonical(const json_t *report)
{
    json_t *copy = json_deep_copy(report);
    if (!copy || !json_is_object(copy)) {
        json_decref(copy);
        return NULL;
    }
    json_object_del(copy, "signature");
    char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    return s;
}

int ksm_erase_report_sign(struct ksm_audit *a, json_t *report)
{
    char *canon = ksm_erase_report_canonical(report);
    unsigned char sig[64];
    char hex[129];
    int rc = canon ? ksm_audit_sign_document(a, canon, strlen(canon), sig) : -1;
    free(canon);
    if (rc)
        return -1;
    ksm_hex(sig, sizeof sig, hex);
    json_object_set_new(report, "signature",
                        json_pack("{s:s,s:s}", "alg", "Ed25519", "value", hex));
    return 0;
}

/* Any real number anywhere: the canonical form has integers only. */
static bool has_real(const json_t *j)
{
    if (json_is_real(j))
        return true;
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (has_real(v))
                return true;
        }
    }
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, k, v) {
            if (has_real(v))
                return true;
        }
    }
    return false;
}

static int fail(char *why, size_t n, int rc, const char *msg)
{
    snprintf(why, n, "%s", msg);
    return rc;
}

int ksm_erase_report_verify(const char *doc, size_t len, const char *pem_path, char *why,
                            size_t whylen)
{
    json_error_t jerr;
    json_t *r = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r || !json_is_object(r)) {
        json_decref(r);
        return fail(why, whylen, 0, "not a JSON object (or a key appears twice)");
    }
    json_t *sig = json_object_get(r, "signature");
    const char *alg = json_string_value(json_object_get(sig, "alg"));
    const char *hex = json_string_value(json_object_get(sig, "value"));
    unsigned char raw[64];
    int rc = 0;
    if (!json_is_string(json_object_get(r, "format")) ||
        strcmp(json_string_value(json_object_get(r, "format")), REPORT_FORMAT))
        rc = fail(why, whylen, 0, "not a " REPORT_FORMAT " document");
    else if (!alg || strcmp(alg, "Ed25519") || !hex || strlen(hex) != 128 ||
             ksm_unhex(hex, 128, raw))
        rc = fail(why, whylen, 0, "no Ed25519 signature");
    else if (has_real(r))
        rc = fail(why, whylen, 0, "a number is not an integer: not in canonical form");
    else
        rc = 1;
    char *canon = rc == 1 ? ksm_erase_report_canonical(r) : NULL;
    json_decref(r);
    if (rc != 1)
        return rc;
    if (!canon)
        return fail(why, whylen, -1, "out of memory");
    char err[256] = "";
    rc = ksm_audit_document_verify(pem_path, canon, strlen(canon), raw, err, sizeof err);
    free(canon);
    if (rc < 0)
        return fail(why, whylen, -1, err);
    return rc ? fail(why, whylen, 1, "signature valid")
              : fail(why, whylen, 0, "the signature does not match: the report was altered, or "
                                     "signed with another key");
}
