/* upstream_int.h — what upstream.c (the entry points, and libcurl for https://) shares with
 * h1_client.c (the own HTTP/1.1 client for http://): the tag both kinds of call begin with, and
 * the counters for /metrics. */
#ifndef KSM_UPSTREAM_INT_H
#define KSM_UPSTREAM_INT_H
#include "ai/upstream.h"

struct ksm_up_call {   /* the first member of either client's call */
    bool own;          /* h1_client.c's, else libcurl's */
};

void ksm_up__count_started(void);
void ksm_up__count_reused(void);
void ksm_up__count_failed(void);

#endif
