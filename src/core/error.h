/* error.h — kasumi's one error enum. Each value maps, through errors.def, to an HTTP status and to the
 * error codes of the three wire protocols (admin JSON, S3 XML, OpenAI JSON). The human detail of a
 * particular failure travels beside the code (on the request), never in the table. */
#ifndef KSM_ERROR_H
#define KSM_ERROR_H

enum ksm_err {
#define X(name, status, code, s3, oai, msg) KSM_E_##name,
#include "core/errors.def"
#undef X
    KSM_E__COUNT
};

int ksm_err_status(enum ksm_err e);
const char *ksm_err_code(enum ksm_err e);
const char *ksm_err_s3_code(enum ksm_err e);
const char *ksm_err_openai_type(enum ksm_err e);
const char *ksm_err_message(enum ksm_err e);

#endif
