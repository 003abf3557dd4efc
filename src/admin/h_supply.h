/* h_supply.h — shared by the supply-chain register's admin handlers (h_supply_*.c). */
#ifndef KSM_H_SUPPLY_H
#define KSM_H_SUPPLY_H
#include "admin/handlers.h"
#include "core/util.h"
#include "supply/supply.h"

#define KSM_H_DB(r) (&(r)->worker->db)

/* {case} = params[0]: its tenant, audited, and the row's permission authorised there. */
enum ksm_err ksm_h_supply_case_access(struct ksm_req *r);
/* The body as one JSON object (an empty body is {}); INVALID_JSON otherwise. */
enum ksm_err ksm_h_supply_body(struct ksm_req *r, json_t **out);
/* e OK: reply o with status; else fail with why (steals o either way). */
enum ksm_err ksm_h_supply_reply(struct ksm_req *r, int status, enum ksm_err e, json_t *o,
                                const char *why);
const char *ksm_h_supply_actor(struct ksm_req *r);

/* The two shapes most case routes take: check access to {case}, then read it with get(), or
 * change it with change() from the body, and reply 200 with what it gives. */
typedef enum ksm_err (*ksm_h_supply_read_fn)(struct ksm_db *db, const char *id, json_t **out);
typedef enum ksm_err (*ksm_h_supply_write_fn)(struct ksm_db *db, const char *id, const char *actor,
                                              json_t *body, json_t **out, char *why);
enum ksm_err ksm_h_supply_case_read(struct ksm_req *r, ksm_h_supply_read_fn get);
enum ksm_err ksm_h_supply_case_write(struct ksm_req *r, ksm_h_supply_write_fn change);

#endif
