/* main.c — kasumid: reads the config, opens the data directory, starts the audit log and the
 * listeners, and runs until SIGTERM (drain, seal the audit segment, exit) or SIGHUP (reload). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/app.h"
#include "admin/route.h"
#include "core/db.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/swaps.h"
#include "core/util.h"
#include "daemon/daemon.h"
#include "billing/billing.h"
#include "billing/billing_budget.h"
#include "ai/ai_facet.h"
#include "ai/ai_store.h"
#include "template/template.h"
#include "ai/gateway.h"
#include "iam/iam.h"
#include "iam/oidc.h"
#include "meter/usage.h"
#include "meter/usage_writer.h"
#include "kms/kms.h"
#include "lifecycle/erase.h"
#include "storage/s3_server.h"
#include "storage/store.h"
#include "supply/supply.h"

static struct ksm_app app;
static struct ksm_server *admin_srv;
/* Every config snapshot ever loaded: workers may still read an old one after a SIGHUP swap. */
static struct ksm_conf *snapshots[64];
static int nsnapshots;

static struct ksm_conf *new_snapshot(void)
{
    if (nsnapshots == (int)KSM_NELEM(snapshots))
        return NULL;
    return snapshots[nsnapshots++] = ksm_xcalloc(1, sizeof(struct ksm_conf));
}

static void usage(FILE *f)
{
    fputs("usage: kasumid [--config FILE] [-t] [--data-dir DIR] [--admin-listen HOST:PORT]\n"
          "               [--ai-listen HOST:PORT] [--overseas-allow URL_PREFIX]...\n"
          "               [--env-kind govcloud|overseas-ai] [--bootstrap-token-file FILE]\n"
          "               [--workers N] [--log-level debug|info|warn|error]\n"
          "               [--oidc-issuer URL --oidc-audience AUD] [--jurisdiction CC]\n"
          "               [--allow-swap]\n"
          "  -t  check the configuration, print 'configuration OK' or the error, and exit\n",
          f);
}

static int worker_init(struct ksm_worker *w)
{
    char err[256];
    if (ksm_db_open(&w->db, app.db_path, err, sizeof err)) {
        ksm_error("worker %d: %s", w->id, err);
        return -1;
    }
    return ksm_ai_worker_init(w);
}

static void worker_fini(struct ksm_worker *w) { ksm_db_close(&w->db); }

static int lock_data_dir(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/kasumid.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
        fprintf(stderr, "kasumid: %s is in use by another kasumid\n", dir);
        return -1;
    }
    return fd;   /* held until exit */
}

/* The first start of an empty data dir creates the platform administrator; its token is shown
 * once (to the file named by --bootstrap-token-file, else on stdout) and only its hash is kept. */
static int bootstrap(const struct ksm_conf *c)
{
    struct ksm_db db;
    char err[256], secret[128];
    if (ksm_db_open(&db, app.db_path, err, sizeof err)) {
        fprintf(stderr, "kasumid: %s\n", err);
        return -1;
    }
    int made = ksm_iam_bootstrap(&db, secret, sizeof secret);
    ksm_db_close(&db);
    if (made < 0) {
        fprintf(stderr, "kasumid: bootstrap failed\n");
        return -1;
    }
    if (made == 0)
        return 0;
    if (c->bootstrap_token_file[0]) {
        char line[160];
        int n = snprintf(line, sizeof line, "%s\n", secret);
        if (ksm_write_file_durable(c->bootstrap_token_file, line, (size_t)n, 0600)) {
            fprintf(stderr, "kasumid: cannot write %s: %s\n", c->bootstrap_token_file, strerror(errno));
            return -1;
        }
        printf("bootstrap admin token written to %s (shown once; only its hash is kept)\n",
               c->bootstrap_token_file);
    } else {
        printf("bootstrap admin token (shown once; only its hash is kept):\n  %s\n", secret);
    }
    memset(secret, 0, sizeof secret);
    return 0;
}

