/* erase_html.c — the printable certificate of an erasure (データ消去証明書): one self-contained
 * HTML page in Japanese, rendered from a report document (its content, not a second source), with
 * the signature printed so that the paper copy can be matched to the signed JSON. Print styles
 * fit A4. Every value from the report is escaped. */
#include "lifecycle/erase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void esc(struct ksm_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': ksm_buf_puts(b, "&amp;"); break;
        case '<': ksm_buf_puts(b, "&lt;"); break;
        case '>': ksm_buf_puts(b, "&gt;"); break;
        case '"': ksm_buf_puts(b, "&quot;"); break;
        case '\'': ksm_buf_puts(b, "&#39;"); break;
        default: ksm_buf_append(b, s, 1);
        }
    }
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void row(struct ksm_buf *b, const char *th, const char *td)
{
    ksm_buf_puts(b, "<tr><th>");
    ksm_buf_puts(b, th);
    ksm_buf_puts(b, "</th><td>");
    esc(b, td);
    ksm_buf_puts(b, "</td></tr>\n");
}

static void person(struct ksm_buf *b, const char *th, const json_t *p)
{
    char t[400];
    snprintf(t, sizeof t, "%s (%s)", str(p, "name"), str(p, "id"));
    row(b, th, t);
}

static const char *scope_ja(const char *scope)
{
    return !strcmp(scope, "tenant") ? "テナント全体" : !strcmp(scope, "project") ? "プロジェクト" : "バケット";
}

static void summary(struct ksm_buf *b, const json_t *r)
{
    const json_t *t = json_object_get(r, "tenant"), *tg = json_object_get(r, "target");
    char s[400];
    ksm_buf_puts(b, "<table class=\"kv\">\n");
    row(b, "消去番号", str(r, "erasure_id"));
    snprintf(s, sizeof s, "%s (%s)", str(t, "name"), str(t, "id"));
    row(b, "テナント", s);
    row(b, "法人番号", str(t, "corporate_number"));
    snprintf(s, sizeof s, "%s: %s (%s)", scope_ja(str(r, "scope")), str(tg, "name"), str(tg, "id"));
    row(b, "消去範囲", s);
    person(b, "依頼者", json_object_get(r, "requested_by"));
    row(b, "依頼日時", str(r, "requested_at"));
    person(b, "承認者", json_object_get(r, "confirmed_by"));
    row(b, "承認日時", str(r, "confirmed_at"));
    row(b, "消去開始", str(r, "started_at"));
    row(b, "消去完了", str(r, "finished_at"));
    ksm_buf_puts(b, "</table>\n");
}

static void buckets(struct ksm_buf *b, const json_t *r)
{
    ksm_buf_puts(b, "<h2>消去したデータ</h2>\n<table class=\"grid\"><tr><th>バケット</th>"
                    "<th>リージョン</th><th>オブジェクト</th><th>旧バージョン</th>"
                    "<th>マルチパート部品</th><th>バイト数</th><th>削除ファイル</th>"
                    "<th>消去エクステント</th><th>暗号文バイト数</th></tr>\n");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "buckets"), i, x) {
        ksm_buf_puts(b, "<tr><td>");
        esc(b, str(x, "name"));
        ksm_buf_puts(b, "<br><small>");
        esc(b, str(x, "id"));
        ksm_buf_puts(b, "</small></td><td>");
        esc(b, str(x, "region"));
        ksm_buf_printf(b, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td>"
                          "<td>%lld</td><td>%lld</td></tr>\n",
                       num(x, "objects"), num(x, "noncurrent_versions"), num(x, "parts"),
                       num(x, "bytes"), num(x, "data_files_removed"), num(x, "pack_extents_wiped"),
                       num(x, "ciphertext_bytes_wiped"));
    }
    const json_t *t = json_object_get(r, "totals");
    ksm_buf_printf(b, "<tr class=\"total\"><td>合計 %lld バケット</td><td></td><td>%lld</td>"
                      "<td>%lld</td><td></td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td>"
                      "</tr>\n</table>\n",
                   num(t, "buckets"), num(t, "objects"), num(t, "noncurrent_versions"),
                   num(t, "bytes"), num(t, "data_files_removed"), num(t, "pack_extents_wiped"),
                   num(t, "ciphertext_bytes_wiped"));
}

