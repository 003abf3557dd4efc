/* log.c — one line per event: time, level, message. stderr is line-buffered by the daemon. */
#include "core/log.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>

enum ksm_log_level ksm_log_min = KSM_LOG_INFO;

void ksm_log_write(enum ksm_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char ts[32], line[1024];
    ksm_rfc3339_ms(ksm_now_ms(), ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %s\n", ts, names[lvl & 3], line);
}
