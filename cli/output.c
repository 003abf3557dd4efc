/* output.c — how results and errors reach the user: an answer printed as JSON or as a table,
 * one-line "kasumi: ..." errors on stderr, and files written whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/util.h"

void kc_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kasumi: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int kc_usage_err(const struct kc_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kasumi: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (cmd)
        kc_help_cmd(stderr, cmd);
    return KC_EXIT_USAGE;
}

void kc_scrub(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
        else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            p[0] = p[1] = '?', p++;   /* C1 controls: U+0080..U+009F (U+009B is CSI) */
    }
}

void kc_print_fields(FILE *f, json_t *obj)
{
    static const struct kc_col cols[] = {{"FIELD", "field"}, {"VALUE", "value"}, KC_COLS_END};
    json_t *rows = json_array();
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        json_array_append_new(rows, json_pack("{s:s, s:O}", "field", key, "value", val));
    }
    kc_table_print(f, cols, rows);
    json_decref(rows);
}

/* Does obj have at least one of the columns' fields? */
static bool has_any(json_t *obj, const struct kc_col *cols)
{
    for (; cols->title; cols++) {
        char name[64];
        for (const char *p = cols->keys; *p;) {
            size_t len = strcspn(p, "|");
            snprintf(name, sizeof name, "%.*s", (int)len, p);
            if (json_object_get(obj, name))
                return true;
            p += len + (p[len] == '|');
        }
    }
    return false;
}

int kc_print(struct kc_ctx *c, json_t *v, const struct kc_col *cols)
{
    if (!v)
        return KC_EXIT_OK;
    if (c->output == KC_OUT_JSON) {
        struct ksm_buf b = KSM_BUF_INIT;
        kc_json_print(&b, v);
        fwrite(b.data, 1, b.len, stdout);
        ksm_buf_free(&b);
        return KC_EXIT_OK;
    }
    json_t *items = json_object_get(v, "items");
    if (json_is_array(items))
        kc_table_print(stdout, cols, items);
    else if (json_is_array(v))
        kc_table_print(stdout, cols, v);
    else if (!cols || !has_any(v, cols))
        kc_print_fields(stdout, v);   /* not the resource's shape (e.g. {"deleted":true}) */
    else {
        json_t *one = json_pack("[O]", v);
        kc_table_print(stdout, cols, one);
        json_decref(one);
    }
    return KC_EXIT_OK;
}

FILE *kc_out_open(const char *path, int mode, char **tmp)
{
    *tmp = NULL;
    if (!path || !strcmp(path, "-"))
        return stdout;
    /* Written beside the target and renamed at the end: an interrupted export never leaves a half
     * file under the real name. O_EXCL so a planted file or link is not followed. */
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_buf_printf(&b, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(b.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        kc_err("cannot create %s: %s", b.data, strerror(errno));
        if (fd >= 0)
            close(fd), unlink(b.data);
        ksm_buf_free(&b);
        return NULL;
    }
    *tmp = ksm_buf_steal(&b);
    return f;
}

int kc_out_close(FILE *f, const char *path, char *tmp, bool ok)
{
    if (!tmp) {   /* stdout */
        if (fflush(f) && ok) {
            kc_err("cannot write the output: %s", strerror(errno));
            return -1;
        }
        return ok ? 0 : -1;
    }
    int rc = -1;
    if (ok && (fflush(f) || fsync(fileno(f))))
        kc_err("cannot write %s: %s", tmp, strerror(errno));
    else if (ok)
        rc = 0;
    if (fclose(f) && rc == 0) {
        kc_err("cannot write %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path)) {
        kc_err("cannot rename %s to %s: %s", tmp, path, strerror(errno));
        rc = -1;
    }
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int kc_write_out(const char *path, const void *data, size_t n, int mode)
{
    char *tmp;
    FILE *f = kc_out_open(path, mode, &tmp);
    if (!f)
        return -1;
    bool ok = fwrite(data, 1, n, f) == n;
    if (!ok)
        kc_err("cannot write %s: %s", tmp ? tmp : "the output", strerror(errno));
    return kc_out_close(f, path, tmp, ok);
}
