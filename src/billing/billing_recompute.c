/* billing_recompute.c — a closed month rebuilt from the audit log and compared with its ledger
 * (issue 7 item 6). The audit log is the record of what happened: a usage record counts only when
 * the audit record of its request (same request id, same tenant) is there, and an AI call's cost is
 * the one its audit record states; every other record is re-rated from the price list at its time.
 * Records no request made (the stored-bytes sampler's) are taken as they are and re-rated. The
 * records are those the month closed with (its own and the corrections booked in it, under its
 * watermark: billing_records.h), so usage that arrived after the close is not a difference. The
 * rebuilt rows are compared with the ledger row by row; every row that differs, or is on one side
 * only, is reported. */
#include "billing/billing.h"
#include "billing/billing_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"

#define GRACE_MS (3600 * 1000)   /* an audit record is written after its usage: look past the end */

/* The last occurrence of needle in s: an S3 record's byte counts end its detail, after text that
 * may quote an object's key. */
static const char *last_of(const char *s, const char *needle)
{
    const char *hit = NULL;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        hit = p;
    return hit;
}

/* An S3 request's metered bytes, as its audit record states them (" bytes_in=N bytes_out=M"). */
static void sizes(json_t *e, const char *detail)
{
    static const char *const meters[] = {"bytes_in", "bytes_out"};
    for (size_t i = 0; detail && i < KSM_NELEM(meters); i++) {
        char needle[16];
        snprintf(needle, sizeof needle, "%s=", meters[i]);
        const char *p = last_of(detail, needle);
        if (p && (p == detail || p[-1] == ' '))
            json_object_set_new(e, meters[i], json_integer(strtoll(p + strlen(needle), NULL, 10)));
    }
}

/* request id → {"tenant", "cost", "bytes_in", "bytes_out"} from every audit record of the window */
static enum ksm_err audit_index(struct ksm_audit *a, int64_t start, int64_t end, json_t *idx)
{
    char *cursor = NULL;
    do {
        json_t *page = json_array();
        struct ksm_audit_filter f = {.since_ms = start, .until_ms = end + GRACE_MS, .limit = 1000,
                                     .cursor = cursor};
        int rc = ksm_audit_query(a, &f, page, &cursor);
        free((void *)f.cursor);
        if (rc) {
            json_decref(page);
            return KSM_E_INTERNAL;
        }
        size_t i;
        json_t *r;
        json_array_foreach(page, i, r) {
            const char *rid = json_string_value(json_object_get(r, "request_id"));
            const char *tenant = json_string_value(json_object_get(r, "tenant"));
            const char *detail = json_string_value(json_object_get(r, "detail"));
            if (!rid || !tenant)
                continue;
            json_t *e = json_object_get(idx, rid);
            if (!e)
                json_object_set_new(idx, rid, e = json_pack("{s:s}", "tenant", tenant));
            const char *c = detail ? strstr(detail, "cost_microyen=") : NULL;
            if (c)
                json_object_set_new(e, "cost", json_integer(strtoll(c + 14, NULL, 10)));
            sizes(e, detail);
        }
        json_decref(page);
    } while (cursor);
    return KSM_E_OK;
}

static void row_key(char *key, size_t n, const char *tenant, const char *project, const char *service,
                    const char *meter, const char *resource, const char *correction_of)
{
    snprintf(key, n, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", tenant, project ? project : "", service,
             meter, resource ? resource : "", correction_of ? correction_of : "");
}

static void add(json_t *rows, const char *key, int64_t q, int64_t cost)
{
    json_t *r = json_object_get(rows, key);
    if (!r)
        json_object_set_new(rows, key, r = json_pack("{s:I, s:I, s:I}", "quantity", (json_int_t)0,
                                                     "cost_microyen", (json_int_t)0, "records",
                                                     (json_int_t)0));
    json_object_set_new(r, "quantity", json_integer(json_integer_value(json_object_get(r, "quantity")) + q));
    json_object_set_new(r, "cost_microyen",
                        json_integer(json_integer_value(json_object_get(r, "cost_microyen")) + cost));
    json_object_set_new(r, "records", json_integer(json_integer_value(json_object_get(r, "records")) + 1));
}

/* The cost of one usage record as the audit log and the price list say; -1: not backed by the log.
 * A storage byte record takes the size its request's audit record states, when it states one. */
static int64_t expected_cost(struct ksm_db *db, json_t *idx, struct ksm_usage_rec *u)
{
    if (u->request_id) {
        json_t *a = json_object_get(idx, u->request_id);
        if (!a || strcmp(json_string_value(json_object_get(a, "tenant")), u->tenant))
            return -1;
        if (!strcmp(u->service, "ai")) {
            json_t *c = json_object_get(a, "cost");
            return c ? json_integer_value(c) : -1;
        }
        json_t *size = !strcmp(u->service, "storage") ? json_object_get(a, u->meter) : NULL;
        if (size)
            u->quantity = json_integer_value(size);
    }
    int64_t c = ksm_billing_rate(db, u, u->time_ms);
    return c < 0 ? 0 : c;
}

#define REBUILD_SQL                                                                                \
    "SELECT tenant, project, service, meter, resource, quantity, time_ms, request_id, correction_of" \
    " FROM (" KSM_BILLING_RECORDS_SQL ") WHERE" KSM_BILLING_NOT_GAUGE

/* The earliest time of the month's records: a correction's request was made in the month it
 * corrects, so the audit log is read from there. */
