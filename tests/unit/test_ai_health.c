/* test_ai_health.c — the targets' health table (src/ai/ai_health.c) with its own clock's real time:
 * targets set aside after failing in a row go last, in the route's order, never out; one request
 * probes a target whose time is over; a failed probe doubles the time, an answer ends it; a failure
 * of a request already on its way changes nothing more; targets differing in model, credential or
 * tenant are told apart; calls in flight counted against a target's limit and released; the state holds
 * up under threads reporting at once (run under ASan and UBSan). */
#include "check.h"
#include "ai/ai_health.h"
#include "core/log.h"
#include "core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define MS 100   /* eject_ms: a short time aside, so the test waits little */

static struct ksm_ai_target targets[4];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void make_targets(const char *tag)
{
    for (int i = 0; i < 4; i++) {
        struct ksm_ai_target *t = &targets[i];
        *t = (struct ksm_ai_target){.provider = KSM_AI_OPENAI, .weight = 1, .timeout_ms = 1000};
        snprintf(t->base_url, sizeof t->base_url, "http://127.0.0.1:9/v1");
        snprintf(t->model, sizeof t->model, "%s-%d", tag, i);
        snprintf(t->jurisdiction, sizeof t->jurisdiction, "JP");
        t->health_key = ksm_ai_health_key("tn_test", t);
    }
}

/* The order for one request over the first n targets, as a string of their indexes ("0123"). */
static const char *plan(int n, int16_t slot[4])
{
    static char s[8];
    int order[4] = {0, 1, 2, 3};
    ksm_ai_health_order("tn_test", targets, order, n, slot);
    for (int i = 0; i < n; i++)
        s[i] = (char)('0' + order[i]);
    s[n] = '\0';
    return s;
}

static const char *state_of(int i)
{
    json_t *j = ksm_ai_health_json(targets[i].health_key, false);
    static char s[16];
    snprintf(s, sizeof s, "%s", json_string_value(json_object_get(j, "state")));
    json_decref(j);
    return s;
}

static void set_aside_and_back(void)
{
    make_targets("life");
    int16_t slot[4];
    CHECK_STR(plan(3, slot), "012");
    CHECK_STR(state_of(0), "healthy");
    CHECK(!ksm_ai_health_report(slot[0], false, 0));
    CHECK(!ksm_ai_health_report(slot[0], false, 0));
    CHECK(ksm_ai_health_report(slot[0], false, 0));   /* the third in a row */
    CHECK_STR(state_of(0), "ejected");
    CHECK_STR(plan(3, slot), "120");   /* aside: last */
    /* a request that was on its way fails too: counted, the time aside unchanged */
    json_t *before = ksm_ai_health_json(targets[0].health_key, false);
    CHECK(ksm_ai_health_report(slot[0], false, 0));
    json_t *after = ksm_ai_health_json(targets[0].health_key, false);
    CHECK_STR(json_string_value(json_object_get(after, "ejected_until")),
              json_string_value(json_object_get(before, "ejected_until")));
    CHECK(json_integer_value(json_object_get(after, "ejections")) == 1);
    CHECK(json_integer_value(json_object_get(after, "consecutive_failures")) == 4);
    json_decref(before);
    json_decref(after);

    sleep_ms(MS + 30);
    CHECK_STR(plan(3, slot), "012");   /* the probe: first */
    CHECK_STR(state_of(0), "probing");
    CHECK_STR(plan(3, slot), "120");   /* another request while it is probed: last */
    CHECK(ksm_ai_health_report(slot[0], false, 0));   /* the probe failed: aside again, 2 × MS */
    CHECK_STR(state_of(0), "ejected");
    sleep_ms(MS + 30);
    CHECK_STR(plan(3, slot), "120");   /* not yet */
    sleep_ms(MS);
    CHECK_STR(plan(3, slot), "012");
    CHECK(!ksm_ai_health_report(slot[0], true, 0));   /* it answered */
    CHECK_STR(state_of(0), "healthy");
    CHECK_STR(plan(3, slot), "012");
    /* back in service, the count starts again: two failures do not set it aside */
    CHECK(!ksm_ai_health_report(slot[0], false, 0));
    CHECK(!ksm_ai_health_report(slot[0], false, 0));
    CHECK(!ksm_ai_health_report(slot[0], true, 0));
    CHECK(!ksm_ai_health_report(slot[0], false, 0));
    CHECK_STR(state_of(0), "healthy");
}

/* n failures of the target at slot in a row, each with that Retry-After (<= 0: none). */
static void fail_times(int slot, int n, long retry_after_s)
{
    for (int i = 0; i < n; i++)
        ksm_ai_health_report(slot, false, retry_after_s);
}

/* A call refused (budget, rate) or left before its probe went gives the probe back. */
static void probe_given_back(void)
{
    make_targets("giveback");
    int16_t slot[4];
    plan(2, slot);
    fail_times(slot[0], 3, 0);
    sleep_ms(MS + 30);
    int order[4] = {0, 1, 2, 3};
    int probe = ksm_ai_health_order("tn_test", targets, order, 2, slot);
    CHECK(probe == slot[0] && order[0] == 0);
    CHECK_STR(plan(2, slot), "10");    /* probed by that call: the next one goes elsewhere */
    ksm_ai_health_unclaim(probe);
    CHECK_STR(plan(2, slot), "01");    /* given back: this call probes it */
}

