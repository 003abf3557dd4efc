/* erase_cert.c — the printable certificate of an erasure (データ消去証明書), rendered from a report
 * document (its content, not a second source) through the shared report module (src/report/doc.h):
 * one description, two renderings — an A4 HTML page and an A4 PDF with the Japanese font embedded.
 * The signature is printed so that a paper copy can be matched to the signed JSON. Values come
 * from the document as text; the renderers escape them. */
#include "lifecycle/erase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "report/doc.h"

#define TITLE "データ消去証明書"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* An integer member written the Japanese way (1,234,567) into out. */
static const char *num(const json_t *o, const char *k, char out[32])
{
    ksm_report_group_digits((int64_t)json_integer_value(json_object_get(o, k)), out);
    return out;
}

static const char *scope_ja(const char *scope)
{
    return !strcmp(scope, "tenant")    ? "テナント全体"
           : !strcmp(scope, "project") ? "プロジェクト"
                                       : "バケット";
}

static void summary(struct ksm_doc *d, const json_t *r)
{
    const json_t *t = json_object_get(r, "tenant"), *tg = json_object_get(r, "target");
    const json_t *rq = json_object_get(r, "requested_by"), *cf = json_object_get(r, "confirmed_by");
    char tenant[400], target[400], req[400], conf[400];
    snprintf(tenant, sizeof tenant, "%s (%s)", str(t, "name"), str(t, "id"));
    snprintf(target, sizeof target, "%s: %s (%s)", scope_ja(str(r, "scope")), str(tg, "name"),
             str(tg, "id"));
    snprintf(req, sizeof req, "%s (%s)", str(rq, "name"), str(rq, "id"));
    snprintf(conf, sizeof conf, "%s (%s)", str(cf, "name"), str(cf, "id"));
    const char *kv[] = {"消去番号", str(r, "erasure_id"), "テナント", tenant,
                        "法人番号", str(t, "corporate_number"), "消去範囲", target,
                        "依頼者", req, "依頼日時", str(r, "requested_at"),
                        "承認者", conf, "承認日時", str(r, "confirmed_at"),
                        "消去開始", str(r, "started_at"), "消去完了", str(r, "finished_at")};
    ksm_doc_keyvalues(d, kv, sizeof kv / sizeof kv[0] / 2);
}

static const struct ksm_report_col bucket_cols[] = {
    {"バケット", 2.4, false},     {"リージョン", 1.4, false}, {"オブジェクト", 1.5, true},
    {"旧バージョン", 1.5, true},  {"部品", 0.8, true},        {"バイト数", 1.4, true},
    {"削除ファイル", 1.5, true},  {"消去領域", 1.2, true},    {"暗号文バイト数", 1.8, true},
};

static void buckets(struct ksm_doc *d, const json_t *r)
{
    char n[7][32], label[200];
    ksm_doc_heading(d, "消去したデータ");
    ksm_doc_table_begin(d, bucket_cols, 9);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "buckets"), i, x) {
        snprintf(label, sizeof label, "%s (%s)", str(x, "name"), str(x, "id"));
        const char *cells[] = {label, str(x, "region"), num(x, "objects", n[0]),
                               num(x, "noncurrent_versions", n[1]), num(x, "parts", n[2]),
                               num(x, "bytes", n[3]), num(x, "data_files_removed", n[4]),
                               num(x, "pack_extents_wiped", n[5]),
                               num(x, "ciphertext_bytes_wiped", n[6])};
        ksm_doc_table_row(d, cells, false);
    }
    const json_t *t = json_object_get(r, "totals");
    char nb[32];
    snprintf(label, sizeof label, "合計 %s バケット", num(t, "buckets", nb));
    const char *total[] = {label, "", num(t, "objects", n[0]), num(t, "noncurrent_versions", n[1]),
                           "", num(t, "bytes", n[3]), num(t, "data_files_removed", n[4]),
                           num(t, "pack_extents_wiped", n[5]),
                           num(t, "ciphertext_bytes_wiped", n[6])};
    ksm_doc_table_row(d, total, true);
    ksm_doc_table_end(d);
}

static const struct ksm_report_col key_cols[] = {
    {"鍵ID", 3, false}, {"種別", 1.5, false}, {"所有者", 3, false}, {"版", 0.7, true}};

static void keys(struct ksm_doc *d, const json_t *r)
{
    char v[32];
    ksm_doc_heading(d, "破棄した暗号鍵");
    ksm_doc_table_begin(d, key_cols, 4);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r, "keys_destroyed"), i, k) {
        const char *cells[] = {str(k, "key_id"),
                               !strcmp(str(k, "kind"), "tenant") ? "テナント鍵" : "バケット鍵",
                               str(k, "owner"), num(k, "version", v)};
        ksm_doc_table_row(d, cells, false);
    }
    ksm_doc_table_end(d);
}

static void methods(struct ksm_doc *d, const json_t *r)
{
    static const char *const ja[][2] = {
        {"crypto_erasure", "暗号消去: 鍵素材をゼロで上書きしたうえで削除"},
        {"metadata_removal", "メタデータ削除: secure_delete による上書き削除と WAL の切り詰め"},
        {"data_deletion", "データ削除: オブジェクトファイルの削除とパックログ領域のゼロ化"},
    };
    ksm_doc_heading(d, "消去方法");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "methods"), i, m) {
        struct ksm_buf b = KSM_BUF_INIT;
        for (size_t j = 0; j < sizeof ja / sizeof ja[0]; j++)
            if (!strcmp(str(m, "id"), ja[j][0]))
                ksm_buf_printf(&b, "%s。", ja[j][1]);
        ksm_buf_puts(&b, str(m, "description"));
        ksm_doc_paragraph(d, b.data);
        ksm_buf_free(&b);
    }
    ksm_doc_heading(d, "保持するもの");
    json_array_foreach(json_object_get(r, "retained"), i, m) {
        const char *s = json_string_value(m);
        ksm_doc_paragraph(d, s ? s : "");
    }
}

static void certificate(struct ksm_doc *d, const json_t *r)
{
    ksm_doc_title(d, TITLE);
    ksm_doc_paragraph(d, "下記のデータを、復元できない方法により消去したことを証明します。");
    summary(d, r);
    buckets(d, r);
    keys(d, r);
    methods(d, r);
    const json_t *sig = json_object_get(r, "signature");
    char line[300];
    ksm_doc_heading(d, "電子署名");
    ksm_doc_paragraph(d, "本証明書の内容は JSON 形式の消去報告書に環境の鍵で Ed25519 署名されて"
                         "います。検証: kasumi erasure verify REPORT.json --public-key KEY.pem");
    snprintf(line, sizeof line, "%s %s", str(sig, "alg"), str(sig, "value"));
    ksm_doc_paragraph(d, line);
}

char *ksm_erase_report_html(const json_t *report)
{
    struct ksm_buf b = KSM_BUF_INIT;
    struct ksm_doc d;
    ksm_doc_html(&d, &b, TITLE);
    certificate(&d, report);
    ksm_doc_end(&d);
    return ksm_buf_steal(&b);
}

int ksm_erase_report_pdf(const json_t *report, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    struct ksm_pdf *pdf = ksm_pdf_new(TITLE);
    if (!pdf)
        return -1;
    struct ksm_doc d;
    ksm_doc_pdf(&d, pdf);
    certificate(&d, report);
    ksm_doc_end(&d);
    return ksm_pdf_finish(pdf, out, len);
}
