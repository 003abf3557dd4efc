/* dlist.h — a doubly linked list threaded through its elements' own link fields: no allocation,
 * insertion at the head and removal of any element in O(1). The lists of open connections (http,
 * the upstream clients) and of the store's readers use it.
 *
 * head is the lvalue holding the first element (NULL when empty); prev and next name the element's
 * link fields, so one element can be on two lists (h1_client.c: every connection, and the idle
 * ones). Macros, not functions, because each list has its own element type; every argument is
 * evaluated more than once, so pass plain lvalues. */
#ifndef KSM_DLIST_H
#define KSM_DLIST_H

#define KSM_DLIST_PUSH(head, e, prev, next)                                                        \
    do {                                                                                           \
        (e)->prev = NULL;                                                                          \
        (e)->next = (head);                                                                        \
        if (head)                                                                                  \
            (head)->prev = (e);                                                                    \
        (head) = (e);                                                                              \
    } while (0)

/* e must be on the list; its links are cleared, so removing it twice is a bug the caller's own
 * state prevents (closed, closing, idle flags), not one this detects. */
#define KSM_DLIST_REMOVE(head, e, prev, next)                                                      \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (head) = (e)->next;                                                                    \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e)->prev;                                                           \
        (e)->prev = (e)->next = NULL;                                                              \
    } while (0)

#endif
