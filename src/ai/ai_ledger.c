/* ai_ledger.c — the run-time ledger of AI spend and quotas (SPEC.md G, C).
 * Before an upstream call the gateway reserves the request's estimated cost
 * against the project's monthly budget (and the key's own cap there) and its
 * estimated tokens against the per-minute quotas of the project and the key; after, it writes the usage
 * record (with cost_microyen) and settles, replacing the estimate by the
 * actual.
 *
 * State lives in memory, keyed by project and by key in a project, under one mutex: the
 * critical sections are a few additions, far shorter than the SQL that fills an
 * entry, which runs outside the lock. An entry is filled lazily: the budget
 * from ai_budgets (again after any AI-store write, by generation), and the
 * month's AI spend from the rated usage records (ksm_usage_project_cost_split over the
 * JST month). Since the gateway writes the usage record before settling, the
 * spend recomputed after a restart equals the settled spend. The spend is
 * loaded only when an entry is created or the month rolls over: reloading it
 * with requests in flight would count a written-but-unsettled record twice.
 *
 * A key's entry in a project holds its quota window there and its own cap in the project
 * (ai_key_budgets) with its month's spend there (from the usage sums by key, meter/usage_by_key.c)
 * and its reservations, filled with the project's entry and reserved in the same critical section,
 * so a request is admitted only when both have room.
 *
 * The budget covers the project's whole spend (docs/billing.md): besides the AI spend it tracks,
 * an entry holds the month's spend of every other service (storage, rated when its records are
 * written). Those records are never settled here, so re-reading their sum cannot count anything
 * twice: it is refreshed when older than OTHER_TTL_MS, and on every status read.
 *
 * Months are JST calendar months (UTC+9, no daylight saving). A reservation
 * made before a rollover and settled after it frees its reservation but adds
 * nothing to the new month: its usage record is counted when the month's spend
 * is next loaded (at most one request per project, at midnight). Quotas are
 * fixed one-minute windows; Retry-After is the time until the window ends (for
 * the budget: until the month ends). Every time is a parameter, never the
 * clock, so tests can roll months. */
#include "ai/ai_store_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "meter/usage.h"

#define BUCKETS 256
#define MINUTE_MS 60000
#define JST_MS (9LL * 3600 * 1000)
#define DAY_MS 86400000LL
#define OTHER_TTL_MS 5000 /* how stale the non-AI spend may be when admitting a request */

struct window {
    int64_t start_ms;
    int64_t reqs, toks;
};

struct proj {
    struct proj *next;
    char project[KSM_AI_ID];
    uint64_t gen; /* the AI generation the budget was read under */
    struct ksm_ai_budget budget;
    int64_t month; /* yyyymm (JST) that spent belongs to */
    int64_t spent, reserved, in_flight; /* spent: the AI spend, settled */
    int64_t other, other_ms;            /* the other services' spend, and when it was read */
    int crossed; /* how many alert thresholds the settled spend has reached */
    struct window w;
};

/* A key inside one project: its quota window (the project's policy limits the key's calls there)
 * and its own monthly cap there, with the spend and reservations it is held to. */
