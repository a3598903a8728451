/*
 * audit: what ipwarn did, as rows an operator can read or hand on — the
 * IPs of a campaign with where their contact came from, its letters with
 * their state and the proof of what was sent (the SHA-256 of the stored
 * bytes), the bounces, the export of one row per (letter, IP), and one
 * letter in full.  Everything shown was stored when it happened (contact
 * source, WHOIS server and network, locale, relay reply); nothing is
 * derived again from today's configuration.  Read-only.
 */
#ifndef IW_AUDIT_H
#define IW_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

/* Filters; 0 / NULL: any.  state is checked by the caller against
 * iw_audit_*_states. */
struct iw_audit_filter {
	int64_t campaign_id;
	const char *state;
};

extern const char *const iw_audit_target_states[];	/* NULL-ended */
extern const char *const iw_audit_letter_states[];

/* 1 if s is one of the NULL-ended list. */
int iw_audit_state_ok(const char *const *states, const char *s);

long iw_audit_targets(struct iw_db *db, const struct iw_audit_filter *f,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);
long iw_audit_letters(struct iw_db *db, const struct iw_audit_filter *f,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);
long iw_audit_bounces(struct iw_db *db, const struct iw_audit_filter *f,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);
/* The audit record: one row per (letter, IP) of the campaign, with the
 * columns of the contract's export header, in that order. */
long iw_audit_export(struct iw_db *db, int64_t campaign_id,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);

/* One letter: its row (a single-row listing), its attempts, its IPs and
 * its bounces; and the stored message (NULL if it was never handed to the
 * relay; free() it). */
long iw_audit_letter(struct iw_db *db, int64_t id, iw_db_named_row_fn fn,
    void *arg, struct iw_err *err);
long iw_audit_letter_attempts(struct iw_db *db, int64_t id,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);
long iw_audit_letter_ips(struct iw_db *db, int64_t id,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);
long iw_audit_letter_bounces(struct iw_db *db, int64_t id,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);
int iw_audit_letter_message(struct iw_db *db, int64_t id, char **msg,
    size_t *len, char *reverse_path, size_t rpsz, struct iw_err *err);

#endif
