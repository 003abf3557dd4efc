/* console.h — the web console's built files (Vite's bundle of console/), compiled into kasumid by
 * scripts/embed_console.py and served on the admin listener at /console/ (h_console.c). */
#ifndef KSM_CONSOLE_H
#define KSM_CONSOLE_H
#include <stddef.h>

struct ksm_console_file {
    const char *path;              /* "/console/index.html" */
    const char *type;              /* its media type */
    const unsigned char *data;
    size_t len;
};

extern const struct ksm_console_file ksm_console_files[];
extern const int ksm_console_nfiles;

/* The file whose URL path is path, or NULL. */
const struct ksm_console_file *ksm_console_find(const char *path);

#endif