struct keyq {
    struct keyq *next;
    char project[KSM_AI_ID], key[KSM_AI_ID];
    struct window w;
    uint64_t gen;                /* the AI generation the cap was read under */
    struct ksm_ai_budget budget; /* its cap (monthly_microyen -1: none) and alert thresholds */
    struct ksm_ai_key_rates rates; /* its own quota there, or the policy's (read with the cap) */
    int64_t month, spent, reserved, in_flight;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct proj *projects[BUCKETS];
static struct keyq *keys[BUCKETS];

static unsigned bucket(const char *s) { return (unsigned)(ksm_hash64(0, s, strlen(s)) % BUCKETS); }

/* A key as the tables find it: its bucket hashed once per call, from its id alone (random, so it
 * spreads; the project is compared, not hashed). */
struct kname {
    const char *id;
    unsigned b;
};

static struct kname kname(const char *key) { return (struct kname){key, bucket(key)}; }

/* ---- JST months ---- */

/* days since 1970-01-01 of a civil date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t ksm_ai_jst_month(int64_t t_ms, int64_t *start_ms, int64_t *end_ms)
{
    int64_t local = t_ms + JST_MS, y, m;
    int64_t days = local / DAY_MS - (local % DAY_MS < 0);
    civil_from_days(days, &y, &m);
    if (start_ms)
        *start_ms = days_from_civil(y, m, 1) * DAY_MS - JST_MS;
    if (end_ms)
        *end_ms = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * DAY_MS - JST_MS;
    return y * 100 + m;
}

/* ---- the tables (caller holds mu) ---- */

static struct proj *proj_find(const char *project)
{
    for (struct proj *p = projects[bucket(project)]; p; p = p->next)
        if (!strcmp(p->project, project))
            return p;
    return NULL;
}

static struct proj *proj_add(const char *project)
{
    struct proj *p = ksm_xcalloc(1, sizeof *p);
    ksm_fmt_copy(p->project, sizeof p->project, project);
    unsigned b = bucket(project);
    p->next = projects[b];
    projects[b] = p;
    return p;
}

static struct keyq *key_find(const char *project, const struct kname *key)
{
    for (struct keyq *k = keys[key->b]; k; k = k->next)
        if (!strcmp(k->key, key->id) && !strcmp(k->project, project))
            return k;
    return NULL;
}

static struct keyq *key_add(const char *project, const struct kname *key)
{
    struct keyq *k = ksm_xcalloc(1, sizeof *k);
    ksm_fmt_copy(k->project, sizeof k->project, project);
    ksm_fmt_copy(k->key, sizeof k->key, key->id);
    k->budget.monthly_microyen = -1;
    k->rates = (struct ksm_ai_key_rates){KSM_AI_RATE_PROJECTS, KSM_AI_RATE_PROJECTS};
    k->next = keys[key->b];
    keys[key->b] = k;
    return k;
}

void ksm_ai_ledger_reset(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < BUCKETS; i++) {
        for (struct proj *p = projects[i], *n; p; p = n) {
            n = p->next;
            free(p);
        }
        for (struct keyq *k = keys[i], *n; k; k = n) {
            n = k->next;
            free(k);
        }
        projects[i] = NULL;
        keys[i] = NULL;
    }
    pthread_mutex_unlock(&mu);
}

/* How many thresholds spent has reached: spent >= budget * t / 100, in 128
 * bits. */
static int reached(const struct proj *p)
{
    int n = 0;
    if (p->budget.monthly_microyen < 0)
        return 0;
    while (n < p->budget.nalerts &&
           (__int128)(p->spent + p->other) * 100 >=
               (__int128)p->budget.monthly_microyen * p->budget.alerts[n])
        n++;
    return n;
}

/* ---- loading ---- */

struct loaded {
    bool budget, spend, other;     /* the project's */
    bool cap, kspend;              /* the key's in the project */
    uint64_t gen;
    struct ksm_ai_budget b, kb;
    struct ksm_ai_key_rates kr;
    int64_t month, spent, others, kspent;
};

/* What the entries of the project (and of the key in it, key non-NULL) lack, under the lock. */
static bool lacking(struct loaded *l, const char *project, const struct kname *key, int64_t now_ms,
                    bool fresh)
{
    struct proj *p = proj_find(project);
    l->budget = !p || p->gen != l->gen;
    l->spend = !p || p->month != l->month;
    l->other = l->spend || fresh || now_ms - p->other_ms >= OTHER_TTL_MS || now_ms < p->other_ms;
    struct keyq *k = key ? key_find(project, key) : NULL;
    l->cap = key && (!k || k->gen != l->gen);
    l->kspend = key && (!k || k->month != l->month);
    return l->budget || l->spend || l->other || l->cap || l->kspend;
}

