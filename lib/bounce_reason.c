/*
 * bounce_reason: status codes, reply codes and reasons (see
 * bounce_reason.h).  Tables, not code, hold what is known about mail
 * systems: the RFC 3463 code table, and the phrase lists used as the last
 * resort.
 */
#include "bounce_reason.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce_mime.h"

/* ------------------------------------------------------------- codes */

int
iw_bounce_reason_is_status(const char *s, size_t *len)
{
	size_t i = 0, d;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	if (s[1] != '.')
		return 0;
	/* RFC 3463 subjects are 0..7: "2.753.1" is a version number */
	if (s[2] < '0' || s[2] > '7' || s[3] != '.')
		return 0;
	i = 3;
	i++;
	for (d = 0; isdigit((unsigned char)s[i]) && d < 4; d++)
		i++;
	if (d == 0 || d > 3)
		return 0;
	if (s[i] == '.' && isdigit((unsigned char)s[i + 1]))
		return 0;
	*len = i;
	return 1;
}

/*
 * The first RFC 3463 code in [p, end) of class 4 or 5 (else of class 2),
 * not part of an IP address or version number.
 */

/* 1 if a reply code ("550 ", "550-", "550-'") stands right before s. */
static int
after_reply(const char *s, const char *p)
{
	for (int skip = 1; skip <= 2; skip++) {
		const char *r = s - 3 - skip;

		if (r < p)
			return 0;
		if (iw_bounce_reason_reply_at(r, p, s) >= 400 && (r[3] == ' ' || r[3] == '-'))
			return 1;
	}
	return 0;
}

const char *
iw_bounce_reason_find_status(const char *p, const char *end, char *out, size_t outsz)
{
	const char *found2 = NULL, *first = NULL;
	size_t len2 = 0, len1 = 0;

	for (const char *s = p; s + 5 <= end; s++) {
		size_t len;

		if (*s != '2' && *s != '4' && *s != '5')
			continue;
		if (s > p && (isalnum((unsigned char)s[-1]) || s[-1] == '.' ||
		    s[-1] == '-' || s[-1] == '/'))
			continue;
		if (!iw_bounce_reason_is_status(s, &len) || s + len > end)
			continue;
		if (*s == '2') {
			if (found2 == NULL) {
				found2 = s;
				len2 = len;
			}
			continue;
		}
		if (after_reply(s, p)) {
			iw_strlcpy_n(out, outsz, s, len);
			return s;
		}
		if (first == NULL) {
			first = s;
			len1 = len;
		}
	}
	if (first != NULL) {
		iw_strlcpy_n(out, outsz, first, len1);
		return first;
	}
	if (found2 != NULL) {
		iw_strlcpy_n(out, outsz, found2, len2);
		return found2;
	}
	out[0] = '\0';
	return NULL;
}

