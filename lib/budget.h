/*
 * budget: one WHOIS budget for every daemon sharing the database.  Each
 * process paces its own queries (ratelimit); this spreads a server's rate
 * over all of them and shares a server's back-off, in PostgreSQL
 * (whois_budget: per server the earliest start of the next query and
 * until when it is backed off), and caps a server's queries in flight
 * for all of them (advisory locks, one per query slot).
 */
#ifndef IW_BUDGET_H
#define IW_BUDGET_H

#include "util.h"

struct pg_conn;

/*
 * Reserve the next query start of server, interval_ms after the last one
 * any daemon reserved.  0: *wait_ms until it (>= 0); 1: the server is
 * backed off for every daemon, *wait_ms left; -1: database error (err).
 */
int iw_budget_reserve(struct pg_conn *pg, const char *server,
    long long interval_ms, long long *wait_ms, struct iw_err *err);

/* The server refused or throttled us: every daemon backs off open_ms. */
int iw_budget_refused(struct pg_conn *pg, const char *server,
    long long open_ms, struct iw_err *err);

/*
 * Take one of server's concurrency query slots shared by every daemon:
 * a session advisory lock (slot 0..concurrency-1) of this connection,
 * held for the exchange and released by iw_budget_slot_give() -- or by
 * PostgreSQL when the connection dies, so a crashed daemon leaves no slot
 * taken.  Returns the slot (>= 0), IW_BUDGET_SLOTS_BUSY when all are
 * held, -1 on a database error (err).
 */
#define IW_BUDGET_SLOTS_BUSY (-2)
int iw_budget_slot_take(struct pg_conn *pg, const char *server,
    int concurrency, struct iw_err *err);
int iw_budget_slot_give(struct pg_conn *pg, const char *server, int slot,
    struct iw_err *err);

#endif
