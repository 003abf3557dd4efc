/* export_audit.c — the tenant's audit records for an export, as JSON Lines, newest first as the log
 * is searched (the same fields as on disk and as GET /admin/v1/audit/export). Records are read a
 * page at a time and written to the exporter's spool file, so memory holds one page whatever the
 * log's size. */
#include "lifecycle/export_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/util.h"

static int append_line(const char *p, size_t n, void *data)
{
    ksm_buf_append(data, p, n);
    return 0;
}

enum ksm_err ksm_export__audit(struct ksm_audit *audit, const char *tenant, const char *project,
                               int64_t until_ms, int fd, uint64_t *len, uint64_t *records)
{
    struct ksm_audit_filter f = {.until_ms = until_ms, .tenant = tenant, .limit = 1000};
    struct ksm_buf line = KSM_BUF_INIT;
    char *next = NULL, *cursor = NULL;
    enum ksm_err e = KSM_E_OK;
    *len = *records = 0;
    ksm_audit_flush(audit); /* what was just done is in the log before it is read */
    do {
        json_t *items = json_array();
        f.cursor = cursor;
        if (ksm_audit_query(audit, &f, items, &next)) {
            json_decref(items);
            e = KSM_E_INTERNAL;
            break;
        }
        size_t i;
        json_t *rec;
        ksm_buf_reset(&line);
        json_array_foreach(items, i, rec)
        {
            const char *p = json_string_value(json_object_get(rec, "project"));
            if (project && (!p || strcmp(p, project)))
                continue;
            json_dump_callback(rec, append_line, &line, JSON_COMPACT);
            ksm_buf_putc(&line, '\n');
            (*records)++;
        }
        json_decref(items);
        if (line.len && ksm_write_all(fd, line.data, line.len)) {
            e = KSM_E_INTERNAL;
            break;
        }
        *len += line.len;
        free(cursor);
        cursor = next;
        next = NULL;
    } while (cursor);
    free(cursor);
    free(next);
    ksm_buf_free(&line);
    return e;
}
