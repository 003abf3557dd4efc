/* ai_facet.h — what the audit index counts an AI request's records under (ksm_audit_facet_fn), so
 * GET /admin/v1/ai/decisions and /ai/destinations are exact over a year without reading a year of
 * records. A facet is fields separated by KSM_AI_FACET_SEP, its first field its kind:
 *
 *   decision record (ai.decision):  d SEP class SEP decision SEP project SEP principal SEP u|- SEP
 *                                   model (u: it carried content sent unread, unscanned=N)
 *   a request sent to a model:      s SEP class SEP jurisdictions ("JP,US") SEP project
 *
 * Both are read from the records' details as gateway.c writes them, never from anything else, so
 * the index rebuilt from the log counts the same. The index keeps what each block's records were
 * counted under when it was written: changing a facet needs audit_index.c's INDEX_VERSION raised,
 * which rebuilds the index from the log. */
#ifndef KSM_AI_FACET_H
#define KSM_AI_FACET_H
#include <stdbool.h>

#include "audit/audit.h"
#include "core/buf.h"

#define KSM_AI_FACET_SEP '\x1f'
#define KSM_AI_FACET_DECISION "d\x1f"
#define KSM_AI_FACET_SENT "s\x1f"
enum { KSM_AI_FACET_MAX_FIELDS = 7 };

bool ksm_ai_audit_facet(const struct ksm_audit_rec *rec, struct ksm_buf *out);
/* Splits a facet in place (s is changed) into at most max fields; the last field keeps any
 * separator it holds. Returns the number of fields. */
int ksm_ai_facet_split(char *s, const char *fields[], int max);

#endif