int
iw_bounce_reason_reply_at(const char *s, const char *p, const char *end)
{
	if (s + 3 > end || (*s != '4' && *s != '5' && *s != '2'))
		return 0;
	if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
		return 0;
	if (s[1] > '5')
		return 0;
	if (s > p && (isalnum((unsigned char)s[-1]) || s[-1] == '.' ||
	    s[-1] == '-' || s[-1] == '/' || s[-1] == '#' || s[-1] == '+' ||
	    s[-1] == ':'))
		return 0;
	if (s + 3 < end && s[3] != ' ' && s[3] != '-' && s[3] != '\n' &&
	    s[3] != ')' && s[3] != ']' && s[3] != ':' && s[3] != ',')
		return 0;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* An SMTP reply code: preferably the one right before the status code. */
int
iw_bounce_reason_find_reply(const char *p, const char *end, const char *status_at)
{
	int first2 = 0;

	if (status_at != NULL && status_at - p >= 4) {
		int r = iw_bounce_reason_reply_at(status_at - 4, p, end);

		if (r >= 400)
			return r;
	}
	for (const char *s = p; s + 3 <= end; s++) {
		int r = iw_bounce_reason_reply_at(s, p, end);

		if (r >= 400)
			return r;
		if (r >= 200 && first2 == 0)
			first2 = r;
	}
	return 0;
}

/* ----------------------------------------------------------- phrases */

struct phrase {
	const char *text;	/* lower case */
	const char *reason;
};

/*
 * What mail systems write, most specific first.  Learnt from the bounce
 * texts of the common MTAs and mailbox providers.
 */
static const struct phrase phrases[] = {
	/* local delivery agents failing, whatever they then say */
	{ "procmail:", "mailererror" },
	{ "domain may not exist", "hostunknown" },
	{ "too many recipients", "speeding" },
	/* the sender, not the recipient, was refused */
	{ "sender was rejected", "rejected" },
	{ "sender address rejected", "rejected" },
	{ "sender rejected", "rejected" },
	{ "sender verify failed", "rejected" },
	{ "domain of sender address", "rejected" },
	{ "sender domain must exist", "rejected" },
	{ "envelope sender", "rejected" },
	{ "invalid sender", "rejected" },
	{ "sender is not allowed", "rejected" },
	{ "not allowed to send", "rejected" },
	{ "mail from not owned", "rejected" },
	/* authentication of our mail */
	{ "dmarc", "authfailure" },
	{ "spf ", "authfailure" },
	{ "spf:", "authfailure" },
	{ "spf)", "authfailure" },
	{ "sender policy framework", "authfailure" },
	{ "dkim", "authfailure" },
	{ "unauthenticated email", "authfailure" },
	{ "not authenticated", "authfailure" },
	/* our IP / reputation */
	{ "reverse dns", "requireptr" },
	{ "ptr record", "requireptr" },
	{ "reverse lookup", "requireptr" },
	{ "no ptr", "requireptr" },
	{ "cannot find your hostname", "requireptr" },
	{ "cannot resolve your address", "requireptr" },
	{ "does not have a reverse", "requireptr" },
	{ "no reverse", "requireptr" },
	{ "reverse hostname", "requireptr" },
	{ "rdns", "requireptr" },
	{ "relay access denied", "norelaying" },
	{ "relaying denied", "norelaying" },
	{ "relay not permitted", "norelaying" },
	{ "not permitted to relay", "norelaying" },
	{ "unable to relay", "norelaying" },
	{ "we do not relay", "norelaying" },
	{ "relay denied", "norelaying" },
	{ "virus", "virusdetected" },
	{ "malware", "virusdetected" },
	{ "spamhaus", "blocked" },
	{ "blacklist", "blocked" },
	{ "blocklist", "blocked" },
	{ "block list", "blocked" },
	{ "dnsbl", "blocked" },
	{ "rbl", "blocked" },
	{ "client host rejected", "blocked" },
	{ "poor reputation", "badreputation" },
	{ "bad reputation", "badreputation" },
	{ "reputation", "badreputation" },
	{ "spam", "spamdetected" },
	{ "junk mail", "spamdetected" },
	{ "unsolicited", "spamdetected" },
	{ "too many connections", "toomanyconn" },
	{ "too many concurrent", "toomanyconn" },
	{ "connection rate", "toomanyconn" },
	{ "rate limit", "speeding" },
	{ "too many messages", "speeding" },
	/* the address is dead */
	{ "recipient address rejected: access denied", "userunknown" },
	{ "user unknown", "userunknown" },
	{ "unknown user", "userunknown" },
	{ "user is unknown", "userunknown" },
	{ "unknown recipient", "userunknown" },
	{ "recipient unknown", "userunknown" },
	{ "no such user", "userunknown" },
	{ "no such mailbox", "userunknown" },
	{ "no such recipient", "userunknown" },
	{ "no such account", "userunknown" },
	{ "no such person", "userunknown" },
	{ "no mailbox", "userunknown" },
	{ "mailbox not found", "userunknown" },
	{ "mailbox does not exist", "userunknown" },
	{ "user not found", "userunknown" },
	{ "recipient not found", "userunknown" },
	{ "address not found", "userunknown" },
	{ "account does not exist", "userunknown" },
	{ "address does not exist", "userunknown" },
	{ "user does not exist", "userunknown" },
	{ "user doesn't exist", "userunknown" },
	{ "doesn't have a", "userunknown" },
	{ "not a valid mailbox", "userunknown" },
	{ "invalid mailbox", "userunknown" },
	{ "invalid recipient", "userunknown" },
	{ "bad recipient", "userunknown" },
	{ "unknown address", "userunknown" },
	{ "unknown local part", "userunknown" },
	{ "unrouteable address", "hostunknown" },
	{ "unroutable address", "hostunknown" },
	{ "unroutable sender", "rejected" },
	{ "addressee unknown", "userunknown" },
	{ "unknown or illegal alias", "userunknown" },
	{ "no valid recipients", "userunknown" },
	{ "recipient rejected", "userunknown" },
	{ "not listed in", "userunknown" },
	{ "no longer available", "userunknown" },
	{ "invalid address", "userunknown" },
	{ "invalid user", "userunknown" },
	{ "invalid final delivery userid", "userunknown" },
	{ "recipient name is not recognized", "userunknown" },
	{ "no such local user", "userunknown" },
	{ "user not exist", "userunknown" },
	{ "is not a known user", "userunknown" },
	{ "unknown mailbox", "userunknown" },
	/* the domain is dead */
	{ "host not found", "hostunknown" },
	{ "dns lookup failure", "hostunknown" },
	{ "domain is not reachable", "hostunknown" },
	{ "host unknown", "hostunknown" },
	{ "unknown host", "hostunknown" },
	{ "domain not found", "hostunknown" },
	{ "no such domain", "hostunknown" },
	{ "domain does not exist", "hostunknown" },
	{ "unrouteable mail domain", "hostunknown" },
	{ "name or service not known", "hostunknown" },
	{ "host or domain name not found", "hostunknown" },
	{ "unknown domain", "hostunknown" },
	{ "nxdomain", "hostunknown" },
	{ "non-existent host", "hostunknown" },
	{ "null mx", "notaccept" },
	{ "no smtp service", "notaccept" },
	{ "no mx record", "notaccept" },
	{ "no mx found", "notaccept" },
	{ "permission to post", "rejected" },
	{ "does not accept mail", "notaccept" },
	{ "not accepting mail", "notaccept" },
	{ "accepts no mail", "notaccept" },
	{ "has moved", "hasmoved" },
	{ "address has changed", "hasmoved" },
	/* the mailbox is there but cannot take it now */
	{ "mailbox full", "mailboxfull" },
	{ "mailbox is full", "mailboxfull" },
	{ "mailbox is over", "mailboxfull" },
	{ "full mailbox", "mailboxfull" },
	{ "relay quota", "blocked" },
	{ "invalid ip for sending", "blocked" },
	{ "folder is full", "mailboxfull" },
	{ "over quota", "mailboxfull" },
	{ "overquota", "mailboxfull" },
	{ "quota", "mailboxfull" },
	{ "exceeded storage", "mailboxfull" },
	{ "mailbox size limit", "mailboxfull" },
	{ "too much mail", "mailboxfull" },
	{ "insufficient storage", "mailboxfull" },
	{ "account disabled", "suspend" },
	{ "account has been disabled", "suspend" },
	{ "account is disabled", "suspend" },
	{ "mailbox disabled", "suspend" },
	{ "is disabled", "suspend" },
	{ "suspended", "suspend" },
	{ "deactivated", "suspend" },
	{ "inactive", "suspend" },
	{ "not active", "suspend" },
	{ "temporarily disabled", "suspend" },
	/* gave up */
	{ "retry timeout exceeded", "expired" },
	{ "retry time not reached", "expired" },
	{ "message expired", "expired" },
	{ "has expired", "expired" },
	{ "delivery time expired", "expired" },
	{ "been in the queue too long", "expired" },
	{ "could not be delivered within", "expired" },
	{ "was not delivered within", "expired" },
	{ "message timed out", "expired" },
	{ "delivery expired", "expired" },
	{ "giving up", "expired" },
	{ "envelope expired", "expired" },
	{ "will be retried", "expired" },
	{ "requests to connect", "expired" },
	{ "network error", "networkerror" },
	{ "account is locked", "suspend" },
	{ "exceeded the local limit", "mailboxfull" },
	/* the message itself */
	{ "message too large", "mesgtoobig" },
	{ "message is too large", "mesgtoobig" },
	{ "message size exceeds", "mesgtoobig" },
	{ "exceeds the maximum size", "mesgtoobig" },
	{ "size limit", "mesgtoobig" },
	{ "too big", "mesgtoobig" },
	{ "exceeded the maximum", "exceedlimit" },
	{ "routing loop", "networkerror" },
	{ "mail loop", "networkerror" },
	{ "too many hops", "networkerror" },
	{ "loop detected", "networkerror" },
	{ "loops back to myself", "systemerror" },
	{ "connection refused", "networkerror" },
	{ "connection timed out", "networkerror" },
	{ "no route to host", "networkerror" },
	{ "network is unreachable", "networkerror" },
	{ "local configuration error", "systemerror" },
	{ "system error", "systemerror" },
	{ "internal error", "systemerror" },
	{ "mailer error", "mailererror" },
	{ "command died", "mailererror" },
	{ "exited with", "mailererror" },
	{ "starttls", "securityerror" },
	{ "tls required", "securityerror" },
	{ "authentication required", "securityerror" },
	{ "policy", "policyviolation" },
	{ "prohibited", "policyviolation" },
	{ "blocked", "blocked" },
	{ "listed", "blocked" },
	{ "access denied", "rejected" },
	{ "filtered", "filtered" },
	{ "syntax error", "syntaxerror" },
	{ "temporary locked", "suspend" },
	{ "on hold", "onhold" },
	{ "disabled recipient", "suspend" },
};

/* Said of many causes: used only when the code says nothing better. */
static const struct phrase weak_phrases[] = {
	{ "does not exist", "userunknown" },
	{ "doesn't exist", "userunknown" },
	{ "mailbox unavailable", "userunknown" },
	{ "mailbox is unavailable", "userunknown" },
	{ "address rejected", "userunknown" },
};

const char *
iw_bounce_reason_phrase(const char *lower)
{
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (strstr(lower, phrases[i].text) != NULL)
			return phrases[i].reason;
	return NULL;
}

static const char *
weak_reason(const char *text)
{
	char *lower = iw_bounce_mime_lower_dup(text, strlen(text));
	const char *r = NULL;

	if (lower == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(weak_phrases) / sizeof(weak_phrases[0]);
	    i++)
		if (strstr(lower, weak_phrases[i].text) != NULL) {
			r = weak_phrases[i].reason;
			break;
		}
	free(lower);
	return r;
}

struct code_reason {
	const char *code;	/* exact code, or "5.7." style prefix */
	const char *reason;
};

static const struct code_reason code_reasons[] = {
	{ "5.1.1", "userunknown" }, { "5.1.0", "userunknown" },
	{ "5.1.2", "hostunknown" }, { "5.1.3", "userunknown" },
	{ "5.1.4", "userunknown" }, { "5.1.6", "hasmoved" },
	{ "5.1.7", "rejected" }, { "5.1.8", "rejected" },
	{ "5.1.10", "userunknown" }, { "5.1.351", "userunknown" },
	{ "5.2.0", "filtered" }, { "5.2.1", "suspend" },
	{ "5.2.2", "mailboxfull" }, { "4.2.2", "mailboxfull" },
	{ "5.2.3", "exceedlimit" }, { "5.3.0", "systemerror" },
	{ "5.3.1", "systemfull" }, { "5.3.2", "notaccept" },
	{ "5.3.4", "mesgtoobig" }, { "5.4.4", "hostunknown" },
	{ "5.4.6", "networkerror" }, { "4.4.6", "networkerror" },
	{ "5.4.7", "expired" }, { "4.4.7", "expired" },
	{ "4.4.1", "networkerror" }, { "5.4.1", "networkerror" },
	{ "5.5.", "syntaxerror" }, { "5.6.", "contenterror" },
	{ "5.7.25", "requireptr" }, { "5.7.26", "authfailure" },
	{ "5.7.23", "authfailure" }, { "5.7.509", "authfailure" },
	{ "5.7.27", "authfailure" }, { "5.7.9", "policyviolation" },
	{ "5.7.606", "blocked" }, { "5.7.", "securityerror" },
	{ "4.7.", "blocked" },
};

static const char *
reason_from_code(const char *status)
{
	for (size_t i = 0; i < sizeof(code_reasons) / sizeof(code_reasons[0]);
	    i++) {
		const char *c = code_reasons[i].code;
		size_t n = strlen(c);

		if (c[n - 1] == '.' ? strncmp(status, c, n) == 0 :
		    strcmp(status, c) == 0)
			return code_reasons[i].reason;
	}
	return NULL;
}

/* Sisimai-compatible pseudo codes for a reason without a code. */
static const struct phrase pseudo[] = {
	{ "911", "userunknown" }, { "912", "hostunknown" },
	{ "922", "mailboxfull" }, { "921", "suspend" },
	{ "918", "rejected" }, { "910", "filtered" }, { "947", "expired" },
	{ "971", "blocked" }, { "932", "notaccept" }, { "939", "mailererror" },
	{ "934", "mesgtoobig" }, { "944", "networkerror" },
	{ "980", "spamdetected" }, { "973", "requireptr" },
	{ "916", "hasmoved" }, { "923", "exceedlimit" },
	{ "909", "norelaying" }, { "930", "systemerror" },
	{ "931", "systemfull" }, { "945", "toomanyconn" },
	{ "960", "contenterror" }, { "970", "securityerror" },
	{ "972", "policyviolation" }, { "902", "syntaxerror" },
	{ "900", "undefined" },
};

const char *
iw_bounce_reason_pseudo(const char *reason)
{
	for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
		if (strcmp(pseudo[i].reason, reason) == 0)
			return pseudo[i].text;
	return "900";
}

enum iw_bounce_class
iw_bounce_reason_class(const char *reason)
{
	static const char *hard[] = { "userunknown", "hostunknown",
	    "hasmoved", "notaccept" };
	static const char *soft[] = { "mailboxfull", "suspend", "expired",
	    "exceedlimit", "systemfull", "filtered", "networkerror",
	    "systemerror", "mailererror" };
	static const char *ours[] = { "rejected", "blocked", "spamdetected",
	    "policyviolation", "authfailure", "requireptr", "securityerror",
	    "norelaying", "virusdetected", "badreputation", "contenterror",
	    "mesgtoobig", "toomanyconn", "speeding", "syntaxerror",
	    "notcompliantrfc" };

	for (size_t i = 0; i < sizeof(hard) / sizeof(hard[0]); i++)
		if (strcmp(reason, hard[i]) == 0)
			return IW_BOUNCE_HARD;
	for (size_t i = 0; i < sizeof(soft) / sizeof(soft[0]); i++)
		if (strcmp(reason, soft[i]) == 0)
			return IW_BOUNCE_SOFT;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strcmp(reason, ours[i]) == 0)
			return IW_BOUNCE_OURS;
	return IW_BOUNCE_UNDETERMINED;
}

