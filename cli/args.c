/* args.c — the command line as words and flags. It is parsed in one pass before the command is
 * known, so global flags (--endpoint, --output, ...) may sit before or after the noun and verb; the
 * command table then checks which flags the chosen command accepts (commands.c). */
#include <string.h>

#include "cli.h"

/* Flags that take no value. Every other flag takes exactly one. */
static const char *const boolean_flags[] = {"help", "all", "force", "every-signature"};

static bool is_boolean(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof boolean_flags / sizeof boolean_flags[0]; i++)
        if (strlen(boolean_flags[i]) == len && !strncmp(boolean_flags[i], name, len))
            return true;
    return false;
}

static int add_flag(struct kc_args *a, const char *name, const char *value)
{
    if (a->nflags == KC_MAX_FLAGS) {
        kc_err("too many flags");
        return -1;
    }
    a->flags[a->nflags].name = name;
    a->flags[a->nflags].value = value;
    a->nflags++;
    return 0;
}

static int add_pos(struct kc_args *a, const char *word)
{
    if (a->npos == KC_MAX_POS) {
        kc_err("too many arguments");
        return -1;
    }
    a->pos[a->npos++] = word;
    return 0;
}

/* One "--name", "--name=value" or "--name value" at argv[*i]; advances *i past a separate value. */
static int parse_long(struct kc_args *a, int argc, char **argv, int *i)
{
    char *arg = argv[*i] + 2;
    char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len == 0) {
        kc_err("malformed flag '%s'", argv[*i]);
        return -1;
    }
    if (is_boolean(arg, len)) {
        if (eq) {
            kc_err("--%.*s takes no value", (int)len, arg);
            return -1;
        }
        return add_flag(a, arg, "");
    }
    if (eq) {
        *eq = '\0';   /* argv is ours to split: the name ends where the value starts */
        return add_flag(a, arg, eq + 1);
    }
    if (*i + 1 >= argc) {
        kc_err("--%s needs a value", arg);
        return -1;
    }
    *i += 1;
    return add_flag(a, arg, argv[*i]);
}

int kc_args_parse(struct kc_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    bool flags_done = false;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        int rc;
        if (flags_done || w[0] != '-' || w[1] == '\0') /* "-" alone is a word (stdout) */
            rc = add_pos(a, w);
        else if (!strcmp(w, "--"))
            flags_done = true, rc = 0;
        else if (!strcmp(w, "-h"))
            rc = add_flag(a, "help", "");
        else if (!strcmp(w, "-o") && i + 1 < argc)   /* the one short alias: -o json */
            rc = add_flag(a, "output", argv[++i]);
        else if (w[1] == '-')
            rc = parse_long(a, argc, argv, &i);
        else {
            kc_err(strcmp(w, "-o") ? "unknown flag '%s'" : "%s needs a value", w);
            rc = -1;
        }
        if (rc)
            return -1;
    }
    return 0;
}

const char *kc_flag(const struct kc_args *a, const char *name)
{
    for (int i = a->nflags - 1; i >= 0; i--)
        if (!strcmp(a->flags[i].name, name))
            return a->flags[i].value;
    return NULL;
}

bool kc_flag_set(const struct kc_args *a, const char *name)
{
    return kc_flag(a, name) != NULL;
}

void kc_args_shift(struct kc_args *a, int n)
{
    if (n > a->npos)
        n = a->npos;
    memmove(a->pos, a->pos + n, (size_t)(a->npos - n) * sizeof a->pos[0]);
    a->npos -= n;
}
