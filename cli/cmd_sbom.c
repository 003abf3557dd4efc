/* cmd_sbom.c — `kasumi sbom`: kasumi's own third-party product list (SPEC.md B11), the CycloneDX
 * JSON the build derived from kasumid (scripts/sbom.py) and compiled in here. With --format csv
 * it is an equipment list (機器リスト) in the form's layout, ready for `kasumi supply list
 * import`: one row per Debian package, 区分 ソフトウェア, the maintainer as 製造業者名 (who has no
 * 法人番号: the reason is stated), the package as 製品名 and its version as 型番. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "supply/supply_layout.h"

extern const char ksm_sbom_cyclonedx[];

static const char no_number[] =
    "法人番号なし（Debian パッケージの保守者: 国内法人ではない開発者・団体）";

static int as_list(const char *company)
{
    json_error_t je;
    json_t *bom = json_loads(ksm_sbom_cyclonedx, 0, &je);
    if (!bom) {
        kc_err("the built-in SBOM does not parse: %s", je.text);
        return KC_EXIT_API;
    }
    json_t *items = json_array(), *comp;
    size_t i;
    json_array_foreach(json_object_get(bom, "components"), i, comp) {
        json_t *sup = json_object_get(json_object_get(comp, "supplier"), "name");
        json_array_append_new(
            items, json_pack("{s:s, s:I, s:s, s:O, s:n, s:s, s:O, s:O}", "company", company, "seq",
                             (json_int_t)i + 1, "category", "ソフトウェア", "maker", sup,
                             "maker_corporate_number", "maker_no_number_reason", no_number,
                             "product", json_object_get(comp, "name"), "model",
                             json_object_get(comp, "version")));
    }
    json_t *list = json_pack("{s:{s:s, s:s}, s:o}", "submitter", "title",
                             "kasumi が利用する第三者製品 (SBOM)", "company", company, "items", items);
    int header_row;
    json_t *ministry = json_object();
    json_t *rows = ksm_supply_layout(list, ministry, &header_row);
    struct ksm_buf out = KSM_BUF_INIT;
    ksm_supply_layout_csv(rows, &out);
    fwrite(out.data, 1, out.len, stdout);
    ksm_buf_free(&out);
    json_decref(rows);
    json_decref(ministry);
    json_decref(list);
    json_decref(bom);
    return KC_EXIT_OK;
}

int kc_sbom(struct kc_ctx *c, const struct kc_args *a)
{
    const char *format = kc_flag(a, "format");
    if (!format || !strcmp(format, "cyclonedx")) {
        fputs(ksm_sbom_cyclonedx, stdout);
        return KC_EXIT_OK;
    }
    if (!strcmp(format, "csv"))
        return as_list(kc_flag(a, "company") ? kc_flag(a, "company") : "kasumi 運用者");
    return kc_usage_err(c->cmd, "--format is cyclonedx (default) or csv");
}
