/* ai_price.c — model prices (SPEC.md G, C): yen per 1,000 tokens of prompt,
 * completion and cached prompt, for a model alias, each row effective from a
 * time. Money is integer micro-yen (1e-6 yen) from the operator's decimal text
 * to the bill: "0.15" is parsed digit by digit, never through a double, whose
 * binary value is not the decimal written. Prices never change retroactively: a
 * row is never edited, and a new row may start no earlier than now (a minute of
 * slack for clocks), so the price of a request already served stays the price
 * it was charged. */
#include "ai/ai_store_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

#define RETRO_SLACK_MS 60000

int ksm_ai_yen_parse(const char *s, int64_t *microyen)
{
    int64_t whole = 0, frac = 0;
    int nwhole = 0, nfrac = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++, nwhole++) {
        whole = whole * 10 + (*p - '0');
        if (whole > KSM_AI_YEN_MAX)
            return -1;
    }
    if (nwhole == 0)
        return -1; /* "", ".5", "-1", "+1", " 1" */
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
            if (nfrac == 6)
                return -1; /* more precision than a micro-yen: refuse rather than round
                            */
            frac = frac * 10 + (*p - '0');
        }
        if (nfrac == 0)
            return -1; /* "1." */
    }
    if (*p)
        return -1;
    for (int i = nfrac; i < 6; i++)
        frac *= 10;
    *microyen = whole * 1000000 + frac;
    return 0;
}

void ksm_ai_yen_format(int64_t microyen, char *out)
{
    int n = snprintf(out, 32, "%lld.%06lld", (long long)(microyen / 1000000),
                     (long long)(microyen % 1000000));
    while (out[n - 1] == '0')
        out[--n] = '\0';
    if (out[n - 1] == '.')
        out[n - 1] = '\0';
}

/* ceil(n * per_1k / 1000), saturating: a bill never wraps around to a small
 * number. */
static int64_t part(int64_t n, int64_t per_1k)
{
    int64_t prod;
    if (n <= 0 || per_1k <= 0)
        return 0;
    if (__builtin_mul_overflow(n, per_1k, &prod) || prod > INT64_MAX - 999)
        return INT64_MAX / 4;
    return (prod + 999) / 1000;
}

int64_t ksm_ai_cost(const struct ksm_ai_price *p, int64_t prompt, int64_t completion,
                    int64_t cached)
{
    return part(prompt, p->prompt_per_1k) + part(completion, p->completion_per_1k) +
           part(cached, p->cached_per_1k);
}

static void yen_field(json_t *o, const char *k, int64_t v)
{
    char buf[32];
    ksm_ai_yen_format(v, buf);
    json_object_set_new(o, k, json_string(buf));
}

#define PRICE_COLS                                                                                 \
    "id, model, prompt_per_1k, completion_per_1k, cached_per_1k, "                                 \
    "effective_from, created_at"

static json_t *row_json(sqlite3_stmt *st)
{
    json_t *o =
        json_pack("{s:s,s:s}", "id", ksm_db_col_text(st, 0), "model", ksm_db_col_text(st, 1));
    static const char *const names[] = {"prompt_per_1k", "completion_per_1k", "cached_per_1k"};
    json_t *micro = json_object();
    for (int i = 0; i < 3; i++) {
        yen_field(o, names[i], sqlite3_column_int64(st, 2 + i));
        json_object_set_new(micro, names[i], json_integer(sqlite3_column_int64(st, 2 + i)));
    }
    json_object_set_new(o, "microyen", micro);
    json_object_set_new(o, "effective_from", ksm_ai__time_json(sqlite3_column_int64(st, 5)));
    json_object_set_new(o, "created_at", ksm_ai__time_json(sqlite3_column_int64(st, 6)));
    return o;
}

static enum ksm_err get(struct ksm_db *db, const char *id, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " PRICE_COLS " FROM ai_prices WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    enum ksm_err e = KSM_E_INTERNAL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = row_json(st);
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}

static enum ksm_err insert(struct ksm_db *db, const char *id, const char *model,
                           const struct ksm_ai_price *p, int64_t from, int64_t now_ms)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "INSERT INTO ai_prices(" PRICE_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, p->prompt_per_1k);
    sqlite3_bind_int64(st, 4, p->completion_per_1k);
    sqlite3_bind_int64(st, 5, p->cached_per_1k);
    sqlite3_bind_int64(st, 6, from);
    sqlite3_bind_int64(st, 7, now_ms);
    return ksm_ai__step_write(db, st);
}

