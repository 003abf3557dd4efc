/* h_kms.c — /admin/v1/tenants/{tenant}/kms/keys: a tenant's encryption keys (its tenant key and
 * its buckets' keys) listed, rotated, disabled, enabled and destroyed (crypto-erasure). Answers
 * carry versions, states and dates, never key material. A key is named by its owner: the tenant's
 * id for the tenant key, a bucket's id or "bucket:<bucket name>" for a bucket key (kms knows
 * buckets by their unique id, never reused, which is looked up here). The dispatcher authorises at
 * {tenant} (kms.key.read, kms.key.manage, kms.key.destroy) and audits every call; kms audits every
 * use of a key itself (kms.rotate, kms.disable, ...). */
#include <stdlib.h>
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "kms/kms.h"
#include "storage/store.h"

#define DB(r) (&(r)->worker->db)

/* The key a request names: kind, kms owner id, and the name to confirm a destruction with. */
struct named_key {
    enum ksm_kms_kind kind;
    char owner[KSM_KMS_ID_MAX + 1];
    const char *confirm; /* the tenant id, or the bucket's name */
};

static enum ksm_err kms_of(struct ksm_req *r, struct ksm_kms **k)
{
    struct ksm_app *app = r->worker->app;
    *k = app->kms;
    if (!*k)
        return ksm_fail(r, KSM_E_NOT_SUPPORTED_ENV,
                        "this environment stores no data and holds "
                        "no keys");
    return KSM_E_OK;
}

/* A bucket key named by its bucket id: it must be this tenant's (a deleted bucket's destroyed key
 * included); name gets the bucket's name while the bucket exists, else its id. */
static enum ksm_err bucket_by_id(struct ksm_req *r, const char *tenant, const char *id,
                                 const char **name)
{
    struct ksm_kms_key_info ki;
    struct ksm_bucket *bs = NULL;
    size_t n = 0;
    struct ksm_app *app = r->worker->app;
    if (ksm_kms_key_describe(app->kms, DB(r), KSM_KMS_BUCKET, id, &ki) != KSM_E_OK ||
        strcmp(ki.tenant_id, tenant))
        return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
    *name = id;
    if (ksm_store_bucket_list(DB(r), tenant, NULL, &bs, &n) == KSM_E_OK)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(bs[i].id, id))
                *name = ksm_arena_strdup(r->arena, bs[i].name);
    free(bs);
    return KSM_E_OK;
}

static enum ksm_err resolve(struct ksm_req *r, struct named_key *nk)
{
    const char *tenant = r->params[0], *name = r->params[1];
    struct ksm_bucket b;
    enum ksm_err e = KSM_E_OK;
    if (!strcmp(name, tenant)) {
        nk->kind = KSM_KMS_TENANT;
        snprintf(nk->owner, sizeof nk->owner, "%s", tenant);
        nk->confirm = tenant;
    } else if (!strncmp(name, "bucket:", 7)) {
        if (ksm_store_bucket_get(DB(r), tenant, name + 7, &b) != KSM_E_OK)
            return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
        nk->kind = KSM_KMS_BUCKET;
        snprintf(nk->owner, sizeof nk->owner, "%s", b.id);
        nk->confirm = name + 7;
    } else {
        /* a bucket id; anything else (another tenant's id, garbage) is "no such key" alike */
        if ((e = bucket_by_id(r, tenant, name, &nk->confirm)) != KSM_E_OK)
            return e;
        nk->kind = KSM_KMS_BUCKET;
        snprintf(nk->owner, sizeof nk->owner, "%s", name);
    }
    ksm_req_audit(r, tenant, NULL, nk->owner);
    return KSM_E_OK;
}

static void set_time(json_t *o, const char *field, int64_t ms)
{
    char t[32];
    if (!ms) {
        json_object_set_new(o, field, json_null());
        return;
    }
    ksm_rfc3339_ms(ms, t);
    json_object_set_new(o, field, json_string(t));
}

/* bucket: the bucket's name, NULL for the tenant key or a deleted bucket's tombstone. */
static json_t *key_json(const struct ksm_kms_key_info *ki, const char *bucket)
{
    bool is_bucket = !strcmp(ki->kind, "bucket");
    json_t *o = json_object();
    json_object_set_new(o, "key", json_string(ki->owner_id)); /* its name in the key's path */
    json_object_set_new(o, "kind", json_string(ki->kind));
    json_object_set_new(o, "tenant", json_string(ki->tenant_id));
    json_object_set_new(o, "bucket", is_bucket && bucket ? json_string(bucket) : json_null());
    json_object_set_new(o, "bucket_id", is_bucket ? json_string(ki->owner_id) : json_null());
    json_object_set_new(o, "key_id", json_string(ki->id));
    json_object_set_new(o, "version", json_integer(ki->version));
    json_object_set_new(o, "state", json_string(ki->state));
    set_time(o, "created_at", ki->created_at);
    set_time(o, "rotated_at", ki->rotated_at);
    set_time(o, "state_changed_at", ki->state_changed_at);
    return o;
}

static const char *bucket_name(const struct ksm_bucket *bs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(bs[i].id, id))
            return bs[i].name;
    return NULL;
}