static void audit_collector(struct ksm_buf *out, void *arg)
{
    struct ksm_audit_stats st;
    ksm_audit_stats(arg, &st);
    ksm_buf_printf(out, "# HELP kasumi_audit_records_total Audit records made durable.\n"
                        "# TYPE kasumi_audit_records_total counter\nkasumi_audit_records_total %llu\n",
                   (unsigned long long)st.records);
    ksm_buf_printf(out, "# HELP kasumi_audit_commits_total Group commits (fdatasync) of the audit log.\n"
                        "# TYPE kasumi_audit_commits_total counter\nkasumi_audit_commits_total %llu\n",
                   (unsigned long long)st.commits);
    ksm_buf_puts(out, "# HELP kasumi_audit_commit_latency_seconds Time from submit to durable.\n"
                      "# TYPE kasumi_audit_commit_latency_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < 12; i++) {
        cum += st.commit_latency_buckets[i];
        if (i < 11)
            ksm_buf_printf(out, "kasumi_audit_commit_latency_seconds_bucket{le=\"%g\"} %llu\n",
                           ksm_audit_latency_bounds_ms[i] / 1000.0, (unsigned long long)cum);
        else
            ksm_buf_printf(out, "kasumi_audit_commit_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                           (unsigned long long)cum);
    }
    ksm_buf_printf(out, "kasumi_audit_commit_latency_seconds_sum %g\nkasumi_audit_commit_latency_seconds_count %llu\n",
                   st.commit_latency_sum_ms / 1000.0, (unsigned long long)cum);
}

/* What the two writers have not made durable yet, and the memory it holds: the AI gateway waits,
 * then sheds load, above [ai] backlog_max and backlog_max_bytes. */
static void backlog_collector(struct ksm_buf *out, void *arg)
{
    ksm_buf_printf(out, "# HELP kasumi_backlog_records Records submitted and not yet durable.\n"
                        "# TYPE kasumi_backlog_records gauge\n"
                        "kasumi_backlog_records{writer=\"audit\"} %llu\n"
                        "kasumi_backlog_records{writer=\"usage\"} %llu\n",
                   (unsigned long long)ksm_audit_backlog(arg), (unsigned long long)ksm_usage_backlog());
    ksm_buf_printf(out, "# HELP kasumi_backlog_bytes Memory held by records not yet written (audit: and not yet indexed).\n"
                        "# TYPE kasumi_backlog_bytes gauge\n"
                        "kasumi_backlog_bytes{writer=\"audit\"} %llu\n"
                        "kasumi_backlog_bytes{writer=\"usage\"} %llu\n",
                   (unsigned long long)ksm_audit_backlog_bytes(arg),
                   (unsigned long long)ksm_usage_backlog_bytes());
}

static void register_route_labels(void)
{
    static const char *names[KSM_METRICS_MAX_ROUTES];
    static char storage[KSM_METRICS_MAX_ROUTES][160];
    int n = ksm_admin_nroutes < KSM_METRICS_MAX_ROUTES ? ksm_admin_nroutes : KSM_METRICS_MAX_ROUTES;
    for (int i = 0; i < n; i++) {
        snprintf(storage[i], sizeof storage[i], "%s %s", ksm_admin_routes[i].method,
                 ksm_admin_routes[i].pattern);
        names[i] = storage[i];
    }
    ksm_metrics_set_routes(names, n);
}

static int write_listen_json(const char *dir)
{
    char path[600], body[256];
    snprintf(path, sizeof path, "%s/listen.json", dir);
    int n = snprintf(body, sizeof body, "{\"admin\":\"%s\",\"ai\":\"%s\"", ksm_server_address(admin_srv, 0),
                     ksm_server_address(admin_srv, 1));
    if (app.store)
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"s3\":\"%s\"", ksm_server_address(admin_srv, 2));
    n += snprintf(body + n, sizeof body - (size_t)n, "}\n");
    return ksm_write_file_durable(path, body, (size_t)n, 0644);
}

/* Keys (master key checked against the database: a missing or wrong key refuses to start) and
 * the object store with its regions' data directories. */
static struct ksm_db setup_db;

/* Every use of a key is an audit record (SPEC.md B3): which key, what, and whether it worked. */
static void kms_audit(void *arg, const struct ksm_kms_event *ev)
{
    char action[48], detail[96];
    snprintf(action, sizeof action, "kms.%s", ksm_kms_op_name(ev->op));
    snprintf(detail, sizeof detail, "kind=%s version=%u", ev->kind ? ev->kind : "-", (unsigned)ev->version);
    struct ksm_audit_rec rec = {.principal = "system", .source = "kasumid", .action = action,
                                .target = ev->key_id && *ev->key_id ? ev->key_id : ev->owner_id,
                                .outcome = ev->outcome == KSM_E_OK ? "success" : "error",
                                .detail = detail};
    ksm_audit_submit(arg, &rec, NULL, NULL, NULL);
}

