/* mailbox.c — a mutex-protected list drained by a uv_async_t. uv_async_send coalesces wake-ups, so
 * a burst of posts costs one wake-up of the loop. */
#include "core/mailbox.h"
#include "core/util.h"

#include <pthread.h>
#include <stdlib.h>

struct mail {
    struct mail *next;
    ksm_mail_fn fn;
    void *arg;
};

struct ksm_mailbox {
    uv_async_t async;
    pthread_mutex_t mu;
    struct mail *head, *tail;
};

static void drain(uv_async_t *h)
{
    struct ksm_mailbox *mb = h->data;
    pthread_mutex_lock(&mb->mu);
    struct mail *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->mu);
    while (m) {
        struct mail *next = m->next;
        m->fn(m->arg);
        free(m);
        m = next;
    }
}

struct ksm_mailbox *ksm_mailbox_new(uv_loop_t *loop)
{
    struct ksm_mailbox *mb = ksm_xcalloc(1, sizeof *mb);
    pthread_mutex_init(&mb->mu, NULL);
    uv_async_init(loop, &mb->async, drain);
    mb->async.data = mb;
    return mb;
}

void ksm_mailbox_post(struct ksm_mailbox *mb, ksm_mail_fn fn, void *arg)
{
    struct mail *m = ksm_xmalloc(sizeof *m);
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    pthread_mutex_lock(&mb->mu);
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    pthread_mutex_unlock(&mb->mu);
    uv_async_send(&mb->async);
}

static void closed(uv_handle_t *h)
{
    struct ksm_mailbox *mb = h->data;
    pthread_mutex_destroy(&mb->mu);
    free(mb);
}

void ksm_mailbox_close(struct ksm_mailbox *mb)
{
    drain(&mb->async);
    uv_close((uv_handle_t *)&mb->async, closed);
}
