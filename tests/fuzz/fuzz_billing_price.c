/* fuzz_billing_price.c — libFuzzer target for the billing parsers: the input as a month, as yen text
 * and as a price body (JSON) given to the price list. Any bytes give a value or a reason, never a
 * crash; an accepted price is a stored row with a non-negative price and a positive per. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "core/db.h"
#include "meter/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ksm_db *db_once(void)
{
    static struct ksm_db db;
    static int ready;
    if (!ready) {
        char dir[] = "/tmp/ksm_fuzz_billing_XXXXXX", path[64], err[256];
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/meta.db", dir);
        ksm_usage_register_schema();
        ksm_billing_register_schema();
        if (ksm_db_open(&db, path, err, sizeof err))
            abort();
        ksm_db_exec(&db, "PRAGMA synchronous=OFF");   /* speed: durability is not under test */
        ready = 1;
    }
    return &db;
}

static void price(const char *s, size_t n)
{
    json_t *body = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL), *out = NULL;
    if (!body)
        return;
    char why[KSM_BILLING_WHY] = "";
    enum ksm_err e = ksm_billing_price_add(db_once(), body, 1800000000000LL, &out, why);
    if (e == KSM_E_OK) {
        if (!out || json_integer_value(json_object_get(out, "price_microyen")) < 0 ||
            json_integer_value(json_object_get(out, "per")) < 1)
            abort();
    } else if (e != KSM_E_INTERNAL && !*why) {
        abort();   /* every refusal says why */
    }
    json_decref(out);
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), buf[32];
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t a, b;
    if (ksm_billing_month_parse(s, &a, &b) == 0 && !(a < b && ksm_billing_fiscal_year(s) > 0))
        abort();
    if (ksm_billing_yen_parse(s, &a) == 0) {
        ksm_billing_yen_format(a, buf);
        int64_t back;
        if (ksm_billing_yen_parse(buf, &back) || back != a)
            abort();   /* what is accepted prints back to the same amount */
    }
    price(s, size);
    free(s);
    return 0;
}