static void keys(struct ksm_buf *b, const json_t *r)
{
    ksm_buf_puts(b, "<h2>破棄した暗号鍵</h2>\n<table class=\"grid\"><tr><th>鍵ID</th><th>種別</th>"
                    "<th>所有者</th><th>版</th></tr>\n");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r, "keys_destroyed"), i, k) {
        ksm_buf_puts(b, "<tr><td>");
        esc(b, str(k, "key_id"));
        ksm_buf_puts(b, "</td><td>");
        ksm_buf_puts(b, !strcmp(str(k, "kind"), "tenant") ? "テナント鍵" : "バケット鍵");
        ksm_buf_puts(b, "</td><td>");
        esc(b, str(k, "owner"));
        ksm_buf_printf(b, "</td><td>%lld</td></tr>\n", num(k, "version"));
    }
    ksm_buf_puts(b, "</table>\n");
}

static void methods(struct ksm_buf *b, const json_t *r)
{
    static const char *const ja[][2] = {
        {"crypto_erasure", "暗号消去: 鍵素材をゼロで上書きしたうえで削除"},
        {"metadata_removal", "メタデータ削除: secure_delete による上書き削除と WAL の切り詰め"},
        {"data_deletion", "データ削除: オブジェクトファイルの削除とパックログ領域のゼロ化"},
    };
    ksm_buf_puts(b, "<h2>消去方法</h2>\n<ul>\n");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "methods"), i, m) {
        ksm_buf_puts(b, "<li>");
        for (size_t j = 0; j < sizeof ja / sizeof ja[0]; j++)
            if (!strcmp(str(m, "id"), ja[j][0]))
                ksm_buf_puts(b, ja[j][1]);
        ksm_buf_puts(b, "<br><small>");
        esc(b, str(m, "description"));
        ksm_buf_puts(b, "</small></li>\n");
    }
    ksm_buf_puts(b, "</ul>\n<h2>保持するもの</h2>\n<ul>\n");
    json_array_foreach(json_object_get(r, "retained"), i, m) {
        ksm_buf_puts(b, "<li>");
        esc(b, json_string_value(m));
        ksm_buf_puts(b, "</li>\n");
    }
    ksm_buf_puts(b, "</ul>\n");
}

char *ksm_erase_report_html(const json_t *r)
{
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
                     "<title>データ消去証明書</title><style>"
                     "@page{size:A4;margin:18mm}body{font-family:'Noto Sans CJK JP','IPAexGothic',"
                     "sans-serif;font-size:10.5pt;color:#000}h1{text-align:center;letter-spacing:.3em}"
                     "table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid "
                     "#444;padding:3px 6px;text-align:left;vertical-align:top}.kv th{width:9em;"
                     "background:#eee}.grid th{background:#eee;font-size:9pt}.grid td{font-size:9pt}"
                     ".total td{font-weight:bold}.sig{font-family:monospace;font-size:8pt;"
                     "word-break:break-all}</style></head><body>\n<h1>データ消去証明書</h1>\n"
                     "<p>下記のデータを、復元できない方法により消去したことを証明します。</p>\n");
    summary(&b, r);
    buckets(&b, r);
    keys(&b, r);
    methods(&b, r);
    const json_t *sig = json_object_get(r, "signature");
    ksm_buf_puts(&b, "<h2>電子署名</h2>\n<p>本証明書の内容は JSON 形式の消去報告書に Ed25519 で"
                     "署名されています。検証: <code>kasumi erasure verify REPORT.json "
                     "--public-key KEY.pem</code></p>\n<p class=\"sig\">");
    esc(&b, str(sig, "alg"));
    ksm_buf_puts(&b, " ");
    esc(&b, str(sig, "value"));
    ksm_buf_puts(&b, "</p>\n</body></html>\n");
    return ksm_buf_steal(&b);
}
