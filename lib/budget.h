/*
 * budget: one WHOIS budget for every daemon sharing the database.  Each
 * process paces its own queries (ratelimit); this spreads a server's rate
 * over all of them and shares a server's back-off, in PostgreSQL
 * (whois_budget: per server the earliest start of the next query and
 * until when it is backed off).
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

#endif
