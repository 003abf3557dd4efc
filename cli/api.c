/* api.c — the admin API's conventions on top of one HTTP request: JSON bodies in and out, query
 * strings, and the error shape {"error":{"code","message","request_id"}} turned into the CLI's
 * one-line message and exit code. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "core/util.h"

void kc_query_add(struct kc_query *q, const char *key, const char *val)
{
    if (!val || q->n == (int)KSM_NELEM(q->key))
        return;
    q->key[q->n] = key;
    q->val[q->n] = val;
    q->n++;
}

void kc_query_append(struct kc_ctx *c, struct ksm_buf *path, const struct kc_query *q)
{
    if (!c->curl)
        c->curl = curl_easy_init();
    for (int i = 0; q && i < q->n; i++) {
        char *v = curl_easy_escape(c->curl, q->val[i], 0);
        ksm_buf_printf(path, "%c%s=%s", i ? '&' : '?', q->key[i], v ? v : "");
        curl_free(v);
    }
}

void kc_json_set(json_t *obj, const char *key, const char *val)
{
    if (val)
        json_object_set_new(obj, key, json_string(val));
}

int kc_json_set_int(struct kc_ctx *c, json_t *obj, const char *key, const char *flag,
                    const char *val)
{
    static const struct { const char *suffix; int shift; } units[] = {
        {"", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"PiB", 50},
    };
    char *end;
    if (!val)
        return 0;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    for (size_t i = 0; *val && !errno && i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix))
            continue;
        if (v < 0 ? v < (LLONG_MIN >> units[i].shift) : v > (LLONG_MAX >> units[i].shift))
            break;
        json_object_set_new(obj, key, json_integer(v * (1LL << units[i].shift)));
        return 0;
    }
    kc_usage_err(c->cmd, "--%s must be an integer (sizes may end in KiB, MiB, GiB, TiB)", flag);
    return -1;
}

/* The message for an error body that is not the API's JSON shape (a proxy's page, say): the status
 * and the first line, cleaned for the terminal. */
static void raw_error(const struct kc_http_resp *r)
{
    char line[160] = "";
    if (r->body.data) {
        snprintf(line, sizeof line, "%.*s", (int)strcspn(r->body.data, "\r\n"), r->body.data);
        if (!ksm_utf8_valid(line, strlen(line)))
            for (char *p = line; *p; p++)
                if ((unsigned char)*p >= 0x80)
                    *p = '?';
        kc_scrub(line);
    }
    kc_err("HTTP %ld%s%s", r->status, *line ? ": " : "", line);
}

int kc_api_error(const struct kc_http_resp *r)
{
    json_t *root = r->body.data ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(root, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *rid = json_string_value(json_object_get(e, "request_id"));
    if (!code) {
        raw_error(r);
        json_decref(root);
        return KC_EXIT_API;
    }
    char *scode = ksm_xstrdup(code), *smsg = ksm_xstrdup(msg ? msg : ""),
         *srid = ksm_xstrdup(rid ? rid : "");
    kc_scrub(scode), kc_scrub(smsg), kc_scrub(srid);
    if (*srid)
        kc_err("%s: %s (request_id %s)", scode, smsg, srid);
    else
        kc_err("%s: %s", scode, smsg);
    free(scode), free(smsg), free(srid);
    json_decref(root);
    return KC_EXIT_API;
}

static int parse_answer(const struct kc_http_resp *r, json_t **out)
{
    if (r->body.len == 0)
        return 0;   /* 204, or an action that answers with nothing */
    json_error_t jerr;
    *out = json_loadb(r->body.data, r->body.len, 0, &jerr);
    if (!*out) {
        kc_err("the server's answer is not JSON (HTTP %ld, %s)", r->status, jerr.text);
        return KC_EXIT_API;
    }
    return 0;
}

int kc_api(struct kc_ctx *c, const char *method, const char *path, const struct kc_query *q,
           json_t *body, json_t **out)
{
    *out = NULL;
    struct ksm_buf url = KSM_BUF_INIT;
    ksm_buf_puts(&url, path);
    kc_query_append(c, &url, q);
    /* Compact and without ENSURE_ASCII: the API takes UTF-8 as is. */
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct kc_http_resp r = {0};
    int rc = kc_http(c, method, url.data, text, &r);
    if (rc)
        goto done;
    if (r.status >= 200 && r.status < 300)
        rc = parse_answer(&r, out);
    else if (r.status >= 400)
        rc = kc_api_error(&r);
    else {
        kc_err("unexpected HTTP %ld from %s", r.status, c->endpoint);
        rc = KC_EXIT_API;
    }
done:
    free(text);
    ksm_buf_free(&url);
    kc_http_resp_free(&r);
    return rc;
}

int kc_call(struct kc_ctx *c, const char *method, const char *path, const struct kc_query *q,
            json_t *body, const struct kc_col *cols, const char *done)
{
    json_t *out;
    int rc = kc_api(c, method, path, q, body, &out);
    if (rc)
        return rc;
    if (out)
        rc = kc_print(c, out, cols);
    else if (done && c->output == KC_OUT_TABLE)
        puts(done);   /* an empty answer (204): say what happened, table mode only */
    json_decref(out);
    return rc;
}

int kc_call_at(struct kc_ctx *c, const char *method, char *path, json_t *body,
               const struct kc_col *cols)
{
    int rc = kc_call(c, method, path, NULL, body, cols, NULL);
    free(path);
    return rc;
}

int kc_get_to_file(struct kc_ctx *c, const char *path, const char *out)
{
    char *tmp = NULL;
    FILE *f = kc_out_open(out, 0644, &tmp);
    if (!f)
        return KC_EXIT_USAGE;
    struct kc_http_resp r = {.sink = f};
    int rc = kc_http(c, "GET", path, NULL, &r);
    if (rc == 0 && r.status >= 400)
        rc = kc_api_error(&r);
    if (kc_out_close(f, out, tmp, rc == 0) && rc == 0)
        rc = KC_EXIT_API;
    kc_http_resp_free(&r);
    return rc;
}

/* "a,b,c" → ["a","b","c"]; numbers when as_int. NULL with a usage message on a bad number. */
json_t *kc_split_list(struct kc_ctx *c, const char *flag, const char *v, bool as_int)
{
    json_t *arr = json_array();
    char *copy = ksm_xstrdup(v), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!as_int) {
            json_array_append_new(arr, json_string(t));
            continue;
        }
        char *end;
        long n = strtol(t, &end, 10);
        if (*end || end == t) {
            kc_usage_err(c->cmd, "--%s takes numbers separated by commas", flag);
            json_decref(arr);
            free(copy);
            return NULL;
        }
        json_array_append_new(arr, json_integer(n));
    }
    free(copy);
    return arr;
}