enum ksm_err ksm_ai_price_add(struct ksm_db *db, json_t *body, int64_t now_ms, json_t **out,
                              char *why)
{
    const char *model = NULL, *from_s = NULL;
    bool has_cached = false;
    struct ksm_ai_price p = {0};
    int64_t from = now_ms;
    const struct ksm_ai__jf spec[] = {
        {"model", KSM_AI_J_STR, true, &model, NULL},
        {"prompt_per_1k", KSM_AI_J_YEN, true, &p.prompt_per_1k, NULL},
        {"completion_per_1k", KSM_AI_J_YEN, true, &p.completion_per_1k, NULL},
        {"cached_per_1k", KSM_AI_J_YEN, false, &p.cached_per_1k, &has_cached},
        {"effective_from", KSM_AI_J_STR, false, &from_s, NULL},
    };
    char id[KSM_AI_ID];
    enum ksm_err e = ksm_ai__fields(body, "", spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    if (!ksm_ai__name_ok(model))
        return snprintf(why, KSM_AI_WHY,
                        "model must be a model alias (1..127 of A-Z a-z 0-9 . _ "
                        ": @ / + -)"),
               KSM_E_INVALID_ARGUMENT;
    if (from_s && ksm_parse_rfc3339(from_s, &from) < 0)
        return snprintf(why, KSM_AI_WHY, "effective_from must be an RFC 3339 time"),
               KSM_E_INVALID_ARGUMENT;
    if (from < now_ms - RETRO_SLACK_MS)
        return snprintf(why, KSM_AI_WHY,
                        "effective_from is in the past: prices never change "
                        "retroactively; add a row effective from now or later"),
               KSM_E_INVALID_ARGUMENT;
    if (!has_cached)
        p.cached_per_1k = p.prompt_per_1k; /* never bill cached tokens below what was asked */
    ksm_id_new("mp", id);
    if ((e = ksm_ai__begin(db)) != KSM_E_OK)
        return e;
    e = insert(db, id, model, &p, from, now_ms);
    if (e == KSM_E_ALREADY_EXISTS)
        snprintf(why, KSM_AI_WHY, "model %s already has a price effective from that time", model);
    if (e == KSM_E_OK)
        e = get(db, id, out);
    return ksm_ai__end(db, e);
}

enum ksm_err ksm_ai_price_list(struct ksm_db *db, const char *model, const char *after, int limit,
                               json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " PRICE_COLS " FROM ai_prices WHERE id>?1 AND "
                                          "(?2 IS NULL OR model=?2) ORDER BY id LIMIT ?3");
    sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 2, model);
    sqlite3_bind_int(st, 3, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, row_json(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* The row effective at at_ms and the interval [from, until) in which it stays
 * so. */
static enum ksm_err find_db(struct ksm_db *db, const char *model, int64_t at_ms,
                            struct ksm_ai_price *out, int64_t *from, int64_t *until)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT prompt_per_1k, completion_per_1k, "
                                          "cached_per_1k, effective_from FROM ai_prices"
                                          " WHERE model=?1 AND effective_from<=?2 ORDER BY "
                                          "effective_from DESC LIMIT 1");
    ksm_db_bind_text(st, 1, model);
    sqlite3_bind_int64(st, 2, at_ms);
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_ROW    ? KSM_E_OK
                     : rc == SQLITE_DONE ? KSM_E_NOT_FOUND
                                         : KSM_E_INTERNAL;
    *from = INT64_MIN;
    if (e == KSM_E_OK) {
        out->prompt_per_1k = sqlite3_column_int64(st, 0);
        out->completion_per_1k = sqlite3_column_int64(st, 1);
        out->cached_per_1k = sqlite3_column_int64(st, 2);
        *from = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    st = ksm_db_prepare(db, "SELECT min(effective_from) FROM ai_prices WHERE model=?1 AND "
                            "effective_from>?2");
    ksm_db_bind_text(st, 1, model);
    sqlite3_bind_int64(st, 2, at_ms);
    *until = INT64_MAX;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *until = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_ai_price_find(struct ksm_db *db, const char *model, int64_t at_ms,
                               struct ksm_ai_price *out)
{
    enum ksm_err e;
    int64_t from, until;
    if (!model)
        return KSM_E_NOT_FOUND;
    if (ksm_ai__memo_price(model, at_ms, out, &e))
        return e;
    uint64_t gen = ksm_ai__generation();
    e = find_db(db, model, at_ms, out, &from, &until);
    if (e != KSM_E_INTERNAL)
        ksm_ai__memo_price_put(model, gen, from, until, e, out);
    return e;
}