/* Applies what was read and is still missing (another thread may have rolled a month meanwhile). */
static void apply(const struct loaded *l, const char *project, const struct kname *key,
                  int64_t now_ms)
{
    struct proj *p = proj_find(project);
    if (!p)
        p = proj_add(project);
    if (l->budget && (p->gen < l->gen || !p->gen)) {
        p->budget = l->b;
        p->gen = l->gen;
    }
    if (l->spend && p->month < l->month) {
        p->month = l->month;
        p->spent = l->spent;
    }
    if (l->other && p->month == l->month) {
        p->other = l->others;
        p->other_ms = now_ms;
    }
    p->crossed = reached(p); /* a new budget or month: already-crossed lines are not news */
    if (!key)
        return;
    struct keyq *k = key_find(project, key);
    if (!k)
        k = key_add(project, key);
    if (l->cap && (k->gen < l->gen || !k->gen)) {
        k->budget = l->kb;
        k->rates = l->kr;
        k->gen = l->gen;
    }
    if (l->kspend && k->month < l->month) {
        k->month = l->month;
        k->spent = l->kspent;
    }
}

/* Reads what the entries lack (outside the lock), then applies what is still missing: the
 * project's budget and a key's cap again after any AI-store write, the AI spend when first seen
 * and when the month rolls over. key: NULL for none. fresh: re-read the other services' spend
 * whatever its age. */
static enum ksm_err ensure(struct ksm_db *db, const char *project, const struct kname *key, int64_t now_ms,
                           bool fresh)
{
    struct loaded l = {.gen = ksm_ai__generation()};
    int64_t start, end;
    l.month = ksm_ai_jst_month(now_ms, &start, &end);
    pthread_mutex_lock(&mu);
    bool lack = lacking(&l, project, key, now_ms, fresh);
    pthread_mutex_unlock(&mu);
    if (!lack)
        return KSM_E_OK;
    if (l.budget && ksm_ai_budget_load(db, project, &l.b) != KSM_E_OK)
        return KSM_E_INTERNAL;
    if (l.other && ksm_usage_project_cost_split(db, project, "ai", start, end, &l.spent,
                                                &l.others) != KSM_E_OK)
        return KSM_E_INTERNAL;
    if (l.cap && (ksm_ai_key_budget_load(db, project, key->id, &l.kb) != KSM_E_OK ||
                  ksm_ai_key_rates_load(db, project, key->id, &l.kr) != KSM_E_OK))
        return KSM_E_INTERNAL;
    if (l.kspend && ksm_usage_key_cost(db, project, key->id, start, end, &l.kspent) != KSM_E_OK)
        return KSM_E_INTERNAL;
    pthread_mutex_lock(&mu);
    apply(&l, project, key, now_ms);
    pthread_mutex_unlock(&mu);
    return KSM_E_OK;
}

/* ---- reserve and settle ---- */

static int seconds_until(int64_t end_ms, int64_t now_ms)
{
    int64_t s = (end_ms - now_ms + 999) / 1000;
    return s < 1 ? 1 : s > 86400 * 31 ? 86400 * 31 : (int)s;
}

static int64_t minute_start(int64_t now_ms)
{
    return now_ms - (now_ms % MINUTE_MS + MINUTE_MS) % MINUTE_MS;
}

/* Would one more request of toks tokens fit the window under (rpm, tpm)? */
static bool fits(struct window *w, int64_t rpm, int64_t tpm, int64_t toks, int64_t now_ms,
                 int *retry)
{
    int64_t start = minute_start(now_ms);
    if (w->start_ms != start) {
        w->start_ms = start;
        w->reqs = w->toks = 0;
    }
    if ((rpm > 0 && w->reqs + 1 > rpm) || (tpm > 0 && w->toks + toks > tpm)) {
        *retry = seconds_until(start + MINUTE_MS, now_ms);
        return false;
    }
    return true;
}

static void count(struct window *w, int64_t toks)
{
    w->reqs++;
    w->toks += toks;
}

/* The quota with less left wins: that is the one the caller runs into first. */
static void left(struct ksm_ai_quota_left *q, int64_t limit, int64_t used)
{
    int64_t n = limit - used;
    if (limit <= 0)
        return;
    if (n < 0)
        n = 0;
    if (!q->limit || n < q->remaining)
        *q = (struct ksm_ai_quota_left){limit, n};
}

