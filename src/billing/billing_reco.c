/* billing_reco.c — recommendations, each with the monthly saving it would bring (docs/billing.md):
 * buckets nobody has read or written for 90 days (the saving: a month of storing what they hold),
 * keys unused for 90 days (no saving in yen: an idle credential is a risk, not a cost), multipart
 * uploads left incomplete for 7 days whose parts hold storage (a month of storing the parts), and AI
 * spend on a model alias where the project's routes offer a cheaper one (the last 30 days' tokens
 * at the cheaper price). Storage months are 30 days at the storage_byte_seconds price in force now.
 * Every time is the parameter now_ms; estimates round like the ledger (up, in micro-yen). */
#include "billing/billing.h"
#include "billing/billing_budget.h"

#include <stdio.h>
#include <string.h>

#include "ai/ai_store.h"
#include "core/util.h"

#define DAY_MS 86400000LL
#define IDLE_MS (90 * DAY_MS)
#define UPLOAD_MS (7 * DAY_MS)
#define MONTH_S 2592000LL /* a billing month of storage: 30 days */

struct scope {
    struct ksm_db *db;
    const char *tenant, *project;
    int64_t now;
    json_t *items;
};

/* A month of storing bytes at the price in force now; -1 on a database error. */
static int64_t storage_month(const struct scope *s, const char *project, int64_t bytes)
{
    int64_t q = bytes > INT64_MAX / MONTH_S ? INT64_MAX : bytes * MONTH_S;
    struct ksm_usage_rec rec = {.tenant = s->tenant, .project = project, .service = "storage",
                                .meter = "storage_byte_seconds", .quantity = q};
    return ksm_billing_rate(s->db, &rec, s->now);
}

static void add(const struct scope *s, const char *kind, const char *project, const char *resource,
                const char *reason, int64_t saving, json_t *extra)
{
    char yen[32];
    ksm_billing_yen_format(saving, yen);
    json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:s,s:I,s:s}", "kind", kind, "tenant", s->tenant,
                          "project", project && *project ? json_string(project) : json_null(),
                          "resource", resource, "reason", reason,
                          "estimated_monthly_saving_microyen", (json_int_t)saving,
                          "estimated_monthly_saving_yen", yen);
    json_object_update(o, extra);
    json_decref(extra);
    json_array_append_new(s->items, o);
}

static json_t *time_json(int64_t ms)
{
    char t[32];
    if (!ms)
        return json_null();
    ksm_rfc3339_ms(ms, t);
    return json_string(t);
}

/* Buckets made more than 90 days ago with no read or write request since: what they hold is the
 * same sum as ksm_store_bucket_usage (objects, noncurrent versions, parts of uploads). */
static enum ksm_err idle_buckets(const struct scope *s)
{
    sqlite3_stmt *st = ksm_db_prepare(
        s->db,
        "SELECT b.name, b.project, b.created,"
        " (SELECT coalesce(sum(size),0) FROM store_objects WHERE bucket=b.id)"
        " + (SELECT coalesce(sum(size),0) FROM store_versions WHERE bucket=b.id AND delete_marker=0)"
        " + (SELECT coalesce(sum(p.size),0) FROM store_parts p JOIN store_uploads u ON u.id=p.upload"
        " WHERE u.bucket=b.id),"
        " (SELECT max(time_ms) FROM usage_records r WHERE r.tenant=b.tenant AND r.time_ms >= ?3"
        " AND r.service='storage' AND r.resource=b.name"
        " AND r.meter IN ('requests_read','requests_write'))"
        " FROM store_buckets b WHERE b.tenant=?1 AND (?2 IS NULL OR b.project=?2) AND b.created < ?3"
        " ORDER BY b.name");
    ksm_db_bind_text(st, 1, s->tenant);
    ksm_db_bind_text(st, 2, s->project);
    sqlite3_bind_int64(st, 3, s->now - IDLE_MS);
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (sqlite3_column_type(st, 4) == SQLITE_NULL) /* no request in 90 days */
            json_array_append_new(rows, json_pack("{s:s,s:s,s:I,s:I}", "n", ksm_db_col_text(st, 0),
                                                  "p", ksm_db_col_text(st, 1), "c",
                                                  (json_int_t)sqlite3_column_int64(st, 2), "b",
                                                  (json_int_t)sqlite3_column_int64(st, 3)));
    sqlite3_reset(st);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *p = json_string_value(json_object_get(r, "p"));
        int64_t bytes = json_integer_value(json_object_get(r, "b"));
        int64_t saving = storage_month(s, p, bytes);
        if (saving < 0) {
            rc = SQLITE_ERROR;
            break;
        }
        add(s, "idle_bucket", p, json_string_value(json_object_get(r, "n")),
            "no read or write request for 90 days: delete it, or move what it holds elsewhere",
            saving,
            json_pack("{s:I,s:o}", "bytes", (json_int_t)bytes, "created_at",
                      time_json(json_integer_value(json_object_get(r, "c")))));
    }
    json_decref(rows);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* Live keys made more than 90 days ago and not used since (iam_key_use, to the hour). */
