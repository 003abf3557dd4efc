/* h_supply_lists.c — equipment lists: import (the body is the file itself: CSV, XLSX or JSON),
 * export in the form's layout, and the subcontractor chain. A refused import answers 400 with
 * every problem found, by row and column, in "errors" beside the usual error object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/app.h"
#include "admin/h_supply.h"
#include "admin/reqjson.h"

/* ?format= wins; else the Content-Type; else the bytes (a ZIP is XLSX, anything else CSV). */
static const char *import_format(struct ksm_req *r)
{
    const char *f = ksm_req_query(r, "format");
    if (f)
        return f;
    const char *ct = ksm_req_header(r, "content-type");
    if (ct && !strncasecmp(ct, "application/json", 16))
        return "json";
    if (ct && !strncasecmp(ct, "text/csv", 8))
        return "csv";
    if (ct && strstr(ct, "spreadsheetml"))
        return "xlsx";
    return r->body.len >= 4 && !memcmp(r->body.data, "PK\x03\x04", 4) ? "xlsx" : "csv";
}

static enum ksm_err refused(struct ksm_req *r, json_t *details, const char *why)
{
    json_t *err = json_pack("{s:s, s:s, s:s}", "code", ksm_err_code(KSM_E_INVALID_ARGUMENT),
                            "message", why, "request_id", r->id);
    json_object_update(err, details);
    json_decref(details);
    ksm_fail(r, KSM_E_INVALID_ARGUMENT, "%s", why);
    enum ksm_err e = ksm_reply_json(r, 400, json_pack("{s:o}", "error", err));
    r->err = KSM_E_INVALID_ARGUMENT;   /* the audit record says why it failed */
    return e;
}

enum ksm_err ksm_h_supply_list_import(struct ksm_req *r)
{
    char why[KSM_SUPPLY_WHY] = "";
    json_t *o = NULL;
    enum ksm_err e = ksm_h_supply_case_access(r);
    if (e != KSM_E_OK)
        return e;
    if (r->body.len == 0)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "the body must be the list's file");
    e = ksm_supply_list_import(KSM_H_DB(r), r->params[0], ksm_h_supply_actor(r), import_format(r),
                               ksm_req_query(r, "encoding"), r->body.data, r->body.len, &o, why);
    if (e == KSM_E_INVALID_ARGUMENT && o)
        return refused(r, o, why);
    return ksm_h_supply_reply(r, 201, e, o, why);
}

enum ksm_err ksm_h_supply_list_export(struct ksm_req *r)
{
    char why[KSM_SUPPLY_WHY] = "", tmpdir[600], cd[128];
    const char *format = ksm_req_query(r, "format"), *ctype = NULL;
    enum ksm_err e = ksm_h_supply_case_access(r);
    if (e != KSM_E_OK)
        return e;
    if (!format)
        format = "json";
    if (strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "xlsx"))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "format must be json, csv or xlsx");
    const struct ksm_app *app = r->worker->app;
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", app->conf->data_dir);
    ksm_mkdir_p(tmpdir, 0700);
    char *data = NULL;
    size_t n = 0;
    e = ksm_supply_list_export(KSM_H_DB(r), r->params[0], format, tmpdir, &data, &n, &ctype, why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    ksm_buf_reset(&r->resp);
    ksm_buf_append(&r->resp, data, n);
    free(data);
    r->status = 200;
    r->content_type = ctype;
    snprintf(cd, sizeof cd, "attachment; filename=\"%s.%s\"", r->params[0], format);
    ksm_req_add_header(r, "Content-Disposition", ksm_arena_strdup(r->arena, cd));
    return KSM_E_OK;
}

enum ksm_err ksm_h_supply_chain_put(struct ksm_req *r)
{
    return ksm_h_supply_case_write(r, ksm_supply_chain_put);
}

enum ksm_err ksm_h_supply_chain_get(struct ksm_req *r)
{
    return ksm_h_supply_case_read(r, ksm_supply_chain_get);
}
