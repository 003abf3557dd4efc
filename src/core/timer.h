/* timer.h — a one-shot libuv timer for a deadline that moves on every request (a connection's
 * time-outs, an upstream call's): moving a libuv timer is a removal and an insertion in the loop's
 * heap, so it is moved only when the deadline comes sooner than the time it is set for. Its
 * callback must look at the real deadline and call ksm_timer_by again when it fired early. */
#ifndef KSM_TIMER_H
#define KSM_TIMER_H
#include <stdint.h>
#include <uv.h>

/* t fires at loop time due (ms, uv_now's clock) or before. */
static inline void ksm_timer_by(uv_timer_t *t, uv_timer_cb cb, uint64_t due)
{
    uint64_t now = uv_now(t->loop);
    if (uv_is_active((const uv_handle_t *)t) && now + uv_timer_get_due_in(t) <= due)
        return;
    uv_timer_start(t, cb, due > now ? due - now : 0, 0);
}

#endif
