/* billing_notifier.c — the thread that turns spend into notifications: every interval it records
 * the budget thresholds crossed (billing_budget.c), writes one audit record for each, and POSTs
 * the notifications that are due (billing_webhook_send.c). It has its own database connection and
 * blocks on the network only itself. */
#include "billing/billing_budget.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"

static struct {
    struct ksm_billing_notifier_opts o;
    struct ksm_db db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool running, stop, kick;
} N = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

struct audited {
    int64_t ids[100];
    int n;
};

/* One audit record per crossing: the system acting on the tenant's project (or the key in it). */
static void audit_one(void *arg, const struct ksm_billing_alert *b)
{
    struct audited *a = arg;
    char detail[200], rid[40];
    snprintf(detail, sizeof detail, "%d%% of the %s budget%s: %lld of %lld micro-yen", b->threshold,
             b->month, b->key[0] ? " of the key in the project" : "", (long long)b->spent_microyen,
             (long long)b->budget_microyen);
    snprintf(rid, sizeof rid, "budget-alert-%lld", (long long)b->id);
    struct ksm_audit_rec rec = {.request_id = rid, .principal = "system", .tenant = b->tenant,
                                .project = b->project, .source = "kasumid",
                                .action = "billing.budget.alert",
                                .target = b->key[0] ? b->key : b->project, .outcome = "success",
                                .detail = detail};
    ksm_audit_submit(N.o.audit, &rec, NULL, NULL, NULL);
    if (a->n < (int)KSM_NELEM(a->ids))
        a->ids[a->n++] = b->id;
}

static void round_once(void)
{
    int crossed = 0, sent = 0;
    int64_t now = ksm_now_ms();
    if (ksm_billing_budget_check(&N.db, now, &crossed) != KSM_E_OK)
        ksm_error("billing: budget check failed");
    struct audited a = {.n = 0};
    if (ksm_billing_budget_unaudited(&N.db, audit_one, &a) == KSM_E_OK && a.n) {
        ksm_audit_flush(N.o.audit); /* durable before the crossing is marked audited */
        for (int i = 0; i < a.n; i++)
            ksm_billing_budget_audited(&N.db, a.ids[i]);
    }
    if (crossed)
        ksm_info("billing: %d budget threshold(s) crossed", crossed);
    do {
        if (ksm_billing_deliver_due(&N.db, &N.o.delivery, ksm_now_ms(), &sent) != KSM_E_OK)
            break;
    } while (sent == 16 && !N.stop);
}

static void *run(void *arg)
{
    (void)arg;
    ksm_thread_name("ksm-budget");
    pthread_mutex_lock(&N.mu);
    while (!N.stop) {
        pthread_mutex_unlock(&N.mu);
        round_once();
        pthread_mutex_lock(&N.mu);
        if (N.stop)
            break;
        if (!N.kick) {
            struct timespec ts = ksm_deadline_ns(CLOCK_REALTIME, (uint64_t)N.o.interval_ms * 1000000u);
            pthread_cond_timedwait(&N.cond, &N.mu, &ts);
        }
        N.kick = false;
    }
    pthread_mutex_unlock(&N.mu);
    return NULL;
}

int ksm_billing_notifier_start(const struct ksm_billing_notifier_opts *o, char *err, size_t errlen)
{
    N.o = *o;
    N.stop = N.kick = false;
    curl_global_init(CURL_GLOBAL_DEFAULT); /* on the main thread, before any other uses it */
    if (ksm_db_open(&N.db, o->db_path, err, errlen))
        return -1;
    if (pthread_create(&N.thread, NULL, run, NULL)) {
        snprintf(err, errlen, "billing: cannot start the notifier thread");
        ksm_db_close(&N.db);
        return -1;
    }
    N.running = true;
    return 0;
}

void ksm_billing_notifier_stop(void)
{
    if (!N.running)
        return;
    pthread_mutex_lock(&N.mu);
    N.stop = true;
    pthread_cond_signal(&N.cond);
    pthread_mutex_unlock(&N.mu);
    pthread_join(N.thread, NULL);
    ksm_db_close(&N.db);
    N.running = false;
}

void ksm_billing_notifier_kick(void)
{
    pthread_mutex_lock(&N.mu);
    N.kick = true;
    pthread_cond_signal(&N.cond);
    pthread_mutex_unlock(&N.mu);
}