static int64_t earliest(struct ksm_db *db, const char *month, int64_t start, int64_t end)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT MIN(time_ms) FROM (" KSM_BILLING_RECORDS_SQL ")");
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, end);
    ksm_billing_bind_watermark(st, db, month);
    int64_t t = start;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
        sqlite3_column_int64(st, 0) < start)
        t = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return t;
}

static enum ksm_err rebuild(struct ksm_db *db, json_t *idx, const char *month, int64_t start,
                            int64_t end, json_t *rows, int64_t *unbacked)
{
    sqlite3_stmt *st = ksm_db_prepare(db, REBUILD_SQL);
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, end);
    ksm_billing_bind_watermark(st, db, month);
    int rc;
    char key[1400];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ksm_usage_rec u = {.tenant = ksm_db_col_text(st, 0), .project = ksm_db_col_text(st, 1),
                                  .service = ksm_db_col_text(st, 2), .meter = ksm_db_col_text(st, 3),
                                  .resource = ksm_db_col_text(st, 4),
                                  .quantity = sqlite3_column_int64(st, 5),
                                  .time_ms = sqlite3_column_int64(st, 6),
                                  .request_id = sqlite3_column_type(st, 7) == SQLITE_NULL
                                                    ? NULL   /* no request made it: taken as is */
                                                    : ksm_db_col_text(st, 7)};
        int64_t cost = expected_cost(db, idx, &u);
        if (cost < 0) {
            (*unbacked)++;
            continue;
        }
        row_key(key, sizeof key, u.tenant, u.project, u.service, u.meter, u.resource,
                sqlite3_column_type(st, 8) == SQLITE_NULL ? NULL : ksm_db_col_text(st, 8));
        add(rows, key, u.quantity, cost);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static json_t *side(json_t *r)
{
    return r ? json_deep_copy(r) : json_null();
}

static json_t *diff(const char *key, json_t *ledger, json_t *rebuilt)
{
    char buf[1400];
    snprintf(buf, sizeof buf, "%s", key);
    const char *part[6] = {0};
    char *p = buf;
    for (int i = 0; i < 6; i++) {
        part[i] = p;
        char *sep = strchr(p, '\x1f');
        if (sep)
            *sep = '\0', p = sep + 1;
        else
            p += strlen(p);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "tenant", part[0], "project",
                     part[1], "service", part[2], "meter", part[3], "resource", part[4],
                     "correction_of", *part[5] ? json_string(part[5]) : json_null(), "ledger",
                     side(ledger), "recomputed", side(rebuilt));
}

static enum ksm_err compare(struct ksm_db *db, const char *month, json_t *rows, json_t *diffs,
                            int64_t *compared)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT tenant, project, service, meter, resource, quantity,"
                                          " cost_microyen, records, correction_of"
                                          " FROM billing_ledger WHERE month = ?"
                                          " ORDER BY id");
    ksm_db_bind_text(st, 1, month);
    int rc;
    char key[1400];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_key(key, sizeof key, ksm_db_col_text(st, 0), ksm_db_col_text(st, 1), ksm_db_col_text(st, 2),
                ksm_db_col_text(st, 3), ksm_db_col_text(st, 4),
                sqlite3_column_type(st, 8) == SQLITE_NULL ? NULL : ksm_db_col_text(st, 8));
        json_t *l = json_pack("{s:I, s:I, s:I}", "quantity", (json_int_t)sqlite3_column_int64(st, 5),
                              "cost_microyen", (json_int_t)sqlite3_column_int64(st, 6), "records",
                              (json_int_t)sqlite3_column_int64(st, 7));
        json_t *r = json_object_get(rows, key);
        if (!r || !json_equal(l, r))
            json_array_append_new(diffs, diff(key, l, r));
        json_decref(l);
        json_object_del(rows, key);
        (*compared)++;
    }
    sqlite3_reset(st);
    const char *k;
    json_t *r;
    json_object_foreach(rows, k, r)
        json_array_append_new(diffs, diff(k, NULL, r));   /* rebuilt, but not in the ledger */
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static bool is_closed(struct ksm_db *db, const char *month)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM billing_months WHERE month = ?");
    ksm_db_bind_text(st, 1, month);
    bool closed = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return closed;
}

enum ksm_err ksm_billing_recompute(struct ksm_db *db, struct ksm_audit *audit, const char *month,
                                   json_t **out, char why[KSM_BILLING_WHY])
{
    int64_t start, end, unbacked = 0, compared = 0;
    *out = NULL;
    if (ksm_billing_month_parse(month, &start, &end)) {
        snprintf(why, KSM_BILLING_WHY, "month must be YYYY-MM (a JST month)");
        return KSM_E_INVALID_ARGUMENT;
    }
    if (!is_closed(db, month)) {
        snprintf(why, KSM_BILLING_WHY, "%s is not closed: only a closed month has a ledger to check",
                 month);
        return KSM_E_INVALID_ARGUMENT;
    }
    json_t *idx = json_object(), *rows = json_object(), *diffs = json_array();
    enum ksm_err e = audit_index(audit, earliest(db, month, start, end), end, idx);
    if (e == KSM_E_OK)
        e = rebuild(db, idx, month, start, end, rows, &unbacked);
    if (e == KSM_E_OK)
        e = compare(db, month, rows, diffs, &compared);
    json_decref(idx);
    json_decref(rows);
    if (e != KSM_E_OK) {
        json_decref(diffs);
        return e;
    }
    *out = json_pack("{s:s, s:I, s:I, s:o}", "month", month, "ledger_rows", (json_int_t)compared,
                     "records_without_audit", (json_int_t)unbacked, "differences", diffs);
    return KSM_E_OK;
}