static void all_aside_keep_their_order(void)
{
    make_targets("all");
    int16_t slot[4];
    CHECK_STR(plan(3, slot), "012");
    for (int t = 0; t < 3; t++)
        fail_times(slot[t], 3, 0);
    CHECK_STR(plan(3, slot), "012");   /* every one aside: the route's order, none dropped */
    int order[4] = {2, 0, 1, 3};   /* a weighted draw put the third first */
    ksm_ai_health_order("tn_test", targets, order, 3, slot);
    CHECK(order[0] == 2 && order[1] == 0 && order[2] == 1);
}

static void lone_target_not_tracked(void)
{
    make_targets("lone");
    int16_t slot[4] = {-1, -1, -1, -1};
    CHECK_STR(plan(1, slot), "0");
    CHECK(slot[0] == -1);
    CHECK(!ksm_ai_health_report(slot[0], false, 0));
    CHECK_STR(state_of(0), "unknown");
    json_t *j = ksm_ai_health_json(targets[0].health_key, true);
    CHECK_STR(json_string_value(json_object_get(j, "state")), "untracked");
    json_decref(j);
}

static void told_apart(void)
{
    make_targets("apart");
    struct ksm_ai_target a = targets[0], b = a, c = a;
    snprintf(b.credential_ref, sizeof b.credential_ref, "/etc/kasumi/other.key");
    snprintf(c.azure_deployment, sizeof c.azure_deployment, "dep");
#define KEY(t) ksm_ai_health_key("tn_a", &(t))
    CHECK(KEY(a) != KEY(b));
    CHECK(KEY(a) != KEY(c));
    c = a;
    c.weight = 5, c.timeout_ms = 9000;   /* how a route uses a target is not its identity */
    CHECK(KEY(a) == KEY(c));
    c.provider = KSM_AI_ANTHROPIC;
    CHECK(KEY(a) != KEY(c));
    CHECK(KEY(a) != ksm_ai_health_key("tn_b", &a));   /* another tenant's: its own state */
#undef KEY
}

static void retry_after_lengthens(void)
{
    make_targets("ra");
    int16_t slot[4];
    plan(2, slot);
    fail_times(slot[0], 3, 2);
    sleep_ms(MS + 30);
    CHECK_STR(plan(2, slot), "10");   /* 2 s asked for: still aside after eject_ms */
}

static int in_flight(int i)
{
    json_t *j = ksm_ai_health_json(targets[i].health_key, false);
    int n = (int)json_integer_value(json_object_get(j, "in_flight"));
    json_decref(j);
    return n;
}

static void concurrency_limit(void)
{
    make_targets("limit");
    int16_t slot[4];
    plan(2, slot);
    CHECK(ksm_ai_health_acquire(slot[0], 2, false));
    CHECK(ksm_ai_health_acquire(slot[0], 2, false));
    CHECK(!ksm_ai_health_acquire(slot[0], 2, false));   /* at its limit: the next target's turn */
    CHECK(in_flight(0) == 2);
    CHECK(ksm_ai_health_acquire(slot[0], 2, true));      /* nothing else left: counted anyway */
    CHECK(ksm_ai_health_acquire(slot[1], 0, false));     /* 0: no limit */
    CHECK(in_flight(0) == 3 && in_flight(1) == 1);
    for (int i = 0; i < 3; i++)
        ksm_ai_health_release(slot[0]);
    ksm_ai_health_release(slot[1]);
    CHECK(in_flight(0) == 0 && in_flight(1) == 0);
    CHECK(ksm_ai_health_acquire(-1, 1, false));          /* untracked: never held back */
}

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        int16_t slot[4];
        int order[4] = {0, 1, 2, 3};
        ksm_ai_health_order("tn_test", targets, order, 4, slot);
        int t = order[i % 4];
        if (ksm_ai_health_acquire(slot[t], 2, (i & 1) != 0)) {
            ksm_ai_health_report(slot[t], (i * 7 + t) % 10 >= 7, 0);   /* seven in ten fail */
            ksm_ai_health_release(slot[t]);
        }
    }
    return NULL;
}

static void threads(void)
{
    make_targets("threads");
    ksm_log_min = KSM_LOG_ERROR;   /* a target set aside and back thousands of times: not logged here */
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        const char *s = state_of(i);
        CHECK(!strcmp(s, "healthy") || !strcmp(s, "ejected") || !strcmp(s, "probing"));
        CHECK(in_flight(i) == 0);   /* every call counted was released */
    }
}

int main(void)
{
    ksm_ai_health_configure(3, MS);
    set_aside_and_back();
    probe_given_back();
    all_aside_keep_their_order();
    lone_target_not_tracked();
    told_apart();
    retry_after_lengthens();
    concurrency_limit();
    threads();
    return CHECK_DONE();
}
