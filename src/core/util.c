/* util.c — see util.h. */
#define _GNU_SOURCE   /* pthread_setname_np */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/evp.h"
#include "core/scan.h"

static void oom(void)
{
    fputs("kasumi: out of memory\n", stderr);
    abort();
}

void *ksm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *ksm_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *ksm_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *ksm_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(ksm_xmalloc(n), s, n);
}

void ksm_thread_name(const char *name)
{
    char n[16];
    snprintf(n, sizeof n, "%s", name);
    pthread_setname_np(pthread_self(), n);
}

int64_t ksm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec ksm_deadline_ns(clockid_t clock, uint64_t ns)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += (time_t)(ns / 1000000000u);
    t.tv_nsec += (long)(ns % 1000000000u);
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

uint64_t ksm_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ksm_rfc3339_ms(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    unsigned frac = (unsigned)(ms % 1000 + 1000) % 1000;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    size_t n = strlen(out);
    snprintf(out + n, 32 - n, ".%03uZ", frac % 1000u);
}

static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        *v = *v * 10 + (**p - '0');
    }
    return 0;
}

int ksm_parse_rfc3339(const char *s, int64_t *ms)
{
    int Y, M, D, h, m, sec, frac = 0;
    const char *p = s;
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' || digits(&p, 2, &D))
        return -1;
    if (*p == '\0') {
        h = m = sec = 0;
    } else {
        if ((*p != 'T' && *p != 't' && *p != ' ') || (p++, digits(&p, 2, &h)) || *p++ != ':' ||
            digits(&p, 2, &m) || *p++ != ':' || digits(&p, 2, &sec))
            return -1;
        if (*p == '.') {
            p++;
            int n = 0;
            while (*p >= '0' && *p <= '9') {
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
                n++, p++;
            }
            if (n == 0)
                return -1;
            for (; n < 3; n++)
                frac *= 10;
        }
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            return -1;
        off = sign * (oh * 60 + om);
    } else if (*p != '\0') {
        return -1;
    }
    if (*p != '\0' || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    /* days from civil (Howard Hinnant's algorithm), avoids timegm's TZ dependence */
    int y = Y - (M <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *ms = ((days * 86400 + h * 3600 + m * 60 + sec) - (int64_t)off * 60) * 1000 + frac;
    return 0;
}

void ksm_random_bytes(void *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1) {
        fputs("kasumi: CSPRNG failure\n", stderr);
        abort();
    }
}

void ksm_hex(const void *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int ksm_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ksm_unhex(const char *in, size_t hexlen, void *out)
{
    unsigned char *o = out;
    if (hexlen % 2)
        return -1;
    for (size_t i = 0; i < hexlen; i += 2) {
        int a = ksm_hexval(in[i]), b = ksm_hexval(in[i + 1]);
        if (a < 0 || b < 0)
            return -1;
        o[i / 2] = (unsigned char)(a << 4 | b);
    }
    return 0;
}

long ksm_pct_decode(const char *in, size_t n, char *out, unsigned flags)
{
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 2 < n ? ksm_hexval(in[i + 1]) : -1, lo = hi < 0 ? -1 : ksm_hexval(in[i + 2]);
            if (lo >= 0) {
                c = (char)(hi << 4 | lo);
                i += 2;
            } else if (flags & KSM_PCT_STRICT) {
                return -1;
            }
        } else if (c == '+' && (flags & KSM_PCT_PLUS)) {
            c = ' ';
        }
        if (c == '\0' && (flags & KSM_PCT_NO_NUL))
            return -1;
        *o++ = c;
    }
    *o = '\0';
    return o - out;
}

void ksm_id_new(const char *prefix, char out[40])
{
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char r[20];
    ksm_random_bytes(r, sizeof r);
    size_t n = (size_t)snprintf(out, 40, "%.12s_", prefix);
    for (int i = 0; i < 20; i++)
        out[n++] = b32[r[i] & 31];
    out[n] = '\0';
}

void ksm_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char d[32];
    ksm_sha256(data, n, d);
    ksm_hex(d, 32, out);
}

bool ksm_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* A word at a time: byte-wise FNV-1a over a 150-byte authorisation key was a chain of 150
 * dependent multiplies, twice per AI request. The tail is read as one zero-padded word and the
 * length is mixed in, so "a" and "a\0" differ; MurmurHash3's finaliser spreads the bits. */
uint64_t ksm_hash64(uint64_t seed, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull), w;
    for (; n >= 8; b += 8, n -= 8) {
        memcpy(&w, b, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    w = 0;
    memcpy(&w, b, n);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

size_t ksm_utf8_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        s[n = max] = '\0';
    while (n && !ksm_utf8_valid(s, n))
        s[--n] = '\0';
    return n;
}

size_t ksm_utf8_seq(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = n ? p[0] : 0;
    size_t extra;
    unsigned min;
    if ((c & 0xe0) == 0xc0)
        extra = 1, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0)
        extra = 2, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0)
        extra = 3, min = 0x10000, c &= 0x07;
    else
        return 0;   /* ASCII, a continuation byte, 0xf8.. or nothing: not a lead */
    if (n - 1 < extra)
        return 0;
    for (size_t i = 1; i <= extra; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return extra + 1;
}

bool ksm_utf8_valid(const char *s, size_t n)
{
    size_t i = 0, w;
    while (i < n) {
        i += ksm_scan_ascii(s + i, n - i);
        i += ksm_scan_utf8_run3(s + i, n - i);   /* kana and kanji, sixteen bytes at a time */
        if (i < n && (unsigned char)s[i] >= 0x80) {
            if (!(w = ksm_utf8_seq(s + i, n - i)))
                return false;
            i += w;
        }
    }
    return true;
}

char *ksm_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = ksm_xmalloc(cap);
    for (;;) {
        if (cap - n < 2)
            buf = ksm_xrealloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int ksm_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int ksm_write_all(int fd, const void *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, (const char *)p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

int ksm_write_file_durable(const char *path, const void *data, size_t n, int mode)
{
    size_t pl = strlen(path);
    char *tmp = ksm_xmalloc(pl + 8), *dcopy = ksm_xstrdup(path);
    snprintf(tmp, pl + 8, "%s.tmp", path);
    int rc = -1, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        goto fail;
    if (ksm_write_all(fd, data, n))
        goto fail_fd;
    if (fchmod(fd, (mode_t)mode) || fsync(fd))
        goto fail_fd;
    close(fd);
    fd = -1;
    if (rename(tmp, path))
        goto fail;
    rc = ksm_fsync_dir(dirname(dcopy));
    goto fail;
fail_fd:
    close(fd);
    unlink(tmp);
fail:
    free(tmp);
    free(dcopy);
    return rc;
}

int ksm_mkdir_p(const char *path, int mode)
{
    char *p = ksm_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, (mode_t)mode) && errno != EEXIST)
            goto fail;
        *s = '/';
    }
    if (mkdir(p, (mode_t)mode) && errno != EEXIST)
        goto fail;
    free(p);
    return 0;
fail:
    free(p);
    return -1;
}
