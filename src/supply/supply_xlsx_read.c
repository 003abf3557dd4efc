/* supply_xlsx_read.c — the XLSX reader (supply_xlsx.h). The parts read, in order:
 *   xl/workbook.xml (the first <sheet>'s relationship id) → xl/_rels/workbook.xml.rels (its part)
 *   → xl/sharedStrings.xml (optional) → the worksheet (<row>, <c>, <mergeCell>).
 * Every part is read through a size cap whatever its ZIP header claims (a ZIP bomb stops at the
 * cap), XML with a DOCTYPE is refused (an XLSX part never has one; entity tricks need one), and
 * every index and cell reference from the file is range-checked. */
#include "supply/supply_xlsx.h"

#include <expat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/buf.h"
#include "core/util.h"

#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define MAX_SHARED 1000000
#define MAX_XLSX_ROW 1048576

struct rd {
    char *why;
    size_t whylen;
    bool failed;
};

static int failf(struct rd *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct rd *rd, const char *fmt, ...)
{
    if (!rd->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(rd->why, rd->whylen, fmt, ap);
        va_end(ap);
    }
    rd->failed = true;
    return -1;
}

/* A part's bytes, at most KSM_XLSX_MAX_PART. 1 absent, 0 read, -1 error. */
static int read_part(zip_t *z, const char *name, struct ksm_buf *out, struct rd *rd)
{
    zip_int64_t idx = zip_name_locate(z, name, 0);
    if (idx < 0)
        return 1;
    zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    if (!f)
        return failf(rd, "%s: cannot open the part (%s)", name, zip_strerror(z));
    char buf[65536];
    zip_int64_t got;
    int rc = 0;
    while ((got = zip_fread(f, buf, sizeof buf)) > 0) {
        if (out->len + (size_t)got > KSM_XLSX_MAX_PART) {
            rc = failf(rd, "%s: the part is larger than %u MiB uncompressed", name,
                       KSM_XLSX_MAX_PART >> 20);
            break;
        }
        ksm_buf_append(out, buf, (size_t)got);
    }
    if (got < 0 && rc == 0)
        rc = failf(rd, "%s: the compressed data is damaged (%s)", name, zip_file_strerror(f));
    zip_fclose(f);
    if (!out->data)
        ksm_buf_append(out, "", 0);
    return rc;
}

/* ---- expat plumbing shared by the parts ---- */

struct xp {
    XML_Parser p;
    struct rd *rd;
    const char *part;
};

static const char *local(const char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

static const char *attr(const char **atts, const char *name)
{
    for (int i = 0; atts[i]; i += 2)
        if (!strcmp(atts[i], name))
            return atts[i + 1];
    return NULL;
}

static void XMLCALL no_doctype(void *ud, const XML_Char *n, const XML_Char *s, const XML_Char *p,
                               int has_internal)
{
    struct xp *x = ud;
    failf(x->rd, "%s: a DOCTYPE is not allowed in an XLSX part", x->part);
    XML_StopParser(x->p, XML_FALSE);
}

static int parse_xml(struct xp *x, const struct ksm_buf *b, void *ud, XML_StartElementHandler st,
                     XML_EndElementHandler en, XML_CharacterDataHandler cd)
{
    x->p = XML_ParserCreateNS("UTF-8", '|');
    XML_SetUserData(x->p, ud);
    XML_SetElementHandler(x->p, st, en);
    XML_SetCharacterDataHandler(x->p, cd);
    XML_SetStartDoctypeDeclHandler(x->p, no_doctype);
    int rc = 0;
    if (XML_Parse(x->p, b->data, (int)b->len, XML_TRUE) != XML_STATUS_OK && !x->rd->failed)
        rc = failf(x->rd, "%s: not well-formed XML at line %lu: %s", x->part,
                   (unsigned long)XML_GetCurrentLineNumber(x->p),
                   XML_ErrorString(XML_GetErrorCode(x->p)));
    XML_ParserFree(x->p);
    return rc || x->rd->failed ? -1 : 0;
}

/* ---- workbook.xml and its relationships: which part is the first sheet ---- */

struct wb {
    struct xp x;
    char rid[128];
    char target[256];
};

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct wb *w = ud;
    if (!w->rid[0] && !strcmp(local(name), "sheet")) {
        const char *id = attr(atts, NS_REL "|id");
        if (id)
            snprintf(w->rid, sizeof w->rid, "%s", id);
    }
}

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct wb *w = ud;
    const char *id = attr(atts, "Id"), *t = attr(atts, "Target");
    if (!strcmp(local(name), "Relationship") && id && t && !strcmp(id, w->rid))
        snprintf(w->target, sizeof w->target, "%s", t);
}