static enum ksm_err unused_keys(const struct scope *s)
{
    sqlite3_stmt *st = ksm_db_prepare(
        s->db, "SELECT k.id, k.kind, coalesce(k.project_id, ''), k.created_at, u.last_used_ms"
               " FROM iam_keys k LEFT JOIN iam_key_use u ON u.key_id = k.id"
               " WHERE k.tenant_id = ?1 AND (?2 IS NULL OR k.project_id = ?2)"
               " AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?4)"
               " AND k.created_at < ?3 AND (u.last_used_ms IS NULL OR u.last_used_ms < ?3)"
               " ORDER BY k.id");
    ksm_db_bind_text(st, 1, s->tenant);
    ksm_db_bind_text(st, 2, s->project);
    sqlite3_bind_int64(st, 3, s->now - IDLE_MS);
    sqlite3_bind_int64(st, 4, s->now);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t used = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 4);
        add(s, "unused_key", ksm_db_col_text(st, 2), ksm_db_col_text(st, 0),
            "not used for 90 days: revoke it (an idle credential is a risk; it costs nothing)", 0,
            json_pack("{s:s,s:o,s:o}", "key_kind", ksm_db_col_text(st, 1), "created_at",
                      time_json(sqlite3_column_int64(st, 3)), "last_used_at", time_json(used)));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* Multipart uploads started more than 7 days ago, never completed nor aborted, whose parts hold
 * bytes. */
static enum ksm_err stale_uploads(const struct scope *s)
{
    sqlite3_stmt *st = ksm_db_prepare(
        s->db, "SELECT u.id, b.name, b.project, u.initiated, CAST(u.key AS TEXT),"
               " (SELECT coalesce(sum(size),0) FROM store_parts p WHERE p.upload = u.id) AS bytes"
               " FROM store_uploads u JOIN store_buckets b ON b.id = u.bucket"
               " WHERE b.tenant = ?1 AND (?2 IS NULL OR b.project = ?2) AND u.initiated < ?3"
               " AND bytes > 0 ORDER BY u.initiated");
    ksm_db_bind_text(st, 1, s->tenant);
    ksm_db_bind_text(st, 2, s->project);
    sqlite3_bind_int64(st, 3, s->now - UPLOAD_MS);
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            rows, json_pack("{s:s,s:s,s:s,s:I,s:s,s:I}", "id", ksm_db_col_text(st, 0), "bucket",
                            ksm_db_col_text(st, 1), "p", ksm_db_col_text(st, 2), "at",
                            (json_int_t)sqlite3_column_int64(st, 3), "key",
                            ksm_utf8_valid(ksm_db_col_text(st, 4), strlen(ksm_db_col_text(st, 4)))
                                ? ksm_db_col_text(st, 4)
                                : "",
                            "bytes", (json_int_t)sqlite3_column_int64(st, 5)));
    sqlite3_reset(st);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *p = json_string_value(json_object_get(r, "p"));
        int64_t bytes = json_integer_value(json_object_get(r, "bytes"));
        int64_t saving = storage_month(s, p, bytes);
        if (saving < 0) {
            rc = SQLITE_ERROR;
            break;
        }
        char what[600];
        snprintf(what, sizeof what, "%s/%s", json_string_value(json_object_get(r, "bucket")),
                 json_string_value(json_object_get(r, "key")));
        add(s, "incomplete_multipart_upload", p, what,
            "a multipart upload left incomplete for 7 days holds its parts: abort it (or complete "
            "it)",
            saving,
            json_pack("{s:s,s:s,s:I,s:o}", "upload_id",
                      json_string_value(json_object_get(r, "id")), "bucket",
                      json_string_value(json_object_get(r, "bucket")), "bytes", (json_int_t)bytes,
                      "initiated_at", time_json(json_integer_value(json_object_get(r, "at")))));
    }
    json_decref(rows);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* ---- cheaper models ---- */

struct ai_spend {
    const char *project, *alias;
    int64_t cost, uncached, completion, cached;
};

/* The cheapest price, in force now, among the project's other route aliases and the models the
 * spent-on route's own targets name: the cost of the same tokens there, and its name. */
