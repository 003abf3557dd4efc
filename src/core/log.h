/* log.h — the operator's log (stderr): lifecycle and errors. Never a secret, a body, a prompt or a
 * completion. The audit log (src/audit) is a different stream with its own guarantees. */
#ifndef KSM_LOG_H
#define KSM_LOG_H

enum ksm_log_level { KSM_LOG_DEBUG, KSM_LOG_INFO, KSM_LOG_WARN, KSM_LOG_ERROR };

extern enum ksm_log_level ksm_log_min;

void ksm_log_write(enum ksm_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ksm_log(lvl, ...)                     \
    do {                                      \
        if ((lvl) >= ksm_log_min)             \
            ksm_log_write((lvl), __VA_ARGS__); \
    } while (0)
#define ksm_debug(...) ksm_log(KSM_LOG_DEBUG, __VA_ARGS__)
#define ksm_info(...) ksm_log(KSM_LOG_INFO, __VA_ARGS__)
#define ksm_warn(...) ksm_log(KSM_LOG_WARN, __VA_ARGS__)
#define ksm_error(...) ksm_log(KSM_LOG_ERROR, __VA_ARGS__)

#endif