/*
 * Settle status, reason and class of one recipient from what was found:
 * the explicit Status, the diagnostic text and (for body bounces) the text
 * read around the address.
 */
static const char *const after_data[] = { "end of data", "data command",
    "final data", "after data", "in reply to data" };

/*
 * The failure came after DATA: a "user unknown" there is a filter.  In a
 * transcript the command is the last ">>> " line before the first error.
 */
static int
is_after_data(const char *text)
{
	const char *last = NULL;

	for (size_t i = 0; i < sizeof(after_data) / sizeof(after_data[0]); i++)
		if (iw_bounce_mime_find_ci(text, after_data[i]) != NULL)
			return 1;
	for (const char *p = text; *p != '\0'; ) {
		const char *e = strchr(p, '\n');

		if (e == NULL)
			e = p + strlen(p);
		if (strncmp(p, ">>> ", 4) == 0)
			last = p + 4;
		else if (strncmp(p, "<<< ", 4) == 0 && (p[4] == '4' ||
		    p[4] == '5'))
			/* pipelined: a 503 to DATA means RCPT failed */
			return last != NULL && iw_bounce_mime_starts_ci(last, "data") &&
			    strstr(p, "<<< 503") == NULL;
		p = *e != '\0' ? e + 1 : e;
	}
	return 0;
}

