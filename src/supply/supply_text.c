/* supply_text.c — normalising the text of equipment lists and concern entries (supply_text.h). */
#include "supply/supply_text.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>

#include "core/util.h"

static const char ideo_space[] = "\xe3\x80\x80";   /* U+3000 */

static size_t lead_space(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        if (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
            i++;
        else if (n - i >= 3 && !memcmp(s + i, ideo_space, 3))
            i += 3;
        else
            return i;
    }
}

char *ksm_supply_trim(const char *s)
{
    size_t n = strlen(s), a = lead_space(s, n);
    while (n > a) {
        if (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')
            n--;
        else if (n - a >= 3 && !memcmp(s + n - 3, ideo_space, 3))
            n -= 3;
        else
            break;
    }
    char *out = ksm_xmalloc(n - a + 1);
    memcpy(out, s + a, n - a);
    out[n - a] = '\0';
    return out;
}

/* The UTF-8 dashes a person types between digit groups. */
static const char *const dashes[] = {
    "\xef\xbc\x8d", /* U+FF0D － */ "\xe2\x88\x92", /* U+2212 − */ "\xe2\x80\x90", /* ‐ */
    "\xe2\x80\x91", "\xe2\x80\x92", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95",
    "\xe3\x83\xbc", /* U+30FC ー */
};

char *ksm_supply_digits(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = ksm_xmalloc(n + 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (c == ' ' || c == '-' || c == '\t') {
            i++;
            continue;
        }
        /* U+FF10..U+FF19 are EF BC 90..99 */
        if (n - i >= 3 && c == 0xef && (unsigned char)s[i + 1] == 0xbc &&
            (unsigned char)s[i + 2] >= 0x90 && (unsigned char)s[i + 2] <= 0x99) {
            out[o++] = (char)('0' + (unsigned char)s[i + 2] - 0x90);
            i += 3;
            continue;
        }
        bool skipped = false;
        if (n - i >= 3 && !memcmp(s + i, ideo_space, 3))
            skipped = true;
        for (size_t k = 0; !skipped && k < KSM_NELEM(dashes); k++)
            skipped = n - i >= 3 && !memcmp(s + i, dashes[k], 3);
        if (!skipped) {
            free(out);
            return NULL;
        }
        i += 3;
    }
    out[o] = '\0';
    return out;
}

/* NFKC of s, NUL-terminated, malloc'd; NULL when s is not UTF-8. */
static char *nfkc(const char *s)
{
    size_t n = strlen(s), len = 0;
    if (!ksm_utf8_valid(s, n))
        return NULL;
    uint8_t *u = u8_normalize(UNINORM_NFKC, (const uint8_t *)s, n, NULL, &len);
    if (!u)
        return NULL;
    char *out = ksm_xmalloc(len + 1);
    memcpy(out, u, len);
    out[len] = '\0';
    free(u);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

static void cut_all(char *s, const char *what)
{
    size_t wl = strlen(what);
    for (char *p; (p = strstr(s, what));)
        memmove(p, p + wl, strlen(p + wl) + 1);
}

/* Separators between words: ASCII that is not alphanumeric, and the Japanese middle dot and
 * punctuation that NFKC leaves in place. */
static size_t sep_len(const char *p)
{
    static const char *const seps[] = {"\xe3\x83\xbb", "\xe3\x80\x81", "\xe3\x80\x82",
                                       "\xe3\x80\x8c", "\xe3\x80\x8d", "\xe3\x80\x80"};
    unsigned char c = (unsigned char)*p;
    if (c < 0x80)
        return isalnum(c) ? 0 : 1;
    for (size_t k = 0; k < KSM_NELEM(seps); k++)
        if (!strncmp(p, seps[k], 3))
            return 3;
    return 0;
}

static bool is_suffix_word(const char *w, size_t n)
{
    static const char *const words[] = {"co", "ltd", "inc", "corp", "corporation", "limited",
                                        "llc", "gmbh", "company", "incorporated", "kk", "plc"};
    for (size_t k = 0; k < KSM_NELEM(words); k++)
        if (strlen(words[k]) == n && !memcmp(w, words[k], n))
            return true;
    return false;
}

char *ksm_supply_norm_name(const char *s)
{
    char *t = nfkc(s);
    if (!t)
        return NULL;
    static const char *const designators[] = {"株式会社", "(株)", "有限会社", "(有)", "合同会社",
                                              "(同)", "合資会社", "(資)", "合名会社", "(名)"};
    for (size_t k = 0; k < KSM_NELEM(designators); k++)
        cut_all(t, designators[k]);
    /* Split into words; drop trailing English designators ("Co., Ltd.", "Inc."); join. */
    size_t n = strlen(t), nw = 0;
    size_t *ws = ksm_xmalloc((n + 1) * sizeof *ws), *we = ksm_xmalloc((n + 1) * sizeof *we);
    for (size_t i = 0; i < n;) {
        size_t sl = sep_len(t + i);
        if (sl) {
            i += sl;
            continue;
        }
        ws[nw] = i;
        while (i < n && !sep_len(t + i))
            i++;
        we[nw++] = i;
    }
    while (nw > 1 && is_suffix_word(t + ws[nw - 1], we[nw - 1] - ws[nw - 1]))
        nw--;
    char *out = ksm_xmalloc(n + 1);
    size_t o = 0;
    for (size_t k = 0; k < nw; k++) {
        memcpy(out + o, t + ws[k], we[k] - ws[k]);
        o += we[k] - ws[k];
    }
    out[o] = '\0';
    free(ws);
    free(we);
    free(t);
    return out;
}

char *ksm_supply_norm_model(const char *s)
{
    char *t = nfkc(s);
    if (!t)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; t[i]; i++)
        if (t[i] != ' ' && t[i] != '-' && t[i] != '_' && t[i] != '\t')
            t[o++] = t[i];
    t[o] = '\0';
    return t;
}

bool ksm_supply_model_match(const char *pattern, const char *model)
{
    return fnmatch(pattern, model, FNM_NOESCAPE) == 0;
}
