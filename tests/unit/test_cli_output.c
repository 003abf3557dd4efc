/* test_cli_output.c — the CLI's rendering: display width of Japanese text, table alignment, JSON
 * pretty-printing (UTF-8 kept, reals as returned) and scrubbing of terminal control characters.
 * The CLI is not part of kasumi_lib, so its rendering files are compiled into this test
 * directly. */
#include "check.h"

#include "../../cli/json_print.c"
#include "../../cli/output.c"
#include "../../cli/table.c"
#include "../../cli/width.c"

/* output.c prints a command's usage on usage errors; the table is not linked here. */
void kc_help_cmd(FILE *f, const struct kc_cmd *cmd)
{
}

static void test_width(void)
{
    CHECK(kc_display_width("") == 0);
    CHECK(kc_display_width("tn_abc") == 6);
    CHECK(kc_display_width("デジタル庁") == 10);
    CHECK(kc_display_width("東京都千代田区") == 14);
    CHECK(kc_display_width("ｶｽﾐ") == 3);                 /* halfwidth katakana */
    CHECK(kc_display_width("ＡＢ１") == 6);               /* fullwidth ASCII */
    CHECK(kc_display_width("か\xe3\x82\x99") == 2);       /* か + combining dakuten */
    CHECK(kc_display_width("e\xcc\x81") == 1);            /* e + combining acute */
    CHECK(kc_display_width("、。「」") == 8);
    CHECK(kc_display_width("한국") == 4);
    CHECK(kc_display_width("\xf0\xa0\x80\x8b") == 2);     /* U+2000B, CJK Extension B */
    CHECK(kc_display_width("\xff" "a") == 2);             /* a bad byte counts one */
    CHECK(kc_display_width("\xe3\x81") == 2);             /* truncated sequence: two bad bytes */
}

static void test_scrub(void)
{
    char s[] = "a\x1b[31mb\nc\x7f";
    kc_scrub(s);
    CHECK_STR(s, "a [31mb c ");
    char c1[] = "x\xc2\x9b" "1m";   /* U+009B, the 8-bit CSI */
    kc_scrub(c1);
    CHECK_STR(c1, "x??1m");
    char ja[] = "霞が関";
    kc_scrub(ja);
    CHECK_STR(ja, "霞が関");
}

static char *pretty(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    struct ksm_buf b = KSM_BUF_INIT;
    kc_json_print(&b, v);
    json_decref(v);
    return ksm_buf_steal(&b);
}

static void test_json(void)
{
    char *s = pretty("{\"name\":\"\\u30c7\\u30b8\\u30bf\\u30eb\\u5e81\",\"a\":[],\"o\":{},"
                     "\"n\":[1,0.1,1.0,1e300,-2.5,null,true,false],\"z\":{\"k\":\"v\"}}");
    CHECK_STR(s, "{\n"
                 "  \"name\": \"デジタル庁\",\n"
                 "  \"a\": [],\n"
                 "  \"o\": {},\n"
                 "  \"n\": [\n"
                 "    1,\n"
                 "    0.1,\n"
                 "    1.0,\n"
                 "    1e+300,\n"
                 "    -2.5,\n"
                 "    null,\n"
                 "    true,\n"
                 "    false\n"
                 "  ],\n"
                 "  \"z\": {\n"
                 "    \"k\": \"v\"\n"
                 "  }\n"
                 "}\n");
    free(s);
    s = pretty("{\"b\":1,\"a\":\"x\\\"\\n\\u0001\"}");   /* order kept; escapes as JSON needs */
    CHECK_STR(s, "{\n  \"b\": 1,\n  \"a\": \"x\\\"\\n\\u0001\"\n}\n");
    free(s);
    /* Without reals, the output is byte for byte what jansson's JSON_INDENT(2) gives. */
    const char *doc = "{\"items\":[{\"id\":\"tn_1\",\"name\":\"霞\",\"n\":3}],\"next_cursor\":null}";
    json_t *v = json_loads(doc, 0, NULL);
    char *ref = json_dumps(v, JSON_INDENT(2));
    s = pretty(doc);
    CHECK(strlen(s) == strlen(ref) + 1 && !strncmp(s, ref, strlen(ref)));
    free(ref);
    free(s);
    json_decref(v);
}

static void test_cells(void)
{
    json_t *v = json_loads("{\"m\":[\"u1\",\"u2\"],\"e\":[],\"z\":null,\"b\":true,\"s\":\"\"}",
                           0, NULL);
    char *t;
    t = kc_cell_text(json_object_get(v, "m"));
    CHECK_STR(t, "u1,u2");
    free(t);
    t = kc_cell_text(json_object_get(v, "e"));
    CHECK_STR(t, "-");
    free(t);
    t = kc_cell_text(json_object_get(v, "z"));
    CHECK_STR(t, "-");
    free(t);
    t = kc_cell_text(json_object_get(v, "b"));
    CHECK_STR(t, "true");
    free(t);
    t = kc_cell_text(json_object_get(v, "s"));
    CHECK_STR(t, "-");
    free(t);
    t = kc_cell_text(NULL);
    CHECK_STR(t, "-");
    free(t);
    json_decref(v);
}

/* Every row's second and third columns start at the same display column. */
/* rows printed as a table under cols must read want; rows is released. */
static void expect_table(const struct kc_col *cols, json_t *rows, const char *want)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    kc_table_print(f, cols, rows);
    fclose(f);
    CHECK_STR(out, want);
    free(out);
    json_decref(rows);
}

static void test_table(void)
{
    static const struct kc_col cols[] = {
        {"ID", "id"}, {"NAME", "name"}, {"TENANT", "tenant|tenant_id"}, KC_COLS_END};
    json_t *rows = json_loads("[{\"id\":\"tn_1\",\"name\":\"デジタル庁\",\"tenant\":\"t\"},"
                              "{\"id\":\"tn_22\",\"name\":\"Kasumi\",\"tenant_id\":\"u\"},"
                              "{\"id\":\"tn_3\",\"name\":\"東京都千代田区\"}]",
                              0, NULL);
    expect_table(cols, rows, "ID     NAME            TENANT\n"
                             "tn_1   デジタル庁      t\n"
                             "tn_22  Kasumi          u\n"
                             "tn_3   東京都千代田区  -\n");
}

/* Columns that reach into each member of an array (targets[].health.state), as model routes use. */
static void test_paths(void)
{
    json_t *rows = json_loads("[{\"alias\": \"chat\", \"targets\": ["
                              "{\"base_url\": \"http://a/v1\", \"health\": {\"state\": \"ejected\"}},"
                              "{\"base_url\": \"http://b/v1\", \"model\": \"m\", \"health\": {\"state\": \"healthy\"}}]},"
                              "{\"alias\": \"none\"}]", 0, NULL);
    static const struct kc_col cols[] = {{"ALIAS", "alias"}, {"TARGETS", "targets[].base_url"},
                                         {"MODELS", "targets[].model"}, {"STATE", "targets[].health.state"},
                                         KC_COLS_END};
    expect_table(cols, rows, "ALIAS  TARGETS                  MODELS  STATE\n"
                             "chat   http://a/v1,http://b/v1  -,m     ejected,healthy\n"
                             "none   -                        -       -\n");
}

int main(void)
{
    test_width();
    test_scrub();
    test_json();
    test_cells();
    test_table();
    test_paths();
    return CHECK_DONE();
}