static int start_storage(const struct ksm_conf *c, char *err, size_t errlen)
{
    char path[600];
    if (ksm_db_open(&setup_db, app.db_path, err, errlen))
        return -1;
    snprintf(path, sizeof path, "%s/keys/master.key", c->data_dir);
    if (ksm_kms_open(&app.kms, &setup_db, path, err, errlen))
        return -1;
    ksm_kms_set_audit(app.kms, kms_audit, app.audit);
    /* small objects go to the pack log: many per fsync (DESIGN.md §3) */
    struct ksm_store_opts so = {.nregions = 2, .kms = app.kms, .db_path = app.db_path,
                                .small_max = 128 * 1024,
                                .compact_live_pct = c->s3_compact_live_percent,
                                .compact_interval_ms = c->s3_compact_interval_s * 1000};
    static const char *const names[] = {"jp-east", "jp-west"};
    const char *paths[] = {c->s3_region_east, c->s3_region_west};
    for (int i = 0; i < 2; i++) {
        struct ksm_store_region *rg = &so.regions[i];
        snprintf(rg->name, sizeof rg->name, "%s", names[i]);
        int n = paths[i][0] ? snprintf(rg->path, sizeof rg->path, "%s", paths[i])
                            : snprintf(rg->path, sizeof rg->path, "%.400s/regions/%s", c->data_dir, names[i]);
        if (n < 0 || (size_t)n >= sizeof rg->path || strlen(c->data_dir) > 400) {
            snprintf(err, errlen, "the data path of region %s is too long", names[i]);
            return -1;
        }
    }
    if (ksm_store_open(&app.store, &so, err, errlen))
        return -1;
    ksm_metrics_add_collector(ksm_store_metrics, app.store);
    ksm_s3_setup(app.store, c);
    /* erasures a crash interrupted resume now */
    struct ksm_erase_opts eo = {.db_path = app.db_path, .kms = app.kms, .store = app.store,
                                .audit = app.audit, .step_pause_ms = c->erasure_step_pause_ms};
    return ksm_erase_start(&app.erase, &eo, err, errlen);
}

/* Every sign-in decision of SSO is an audit record: who, from where, and why a token was refused. */
static void sso_audit(void *arg, const struct ksm_oidc_audit_rec *r)
{
    struct ksm_audit_rec rec = {.request_id = r->request_id, .principal = r->principal,
                                .tenant = r->tenant, .source = r->source ? r->source : "kasumid",
                                .action = r->action, .target = "sso", .outcome = r->outcome,
                                .detail = r->detail};
    ksm_audit_submit(arg, &rec, NULL, NULL, NULL);
}

static void harden(void)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);   /* no core dump may carry a secret or a prompt */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(077);
}

/* overseas-ai keeps prompts only in memory: with swap on they could reach a disk (SPEC.md O3).
 * 0 to go on, 1 to go on with swap allowed (audited once the log is open), -1 to refuse. */
static int swap_check(const struct ksm_conf *c, const struct ksm_daemon_flags *fl)
{
    if (c->env_kind != KSM_ENV_OVERSEAS_AI)
        return 0;
    const char *path = fl->swaps_file ? fl->swaps_file : "/proc/swaps";
    int n = ksm_swaps_active(path);
    if (n == 0)
        return 0;
    if (!fl->allow_swap) {
        fprintf(stderr, "kasumid: %s: swap is %s; overseas-ai refuses to start, since prompts held in "
                        "memory could be paged to disk. Turn swap off (swapoff -a) or pass "
                        "--allow-swap\n",
                path, n < 0 ? "unknown (cannot read the swap list)" : "active");
        return -1;
    }
    ksm_warn("--allow-swap: starting with swap %s (%s); prompts held in memory may be paged to disk",
             n < 0 ? "unknown" : "active", path);
    return 1;
}

static void audit_allow_swap(void)
{
    struct ksm_audit_rec rec = {.principal = "system", .source = "kasumid", .action = "system.allow_swap",
                                .target = "swap", .outcome = "success",
                                .detail = "overseas-ai started with swap active (--allow-swap)"};
    ksm_audit_submit(app.audit, &rec, NULL, NULL, NULL);
}