enum ksm_err ksm_h_kms_key_list(struct ksm_req *r)
{
    struct ksm_kms *k;
    struct ksm_kms_key_info *keys = NULL;
    struct ksm_bucket *bs = NULL;
    size_t nk = 0, nb = 0;
    enum ksm_err e = kms_of(r, &k);
    if (e != KSM_E_OK)
        return e;
    e = ksm_kms_key_list(DB(r), r->params[0], &keys, &nk);
    if (e == KSM_E_OK)
        e = ksm_store_bucket_list(DB(r), r->params[0], NULL, &bs, &nb);
    if (e != KSM_E_OK) {
        free(keys);
        free(bs);
        return ksm_fail(r, e, "cannot list the keys");
    }
    json_t *items = json_array();
    for (size_t i = 0; i < nk; i++)
        json_array_append_new(items, key_json(&keys[i], bucket_name(bs, nb, keys[i].owner_id)));
    free(keys);
    free(bs);
    return ksm_reply_page(r, items, NULL);
}

static enum ksm_err reply_key(struct ksm_req *r, struct ksm_kms *k, const struct named_key *nk)
{
    struct ksm_kms_key_info ki;
    if (ksm_kms_key_describe(k, DB(r), nk->kind, nk->owner, &ki) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the key back");
    const char *bucket =
        nk->kind == KSM_KMS_BUCKET && strcmp(nk->confirm, nk->owner) ? nk->confirm : NULL;
    return ksm_reply_json(r, 200, key_json(&ki, bucket));
}

static enum ksm_err op_failed(struct ksm_req *r, enum ksm_err e, const char *op)
{
    switch (e) {
    case KSM_E_NOT_FOUND:
        return ksm_fail_why(r, e, NULL);
    case KSM_E_KEY_DESTROYED:
        return ksm_fail(r, e,
                        "the key was destroyed: it cannot be %s, and its data stays "
                        "unreadable for ever",
                        op);
    case KSM_E_KEY_DISABLED:
        return ksm_fail(r, e, "the key is disabled: enable it before it is %s", op);
    default:
        return ksm_fail(r, e, "the key could not be %s", op);
    }
}

/* kms makes a tenant's key with its first bucket; a tenant without buckets still has a key to
 * manage (disabling or destroying it must stop its first bucket too), so it is made here. */
static enum ksm_err ensure_tenant_key(struct ksm_kms *k, struct ksm_req *r,
                                      const struct named_key *nk)
{
    if (nk->kind != KSM_KMS_TENANT)
        return KSM_E_OK;
    enum ksm_err e = ksm_kms_tenant_key_ensure(k, DB(r), nk->owner);
    return e == KSM_E_KEY_DESTROYED ? KSM_E_OK : e; /* the operation says so itself */
}

typedef enum ksm_err (*key_op_fn)(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                  const char *owner_id);

static enum ksm_err on_key(struct ksm_req *r, key_op_fn fn, const char *op)
{
    struct ksm_kms *k;
    struct named_key nk;
    enum ksm_err e = kms_of(r, &k);
    if (e == KSM_E_OK)
        e = resolve(r, &nk);
    if (e != KSM_E_OK)
        return e;
    if ((e = ensure_tenant_key(k, r, &nk)) != KSM_E_OK || (e = fn(k, DB(r), nk.kind, nk.owner)))
        return op_failed(r, e, op);
    return reply_key(r, k, &nk);
}

static enum ksm_err rotate(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                           const char *owner_id)
{
    return ksm_kms_key_rotate(k, db, kind, owner_id, NULL);
}

enum ksm_err ksm_h_kms_key_rotate(struct ksm_req *r) { return on_key(r, rotate, "rotated"); }

enum ksm_err ksm_h_kms_key_disable(struct ksm_req *r)
{
    return on_key(r, ksm_kms_key_disable, "disabled");
}

enum ksm_err ksm_h_kms_key_enable(struct ksm_req *r)
{
    return on_key(r, ksm_kms_key_enable, "enabled");
}

/* POST {confirm}: crypto-erasure cannot be undone, so the caller repeats the name of what it
 * erases — the bucket's name, or the tenant's id for the tenant key (and with it every bucket). */
enum ksm_err ksm_h_kms_key_destroy(struct ksm_req *r)
{
    const char *confirm = NULL;
    const struct ksm_jfield spec[] = {{"confirm", KSM_J_STRING, true, &confirm, NULL}};
    struct named_key nk;
    struct ksm_kms *k;
    enum ksm_err e = kms_of(r, &k);
    if (e == KSM_E_OK)
        e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e == KSM_E_OK)
        e = resolve(r, &nk);
    if (e != KSM_E_OK)
        return e;
    if (strcmp(confirm, nk.confirm))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "destruction is irreversible: set confirm to %s",
                        nk.kind == KSM_KMS_TENANT ? "the tenant's id" : "the bucket's name");
    if ((e = ensure_tenant_key(k, r, &nk)) != KSM_E_OK ||
        (e = ksm_kms_key_destroy(k, DB(r), nk.kind, nk.owner)) != KSM_E_OK)
        return op_failed(r, e, "destroyed");
    return reply_key(r, k, &nk);
}
