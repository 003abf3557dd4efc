/* mailbox.h — how another thread hands work to an event loop: post (fn, arg) from any thread, and fn
 * runs on the loop's thread. The audit writer uses it to say "your record is durable". */
#ifndef KSM_MAILBOX_H
#define KSM_MAILBOX_H
#include <uv.h>

typedef void (*ksm_mail_fn)(void *arg);

struct ksm_mailbox;

struct ksm_mailbox *ksm_mailbox_new(uv_loop_t *loop);
/* Thread-safe. fn(arg) runs on the loop thread, in posting order. */
void ksm_mailbox_post(struct ksm_mailbox *mb, ksm_mail_fn fn, void *arg);
/* On the loop thread: runs what is pending, then closes the handle (frees itself after). */
void ksm_mailbox_close(struct ksm_mailbox *mb);

#endif
