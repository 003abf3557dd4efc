/* main.c — `kasumi`, the command-line client of the kasumi admin API: parse the command line, find
 * the command's row in the table (commands.c), check its arguments, run it, exit with its code. */
#include <string.h>

#include <curl/curl.h>

#include "cli.h"

/* "kasumi help [NOUN]", "kasumi --help", "kasumi NOUN [VERB] --help". Returns -1 when the words
 * are not a help request, else the exit code. */
static int help(const struct kc_args *a)
{
    bool flag = kc_flag_set(a, "help");
    bool word = a->npos > 0 && !strcmp(a->pos[0], "help");
    if (!flag && !word)
        return -1;
    const char *noun = word ? (a->npos > 1 ? a->pos[1] : NULL) : (a->npos > 0 ? a->pos[0] : NULL);
    if (!noun) {
        kc_help_all(stdout);
        return KC_EXIT_OK;
    }
    if (!kc_noun_known(noun)) {
        kc_err("unknown command '%s'; see 'kasumi help'", noun);
        return KC_EXIT_USAGE;
    }
    int nwords;
    const struct kc_cmd *cmd = flag ? kc_cmd_find(a, &nwords) : NULL;
    if (cmd && cmd->verb)
        kc_help_cmd(stdout, cmd);
    else
        kc_help_noun(stdout, noun);
    return KC_EXIT_OK;
}

/* Words that name no command: say so, with the help that fits. */
static int unknown(const struct kc_args *a)
{
    if (a->npos == 0) {
        kc_help_all(stderr);
        return KC_EXIT_USAGE;
    }
    if (!kc_noun_known(a->pos[0])) {
        kc_err("unknown command '%s'; see 'kasumi help'", a->pos[0]);
        return KC_EXIT_USAGE;
    }
    if (a->npos > 1)
        kc_err("unknown command '%s %s'", a->pos[0], a->pos[1]);
    else
        kc_err("'%s' needs a subcommand", a->pos[0]);
    kc_help_noun(stderr, a->pos[0]);
    return KC_EXIT_USAGE;
}

static int run(int argc, char **argv)
{
    struct kc_args a;
    if (kc_args_parse(&a, argc, argv))
        return KC_EXIT_USAGE;
    int rc = help(&a);
    if (rc >= 0)
        return rc;
    int nwords;
    const struct kc_cmd *cmd = kc_cmd_find(&a, &nwords);
    if (!cmd)
        return unknown(&a);
    kc_args_shift(&a, nwords);
    if ((rc = kc_cmd_check(cmd, &a)))
        return rc;
    struct kc_ctx c;
    if ((rc = kc_ctx_init(&c, &a)) == 0) {
        c.cmd = cmd;
        rc = cmd->fn(&c, &a);
    }
    kc_ctx_free(&c);
    return rc;
}

int main(int argc, char **argv)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        kc_err("cannot initialise libcurl");
        return KC_EXIT_CONN;
    }
    int rc = run(argc, argv);
    if (fflush(stdout) && rc == 0) {   /* `kasumi ... > full-disk` must not exit 0 */
        kc_err("cannot write the output");
        rc = KC_EXIT_API;
    }
    curl_global_cleanup();
    return rc;
}
