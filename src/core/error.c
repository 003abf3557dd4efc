/* error.c — lookups into the errors.def table. */
#include "core/error.h"

static const struct {
    int status;
    const char *code, *s3, *oai, *msg;
} errtab[] = {
#define X(name, status, code, s3, oai, msg) {status, code, s3, oai, msg},
#include "core/errors.def"
#undef X
};

static enum ksm_err clamp(enum ksm_err e)
{
    return (unsigned)e < KSM_E__COUNT ? e : KSM_E_INTERNAL;
}

int ksm_err_status(enum ksm_err e) { return errtab[clamp(e)].status; }
const char *ksm_err_code(enum ksm_err e) { return errtab[clamp(e)].code; }
const char *ksm_err_s3_code(enum ksm_err e) { return errtab[clamp(e)].s3; }
const char *ksm_err_openai_type(enum ksm_err e) { return errtab[clamp(e)].oai; }
const char *ksm_err_message(enum ksm_err e) { return errtab[clamp(e)].msg; }
