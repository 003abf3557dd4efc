/* swaps.c — is swap active? The overseas AI environment holds prompts and completions only in
 * memory (SPEC.md O3); with swap on, the kernel may write those pages to disk, so it refuses to start
 * unless the operator says otherwise (--allow-swap, logged and audited). /proc/swaps has a header
 * line and one line per active swap area. */
#include "core/swaps.h"

#include <stdbool.h>
#include <string.h>

int ksm_swaps_count(FILE *f)
{
    char line[512];
    int n = 0;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        bool whole = strchr(line, '\n') != NULL;
        bool blank = !line[strspn(line, " \t\n")];
        while (!whole && fgets(line, sizeof line, f)) {   /* the rest of an overlong line */
            whole = strchr(line, '\n') != NULL;
            blank = blank && !line[strspn(line, " \t\n")];
        }
        if (header)
            header = false;   /* the first line is the column names */
        else if (!blank)
            n++;
    }
    return n;
}

int ksm_swaps_active(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int n = ksm_swaps_count(f);
    fclose(f);
    return n;
}