/* What is left this minute under the project's and the key's quotas (a window not yet rolled into
 * this minute has all of it left). kr: the key's quota in force, NULL for no key. */
static void quota_left(struct ksm_ai_reservation *out, const struct ksm_ai_policy *pol,
                       const struct window *pw, const struct window *kw,
                       const struct ksm_ai_key_rates *kr, int64_t start)
{
    const struct window none = {0, 0, 0};
    if (pw->start_ms != start)
        pw = &none;
    if (!kw || kw->start_ms != start)
        kw = &none;
    left(&out->reqs, pol->project_rpm, pw->reqs);
    left(&out->toks, pol->project_tpm, pw->toks);
    if (kr) {
        left(&out->reqs, kr->rpm, kw->reqs);
        left(&out->toks, kr->tpm, kw->toks);
    }
    out->reset_ms = start + MINUTE_MS;
}

enum ksm_err ksm_ai_reserve(struct ksm_db *db, const char *project, const char *key,
                            const struct ksm_ai_policy *pol, int64_t est_tokens, int64_t est_cost,
                            int64_t now_ms, struct ksm_ai_reservation *out, int *retry_after_s)
{
    int64_t end;
    memset(out, 0, sizeof *out);
    *retry_after_s = 0;
    if (!project || !*project || est_tokens < 0 || est_cost < 0)
        return KSM_E_INVALID_ARGUMENT;
    bool keyed = key && *key;
    struct kname kn = kname(keyed ? key : "");
    if (ensure(db, project, keyed ? &kn : NULL, now_ms, false) != KSM_E_OK)
        return KSM_E_INTERNAL;
    int64_t month = ksm_ai_jst_month(now_ms, NULL, &end);
    enum ksm_err e = KSM_E_RATE_LIMITED;
    pthread_mutex_lock(&mu);
    struct proj *p = proj_find(project);
    struct keyq *k = keyed ? key_find(project, &kn) : NULL;
    /* the key's own quota in the project, else the policy's per-key one */
    struct ksm_ai_key_rates kr = k ? ksm_ai_key_rates_applied(&k->rates, pol)
                                   : (struct ksm_ai_key_rates){0, 0};
    if (!p || (keyed && !k)) {
        e = KSM_E_INTERNAL; /* reset between ensure and here: only tests do that */
        goto out;
    }
    if (!fits(&p->w, pol->project_rpm, pol->project_tpm, est_tokens, now_ms, retry_after_s)) {
        out->refused = KSM_AI_OVER_PROJECT_QUOTA;
        goto out;
    }
    if (k && !fits(&k->w, kr.rpm, kr.tpm, est_tokens, now_ms, retry_after_s)) {
        out->refused = KSM_AI_OVER_KEY_QUOTA;
        goto out;
    }
    if (p->budget.monthly_microyen >= 0 &&
        p->spent + p->other + p->reserved + est_cost > p->budget.monthly_microyen)
        out->refused = KSM_AI_OVER_PROJECT_BUDGET;
    else if (k && k->budget.monthly_microyen >= 0 &&
             k->spent + k->reserved + est_cost > k->budget.monthly_microyen)
        out->refused = KSM_AI_OVER_KEY_BUDGET;
    if (out->refused) {
        *retry_after_s = seconds_until(end, now_ms);
        goto out;
    }
    count(&p->w, est_tokens);
    if (k)
        count(&k->w, est_tokens);
    p->reserved += est_cost;
    p->in_flight++;
    if (k) {
        k->reserved += est_cost;
        k->in_flight++;
    }
    e = KSM_E_OK;
    ksm_fmt_copy(out->project, sizeof out->project, project);
    ksm_fmt_copy(out->key, sizeof out->key, k ? key : "");
    out->month = month;
    out->cost_microyen = est_cost;
    out->tokens = est_tokens;
    out->window_ms = p->w.start_ms;
    out->active = true;
out:
    if (p)
        quota_left(out, pol, &p->w, k ? &k->w : NULL, k ? &kr : NULL, minute_start(now_ms));
    pthread_mutex_unlock(&mu);
    return e;
}

