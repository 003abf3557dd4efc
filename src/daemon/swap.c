/* swap.c — is swap active? The overseas AI environment holds prompts and completions only in
 * memory (SPEC.md O3); with swap on, the kernel may write those pages to disk, so it refuses to start
 * unless the operator says otherwise (--allow-swap, logged and audited). /proc/swaps has a header
 * line and one line per active swap area. */
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"

int ksm_swap_active(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        bool whole = strchr(line, '\n') != NULL;
        if (header) {
            header = !whole;   /* the first line, however long, is the column names */
            continue;
        }
        if (line[strspn(line, " \t\n")])
            n++;
        while (!whole && fgets(line, sizeof line, f))   /* the rest of an overlong line */
            whole = strchr(line, '\n') != NULL;
    }
    fclose(f);
    return n;
}
