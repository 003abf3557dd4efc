/* tpl_int.h — what the files of src/template share and nothing else sees. */
#ifndef KSM_TPL_INT_H
#define KSM_TPL_INT_H
#include "template/template.h"

/* The storage bucket guard (registered by ksm_tpl_register_schema). */
enum ksm_err ksm_tpl__bucket_guard(struct ksm_db *db, const char *project, const char *region,
                                   json_t *old_tags, json_t *new_tags, char *why, size_t whylen);
/* A project's live tags, its budget and policy as template specs (JSON the plan compares). */
json_t *ksm_tpl__budget_spec(int64_t monthly_microyen, const int *alerts, int nalerts);

#endif
