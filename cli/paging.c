/* paging.c — lists that come in pages ({"items": [...], "next_cursor": string|null}): one page by
 * default, every page with --all. Without --all the JSON output is the page exactly as returned, so
 * a script can follow next_cursor itself; with --all it is one object holding every item and a
 * null next_cursor, the shape a single last page would have. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/util.h"

static int check_limit(const char *s)
{
    if (!s)
        return 0;
    char *end;
    long n = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || n < 1 || n > 1000000) {
        kc_err("--limit must be a positive integer, not '%s'", s);
        return KC_EXIT_USAGE;
    }
    return 0;
}

/* Fetches pages into all_items until next_cursor is null (or after one page unless all). The
 * last page's answer is kept in *last. */
static int fetch(struct kc_ctx *c, const char *path, struct kc_query *q, bool all,
                 json_t *all_items, json_t **last)
{
    char *cursor = NULL;
    int rc = 0, slot = q->n;   /* the cursor parameter, when following, goes last */
    for (;;) {
        q->n = slot;
        kc_query_add(q, "cursor", cursor);
        json_t *page;
        if ((rc = kc_api(c, "GET", path, q, NULL, &page)))
            break;
        json_decref(*last);
        *last = page;
        json_t *items = json_object_get(page, "items");
        if (!json_is_array(items)) {
            kc_err("the server's answer has no \"items\" list");
            rc = KC_EXIT_API;
            break;
        }
        json_array_extend(all_items, items);
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        if (!all || !next || !*next)
            break;
        if (cursor && !strcmp(cursor, next)) {   /* a server bug must not loop us forever */
            kc_err("the server returned the same cursor twice");
            rc = KC_EXIT_API;
            break;
        }
        free(cursor);
        cursor = ksm_xstrdup(next);
    }
    free(cursor);
    return rc;
}

int kc_list_paged(struct kc_ctx *c, const struct kc_args *a, const char *path, struct kc_query *q,
                  const struct kc_col *cols)
{
    const char *limit = kc_flag(a, "limit");
    int rc = check_limit(limit);
    if (rc)
        return rc;
    bool all = kc_flag_set(a, "all");
    kc_query_add(q, "limit", limit);
    /* An explicit --cursor starts there; fetch() adds the following cursors itself. */
    if (kc_flag(a, "cursor") && all) {
        kc_err("give --cursor or --all, not both");
        return KC_EXIT_USAGE;
    }
    kc_query_add(q, "cursor", kc_flag(a, "cursor"));
    json_t *items = json_array(), *last = NULL;
    rc = fetch(c, path, q, all, items, &last);
    if (rc == 0) {
        if (all) {
            json_t *merged = json_pack("{s:O, s:n}", "items", items, "next_cursor");
            kc_print(c, merged, cols);
            json_decref(merged);
        } else {
            kc_print(c, last, cols);
            const char *next = json_string_value(json_object_get(last, "next_cursor"));
            if (next && *next && c->output == KC_OUT_TABLE) {
                char *shown = ksm_xstrdup(next);
                kc_scrub(shown);
                kc_err("more results: add --cursor %s (or --all)", shown);
                free(shown);
            }
        }
    }
    json_decref(items);
    json_decref(last);
    return rc;
}
