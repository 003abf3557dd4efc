/* test_reqjson.c — the strict request-body decoder: types, required and unknown fields, null,
 * duplicates, non-UTF-8, non-objects, and the pagination limit. */
#include "check.h"
#include "admin/reqjson.h"
#include "core/arena.h"
#include "core/util.h"

#include <string.h>

static struct ksm_arena *arena;
static const char *name, *detail;
static int64_t count;
static bool flag, have_flag;

static const struct ksm_jfield spec[] = {
    {"name", KSM_J_STRING, true, &name, NULL},
    {"count", KSM_J_INT, false, &count, NULL},
    {"flag", KSM_J_BOOL, false, &flag, &have_flag},
};

static enum ksm_err decode(const char *body)
{
    name = NULL, count = -1, flag = false;
    return ksm_json_decode(arena, body, body ? strlen(body) : 0, spec, (sizeof spec / sizeof spec[0]), &detail);
}

int main(void)
{
    arena = ksm_arena_create(4096);
    CHECK(decode("{\"name\":\"国税庁\",\"count\":3,\"flag\":true}") == KSM_E_OK);
    CHECK_STR(name, "国税庁");
    CHECK(count == 3 && flag && have_flag);
    CHECK(decode("{\"name\":\"x\"}") == KSM_E_OK);
    CHECK(count == -1 && !have_flag);
    CHECK(decode("{\"name\":\"x\",\"flag\":null}") == KSM_E_OK && !have_flag);   /* null = absent */

    CHECK(decode("{\"name\":\"x\",\"colour\":1}") == KSM_E_UNKNOWN_FIELD);
    CHECK(detail && strstr(detail, "colour"));
    CHECK(decode("{\"name\":1}") == KSM_E_INVALID_ARGUMENT);
    CHECK(detail && strstr(detail, "name"));
    CHECK(decode("{\"name\":\"x\",\"count\":1.5}") == KSM_E_INVALID_ARGUMENT);
    CHECK(detail && strstr(detail, "count"));
    CHECK(decode("{\"name\":\"x\",\"flag\":\"yes\"}") == KSM_E_INVALID_ARGUMENT);
    CHECK(decode("{\"name\":null}") == KSM_E_INVALID_ARGUMENT);
    CHECK(decode("{\"count\":1}") == KSM_E_INVALID_ARGUMENT);
    CHECK(detail && strstr(detail, "name") && strstr(detail, "required"));
    CHECK(decode("{\"name\":{\"a\":1}}") == KSM_E_INVALID_ARGUMENT);

    CHECK(decode("{\"name\":\"a\",\"name\":\"b\"}") == KSM_E_INVALID_JSON);   /* duplicates */
    CHECK(decode("{\"name\":\"\xff\"}") == KSM_E_INVALID_JSON);               /* not UTF-8 */
    CHECK(decode("{\"name\":\"\xed\xa0\x80\"}") == KSM_E_INVALID_JSON);       /* surrogate */
    CHECK(decode("{\"name\":\"\\u0000\"}") == KSM_E_INVALID_JSON);            /* NUL */
    CHECK(decode("[\"name\"]") == KSM_E_INVALID_JSON);
    CHECK(decode("\"name\"") == KSM_E_INVALID_JSON);
    CHECK(decode("null") == KSM_E_INVALID_JSON);
    CHECK(decode("") == KSM_E_INVALID_JSON);
    CHECK(decode(NULL) == KSM_E_INVALID_JSON);
    CHECK(decode("{\"name\":\"x\"} trailing") == KSM_E_INVALID_JSON);
    CHECK(decode("{\"name\":\"x\"") == KSM_E_INVALID_JSON);
    /* a body with an embedded NUL byte is not one JSON text */
    CHECK(ksm_json_decode(arena, "{\"name\":\"x\"}\0{}", 15, spec, (sizeof spec / sizeof spec[0]), &detail) ==
          KSM_E_INVALID_JSON);
    /* long unknown field names are cut short in the message */
    char big[400] = "{\"";
    memset(big + 2, 'z', 300);
    strcpy(big + 302, "\":1}");
    CHECK(decode(big) == KSM_E_UNKNOWN_FIELD && strlen(detail) < 100);

    /* found by fuzz_json: jansson quotes a token cut inside a UTF-8 sequence */
    CHECK(decode("{\"user\":\"ac7\\ufc\xe3\x81\x8c\xe9\x96\xa2\n\xe9\x9c\x9e" "1T00:00:\"}") ==
          KSM_E_INVALID_JSON);
    CHECK(detail && ksm_utf8_valid(detail, strlen(detail)));

    CHECK(ksm_json_parse_limit(NULL, 100, 1000) == 100);
    CHECK(ksm_json_parse_limit("5", 100, 1000) == 5);
    CHECK(ksm_json_parse_limit("0", 100, 1000) == -1);
    CHECK(ksm_json_parse_limit("1001", 100, 1000) == -1);
    CHECK(ksm_json_parse_limit("-1", 100, 1000) == -1);
    CHECK(ksm_json_parse_limit("1e3", 100, 1000) == -1);
    CHECK(ksm_json_parse_limit("", 100, 1000) == -1);
    CHECK(ksm_json_parse_limit("99999999999999", 100, 1000) == -1);
    ksm_arena_destroy(arena);
    return CHECK_DONE();
}
