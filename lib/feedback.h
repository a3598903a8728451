/*
 * feedback: what a returned message or a rejection means for our letters
 * and contacts.  A parsed bounce (lib/bounce) is matched to its letter by
 * the VERP token (lib/verp) of the address it was delivered to or of its
 * DSN ENVID; only a verified token may change state.  Every bounce is
 * recorded in the `bounce` table (sql/003_bounces.sql); unmatched, forged
 * and undetermined ones with the raw message, for review.  Effects of a
 * verified bounce on its letter's contact:
 *
 *   hard       letter 'bounced', contact suppressed, the letter's IPs moved
 *              on to their next fallback contact (lib/fallback.h)
 *   complaint  letter 'bounced', contact suppressed
 *   soft       letter 'bounced'; contact suppressed (IPs moved on) at the
 *              soft_limit'th soft bounce of that address within 30 days
 *   ours       letter 'bounced' (it did not arrive: our side was refused);
 *              the contact is not blamed, nothing suppressed
 *   transient, autoreply, delivered, undetermined: recorded only
 *
 * A message already recorded (the same bytes, or the same Message-ID:
 * delivered by pipe and to the maildir) is neither recorded nor applied
 * again, so it counts once toward bounces.soft_limit.
 *
 * One transaction per bounce; the database connection comes from lib/db.
 */
#ifndef IW_FEEDBACK_H
#define IW_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "bounce.h"
#include "db.h"
#include "util.h"

#define IW_FEEDBACK_SOFT_DAYS	30	/* window of bounces.soft_limit */
#define IW_FEEDBACK_RAW_MAX	(4u * 1024 * 1024)	/* raw kept, bytes */

enum iw_feedback_via {
	IW_FEEDBACK_PIPE,	/* `ipwarn bounce` on stdin */
	IW_FEEDBACK_MAILDIR,	/* ipwarnd's bounces.maildir scan */
	IW_FEEDBACK_SMTP	/* synchronous rejection at RCPT */
};

struct iw_feedback_conf {
	const char *verp_secret;	/* sender.verp_secret */
	int soft_limit;			/* bounces.soft_limit (>= 1) */
};

/* What one bounce did. */
struct iw_feedback_result {
	int verified;			/* a VERP token checked out */
	int64_t letter_id;		/* the letter it matched, 0 if none */
	enum iw_bounce_class cls;	/* class applied */
	int letter_bounced;		/* the letter went to 'bounced' */
	int suppressed;			/* the contact is now suppressed */
	int64_t bounce_id;		/* row in table bounce */
	int duplicate;			/* already recorded (bounce_id: that
					 * row, 0 if unknown): nothing done */
	char email[256];		/* the letter's contact, "" if none */
};

/*
 * Find a verifying VERP token: first in recipient (the envelope recipient
 * the MTA gave us; may be NULL), then in the addresses the message says it
 * was delivered to, then in its DSN ENVID.  Pure; needs no database.
 * Returns 1 and the letter id, or 0.  *where (if not NULL) points to the
 * string that verified.
 */
int iw_feedback_match(const struct iw_bounce *b, const char *recipient,
    const char *secret, int64_t *letter_id, const char **where);

/*
 * Record one parsed bounce and apply its effects (see above).  raw/rawlen:
 * the message as received, kept when unmatched or undetermined.  -1 with
 * err on a database error: nothing was recorded, the caller must keep the
 * message and retry (iw_db_broken() tells whether the server is gone).
 */
int iw_feedback_record(struct iw_db *db, const struct iw_feedback_conf *fc,
    const struct iw_bounce *b, const char *recipient,
    enum iw_feedback_via via, const char *raw, size_t rawlen,
    struct iw_feedback_result *res, struct iw_err *err);

/*
 * A synchronous 5xx reply to RCPT for letter_id (to email), as recorded by
 * the send path: classified like a bounce (iw_bounce_classify_status).  A
 * dead address (hard) is recorded and suppressed, and the letter set
 * 'bounced' with class, status and reply; a policy refusal (5.7.x, class
 * ours) or any other class is recorded on the letter without suppression.
 * Call it after the attempt itself was recorded; 4xx replies are ignored.
 * Returns 0, or -1 with err on a database error.
 */
int iw_feedback_smtp_reject(struct iw_db *db, int64_t letter_id,
    const char *email, int code, const char *enhanced, const char *reply,
    struct iw_err *err);

#endif