static enum ksm_err cheapest(const struct scope *s, const struct ai_spend *a, int64_t *best,
                             char *name, size_t namelen)
{
    sqlite3_stmt *st =
        ksm_db_prepare(s->db, "SELECT alias, targets FROM ai_routes WHERE project_id = ?1");
    ksm_db_bind_text(st, 1, a->project);
    json_t *names = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *alias = ksm_db_col_text(st, 0);
        if (strcmp(alias, a->alias)) {
            json_array_append_new(names, json_string(alias));
            continue;
        }
        json_t *targets = json_loads(ksm_db_col_text(st, 1), 0, NULL), *t;
        size_t i;
        json_array_foreach(targets, i, t)
        {
            const char *m = json_string_value(json_object_get(t, "model"));
            if (m && strcmp(m, a->alias))
                json_array_append_new(names, json_string(m));
        }
        json_decref(targets);
    }
    sqlite3_reset(st);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        struct ksm_ai_price p;
        if (ksm_ai_price_find(s->db, json_string_value(n), s->now, &p) != KSM_E_OK)
            continue; /* unpriced: the gateway would refuse it, so it is no alternative */
        int64_t c = ksm_ai_cost(&p, a->uncached, a->completion, a->cached);
        if (c < *best) {
            *best = c;
            snprintf(name, namelen, "%s", json_string_value(n));
        }
    }
    json_decref(names);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* AI spend of the last 30 days per project and alias, with its tokens by kind. */
static enum ksm_err cheaper_models(const struct scope *s)
{
    sqlite3_stmt *st = ksm_db_prepare(
        s->db,
        "SELECT project, resource, sum(cost_microyen),"
        " sum(coalesce(json_extract(details, '$.prompt_tokens'), 0)"
        " - coalesce(json_extract(details, '$.cached_tokens'), 0)),"
        " sum(coalesce(json_extract(details, '$.completion_tokens'), 0)),"
        " sum(coalesce(json_extract(details, '$.cached_tokens'), 0))"
        " FROM usage_records WHERE tenant = ?1 AND (?2 IS NULL OR project = ?2) AND service = 'ai'"
        " AND project IS NOT NULL AND resource IS NOT NULL AND time_ms >= ?3 AND time_ms < ?4"
        " GROUP BY project, resource HAVING sum(cost_microyen) > 0 ORDER BY project, resource");
    ksm_db_bind_text(st, 1, s->tenant);
    ksm_db_bind_text(st, 2, s->project);
    sqlite3_bind_int64(st, 3, s->now - MONTH_S * 1000);
    sqlite3_bind_int64(st, 4, s->now);
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            rows, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "p", ksm_db_col_text(st, 0), "a",
                            ksm_db_col_text(st, 1), "c", (json_int_t)sqlite3_column_int64(st, 2),
                            "u", (json_int_t)sqlite3_column_int64(st, 3), "o",
                            (json_int_t)sqlite3_column_int64(st, 4), "k",
                            (json_int_t)sqlite3_column_int64(st, 5)));
    sqlite3_reset(st);
    enum ksm_err e = rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        struct ai_spend a = {json_string_value(json_object_get(r, "p")),
                             json_string_value(json_object_get(r, "a")),
                             json_integer_value(json_object_get(r, "c")),
                             json_integer_value(json_object_get(r, "u")),
                             json_integer_value(json_object_get(r, "o")),
                             json_integer_value(json_object_get(r, "k"))};
        int64_t best = a.cost;
        char name[256] = "";
        if (e == KSM_E_OK)
            e = cheapest(s, &a, &best, name, sizeof name);
        if (e != KSM_E_OK || !name[0])
            continue;
        char why[400];
        snprintf(why, sizeof why,
                 "the project's routes offer %s, cheaper for the same tokens: use it where its "
                 "quality suffices",
                 name);
        add(s, "cheaper_model", a.project, a.alias, why, a.cost - best,
            json_pack("{s:s,s:I,s:I}", "cheaper_model", name, "spent_30d_microyen",
                      (json_int_t)a.cost, "cheaper_cost_microyen", (json_int_t)best));
    }
    json_decref(rows);
    return e;
}

enum ksm_err ksm_billing_recommendations(struct ksm_db *db, const char *tenant, const char *project,
                                         int64_t now_ms, json_t *items)
{
    struct scope s = {.db = db, .tenant = tenant, .project = project, .now = now_ms, .items = items};
    enum ksm_err e = idle_buckets(&s);
    if (e == KSM_E_OK)
        e = unused_keys(&s);
    if (e == KSM_E_OK)
        e = stale_uploads(&s);
    if (e == KSM_E_OK)
        e = cheaper_models(&s);
    return e;
}
