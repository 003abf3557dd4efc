/* swaps.h — active swap areas, from the kernel's list (/proc/swaps). */
#ifndef KSM_SWAPS_H
#define KSM_SWAPS_H
#include <stdio.h>

/* How many swap areas a /proc/swaps-format stream lists (the lines after the header). */
int ksm_swaps_count(FILE *f);
/* The same for the file at path; -1 when it cannot be read. */
int ksm_swaps_active(const char *path);

#endif
