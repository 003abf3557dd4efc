/* json_print.c — `--output json`: the API's answer pretty-printed (indent 2, keys in the order the
 * server sent them, UTF-8 kept as UTF-8). Written here rather than with json_dumps because jansson
 * prints reals with 17 significant digits (0.1 becomes 0.10000000000000001); the CLI promises the
 * value as returned, so a real is printed in the shortest form that reads back to the same
 * double. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void indent(struct ksm_buf *out, int depth)
{
    ksm_buf_putc(out, '\n');
    for (int i = 0; i < depth; i++)
        ksm_buf_puts(out, "  ");
}

static void put_real(struct ksm_buf *out, double d)
{
    char s[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (strtod(s, NULL) == d)
            break;
    }
    ksm_buf_puts(out, s);
    /* Keep it a real for readers that care: "1" would read back as an integer. */
    if (!s[strcspn(s, ".eEn")])   /* no '.', exponent, "nan" or "inf" */
        ksm_buf_puts(out, ".0");
}

static void put_value(struct ksm_buf *out, json_t *v, int depth);

static void put_object(struct ksm_buf *out, json_t *v, int depth)
{
    if (json_object_size(v) == 0) {
        ksm_buf_puts(out, "{}");
        return;
    }
    ksm_buf_putc(out, '{');
    const char *key;
    json_t *val;
    bool first = true;
    json_object_foreach(v, key, val) {
        if (!first)
            ksm_buf_putc(out, ',');
        first = false;
        indent(out, depth + 1);
        ksm_buf_json_str(out, key);
        ksm_buf_puts(out, ": ");
        put_value(out, val, depth + 1);
    }
    indent(out, depth);
    ksm_buf_putc(out, '}');
}

static void put_array(struct ksm_buf *out, json_t *v, int depth)
{
    if (json_array_size(v) == 0) {
        ksm_buf_puts(out, "[]");
        return;
    }
    ksm_buf_putc(out, '[');
    size_t i;
    json_t *val;
    json_array_foreach(v, i, val) {
        if (i)
            ksm_buf_putc(out, ',');
        indent(out, depth + 1);
        put_value(out, val, depth + 1);
    }
    indent(out, depth);
    ksm_buf_putc(out, ']');
}

static void put_value(struct ksm_buf *out, json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: put_object(out, v, depth); break;
    case JSON_ARRAY: put_array(out, v, depth); break;
    case JSON_STRING: ksm_buf_json_str(out, json_string_value(v)); break;
    case JSON_INTEGER: ksm_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: put_real(out, json_real_value(v)); break;
    case JSON_TRUE: ksm_buf_puts(out, "true"); break;
    case JSON_FALSE: ksm_buf_puts(out, "false"); break;
    case JSON_NULL: ksm_buf_puts(out, "null"); break;
    }
}

void kc_json_print(struct ksm_buf *out, json_t *v)
{
    put_value(out, v, 0);
    ksm_buf_putc(out, '\n');
}
