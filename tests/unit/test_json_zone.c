/* test_json_zone.c — jansson trees built in a zone (core/json_zone.h): the same values as without
 * one, edits and large values still freed by malloc's rules (LeakSanitizer checks that nothing
 * leaks), what json_dumps returns freed with free(), overflow past a zone's chunks, chunks reused,
 * and zones on several threads at once next to plain jansson use. */
#include "check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jscan.h"
#include "core/json_zone.h"

static const char body[] =
    "{\"model\":\"bench\",\"max_tokens\":64,\"messages\":[{\"role\":\"system\",\"content\":\"短く\"},"
    "{\"role\":\"user\",\"content\":\"電話 03-1234-5678 に連絡\"}],\"stream\":false}";

static json_t *load(const char *s, size_t n)
{
    struct ksm_jscan_member m[8];
    int nm = 0;
    size_t close = 0;
    return ksm_jscan_load_top(s, n, m, 8, &nm, &close);
}

static void test_same_tree(void)
{
    struct ksm_json_zone *z = NULL;
    ksm_json_zone_begin(&z);
    json_t *in_zone = load(body, strlen(body));
    ksm_json_zone_end();
    CHECK(z != NULL && ksm_json_zone_used(z) > 0);
    json_t *plain = load(body, strlen(body));
    CHECK(in_zone && plain && json_equal(in_zone, plain));
    size_t used = ksm_json_zone_used(z);
    /* an edit after the zone ends allocates from malloc and frees the zone's value as a no-op */
    json_t *msg = json_array_get(json_object_get(in_zone, "messages"), 1);
    CHECK(json_string_set(json_object_get(msg, "content"), "電話 [PHONE_1] に連絡") == 0);
    json_object_set_new(in_zone, "stream_options", json_pack("{s:b}", "include_usage", 1));
    CHECK(ksm_json_zone_used(z) == used);
    char *dump = json_dumps(in_zone, JSON_COMPACT | JSON_SORT_KEYS);   /* free()d: malloc memory */
    CHECK(dump && strstr(dump, "[PHONE_1]") && strstr(dump, "\"include_usage\":true"));
    free(dump);
    json_decref(in_zone);
    json_decref(plain);
    ksm_json_zone_release(&z);
    CHECK(z == NULL);
    ksm_json_zone_release(&z);   /* harmless twice */
}

/* A value above the zone's size limit, and a tree larger than a zone's chunks, continue in malloc. */
static void test_large(void)
{
    size_t big = 100 * 1000;
    char *s = malloc(big + 64);
    memcpy(s, "{\"content\":\"", 12);
    memset(s + 12, 'a', big);
    memcpy(s + 12 + big, "\"}", 3);
    struct ksm_json_zone *z = NULL;
    ksm_json_zone_begin(&z);
    json_t *t = load(s, strlen(s));
    ksm_json_zone_end();
    CHECK(t && json_string_length(json_object_get(t, "content")) == big);
    json_decref(t);
    ksm_json_zone_release(&z);
    free(s);

    /* 20,000 small members: more than four 64 KiB chunks of nodes */
    size_t cap = 20000 * 24 + 16, n = 0;
    char *many = malloc(cap);
    memcpy(many, "{\"a\":[", 6);   /* the reader takes an object at the top */
    n = 6;
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(many + n, cap - n, "%s{\"k%d\":%d}", i ? "," : "", i, i);
    many[n++] = ']';
    many[n++] = '}';
    many[n] = '\0';
    ksm_json_zone_begin(&z);
    json_t *top = load(many, n), *arr = json_object_get(top, "a");
    ksm_json_zone_end();
    CHECK(arr && json_array_size(arr) == 20000);
    CHECK(json_integer_value(json_object_get(json_array_get(arr, 19999), "k19999")) == 19999);
    CHECK(ksm_json_zone_used(z) <= 4 * 64 * 1024);
    json_decref(top);
    ksm_json_zone_release(&z);
    free(many);
}

/* Released chunks come back: a second zone of the same size reuses memory instead of growing. */
static void test_reuse(void)
{
    for (int round = 0; round < 1000; round++) {
        struct ksm_json_zone *z = NULL;
        ksm_json_zone_begin(&z);
        json_t *t = load(body, strlen(body));
        ksm_json_zone_end();
        CHECK(t != NULL);
        json_decref(t);
        ksm_json_zone_release(&z);
    }
}

static void *zone_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        struct ksm_json_zone *z = NULL;
        ksm_json_zone_begin(&z);
        json_t *t = load(body, strlen(body));
        ksm_json_zone_end();
        json_t *plain = json_pack("{s:s,s:i}", "thread", "zone", "i", i);   /* malloc memory */
        if (!t || json_integer_value(json_object_get(t, "max_tokens")) != 64 || !plain)
            return (void *)1;
        json_decref(t);
        json_decref(plain);
        ksm_json_zone_release(&z);
    }
    return NULL;
}

static void *plain_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        json_t *t = json_loads(body, 0, NULL);
        char *s = t ? json_dumps(t, 0) : NULL;
        if (!s)
            return (void *)1;
        free(s);
        json_decref(t);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, i < 3 ? zone_worker : plain_worker, NULL) == 0);
    for (int i = 0; i < 4; i++) {
        void *r = (void *)1;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
}

int main(void)
{
    test_same_tree();
    test_large();
    test_reuse();
    test_threads();
    return CHECK_DONE();
}