/* The estimate was counted in the reservation's window: correct it there; if
 * the window has moved on, tokens beyond the estimate still count, in the
 * window now running. */
static void adjust(struct window *w, const struct ksm_ai_reservation *res, int64_t actual)
{
    int64_t diff = actual - res->tokens;
    if (w->start_ms == res->window_ms || diff > 0)
        w->toks += diff;
    if (w->toks < 0)
        w->toks = 0;
}

void ksm_ai_settle(struct ksm_ai_reservation *res, int64_t actual_tokens, int64_t actual_cost)
{
    if (!res || !res->active)
        return;
    res->active = false;
    if (actual_cost < 0)
        actual_cost = 0;
    char line[256] = "";
    pthread_mutex_lock(&mu);
    struct proj *p = proj_find(res->project);
    if (p) {
        p->reserved -= res->cost_microyen;
        p->in_flight--;
        adjust(&p->w, res, actual_tokens);
        if (res->month == p->month) {
            p->spent += actual_cost;
            int now = reached(p);
            if (now > p->crossed)
                snprintf(line, sizeof line,
                         "AI budget alert: project %s reached %d%% of its monthly budget "
                         "(%lld of %lld micro-yen, month %lld)",
                         p->project, p->budget.alerts[now - 1], (long long)(p->spent + p->other),
                         (long long)p->budget.monthly_microyen, (long long)p->month);
            p->crossed = now;
        }
    }
    struct kname kn = kname(res->key);
    struct keyq *k = res->key[0] ? key_find(res->project, &kn) : NULL;
    if (k) {
        adjust(&k->w, res, actual_tokens);
        k->reserved -= res->cost_microyen;
        k->in_flight--;
        if (res->month == k->month)
            k->spent += actual_cost;
    }
    pthread_mutex_unlock(&mu);
    if (line[0])
        ksm_warn("%s", line);
}

static json_t *month_json(int64_t month)
{
    char s[16];
    snprintf(s, sizeof s, "%04lld-%02lld", (long long)(month / 100), (long long)(month % 100));
    return json_string(s);
}

/* What a budget's status says, a project's or a key's: the month, the cap (null: none) and its
 * thresholds, the spend, the reservations and what remains, and when the month ends. */
static json_t *status_json(const struct ksm_ai_budget *b, int64_t month, int64_t spent,
                           int64_t reserved, int64_t in_flight, int64_t end)
{
    char yen[32];
    int64_t cap = b->monthly_microyen;
    ksm_ai_yen_format(spent, yen);
    return json_pack("{s:o,s:o,s:o,s:I,s:s,s:I,s:I,s:o,s:o}", "month", month_json(month),
                     "monthly_yen", cap >= 0 ? json_integer(cap / 1000000) : json_null(),
                     "alert_thresholds", ksm_ai__alerts_json(b), "spent_microyen",
                     (json_int_t)spent, "spent_yen", yen, "reserved_microyen",
                     (json_int_t)reserved, "in_flight", (json_int_t)in_flight,
                     "remaining_microyen",
                     cap >= 0 ? json_integer(cap - spent - reserved) : json_null(), "resets_at",
                     ksm_ai__time_json(end));
}

enum ksm_err ksm_ai_budget_status(struct ksm_db *db, const char *project, int64_t now_ms,
                                  json_t **out)
{
    int64_t end;
    if (ensure(db, project, NULL, now_ms, true) != KSM_E_OK)
        return KSM_E_INTERNAL;
    ksm_ai_jst_month(now_ms, NULL, &end);
    pthread_mutex_lock(&mu);
    struct proj *p = proj_find(project), s = p ? *p : (struct proj){0};
    pthread_mutex_unlock(&mu);
    if (!p)
        return KSM_E_INTERNAL;
    json_t *crossed = json_array();
    for (int i = 0; i < s.crossed; i++)
        json_array_append_new(crossed, json_integer(s.budget.alerts[i]));
    *out = status_json(&s.budget, s.month, s.spent + s.other, s.reserved, s.in_flight, end);
    json_object_set_new(*out, "project", json_string(project));
    json_object_set_new(*out, "ai_spent_microyen", json_integer(s.spent));
    json_object_set_new(*out, "other_spent_microyen", json_integer(s.other));
    json_object_set_new(*out, "alerts_crossed", crossed);
    return KSM_E_OK;
}

