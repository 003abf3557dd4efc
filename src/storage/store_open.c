/* store_open.c — the store handle: checks the options, makes each region's directories (0700),
 * collects orphans left by a crash (files and packs), then starts the reaper, the pack writers and
 * the compactor. Closing stops
 * them after they have finished what was handed to them. */
#include "storage/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"

static int region_dirs(const struct ksm_store_region *r, char *err, size_t errlen)
{
    static const char *const sub[] = {"", "/objects", "/tmp", "/packs"};
    char p[600];
    for (size_t i = 0; i < KSM_NELEM(sub); i++) {
        snprintf(p, sizeof p, "%s%s", r->path, sub[i]);
        if (ksm_mkdir_p(p, 0700)) {
            snprintf(err, errlen, "%s: cannot create", p);
            return -1;
        }
    }
    return 0;
}

int ksm_store_open(struct ksm_store **out, const struct ksm_store_opts *o, char *err, size_t errlen)
{
    *out = NULL;
    if (o->nregions < 1 || o->nregions > KSM_STORE_MAX_REGIONS || !o->kms || !o->db_path) {
        snprintf(err, errlen, "store: regions, kms and db_path are required");
        return -1;
    }
    struct ksm_store *s = ksm_xcalloc(1, sizeof *s);
    s->o = *o;
    for (int i = 0; i < o->nregions; i++)
        if (region_dirs(&o->regions[i], err, errlen))
            goto fail;
    if (store_orphans_collect(s, err, errlen) || store_packs_collect(s, err, errlen))
        goto fail;
    if (store_reap_start(s)) {
        snprintf(err, errlen, "store: cannot start the reaper");
        goto fail;
    }
    if (store_pack_start(s, err, errlen) || store_compact_start(s, err, errlen))
        goto fail;
    *out = s;
    return 0;
fail:
    ksm_store_close(s);
    return -1;
}

void ksm_store_close(struct ksm_store *s)
{
    if (!s)
        return;
    store_compact_stop(s);   /* first: its moves need the pack writers */
    store_pack_stop(s);
    store_reap_stop(s);
    free(s);
}

const char *ksm_store_default_region(const struct ksm_store *s) { return s->o.regions[0].name; }

bool ksm_store_has_region(const struct ksm_store *s, const char *region)
{
    for (int i = 0; i < s->o.nregions; i++)
        if (!strcmp(s->o.regions[i].name, region))
            return true;
    return false;
}