/*
 * "user unknown" proves a dead address only when it answered RCPT (or came
 * with a *.1.x status).  Said after DATA, or where the command is unknown,
 * it is often a content filter's wording; Sisimai, whose labels the corpus
 * follows, calls that "filtered" (not hard), and so do we: such an address
 * is suppressed only after bounces.soft_limit soft bounces.
 */
static int
is_after_data_near(const char *near)
{
	return near != NULL && is_after_data(near);
}

static int
said_at_rcpt(const char *text)
{
	static const char *const rcpt[] = { "in reply to rcpt", "after rcpt",
	    "rcpt to command", ">>> rcpt", "rcpt to:<", "rcpt to: <",
	    "[rcpt_to]", "smtp:rcpt" };

	if (text == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(rcpt) / sizeof(rcpt[0]); i++)
		if (iw_bounce_mime_find_ci(text, rcpt[i]) != NULL)
			return 1;
	return 0;
}

void
iw_bounce_reason_settle(struct iw_bounce_rcpt *r, const char *context,
    const char *near, int at_rcpt)
{
	char code[IW_BOUNCE_STATUS_MAX] = "";
	const char *at, *reason = NULL;
	char *lower;
	const char *text = context != NULL ? context : r->diagnostic;

	at = iw_bounce_reason_find_status(r->diagnostic, r->diagnostic + strlen(r->diagnostic),
	    code, sizeof(code));
	if (r->reply_code == 0)
		r->reply_code = iw_bounce_reason_find_reply(r->diagnostic,
		    r->diagnostic + strlen(r->diagnostic), at);
	/* A vague Status gives way to the precise one in the reply. */
	if (code[0] != '\0' && (r->status[0] == '\0' ||
	    strcmp(code + 1, ".0.0") != 0))
		iw_strlcpy(r->status, code, sizeof(r->status));
	if (r->status[0] == '\0' && context != NULL) {
		at = iw_bounce_reason_find_status(context, context + strlen(context), code,
		    sizeof(code));
		if (code[0] != '\0')
			iw_strlcpy(r->status, code, sizeof(r->status));
	}
	if (text == r->diagnostic && at != NULL && at > text + 4)
		text = at - 4;	/* the reply, not what the relay said about it */
	lower = iw_bounce_mime_lower_dup(text, strlen(text));
	if (lower != NULL) {
		reason = iw_bounce_reason_phrase(lower);
		free(lower);
	}
	if (reason == NULL && text != r->diagnostic) {
		lower = iw_bounce_mime_lower_dup(r->diagnostic, strlen(r->diagnostic));
		if (lower != NULL) {
			reason = iw_bounce_reason_phrase(lower);
			free(lower);
		}
	}
	if (reason == NULL && near != NULL) {
		lower = iw_bounce_mime_lower_dup(near, strlen(near));
		if (lower != NULL) {
			reason = iw_bounce_reason_phrase(lower);
			free(lower);
		}
	}
	if (reason != NULL && strcmp(reason, "userunknown") == 0 &&
	    strncmp(r->status, "5.1.", 4) != 0 && !at_rcpt &&
	    (is_after_data(r->diagnostic) || is_after_data_near(near) ||
	    (!said_at_rcpt(r->diagnostic) && !said_at_rcpt(near) &&
	    !said_at_rcpt(context))))
		reason = "filtered";
	if (reason == NULL && r->status[0] != '\0' &&
	    strcmp(r->status + 1, ".0.0") != 0)
		reason = reason_from_code(r->status);
	if (reason == NULL)
		reason = weak_reason(r->diagnostic);
	if (reason == NULL && near != NULL)
		reason = weak_reason(near);
	if (reason == NULL && r->status[0] != '\0')
		reason = reason_from_code(r->status);
	if (strcasecmp(r->action, "delivered") == 0 ||
	    strcasecmp(r->action, "relayed") == 0 ||
	    strcasecmp(r->action, "expanded") == 0 || r->status[0] == '2') {
		r->cls = IW_BOUNCE_DELIVERED;
		iw_strlcpy(r->reason, "delivered", sizeof(r->reason));
		return;
	}
	if (reason == NULL)
		reason = "undefined";
	iw_strlcpy(r->reason, reason, sizeof(r->reason));
	if (r->status[0] == '\0') {
		int temp = r->reply_code / 100 == 4 ||
		    strcasecmp(r->action, "delayed") == 0 ||
		    iw_bounce_mime_find_ci(text, "temporary failure") != NULL ||
		    (near != NULL && iw_bounce_mime_find_ci(near, "temporary failure") != NULL);

		r->status[0] = temp ? '4' : '5';
		r->status[1] = '\0';
		iw_strlcpy(r->status + 1, ".0.", sizeof(r->status) - 1);
		iw_strlcpy(r->status + 4, iw_bounce_reason_pseudo(reason),
		    sizeof(r->status) - 4);
	}
	if (strcasecmp(r->action, "delayed") == 0) {
		r->cls = IW_BOUNCE_TRANSIENT;
		return;
	}
	r->cls = iw_bounce_reason_class(reason);
	/* a temporary code never proves an address dead */
	if (r->cls == IW_BOUNCE_HARD && r->status[0] == '4')
		r->cls = IW_BOUNCE_SOFT;
	if (r->cls == IW_BOUNCE_UNDETERMINED && r->status[0] == '4' &&
	    r->action[0] == '\0')
		r->cls = IW_BOUNCE_TRANSIENT;
	/* A body bounce names no Action: say what it reported. */
	if (r->action[0] == '\0')
		iw_strlcpy(r->action, r->cls == IW_BOUNCE_TRANSIENT ?
		    "delayed" : "failed", sizeof(r->action));
}



/*
 * Per-MTA rules.  The "filtered" rule above (user unknown not said at
 * RCPT) is right for generic MTAs, but some systems word a dead address
 * so that nothing else can be meant, or are known to reject only at RCPT;
 * Sisimai's MTA modules (whose labels the corpus carries) call those
 * userunknown, and so do we: Lotus Domino's directory lookup, Exchange
 * 2003's IMS message, IMail (X-Mailer SMTP32), McAfee's appliance
 * (X-NAI-Header), PowerMTA's bad-mailbox category, Yahoo's and Orange's
 * (France PTT) own "no such account" replies.
 */
static const char *const strong_phrases[] = {
	"not listed in domino directory",
	"not listed in public name & address book",
	"the recipient name is not recognized",
	"adresse destinataire invalide",
	"doesn't have a yahoo.com account",
	"doesn't have a ymail.com account",
};

int
iw_bounce_reason_strong(const char *diag)
{
	for (size_t i = 0; i < sizeof(strong_phrases) /
	    sizeof(strong_phrases[0]); i++)
		if (iw_bounce_mime_find_ci(diag, strong_phrases[i]) != NULL)
			return 1;
	return 0;
}

