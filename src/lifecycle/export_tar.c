/* export_tar.c — writing the headers of a POSIX (pax) tar archive; see export_tar.h. */
#include "lifecycle/export_tar.h"

#include <stdio.h>
#include <string.h>

#define USTAR_SIZE_MAX 077777777777ull /* 11 octal digits: 8 GiB - 1 */

/* A pax record "LEN key=value\n", where LEN counts the whole record including its own digits. */
static void pax_record(struct ksm_buf *out, const char *key, const char *value)
{
    size_t body = 1 + strlen(key) + 1 + strlen(value) + 1; /* " key=value\n" */
    size_t len = body + 1;
    for (;;) {
        char digits[24];
        size_t d = (size_t)snprintf(digits, sizeof digits, "%zu", len);
        if (d + body == len)
            break;
        len = d + body;
    }
    ksm_buf_printf(out, "%zu %s=%s\n", len, key, value);
}

static bool ustar_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 99)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

static void octal(char *field, size_t width, uint64_t v)
{
    /* width - 1 digits and a NUL, as POSIX asks */
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%0*llo", (int)(width - 1), (unsigned long long)v);
    memcpy(field, tmp, width - 1);
    field[width - 1] = '\0';
}

/* One ustar header block. */
static void ustar_block(struct ksm_buf *out, const char *name, uint64_t size, int64_t mtime_s,
                        char type)
{
    unsigned char h[KSM_TAR_BLOCK];
    memset(h, 0, sizeof h);
    snprintf((char *)h, 100, "%s", name);
    octal((char *)h + 100, 8, 0644);
    octal((char *)h + 108, 8, 0);
    octal((char *)h + 116, 8, 0);
    octal((char *)h + 124, 12, size > USTAR_SIZE_MAX ? 0 : size);
    octal((char *)h + 136, 12, mtime_s > 0 && mtime_s < 077777777777 ? (uint64_t)mtime_s : 0);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6); /* with its NUL */
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum); /* six digits, NUL, space */
    h[155] = ' ';
    ksm_buf_append(out, h, sizeof h);
}

/* A stand-in for the ustar name field when the real name is in the pax header: printable ASCII,
 * so that a reader without pax support still extracts something harmless. */
static void stand_in(const char *name, char out[100])
{
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && j < 99; p++)
        out[j++] = *p >= 0x20 && *p <= 0x7e ? (char)*p : '_';
    out[j] = '\0';
}

void ksm_tar_file_header(struct ksm_buf *out, const char *name, uint64_t size, int64_t mtime_s)
{
    bool long_name = !ustar_name_ok(name), big = size > USTAR_SIZE_MAX;
    char fallback[100];
    if (long_name || big) {
        struct ksm_buf pax = KSM_BUF_INIT;
        if (long_name)
            pax_record(&pax, "path", name);
        if (big) {
            char v[24];
            snprintf(v, sizeof v, "%llu", (unsigned long long)size);
            pax_record(&pax, "size", v);
        }
        ustar_block(out, "PaxHeader", pax.len, mtime_s, 'x');
        ksm_buf_append(out, pax.data, pax.len);
        static const char zeros[KSM_TAR_BLOCK];
        ksm_buf_append(out, zeros, ksm_tar_pad(pax.len));
        ksm_buf_free(&pax);
    }
    stand_in(name, fallback);
    ustar_block(out, long_name ? fallback : name, size, mtime_s, '0');
}

size_t ksm_tar_pad(uint64_t size)
{
    return (size_t)((KSM_TAR_BLOCK - size % KSM_TAR_BLOCK) % KSM_TAR_BLOCK);
}

void ksm_tar_end(struct ksm_buf *out)
{
    static const char zeros[2 * KSM_TAR_BLOCK];
    ksm_buf_append(out, zeros, sizeof zeros);
}
