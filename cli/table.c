/* table.c — `--output table`: rows of JSON objects as aligned columns under a header. Widths are
 * display widths (width.c), so 厚生労働省 takes ten columns and the next column still lines up.
 * Columns are separated by two spaces; the last column is not padded, so no line ends in blanks. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/util.h"

/* obj at a path of '.'-separated names; "name[]" maps the rest of the path over that array's
 * members (targets[].health.state: each target's state). New reference, or NULL. */
static json_t *at_path(json_t *obj, const char *path, size_t len)
{
    size_t n = strcspn(path, ".");
    if (n > len)
        n = len;
    bool each = n > 2 && !memcmp(path + n - 2, "[]", 2);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(each ? n - 2 : n), path);
    json_t *v = json_object_get(obj, name);
    if (!v || n == len)
        return each ? NULL : json_incref(v);
    if (!each)
        return at_path(v, path + n + 1, len - n - 1);
    if (!json_is_array(v))
        return NULL;
    json_t *out = json_array(), *m;
    size_t i;
    json_array_foreach(v, i, m) {
        json_t *x = at_path(m, path + n + 1, len - n - 1);
        json_array_append_new(out, x ? x : json_null());
    }
    return out;
}

/* The first of the '|'-separated paths that obj has. New reference, or NULL. */
static json_t *pick(json_t *obj, const char *keys)
{
    for (const char *p = keys; *p;) {
        size_t len = strcspn(p, "|");
        json_t *v = at_path(obj, p, len);
        if (v)
            return v;
        p += len;
        if (*p == '|')
            p++;
    }
    return NULL;
}

static void put_scalar(struct ksm_buf *b, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: ksm_buf_puts(b, json_string_value(v)); break;
    case JSON_INTEGER: ksm_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: ksm_buf_printf(b, "%.15g", json_real_value(v)); break;
    case JSON_TRUE: ksm_buf_puts(b, "true"); break;
    case JSON_FALSE: ksm_buf_puts(b, "false"); break;
    case JSON_NULL: ksm_buf_puts(b, "-"); break;
    default: {
        char *s = json_dumps(v, JSON_COMPACT);
        ksm_buf_puts(b, s ? s : "?");
        free(s);
    }
    }
}

char *kc_cell_text(json_t *v)
{
    struct ksm_buf b = KSM_BUF_INIT;
    if (!v)
        ksm_buf_puts(&b, "-");
    else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (i)
                ksm_buf_putc(&b, ',');
            put_scalar(&b, e);
        }
    } else
        put_scalar(&b, v);
    if (!b.data || !*b.data)
        ksm_buf_puts(&b, "-");   /* an empty cell would shift columns for awk and cut */
    char *s = ksm_buf_steal(&b);
    kc_scrub(s);
    return s;
}

static void put_cell(FILE *f, const char *s, size_t width, bool last)
{
    fputs(s, f);
    if (last)
        return;
    for (size_t w = kc_display_width(s); w < width + 2; w++)
        fputc(' ', f);
}

void kc_table_print(FILE *f, const struct kc_col *cols, json_t *rows)
{
    size_t ncols = 0, nrows = json_array_size(rows);
    while (cols[ncols].title)
        ncols++;
    char **cell = ksm_xcalloc(nrows * ncols + 1, sizeof *cell);
    size_t *width = ksm_xcalloc(ncols, sizeof *width);
    for (size_t c = 0; c < ncols; c++)
        width[c] = kc_display_width(cols[c].title);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            json_t *v = pick(json_array_get(rows, r), cols[c].keys);
            char *s = kc_cell_text(v);
            json_decref(v);
            size_t w = kc_display_width(s);
            if (w > width[c])
                width[c] = w;
            cell[r * ncols + c] = s;
        }
    for (size_t c = 0; c < ncols; c++)
        put_cell(f, cols[c].title, width[c], c + 1 == ncols);
    fputc('\n', f);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++)
            put_cell(f, cell[r * ncols + c], width[c], c + 1 == ncols);
        fputc('\n', f);
    }
    for (size_t i = 0; i < nrows * ncols; i++)
        free(cell[i]);
    free(cell);
    free(width);
}