static void XMLCALL ignore_end(void *ud, const XML_Char *name) {}
static void XMLCALL ignore_text(void *ud, const XML_Char *s, int len) {}

/* The first worksheet's part name, "xl/worksheets/sheet1.xml" when the workbook does not say. */
static int first_sheet(zip_t *z, char *out, size_t outlen, struct rd *rd)
{
    struct wb w = {{NULL, rd, "xl/workbook.xml"}, "", ""};
    struct ksm_buf b = KSM_BUF_INIT;
    int rc = read_part(z, "xl/workbook.xml", &b, rd);
    if (rc == 1) {
        ksm_buf_free(&b);
        return failf(rd, "not an XLSX workbook: xl/workbook.xml is missing");
    }
    if (rc == 0)
        rc = parse_xml(&w.x, &b, &w, wb_start, ignore_end, ignore_text);
    ksm_buf_reset(&b);
    if (rc == 0 && w.rid[0] && read_part(z, "xl/_rels/workbook.xml.rels", &b, rd) == 0) {
        w.x.part = "xl/_rels/workbook.xml.rels";
        rc = parse_xml(&w.x, &b, &w, rels_start, ignore_end, ignore_text);
    }
    ksm_buf_free(&b);
    if (rc)
        return -1;
    const char *t = w.target;
    if (!*t)
        snprintf(out, outlen, "xl/worksheets/sheet1.xml");
    else if (*t == '/')
        snprintf(out, outlen, "%s", t + 1);
    else
        snprintf(out, outlen, "xl/%s", t);
    if (strstr(out, ".."))
        return failf(rd, "xl/_rels/workbook.xml.rels: the sheet's target '%s' leaves xl/", t);
    return 0;
}

/* ---- sharedStrings.xml: <si> with <t> or rich-text <r><t>, minus phonetic <rPh> ---- */

struct sst {
    struct xp x;
    char **s;
    int n, cap;
    int depth_rph;
    bool in_si, in_t;
    struct ksm_buf cur;
};

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct sst *s = ud;
    if (s->x.rd->failed)
        return;
    const char *l = local(name);
    if (!strcmp(l, "si")) {
        s->in_si = true;
        ksm_buf_reset(&s->cur);
    } else if (!strcmp(l, "rPh") || !strcmp(l, "phoneticPr")) {
        s->depth_rph++;
    } else if (!strcmp(l, "t") && s->in_si && !s->depth_rph) {
        s->in_t = true;
    }
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
    struct sst *s = ud;
    if (s->x.rd->failed)
        return;
    const char *l = local(name);
    if (!strcmp(l, "t")) {
        s->in_t = false;
    } else if (!strcmp(l, "rPh") || !strcmp(l, "phoneticPr")) {
        s->depth_rph--;
    } else if (!strcmp(l, "si") && s->in_si) {
        s->in_si = false;
        if (s->n >= MAX_SHARED) {
            failf(s->x.rd, "xl/sharedStrings.xml: more than %d strings", MAX_SHARED);
            XML_StopParser(s->x.p, XML_FALSE);
            return;
        }
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->s = ksm_xrealloc(s->s, (size_t)s->cap * sizeof *s->s);
        }
        s->s[s->n++] = ksm_xstrdup(s->cur.data ? s->cur.data : "");
    }
}

static void XMLCALL sst_text(void *ud, const XML_Char *t, int len)
{
    struct sst *s = ud;
    if (s->x.rd->failed)
        return;
    if (s->in_t && s->in_si && !s->depth_rph) {
        if (s->cur.len + (size_t)len > 65536) {
            failf(s->x.rd, "xl/sharedStrings.xml: string %d is longer than 64 KiB", s->n);
            XML_StopParser(s->x.p, XML_FALSE);
            return;
        }
        ksm_buf_append(&s->cur, t, (size_t)len);
    }
}

static void sst_free(struct sst *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->s[i]);
    free(s->s);
    ksm_buf_free(&s->cur);
}

/* ---- the worksheet ---- */

struct ws {
    struct xp x;
    struct sst *sst;
    struct ksm_sheet *sheet;
    struct ksm_sheet_row *row;
    int rownum, col;           /* current row number, current cell's column (0-based) */
    char type[16];
    bool in_v, in_f, in_is_t, has_f;
    struct ksm_buf v;
    int depth_rph;
};

