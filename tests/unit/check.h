/* check.h — the unit tests' few macros. Each test file is a program: CHECK records a pass or a
 * failure (with file:line), and CHECK_DONE() prints the closing line "N passed, N failed" that CI
 * reads and returns the exit status. */
#ifndef KSM_CHECK_H
#define KSM_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (cond) {                                                           \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char *a_ = (a), *b_ = (b);                                      \
        if (a_ && b_ && !strcmp(a_, b_)) {                                    \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,  \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                  \
        }                                                                     \
    } while (0)

#define CHECK_DONE()                                                          \
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
