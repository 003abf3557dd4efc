/* supply_ref.c — the agreement's reference data: the agencies it binds, the categories of
 * equipment and services it covers, and its importance criteria (the CSV files of src/supply/data, compiled
 * in by scripts/embed.cmake). Parsed once, with the register's own CSV reader, on first use. */
#include "supply/supply_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "supply/supply_csv.h"

extern const char ksm_supply_data_agencies[];
extern const char ksm_supply_data_categories[];
extern const char ksm_supply_data_importance[];

static struct ksm_supply_ref ref;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Rows after the header as (a, b, c); the strings live for the process. */
static int load(const char *text, struct ksm_supply_ref_row **out)
{
    struct ksm_sheet s;
    char why[256];
    if (ksm_supply_csv_read(text, strlen(text), &s, why, sizeof why)) {
        ksm_error("supply reference data: %s", why);
        abort();   /* compiled-in data that does not parse is a build defect */
    }
    *out = ksm_xcalloc((size_t)(s.nrows ? s.nrows : 1), sizeof **out);
    int n = 0;
    for (int i = 1; i < s.nrows; i++) {
        (*out)[n].a = ksm_xstrdup(ksm_sheet_cell(&s.rows[i], 0));
        (*out)[n].b = ksm_xstrdup(ksm_sheet_cell(&s.rows[i], 1));
        (*out)[n].c = ksm_xstrdup(ksm_sheet_cell(&s.rows[i], 2));
        n++;
    }
    ksm_sheet_free(&s);
    return n;
}

static void init(void)
{
    ref.nagencies = load(ksm_supply_data_agencies, &ref.agencies);
    ref.ncategories = load(ksm_supply_data_categories, &ref.categories);
    ref.ncriteria = load(ksm_supply_data_importance, &ref.criteria);
}

const struct ksm_supply_ref *ksm_supply__ref(void)
{
    pthread_once(&once, init);
    return &ref;
}
