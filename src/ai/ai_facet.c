/* ai_facet.c — an AI record's facet for the audit index's counts (see ai_facet.h). */
#include "ai/ai_facet.h"

#include <string.h>

/* "class=N" at d (N one digit, 1–3): N, or 0. */
static char class_at(const char *d)
{
    if (!d || strncmp(d, "class=", 6) || d[6] < '1' || d[6] > '3' || (d[7] && d[7] != ' '))
        return 0;
    return d[6];
}

static void field(struct ksm_buf *out, const char *v, size_t n)
{
    ksm_buf_putc(out, KSM_AI_FACET_SEP);
    size_t at = out->len;
    ksm_buf_append(out, v, n);
    /* a separator inside a value would shift the fields after it */
    for (char *p = out->data + at; (p = memchr(p, KSM_AI_FACET_SEP, out->len - (size_t)(p - out->data)));)
        *p = '?';
}

static void field_str(struct ksm_buf *out, const char *v)
{
    v = v && *v ? v : "-";
    field(out, v, strlen(v));
}

/* "class=N[ marked=M] decision=D …" */
static bool decision(const struct ksm_audit_rec *rec, struct ksm_buf *out)
{
    char cls = class_at(rec->detail);
    const char *d = cls ? strstr(rec->detail, " decision=") : NULL;
    if (!d)
        return false;
    d += strlen(" decision=");
    ksm_buf_putc(out, 'd');
    field(out, &cls, 1);
    field(out, d, strcspn(d, " "));
    field_str(out, rec->project);
    field_str(out, rec->principal);
    field(out, strstr(d, " unscanned=") ? "u" : "-", 1);   /* content sent unread */
    field_str(out, rec->target);
    return true;
}

/* The last " class=N sent_to=" in d (what gateway.c appends ends the detail): found by its
 * " sent_to=", which libc's strstr finds many bytes at a time. */
static const char *last_class(const char *d)
{
    const char *found = NULL;
    for (const char *p = d ? strstr(d, " sent_to=") : NULL; p; p = strstr(p + 1, " sent_to="))
        if (p - d >= 8 && !memcmp(p - 8, " class=", 7))
            found = p - 8;
    return found;
}

/* "… class=N sent_to=JP[,US]" at the end of the request's own record */
static bool sent(const struct ksm_audit_rec *rec, struct ksm_buf *out)
{
    const char *s = last_class(rec->detail);
    char cls = s ? class_at(s + 1) : 0;
    if (!cls || strncmp(s + 8, " sent_to=", 9))
        return false;
    const char *to = s + 17;
    size_t n = 0;
    while ((to[n] >= 'A' && to[n] <= 'Z') || to[n] == ',')   /* "JP,US" */
        n++;
    if (!n)
        return false;
    ksm_buf_putc(out, 's');
    field(out, &cls, 1);
    field(out, to, n);
    field_str(out, rec->project);
    return true;
}

bool ksm_ai_audit_facet(const struct ksm_audit_rec *rec, struct ksm_buf *out)
{
    if (!rec->action || strncmp(rec->action, "ai.", 3))
        return false;
    return !strcmp(rec->action, "ai.decision") ? decision(rec, out) : sent(rec, out);
}

int ksm_ai_facet_split(char *s, const char *fields[], int max)
{
    int n = 0;
    while (n < max) {
        fields[n++] = s;
        char *sep = n < max ? strchr(s, KSM_AI_FACET_SEP) : NULL;
        if (!sep)
            break;
        *sep = '\0';
        s = sep + 1;
    }
    return n;
}