static int start(struct ksm_conf *c, const struct ksm_daemon_flags *fl)
{
    char err[512];
    int swap = swap_check(c, fl);
    if (swap < 0)
        return -1;
    if (ksm_mkdir_p(c->data_dir, 0700) || lock_data_dir(c->data_dir) < 0)
        return -1;
    snprintf(app.db_path, sizeof app.db_path, "%s/meta.db", c->data_dir);
    ksm_iam_register_schema();
    ksm_usage_register_schema();
    ksm_ai_store_register_schema();
    ksm_kms_register_schema();
    ksm_store_register_schema();
    ksm_erase_register_schema();
    ksm_supply_register_schema();
    ksm_billing_register_schema();
    ksm_tpl_register_schema();
    ksm_usage_set_rater(ksm_billing_rate);   /* before the usage writer's first record */
    if (bootstrap(c))
        return -1;
    char adir[600], key[600];
    snprintf(adir, sizeof adir, "%s/audit", c->data_dir);
    snprintf(key, sizeof key, "%s/keys/audit-ed25519.pem", c->data_dir);
    struct ksm_audit_opts ao = {.retention_days = c->audit_retention_days,
                                .group_commit_ms = c->audit_group_commit_ms,
                                .segment_bytes = c->audit_segment_bytes,
                                .env_name = ksm_env_kind_name(c->env_kind),
                                .facet = ksm_ai_audit_facet};
    if (ksm_audit_open(&app.audit, adir, key, &ao, err, sizeof err)) {
        fprintf(stderr, "kasumid: audit: %s\n", err);
        return -1;
    }
    ksm_metrics_add_collector(audit_collector, app.audit);
    ksm_metrics_add_collector(backlog_collector, app.audit);
    if (swap > 0)
        audit_allow_swap();
    if (c->env_kind == KSM_ENV_GOVCLOUD && start_storage(c, err, sizeof err)) {
        fprintf(stderr, "kasumid: %s\n", err);
        return -1;
    }
    if (ksm_usage_writer_start(app.db_path, err, sizeof err) ||
        ksm_ai_start(c, c->data_dir, err, sizeof err)) {
        fprintf(stderr, "kasumid: %s\n", err);
        return -1;
    }
    if (ksm_oidc_start(c, sso_audit, app.audit, err, sizeof err)) {
        fprintf(stderr, "kasumid: %s\n", err);
        return -1;
    }
    struct ksm_billing_notifier_opts bn = {
        .db_path = app.db_path, .audit = app.audit, .interval_ms = c->billing_notify_interval_ms,
        .delivery = {.kms = app.kms, .retry_ms = c->billing_webhook_retry_ms,
                     .max_attempts = c->billing_webhook_attempts}};
    if (ksm_billing_notifier_start(&bn, err, sizeof err)) {
        fprintf(stderr, "kasumid: %s\n", err);
        return -1;
    }
    register_route_labels();
    app.conf = c;
    app.started_ms = ksm_now_ms();
    struct ksm_server_opts so = {.conf = c, .worker_init = worker_init, .worker_fini = worker_fini,
                                 .worker_drained = ksm_ai_worker_fini,
                                 .app = &app};
    so.listeners[so.nlisteners++] = (struct ksm_listener_opts){"admin", &c->admin, ksm_dispatch, ksm_admin_on_headers};
    so.listeners[so.nlisteners++] = (struct ksm_listener_opts){"ai", &c->ai, ksm_ai_dispatch, NULL};
    if (app.store)   /* the overseas AI environment stores nothing: it has no S3 listener */
        so.listeners[so.nlisteners++] =
            (struct ksm_listener_opts){"s3", &c->s3, ksm_s3_dispatch, ksm_s3_on_headers};
    if (ksm_server_start(&admin_srv, &so, err, sizeof err)) {
        fprintf(stderr, "kasumid: %s\n", err);
        return -1;
    }
    if (write_listen_json(c->data_dir)) {
        fprintf(stderr, "kasumid: cannot write listen.json\n");
        return -1;
    }
    atomic_store(&app.ready, true);
    const char *scheme = c->admin.tls_cert[0] ? "https" : "http";
    printf("kasumid %s (%s) ready\n  admin API: %s://%s/admin/v1/\n  metrics:   %s://%s/metrics\n"
           "  AI API:    %s://%s/v1/\n",
           ksm_env_kind_name(c->env_kind), ksm_conf_jurisdiction(c), scheme,
           ksm_server_address(admin_srv, 0), scheme,
           ksm_server_address(admin_srv, 0), c->ai.tls_cert[0] ? "https" : "http",
           ksm_server_address(admin_srv, 1));
    if (app.store)
        printf("  S3 API:    %s://%s/\n", c->s3.tls_cert[0] ? "https" : "http",
               ksm_server_address(admin_srv, 2));
    fflush(stdout);
    return 0;
}

