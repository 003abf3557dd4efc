/* http_client.c — one HTTP request to the admin API over libcurl's easy interface. The CLI sends
 * one request at a time, so the blocking easy API is the simple right tool; one handle is kept so
 * that the pages of a list reuse the connection. Redirects are not followed (a bearer token must
 * not travel to a host the user did not name) and only http/https are allowed. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cli.h"
#include "core/util.h"

#define KC_CONNECT_TIMEOUT_MS 5000L
#define KC_TOTAL_TIMEOUT_MS 60000L

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct kc_http_resp *r = arg;
    size_t len = size * n;
    long status = 0;
    /* Stream a successful body to the sink (export); keep an error body for its message. */
    if (r->sink && r->easy &&
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status >= 200 && status < 300) {
        if (fwrite(p, 1, len, r->sink) != len) {
            r->sink_failed = true;
            return 0;   /* aborts the transfer */
        }
        for (size_t i = 0; i < len; i++)
            r->sink_lines += p[i] == '\n';
        if (len)
            r->sink_last = p[len - 1];
        return len;
    }
    ksm_buf_append(&r->body, p, len);
    return len;
}

/* Keeps the value of header name (case-insensitive) from a "Name: value\r\n" line. */
static void keep_header(const char *line, size_t len, const char *name, char **out)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
        return;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    free(*out);
    *out = NULL;
    if (end > v) {
        *out = ksm_xmalloc((size_t)(end - v) + 1);
        memcpy(*out, v, (size_t)(end - v));
        (*out)[end - v] = '\0';
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct kc_http_resp *r = arg;
    size_t len = size * n;
    keep_header(p, len, "Content-Type", &r->content_type);
    keep_header(p, len, "X-Next-Cursor", &r->next_cursor);
    return len;
}

static struct curl_slist *make_headers(struct kc_ctx *c, const char *ctype)
{
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Accept: application/json, application/x-ndjson;q=0.9, */*;q=0.1");
    h = curl_slist_append(h, "User-Agent: kasumi-cli/0.1");
    /* A bodiless POST (suspend, resume) gets no Content-Type rather than curl's form default. */
    struct ksm_buf ct = KSM_BUF_INIT;
    ksm_buf_printf(&ct, "Content-Type:%s%s", ctype ? " " : "", ctype ? ctype : "");
    h = curl_slist_append(h, ct.data);
    ksm_buf_free(&ct);
    /* An empty Expect: header stops curl's 100-continue round trip for small JSON bodies. */
    h = curl_slist_append(h, "Expect:");
    if (c->token && *c->token) {
        struct ksm_buf auth = KSM_BUF_INIT;
        ksm_buf_printf(&auth, "Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, auth.data);
        explicit_bzero(auth.data, auth.len);
        ksm_buf_free(&auth);
    }
    return h;
}

static void set_options(CURL *e, struct kc_ctx *c, const char *method, const char *url,
                        const char *body, size_t len, struct kc_http_resp *r)
{
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, KC_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->long_running ? 0L : KC_TOTAL_TIMEOUT_MS);
    if (r->long_running && r->sink) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 120L);
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    if (!strcmp(method, "GET"))
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    /* POST/PUT/PATCH always carry a body (possibly empty) so Content-Length is sent. */
    if (body || (strcmp(method, "GET") && strcmp(method, "DELETE"))) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(body ? len : 0));
    }
}

int kc_http(struct kc_ctx *c, const char *method, const char *path, const char *json_body,
            struct kc_http_resp *r)
{
    return kc_http_body(c, method, path, json_body, json_body ? strlen(json_body) : 0,
                        json_body ? "application/json" : NULL, r);
}

int kc_http_body(struct kc_ctx *c, const char *method, const char *path, const char *body,
                 size_t len, const char *ctype, struct kc_http_resp *r)
{
    int rc = kc_ctx_token(c);
    if (rc)
        return rc;
    if (!c->curl && !(c->curl = curl_easy_init())) {
        kc_err("cannot initialise libcurl");
        return KC_EXIT_CONN;
    }
    CURL *e = c->curl;
    r->easy = e;
    struct ksm_buf url = KSM_BUF_INIT;
    ksm_buf_printf(&url, "%s%s", c->endpoint, path);
    char errbuf[CURL_ERROR_SIZE] = "";
    set_options(e, c, method, url.data, body, len, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    struct curl_slist *hdrs = make_headers(c, ctype);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

    CURLcode cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);   /* holds the token: freed (and the handle reset) right away */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);   /* errbuf dies with this frame */
    if (cc == CURLE_WRITE_ERROR && r->sink_failed) {
        kc_err("cannot write the response: output error");
        rc = KC_EXIT_API;
    } else if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT) {
        kc_err("bad endpoint %s: %s", c->endpoint, *errbuf ? errbuf : curl_easy_strerror(cc));
        rc = KC_EXIT_USAGE;
    } else if (cc != CURLE_OK) {
        kc_err("cannot reach %s: %s", c->endpoint, *errbuf ? errbuf : curl_easy_strerror(cc));
        rc = KC_EXIT_CONN;
    }
    ksm_buf_free(&url);
    return rc;
}

void kc_http_resp_free(struct kc_http_resp *r)
{
    ksm_buf_free(&r->body);
    free(r->content_type);
    free(r->next_cursor);
    r->content_type = r->next_cursor = NULL;
}

char *kc_url_path(struct kc_ctx *c, const char *tmpl, ...)
{
    if (!c->curl)
        c->curl = curl_easy_init();
    struct ksm_buf b = KSM_BUF_INIT;
    va_list ap;
    va_start(ap, tmpl);
    for (const char *p = tmpl; *p;) {
        const char *hole = strstr(p, "{}");
        if (!hole) {
            ksm_buf_puts(&b, p);
            break;
        }
        ksm_buf_append(&b, p, (size_t)(hole - p));
        /* Escaped so an id can never add a path segment or a query ("../", "?", "/"). */
        char *seg = curl_easy_escape(c->curl, va_arg(ap, const char *), 0);
        if (!seg) {
            kc_err("out of memory");
            exit(KC_EXIT_CONN);
        }
        ksm_buf_puts(&b, seg);
        curl_free(seg);
        p = hole + 2;
    }
    va_end(ap);
    return ksm_buf_steal(&b);
}