/* ---- a key's cap: status ---- */

enum ksm_err ksm_ai_key_budget_status(struct ksm_db *db, const char *project, const char *key,
                                      int64_t now_ms, json_t **out)
{
    int64_t end;
    ksm_ai_jst_month(now_ms, NULL, &end);
    struct kname kn = kname(key);
    if (ensure(db, project, &kn, now_ms, false) != KSM_E_OK)
        return KSM_E_INTERNAL;
    pthread_mutex_lock(&mu);
    struct keyq *k = key_find(project, &kn), s = k ? *k : (struct keyq){0};
    pthread_mutex_unlock(&mu);
    if (!k)
        return KSM_E_INTERNAL;   /* reset meanwhile: only tests do that */
    *out = status_json(&s.budget, s.month, s.spent, s.reserved, s.in_flight, end);
    json_object_set_new(*out, "project", json_string(project));
    json_object_set_new(*out, "key", json_string(key));
    return KSM_E_OK;
}

/* The keys to list, into arg (key id -> {user, requests, tokens}): those with use this month,
 * with their sums, and those with a cap, a list of models or a quota of their own. */
static void listed_use(void *arg, const struct ksm_usage_key_use *u)
{
    json_object_set_new(arg, u->key,
                        json_pack("{s:s?,s:I,s:I}", "user", u->user && *u->user ? u->user : NULL,
                                  "requests", (json_int_t)u->records, "tokens",
                                  (json_int_t)u->quantity));
}

static void listed_setting(void *arg, const char *key)
{
    if (!json_object_get(arg, key))
        json_object_set_new(arg, key,
                            json_pack("{s:n,s:i,s:i}", "user", "requests", 0, "tokens", 0));
}

enum ksm_err ksm_ai_key_budget_list(struct ksm_db *db, const char *project, int64_t now_ms,
                                    json_t **out)
{
    int64_t start, end, month = ksm_ai_jst_month(now_ms, &start, &end);
    json_t *by_key = json_object();
    enum ksm_err e = ksm_usage_keys_of_project(db, project, start, end, listed_use, by_key);
    if (e == KSM_E_OK)
        e = ksm_ai_key_settings_each(db, project, listed_setting, by_key);
    json_t *items = json_array();
    const char *key;
    json_t *use;
    json_object_foreach(by_key, key, use)
    {
        json_t *one = NULL;
        if (e == KSM_E_OK && (e = ksm_ai_key_budget_status(db, project, key, now_ms, &one)) ==
                                 KSM_E_OK) {
            char allowed[KSM_AI_KEY_MODELS_MAX];
            json_object_del(one, "project");
            json_object_del(one, "month");
            json_object_update(one, use);
            struct ksm_ai_key_rates kr;
            if ((e = ksm_ai_key_models_get(db, project, key, allowed)) == KSM_E_OK)
                json_object_set_new(one, "models", ksm_ai_key_models_json(allowed));
            if (e == KSM_E_OK && (e = ksm_ai_key_rates_load(db, project, key, &kr)) == KSM_E_OK) {
                json_t *rates = ksm_ai_key_rates_json(&kr, NULL);   /* null: the project's */
                json_object_update(one, rates);
                json_decref(rates);
            }
            json_array_append_new(items, one);
        }
    }
    json_decref(by_key);
    if (e != KSM_E_OK) {
        json_decref(items);
        return e;
    }
    *out = json_pack("{s:s,s:o,s:o,s:o}", "project", project, "month", month_json(month),
                     "resets_at", ksm_ai__time_json(end), "items", items);
    return KSM_E_OK;
}