/* "B12" → col 1, row 12. -1 when malformed or out of the spreadsheet's range. */
static int cell_ref(const char *s, int *col, int *row)
{
    int c = 0, r = 0, nl = 0, nd = 0;
    for (; *s >= 'A' && *s <= 'Z'; s++, nl++)
        if ((c = c * 26 + (*s - 'A' + 1)) > 16384)
            return -1;
    for (; *s >= '0' && *s <= '9'; s++, nd++)
        if ((r = r * 10 + (*s - '0')) > MAX_XLSX_ROW)
            return -1;
    if (*s || !nl || !nd || !r)
        return -1;
    *col = c - 1;
    *row = r;
    return 0;
}

static bool ws_fail(struct ws *w, const char *fmt, const char *arg)
{
    char col[4] = "?";
    if (w->col >= 0 && w->col < 18278)
        ksm_sheet_col_name(w->col, col);
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    failf(w->x.rd, "row %d, column %s: %s", w->rownum, col, msg);
    XML_StopParser(w->x.p, XML_FALSE);
    return false;
}

static void row_start(struct ws *w, const char **atts)
{
    const char *r = attr(atts, "r");
    int num = w->rownum + 1;
    if (r) {
        char *end;
        long v = strtol(r, &end, 10);
        num = *end || v < 1 || v > MAX_XLSX_ROW ? -1 : (int)v;
    }
    if (num <= w->rownum) {
        ws_fail(w, "row numbers must rise (%s)", r ? r : "");
        return;
    }
    if (w->sheet->nrows >= KSM_SHEET_MAX_ROWS) {
        ws_fail(w, "%s", "too many rows (at most 20000)");
        return;
    }
    w->rownum = num;
    w->row = ksm_sheet_add_row(w->sheet, num);
    w->col = -1;
}

static void cell_start(struct ws *w, const char **atts)
{
    if (!w->row) {
        ws_fail(w, "%s", "a cell outside a row");
        return;
    }
    const char *r = attr(atts, "r"), *t = attr(atts, "t");
    int col = w->col + 1, row = w->rownum;
    if (r && (cell_ref(r, &col, &row) || row != w->rownum)) {
        ws_fail(w, "bad cell reference '%s'", r);
        return;
    }
    if (col <= w->col) {
        ws_fail(w, "cells must be in column order (%s)", r ? r : "");
        return;
    }
    w->col = col;
    snprintf(w->type, sizeof w->type, "%s", t ? t : "n");
    w->has_f = false;
    ksm_buf_reset(&w->v);
}

/* A number as the cell shows it: integers without ".0" or exponent (法人番号, 通番). */
static void number_text(const char *v, char *out, size_t outlen)
{
    char *end;
    double d = strtod(v, &end);
    if (*v && !*end && d == (double)(long long)d && d > -1e15 && d < 1e15)
        snprintf(out, outlen, "%lld", (long long)d);
    else
        snprintf(out, outlen, "%s", v);
}

static void cell_end(struct ws *w)
{
    const char *v = w->v.data ? w->v.data : "";
    char num[64];
    const char *text = v;
    if (!strcmp(w->type, "s")) {
        char *end;
        long i = strtol(v, &end, 10);
        if (!*v || *end || i < 0 || i >= w->sst->n) {
            ws_fail(w, "shared string index '%s' out of range", v);
            return;
        }
        text = w->sst->s[i];
    } else if (!strcmp(w->type, "b")) {
        text = !strcmp(v, "1") ? "TRUE" : "FALSE";
    } else if (!strcmp(w->type, "e")) {
        ws_fail(w, "the cell holds an error value (%s)", v);
        return;
    } else if (!strcmp(w->type, "n") && *v) {
        number_text(v, num, sizeof num);
        text = num;
    }
    if (!*text && !w->has_f)
        return;
    if (w->col >= KSM_SHEET_MAX_COLS) {
        ws_fail(w, "%s", "data beyond the 64th column");
        return;
    }
    if (strlen(text) > KSM_SHEET_MAX_CELL) {
        ws_fail(w, "%s", "the cell is too long (at most 4096 bytes)");
        return;
    }
    ksm_sheet_set(w->row, w->col, text, strlen(text), w->has_f);
}

