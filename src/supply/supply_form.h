/* supply_form.h — the equipment-list form (機器リスト) read from a sheet: the submitter block
 * (購入等件名, 法人名, 担当者名, ...), the table "○ 機器等一覧" with its seven columns, and the
 * ministry block (省庁名 ... 入札予定期日). Layout facts: src/supply/data/equipment-list-form.md.
 * Every problem is reported with its row and column; a list with any problem yields no items. */
#ifndef KSM_SUPPLY_FORM_H
#define KSM_SUPPLY_FORM_H
#include <jansson.h>

#include "supply/sheet.h"

#define KSM_FORM_NCOLS 7
#define KSM_FORM_MAX_ERRORS 200

/* The table's columns in the form's order: header text and the JSON field of an item. */
struct ksm_form_col {
    const char *header;   /* "製造業者の法人番号(半角数字)" */
    const char *field;    /* "maker_corporate_number" */
};
extern const struct ksm_form_col ksm_form_cols[KSM_FORM_NCOLS];

struct ksm_form {
    json_t *submitter;   /* {"title","company","contact_name","email","phone"}: those given */
    json_t *ministry;    /* {"agency","department","contact_name","email","phone",
                            "submission_due","inspection_due","bid_due"}: those given */
    json_t *items;       /* [{"company","seq","category","maker","maker_corporate_number"|null,
                            "maker_no_number_reason"|null,"product","model"}] */
    json_t *errors;      /* [{"row","column","field","message"}]; empty when the list is good */
    int error_count;     /* may exceed the array's size (at most KSM_FORM_MAX_ERRORS kept) */
};

/* Reads s. Always fills f (free with ksm_form_free); f->errors says whether it is usable. */
void ksm_form_read(const struct ksm_sheet *s, struct ksm_form *f);
void ksm_form_free(struct ksm_form *f);
/* The list's items as a sheet in the form's layout (header row 1, items from row 2), for a JSON
 * import that must pass the same checks as a file. NULL fields are empty cells. */
void ksm_form_sheet_from_json(json_t *items, struct ksm_sheet *out);

#endif
