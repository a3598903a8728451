/*
 * outcome: what became of a campaign's IPs after the letters — the control
 * group drawn at build time, and the observation rounds (later scans) that
 * say which IPs were still flagged.
 *
 * Control group: a contact is in it when the first four bytes of
 * SHA-256(campaign name "\n" lower-case contact address), read as a
 * big-endian unsigned number, are below holdout % of 2^32.  The draw is
 * random to anyone without the campaign's name, and reproducible: the same
 * campaign name and contacts give the same group on a rerun or in another
 * database.  All IPs of one contact share its fate (the letter is the unit
 * that is sent or not).
 */
#ifndef IW_OUTCOME_H
#define IW_OUTCOME_H

#include <stdint.h>

#include "db.h"
#include "util.h"

/* SQL condition: contact email of campaign name falls in the control
 * group of holdout (a percentage); arguments are SQL expressions. */
#define IW_OUTCOME_IN_CONTROL(name, email, holdout) \
	"('x' || left(encode(sha256(convert_to(" name " || chr(10) || " \
	"lower(" email "), 'UTF8')), 'hex'), 8))::bit(32)::bigint::numeric " \
	"* 100 < (" holdout ") * 4294967296"

/* An --at more than this far in the future is refused (clock skew). */
#define IW_OUTCOME_SKEW_S 300

struct iw_outcome_round {
	long listed;		/* distinct IPs given */
	long foreign;		/* given, but not IPs of the campaign */
	long flagged;		/* the campaign's IPs listed */
	long fixed;		/* the campaign's IPs not listed */
	long newly_fixed;	/* fixed for the first time in this round */
	long relapsed;		/* fixed in an earlier round, listed again */
	char at[40];		/* the round's time, ISO 8601 UTC */
};

enum iw_outcome_result {
	IW_OUTCOME_RECORDED,
	IW_OUTCOME_FUTURE,	/* at lies in the future: nothing recorded */
	IW_OUTCOME_NONE_OURS,	/* no IP given is the campaign's: nothing */
};

/*
 * Record one round for the campaign: ips is a PostgreSQL array literal of
 * canonical addresses ("{192.0.2.1,...}"), at an ISO 8601 time or NULL
 * (now), source the file's name.  Every IP the campaign has now is stored
 * as flagged (listed) or not.  -1 on a database error.
 */
int iw_outcome_observe(struct iw_db *db, int64_t campaign_id,
    const char *at, const char *ips, const char *source, const char *actor,
    enum iw_outcome_result *result, struct iw_outcome_round *r,
    struct iw_err *err);

#endif