static void merge_cell(struct ws *w, const char **atts)
{
    const char *ref = attr(atts, "ref");
    char a[32], b[32];
    const char *colon = ref ? strchr(ref, ':') : NULL;
    if (!colon || (size_t)(colon - ref) >= sizeof a || strlen(colon + 1) >= sizeof b)
        return;
    snprintf(a, sizeof a, "%.*s", (int)(colon - ref), ref);
    snprintf(b, sizeof b, "%s", colon + 1);
    struct ksm_sheet_merge m;
    int c1, c2;
    if (cell_ref(a, &c1, &m.r1) || cell_ref(b, &c2, &m.r2) || w->sheet->nmerges >= 10000)
        return;
    m.c1 = c1 + 1;
    m.c2 = c2 + 1;
    w->sheet->merges = ksm_xrealloc(w->sheet->merges,
                                    (size_t)(w->sheet->nmerges + 1) * sizeof *w->sheet->merges);
    w->sheet->merges[w->sheet->nmerges++] = m;
}

static void XMLCALL ws_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct ws *w = ud;
    if (w->x.rd->failed)   /* expat may still call back after XML_StopParser */
        return;
    const char *l = local(name);
    if (!strcmp(l, "row"))
        row_start(w, atts);
    else if (!strcmp(l, "c"))
        cell_start(w, atts);
    else if (!strcmp(l, "v"))
        w->in_v = true;
    else if (!strcmp(l, "f"))
        w->in_f = w->has_f = true;
    else if (!strcmp(l, "rPh"))
        w->depth_rph++;
    else if (!strcmp(l, "t") && !strcmp(w->type, "inlineStr") && !w->depth_rph)
        w->in_is_t = true;
    else if (!strcmp(l, "mergeCell"))
        merge_cell(w, atts);
}

static void XMLCALL ws_end(void *ud, const XML_Char *name)
{
    struct ws *w = ud;
    if (w->x.rd->failed)   /* expat may still call back after XML_StopParser */
        return;
    const char *l = local(name);
    if (!strcmp(l, "v"))
        w->in_v = false;
    else if (!strcmp(l, "f"))
        w->in_f = false;
    else if (!strcmp(l, "t"))
        w->in_is_t = false;
    else if (!strcmp(l, "rPh"))
        w->depth_rph--;
    else if (!strcmp(l, "c") && w->row)
        cell_end(w);
    else if (!strcmp(l, "row"))
        w->row = NULL;
}

static void XMLCALL ws_text(void *ud, const XML_Char *s, int len)
{
    struct ws *w = ud;
    if (w->x.rd->failed)   /* expat may still call back after XML_StopParser */
        return;
    if (!w->in_v && !w->in_is_t)
        return;
    if (w->v.len + (size_t)len > KSM_SHEET_MAX_CELL * 4) {
        ws_fail(w, "%s", "the cell is too long (at most 4096 bytes)");
        return;
    }
    ksm_buf_append(&w->v, s, (size_t)len);
}

int ksm_supply_xlsx_read(const void *data, size_t n, struct ksm_sheet *out, char *why,
                         size_t whylen)
{
    struct rd rd = {why, whylen, false};
    memset(out, 0, sizeof *out);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, n, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!z) {
        failf(&rd, "not an XLSX file (the ZIP container cannot be read: %s)", zip_error_strerror(&ze));
        if (src)
            zip_source_free(src);
        zip_error_fini(&ze);
        return -1;
    }
    zip_error_fini(&ze);
    char sheet_part[300];
    struct sst sst = {.x = {NULL, &rd, "xl/sharedStrings.xml"}};
    struct ws w = {.x = {NULL, &rd, sheet_part}, .sst = &sst, .sheet = out, .col = -1};
    struct ksm_buf b = KSM_BUF_INIT;
    int rc = first_sheet(z, sheet_part, sizeof sheet_part, &rd);
    if (rc == 0 && (rc = read_part(z, "xl/sharedStrings.xml", &b, &rd)) == 0)
        rc = parse_xml(&sst.x, &b, &sst, sst_start, sst_end, sst_text);
    if (rc == 1)
        rc = 0;   /* no shared strings: fine */
    ksm_buf_reset(&b);
    if (rc == 0 && (rc = read_part(z, sheet_part, &b, &rd)) == 1)
        rc = failf(&rd, "the workbook's first sheet (%s) is missing", sheet_part);
    if (rc == 0)
        rc = parse_xml(&w.x, &b, &w, ws_start, ws_end, ws_text);
    ksm_buf_free(&b);
    ksm_buf_free(&w.v);
    sst_free(&sst);
    zip_discard(z);
    if (rc)
        ksm_sheet_free(out);
    return rc ? -1 : 0;
}
