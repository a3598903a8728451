/*
 * bounce_reason: what a recipient's status code, SMTP reply and diagnostic
 * text mean.  The order of evidence: the structure of the report (the
 * Action, the SMTP command the reply answered), then the RFC 3463 status
 * code (class and subject.detail) and the RFC 5321 reply code, and only
 * then the words of the diagnostic, matched against phrases each of which
 * names the mail system or RFC text it comes from.  Reasons are Sisimai's
 * names (userunknown, mailboxfull, ...); see README "Bounces".
 */
#ifndef IW_BOUNCE_REASON_H
#define IW_BOUNCE_REASON_H

#include <stddef.h>

#include "bounce.h"

/* s starts with an RFC 3463 code ("5.1.1", "4.7.26"); its length. */
int iw_bounce_reason_is_status(const char *s, size_t *len);

/*
 * The first RFC 3463 code in [p, end) of class 4 or 5 (a code right after
 * a reply code first), else of class 2, not part of an IP address or a
 * version number: copied to out; where it stands, or NULL.
 */
const char *iw_bounce_reason_find_status(const char *p, const char *end,
    char *out, size_t outsz);

/* The RFC 5321 reply code (200..559) standing at s within [p, end), or 0. */
int iw_bounce_reason_reply_at(const char *s, const char *p, const char *end);

/* A 4xx/5xx reply code in [p, end): the one right before status_at first. */
int iw_bounce_reason_find_reply(const char *p, const char *end,
    const char *status_at);

/*
 * The reason an MTA's fixed message or the usual wording of a cause in
 * lower-cased text gives, or NULL; *rule (if not NULL) gets 1 + the index
 * of the phrase.  off: phrases switched off (iw_bounce_reason_nphrases()
 * flags), or NULL.
 */
const char *iw_bounce_reason_phrase(const char *lower,
    const unsigned char *off, int *rule);

/* The number of phrases, and the text of phrase i (for measurements). */
size_t iw_bounce_reason_nphrases(void);
const char *iw_bounce_reason_phrase_text(size_t i);

/* hard, soft or ours for a reason name (undetermined if unknown). */
enum iw_bounce_class iw_bounce_reason_class(const char *reason);

/* Sisimai's pseudo detail ("911") for a reason known without a code. */
const char *iw_bounce_reason_pseudo(const char *reason);

/*
 * Settle status, reason and class of one recipient from what was found:
 * the Status and Action fields, the diagnostic, context (the text that
 * said it, or NULL) and near (the lines around the address in the
 * human-readable part, or NULL).  at_rcpt: known to answer RCPT TO.
 * off: phrases switched off, or NULL.  r->rule says which phrase decided.
 */
void iw_bounce_reason_settle(struct iw_bounce_rcpt *r, const char *context,
    const char *near, int at_rcpt, const unsigned char *off);

#endif
