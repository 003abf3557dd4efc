/* billing_usage.c — a month's cost in groups: by JST day, by service or by project, for the
 * report's charts and GET /admin/v1/billing/usage. Services and projects are summed from the
 * report's rows (so from the ledger once the month is closed: the groups add up to the report);
 * days from the per-day rollup of the records the rows are sums of (billing_records.h). Every
 * day of the month is listed, a day without usage as 0, so a chart's axis is the whole month. */
#include "billing/billing.h"
#include "billing/billing_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

int ksm_billing_group_by_parse(const char *s)
{
    return !s                      ? -1
           : !strcmp(s, "day")     ? KSM_BILLING_BY_DAY
           : !strcmp(s, "service") ? KSM_BILLING_BY_SERVICE
           : !strcmp(s, "project") ? KSM_BILLING_BY_PROJECT
                                   : -1;
}

const char *ksm_billing_service_label(const char *service)
{
    return !strcmp(service, "storage") ? "オブジェクトストレージ"
           : !strcmp(service, "ai")    ? "AIゲートウェイ"
                                       : service;
}

static struct ksm_billing_group *group_at(struct ksm_billing_usage *u, const char *key,
                                          const char *name)
{
    for (size_t i = 0; i < u->n; i++)
        if (!strcmp(u->g[i].key, key))
            return &u->g[i];
    u->g = ksm_xrealloc(u->g, (u->n + 1) * sizeof *u->g);
    struct ksm_billing_group *g = &u->g[u->n++];
    *g = (struct ksm_billing_group){.key = ksm_xstrdup(key), .name = ksm_xstrdup(name)};
    return g;
}

static void add(struct ksm_billing_usage *u, struct ksm_billing_group *g, int64_t cost,
                int64_t records)
{
    g->cost_microyen += cost;
    g->records += records;
    u->total_microyen += cost;
}

/* Each day of the month, "YYYY-MM-DD" in JST, at 0. */
static void month_days(struct ksm_billing_usage *u, const struct ksm_billing_report *rep)
{
    for (int64_t ms = rep->start_ms; ms < rep->end_ms; ms += 86400000) {
        char day[16];
        time_t t = (time_t)(ms / 1000 + 9 * 3600);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        group_at(u, day, day);
    }
}

/* A correction counts on the day it arrived: that is when it was booked in this month. */
#define DAY_SQL                                                                                    \
    "SELECT strftime('%Y-%m-%d', day_ms / 1000 + 32400, 'unixepoch'), SUM(cost_microyen),"         \
    " SUM(records) FROM (" KSM_BILLING_ROLLUP_SQL ") WHERE (?3 IS NULL OR tenant = ?3)"              \
    " AND (?4 IS NULL OR project = ?4) GROUP BY 1"

static enum ksm_err by_day(struct ksm_db *db, const struct ksm_billing_report *rep,
                           const char *tenant, struct ksm_billing_usage *u)
{
    month_days(u, rep);
    sqlite3_stmt *st = ksm_db_prepare(db, DAY_SQL);
    sqlite3_bind_int64(st, 1, rep->start_ms);
    sqlite3_bind_int64(st, 2, rep->end_ms);
    ksm_db_bind_text(st, 3, tenant);
    ksm_db_bind_text(st, 4, rep->project);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *day = ksm_db_col_text(st, 0);
        add(u, group_at(u, day, day), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        ksm_error("billing: usage by day: %s", sqlite3_errmsg(db->h));
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static void by_rows(const struct ksm_billing_report *rep, enum ksm_billing_group_by by,
                    struct ksm_billing_usage *u)
{
    for (size_t i = 0; i < rep->nrows; i++) {
        const struct ksm_billing_row *w = &rep->rows[i];
        bool project = w->project && *w->project; /* the rows read "" for none */
        struct ksm_billing_group *g =
            by == KSM_BILLING_BY_SERVICE
                ? group_at(u, w->service, ksm_billing_service_label(w->service))
                : group_at(u, project ? w->project : "",
                           project ? w->project_name : "(プロジェクトなし)");
        add(u, g, w->cost_microyen, w->records);
    }
}

enum ksm_err ksm_billing_usage_build(struct ksm_db *db, const struct ksm_billing_report *rep,
                                     const char *tenant, enum ksm_billing_group_by by,
                                     struct ksm_billing_usage *u)
{
    memset(u, 0, sizeof *u);
    u->by = by;
    if (by == KSM_BILLING_BY_DAY)
        return by_day(db, rep, tenant, u);
    by_rows(rep, by, u);
    return KSM_E_OK;
}

void ksm_billing_usage_free(struct ksm_billing_usage *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->g[i].key), free(u->g[i].name);
    free(u->g);
    memset(u, 0, sizeof *u);
}

static const char *const group_names[] = {"day", "service", "project"};

json_t *ksm_billing_usage_json(const struct ksm_billing_report *rep, const char *tenant,
                               const struct ksm_billing_usage *u)
{
    json_t *groups = json_array();
    char money[32];
    for (size_t i = 0; i < u->n; i++) {
        const struct ksm_billing_group *g = &u->g[i];
        ksm_billing_yen_format(g->cost_microyen, money);
        json_array_append_new(groups, json_pack("{s:o, s:s, s:s, s:I, s:I}", "key",
                                                *g->key ? json_string(g->key) : json_null(), "name",
                                                g->name, "cost", money, "cost_microyen",
                                                (json_int_t)g->cost_microyen, "records",
                                                (json_int_t)g->records));
    }
    ksm_billing_yen_format(u->total_microyen, money);
    return json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:I, s:o}", "month", rep->month, "tenant",
                     tenant ? json_string(tenant) : json_null(), "project",
                     rep->project ? json_string(rep->project) : json_null(), "group_by",
                     group_names[u->by], "state", rep->closed ? "closed" : "open", "currency",
                     "JPY", "total", money, "total_microyen", (json_int_t)u->total_microyen,
                     "groups", groups);
}
