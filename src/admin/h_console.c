/* h_console.c — serves the web console at /console/ on the admin listener. Its files (Vite's bundle
 * of console/) are compiled into kasumid (admin/console.h), so a request path is only ever compared
 * with that table and never reaches the file system.
 *
 * Nothing here is privileged: the files are the same for everyone and hold no data. The console's
 * script calls the admin API with the session cookie, under the caller's own permissions. Not
 * audited, like the health probes: a page load would otherwise write a dozen records that say
 * nothing; what the console then does through the API is audited as every API call is.
 *
 * The Content-Security-Policy allows scripts, styles and connections to this origin only: no
 * inline script, no eval, no other host (the console needs no network beyond this node: no CDN,
 * system fonts), and no framing by other pages (clickjacking). */
#include <string.h>

#include "admin/console.h"
#include "admin/handlers.h"

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const struct ksm_console_file *ksm_console_find(const char *path)
{
    for (int i = 0; i < ksm_console_nfiles; i++)
        if (!strcmp(ksm_console_files[i].path, path))
            return &ksm_console_files[i];
    return NULL;
}

enum ksm_err ksm_h_console(struct ksm_req *r)
{
    if (!strcmp(r->path, "/console")) {
        ksm_buf_reset(&r->resp);
        r->status = 302;
        r->content_type = NULL;
        ksm_req_add_header(r, "Location", "/console/");
        return KSM_E_OK;
    }
    const struct ksm_console_file *f = ksm_console_find(r->path);
    bool page = !f && r->nparams == 1 && !strchr(r->params[0], '.');
    if (!f && (page || !strcmp(r->path, "/console/")))
        f = ksm_console_find("/console/index.html");   /* a page of the console: its script routes */
    if (!f)
        return ksm_fail(r, KSM_E_NOT_FOUND, "no such file");
    ksm_buf_reset(&r->resp);
    ksm_buf_append(&r->resp, f->data, f->len);
    r->status = 200;
    r->content_type = f->type;
    ksm_req_add_header(r, "Content-Security-Policy", csp);
    ksm_req_add_header(r, "X-Content-Type-Options", "nosniff");
    ksm_req_add_header(r, "Referrer-Policy", "no-referrer");
    /* Vite names every file but the page by its content's hash: those never change */
    bool hashed = strcmp(f->path, "/console/index.html") != 0;
    ksm_req_add_header(r, "Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
    return KSM_E_OK;
}
