/*
 * bounce: parse one returned message (RFC 5322 + MIME, any line ending,
 * any transfer encoding) and say what it means for the letter it returns:
 * a DSN (RFC 3464/3463), an ARF complaint (RFC 5965), an auto-reply
 * (RFC 3834), or one of the common non-standard bounces recognised by their
 * bodies (qmail, Exim, Sendmail, Exchange/Office 365, Gmail, Yahoo, SES, ...).
 * The result lists the failed recipients with status, diagnostic and class,
 * plus what the caller needs to match the bounce to a letter: the addresses
 * it was delivered to (VERP), the DSN ENVID and the original Message-ID.
 * Pure parsing: no I/O, no global state.
 */
#ifndef IW_BOUNCE_H
#define IW_BOUNCE_H

#include <stddef.h>

#include "util.h"

/* Field bounds; every string in the result is NUL-terminated within them. */
#define IW_BOUNCE_ADDR_MAX	256
#define IW_BOUNCE_ACTION_MAX	16
#define IW_BOUNCE_STATUS_MAX	16
#define IW_BOUNCE_REASON_MAX	24
#define IW_BOUNCE_DIAG_MAX	512
#define IW_BOUNCE_ID_MAX	256
#define IW_BOUNCE_MAX_RCPT	64	/* recipients kept per message */
#define IW_BOUNCE_MAX_ENVELOPE	8	/* candidate envelope addresses */
#define IW_BOUNCE_MAX_INPUT	(16u * 1024 * 1024)	/* rest ignored */

enum iw_bounce_class {
	IW_BOUNCE_HARD,		/* the address is dead: stop mailing it */
	IW_BOUNCE_SOFT,		/* mailbox full, disabled, gave up retrying */
	IW_BOUNCE_TRANSIENT,	/* delayed, still being retried */
	IW_BOUNCE_OURS,		/* blocked / policy / auth: our side, not theirs */
	IW_BOUNCE_COMPLAINT,	/* ARF feedback report */
	IW_BOUNCE_AUTOREPLY,	/* vacation / out-of-office, not a bounce */
	IW_BOUNCE_DELIVERED,	/* success DSN: delivered, relayed, expanded */
	IW_BOUNCE_UNDETERMINED	/* not understood: keep raw for review */
};

/* What kind of message it was, independent of the class. */
enum iw_bounce_kind {
	IW_BOUNCE_KIND_UNKNOWN,
	IW_BOUNCE_KIND_DSN,		/* RFC 3464 delivery-status fields */
	IW_BOUNCE_KIND_BODY,		/* non-standard bounce, read from text */
	IW_BOUNCE_KIND_ARF,		/* RFC 5965 feedback report */
	IW_BOUNCE_KIND_AUTOREPLY	/* RFC 3834 auto-reply / vacation */
};

struct iw_bounce_rcpt {
	char address[IW_BOUNCE_ADDR_MAX];	/* valid mailbox, or "" */
	char action[IW_BOUNCE_ACTION_MAX];	/* failed|delayed|delivered|... */
	/*
	 * RFC 3463 code.  When the message carries none, a code is inferred
	 * from the diagnostic; if only the reason is known, a Sisimai-style
	 * "5.0.9NN" code naming that reason (e.g. 5.0.911 user unknown,
	 * 5.0.922 mailbox full) so that callers can still tell them apart.
	 */
	char status[IW_BOUNCE_STATUS_MAX];
	char reason[IW_BOUNCE_REASON_MAX];	/* userunknown, mailboxfull, ... */
	char diagnostic[IW_BOUNCE_DIAG_MAX];	/* printable UTF-8, one line */
	char remote_mta[IW_BOUNCE_ADDR_MAX];
	int reply_code;				/* SMTP reply (550), 0 if none */
	int rule;		/* 1 + the phrase that gave the reason, 0: codes */
	enum iw_bounce_class cls;
};

struct iw_bounce {
	enum iw_bounce_class cls;	/* the message's overall class */
	char reason[IW_BOUNCE_REASON_MAX];	/* of the recipient deciding cls */
	enum iw_bounce_kind kind;
	int is_dsn;			/* carried delivery-status fields */
	int is_arf;
	int is_autoreply;
	size_t nrcpt;
	struct iw_bounce_rcpt *rcpt;	/* nrcpt entries */
	/*
	 * Addresses this message was delivered to, most specific first
	 * (X-Original-To, Delivered-To, Envelope-To, To): where a VERP token
	 * is to be found.  Deduplicated, validated.
	 */
	size_t nenvelope;
	char envelope[IW_BOUNCE_MAX_ENVELOPE][IW_BOUNCE_ADDR_MAX];
	char envid[IW_BOUNCE_ID_MAX];		/* Original-Envelope-Id, or "" */
	char orig_message_id[IW_BOUNCE_ID_MAX];	/* returned Message-ID, or "" */
	char message_id[IW_BOUNCE_ID_MAX];	/* the bounce's own, or "" */
	char reporting_mta[IW_BOUNCE_ADDR_MAX];
};

/*
 * Parse buf[0..len) (need not be NUL-terminated).  On success *out holds
 * a result the caller frees with iw_bounce_free() and 0 is returned; an
 * unrecognised message is a success with class UNDETERMINED.  -1 only on
 * allocation failure or bad arguments, with the reason in err.
 */
int iw_bounce_parse(const char *buf, size_t len, struct iw_bounce **out,
    struct iw_err *err);

/*
 * The same, for measuring the rules (make bench-bounces' cross-validation):
 * phrase_off, when not NULL, has one flag per phrase of the reason table
 * (iw_bounce_reason_nphrases()); a set flag switches that phrase off.
 */
struct iw_bounce_opts {
	const unsigned char *phrase_off;
};
int iw_bounce_parse_opts(const char *buf, size_t len,
    const struct iw_bounce_opts *opts, struct iw_bounce **out,
    struct iw_err *err);
void iw_bounce_free(struct iw_bounce *b);

/* "hard", "soft", "transient", "ours", "complaint", "autoreply",
 * "delivered", "undetermined". */
const char *iw_bounce_class_name(enum iw_bounce_class c);

/*
 * Class of a synchronous SMTP rejection (the relay's reply to RCPT):
 * code 550, enhanced "5.1.1" or "" and the reply text, classified by the
 * same rules as a bounce's recipient.  HARD only when the reply says the
 * address is dead; a 5.7.x policy refusal is OURS; 4xx never HARD.
 * iw_bounce_classify_reply also writes the reason (reasonsz bytes).
 */
enum iw_bounce_class iw_bounce_classify_status(int code, const char *enhanced,
    const char *text);
enum iw_bounce_class iw_bounce_classify_reply(int code, const char *enhanced,
    const char *text, char *reason, size_t reasonsz);

/*
 * A fresh recipient slot in b (the parser's own helper for its readers):
 * NULL when IW_BOUNCE_MAX_RCPT are kept, or, with *oom set, when memory ran
 * out.
 */
struct iw_bounce_rcpt *iw_bounce_rcpt_add(struct iw_bounce *b, int *oom);

#endif