static void reload(const struct ksm_conf *cur, const struct ksm_daemon_flags *fl)
{
    char err[512];
    struct ksm_conf *next = new_snapshot();
    if (!next) {
        ksm_error("reload refused: too many reloads since start; restart kasumid");
        return;
    }
    if (ksm_daemon_load_conf(next, fl, err, sizeof err)) {
        ksm_error("reload refused, keeping the running configuration: %s", err);
        nsnapshots--;
        free(next);
        return;
    }
    if (strcmp(next->data_dir, cur->data_dir) || next->env_kind != cur->env_kind ||
        strcmp(next->admin.host, cur->admin.host) || next->admin.port != cur->admin.port ||
        next->workers != cur->workers)
        ksm_warn("reload: data_dir, env_kind, listeners and workers change only on restart");
    memcpy(next->data_dir, cur->data_dir, sizeof next->data_dir);
    next->env_kind = cur->env_kind;
    next->admin = cur->admin;
    next->workers = cur->workers;
    ksm_daemon_apply_log_level(next);
    ksm_server_set_conf(admin_srv, next);
    ksm_info("configuration reloaded");
}

int main(int argc, char **argv)
{
    struct ksm_daemon_flags fl;
    char err[512];
    ksm_db_process_init();
    int rc = ksm_daemon_parse_flags(&fl, argc, argv, err, sizeof err);
    if (rc) {
        if (rc < 0)
            fprintf(stderr, "kasumid: %s\n", err);
        usage(rc < 0 ? stderr : stdout);
        return rc < 0 ? 2 : 0;
    }
    struct ksm_conf *c = new_snapshot();
    if (ksm_daemon_load_conf(c, &fl, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (fl.test_only) {
        puts("configuration OK");
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stderr, NULL, _IOLBF, 0);
    harden();
    ksm_daemon_apply_log_level(c);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* worker threads inherit the mask; main waits */
    signal(SIGPIPE, SIG_IGN);
    if (start(c, &fl))
        return 1;
    int64_t last_sample = ksm_now_ms();
    for (;;) {
        const struct ksm_conf *cur = snapshots[nsnapshots - 1];
        struct timespec every = {cur->s3_meter_interval_s < 10 ? cur->s3_meter_interval_s : 10, 0};
        int sig = sigtimedwait(&set, NULL, &every);
        if (sig < 0) {   /* the timer: unwrapped keys do not linger; stored bytes are sampled */
            if (app.kms)
                ksm_kms_cache_sweep(app.kms);
            int64_t now = ksm_now_ms();
            if (app.store && now - last_sample >= (int64_t)cur->s3_meter_interval_s * 1000) {
                ksm_store_meter_sample(&setup_db, now, now - last_sample);
                last_sample = now;
            }
            continue;
        }
        if (sig == SIGHUP) {
            reload(snapshots[nsnapshots - 1], &fl);
            continue;
        }
        break;
    }
    ksm_info("draining");
    atomic_store(&app.draining, true);
    ksm_oidc_stop();   /* first: a fetch in flight still posts its waiters to live workers */
    ksm_server_stop(admin_srv, 10000);
    ksm_erase_stop(app.erase);   /* between two steps: an unfinished erasure resumes at start */
    ksm_billing_notifier_stop();   /* before the keys it unseals with and the audit log close */
    if (app.store)
        ksm_store_close(app.store);
    if (app.kms)
        ksm_kms_close(app.kms);
    if (setup_db.h)
        ksm_db_close(&setup_db);
    ksm_usage_writer_stop();
    ksm_audit_close(app.audit);
    ksm_info("stopped");
    return 0;
}
