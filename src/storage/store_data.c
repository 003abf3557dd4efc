/* store_data.c — the local-filesystem data backend: where a segment's ciphertext lives and the
 * plain read/write helpers the thread-pool jobs use. Object files are named by the object's uid
 * (never by its key, which may be personal data) and fanned out over two directory levels so no
 * directory grows past 65,536 entries per level. A RADOS port replaces this file: one RADOS object
 * per uid, the pack log as an append-only object per region. */
#include "storage/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

const char *store_region_path(const struct ksm_store *s, const char *region)
{
    for (int i = 0; i < s->o.nregions; i++)
        if (!strcmp(s->o.regions[i].name, region))
            return s->o.regions[i].path;
    return s->o.regions[0].path;
}

void store_data_dir(const struct ksm_store *s, const char *region, const uint8_t *uid, char *out,
                    size_t n)
{
    char hex[STORE_UID_HEX];
    ksm_hex(uid, KSM_KMS_UID_LEN, hex);
    snprintf(out, n, "%s/objects/%.2s/%.2s", store_region_path(s, region), hex, hex + 2);
}

void store_data_path(const struct ksm_store *s, const char *region, const uint8_t *uid, char *out,
                     size_t n)
{
    char hex[STORE_UID_HEX];
    ksm_hex(uid, KSM_KMS_UID_LEN, hex);
    snprintf(out, n, "%s/objects/%.2s/%.2s/%s", store_region_path(s, region), hex, hex + 2, hex);
}

void store_tmp_path(const struct ksm_store *s, const char *region, const uint8_t *uid, char *out,
                    size_t n)
{
    char hex[STORE_UID_HEX];
    ksm_hex(uid, KSM_KMS_UID_LEN, hex);
    snprintf(out, n, "%s/tmp/%s.part", store_region_path(s, region), hex);
}

void store_pack_path(const struct ksm_store *s, const char *region, int64_t id, char *out, size_t n)
{
    snprintf(out, n, "%s/packs/%08lld.pack", store_region_path(s, region), (long long)id);
}

void store_seg_file(const struct ksm_store *s, const struct store_seg *g, char *path, size_t n,
                    uint64_t *base)
{
    if (g->loc == STORE_LOC_PACK) {
        store_pack_path(s, g->region, g->pack_id, path, n);
        *base = g->pack_off;
        return;
    }
    store_data_path(s, g->region, g->uid, path, n);
    *base = 0;
}

int store_pread_all(int fd, void *p, size_t n, uint64_t off)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}
