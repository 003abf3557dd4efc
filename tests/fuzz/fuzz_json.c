/* fuzz_json.c — libFuzzer target: arbitrary bytes through the admin API's strict request decoder
 * (reqjson.c) with the field table of POST /admin/v1/keys plus an integer and a boolean. Whatever the
 * input, the decoder must return a defined error or OK, and every string it hands back must be
 * valid UTF-8 without NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/reqjson.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ksm_arena *a;
    const char *user = NULL, *kind = NULL, *project = NULL, *expires = NULL, *name = NULL;
    const char *detail = NULL;
    int64_t n = 0;
    bool b = false, have_b = false;
    const struct ksm_jfield spec[] = {
        {"user", KSM_J_STRING, true, &user, NULL},
        {"kind", KSM_J_STRING, true, &kind, NULL},
        {"project", KSM_J_STRING, false, &project, NULL},
        {"expires_at", KSM_J_STRING, false, &expires, NULL},
        {"name", KSM_J_STRING, false, &name, NULL},
        {"limit", KSM_J_INT, false, &n, NULL},
        {"disabled", KSM_J_BOOL, false, &b, &have_b},
    };
    if (!a)
        a = ksm_arena_create(1 << 16);
    enum ksm_err e = ksm_json_decode(a, (const char *)data, size, spec, KSM_NELEM(spec), &detail);
    if (e == KSM_E_OK) {
        if (!user || !kind)
            abort();   /* required fields must be set on success */
        const char *strs[] = {user, kind, project, expires, name};
        for (size_t i = 0; i < KSM_NELEM(strs); i++)
            if (strs[i] && !ksm_utf8_valid(strs[i], strlen(strs[i])))
                abort();
    } else if (e != KSM_E_INVALID_JSON && e != KSM_E_INVALID_ARGUMENT &&
               e != KSM_E_UNKNOWN_FIELD) {
        abort();
    } else if (!detail || !ksm_utf8_valid(detail, strlen(detail))) {
        abort();   /* the message goes back to the client in JSON */
    }
    ksm_arena_reset(a);
    return 0;
}
