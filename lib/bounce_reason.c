/*
 * bounce_reason: status codes, reply codes and reasons (see
 * bounce_reason.h).  Tables, not code, hold what is known about mail
 * systems: the RFC 3463 code table, and the phrase lists used as the last
 * resort.
 */
#include "bounce_reason.h"

#include <ctype.h>
#include <stdio.h>
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
		if (iw_bounce_reason_reply_at(r, p, s) >= 400 && (r[3] == ' ' ||
		    r[3] == '-'))
			return 1;
	}
	return 0;
}

const char *
iw_bounce_reason_find_status(const char *p, const char *end, char *out,
    size_t outsz)
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
iw_bounce_reason_find_reply(const char *p, const char *end,
    const char *status_at)
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

/* ------------------------------------------------------------- codes */

/*
 * RFC 3463 status codes (and the IANA "Enumerated Status Codes" registry,
 * RFC 5248) by what they say about the cause.  A SPECIFIC code names the
 * cause (X.1.1 bad destination mailbox: the address is dead) and is
 * believed before any wording; a GENERIC one (X.0.0, X.7.1 "delivery not
 * authorized", X.4.7 "delivery time expired") says what happened, not why,
 * so the reply's words are read first and the code is the fallback.  The
 * reason names are Sisimai's (Sisimai::SMTP::Status).  Exact codes come
 * before the "5.7." style class/subject prefixes.
 */
enum { GENERIC, SPECIFIC };

struct code_reason {
	const char *code;	/* exact, or a "5.7." prefix */
	const char *reason;
	int strength;
};

static const struct code_reason code_reasons[] = {
	/* X.1 addressing */
	{ "5.1.1", "userunknown", SPECIFIC },	/* bad destination mailbox */
	{ "4.1.1", "userunknown", SPECIFIC },
	{ "5.1.2", "hostunknown", SPECIFIC },	/* bad destination system */
	{ "4.1.2", "hostunknown", SPECIFIC },
	{ "5.1.3", "userunknown", SPECIFIC },	/* bad mailbox syntax */
	{ "5.1.4", "userunknown", GENERIC },	/* ambiguous mailbox */
	{ "5.1.6", "hasmoved", SPECIFIC },	/* mailbox has moved */
	{ "4.1.6", "hasmoved", SPECIFIC },
	{ "5.1.7", "rejected", SPECIFIC },	/* bad sender mailbox syntax */
	{ "4.1.7", "rejected", SPECIFIC },
	{ "5.1.8", "rejected", SPECIFIC },	/* bad sender system address */
	{ "4.1.8", "rejected", SPECIFIC },
	{ "5.1.10", "notaccept", SPECIFIC },	/* RFC 7505 null MX */
	{ "5.1.0", "userunknown", GENERIC },	/* other address status */
	{ "5.1.", "userunknown", GENERIC },	/* Exchange's 5.1.351 ... */
	/* X.2 mailbox */
	/* X.2.1 "mailbox disabled, not accepting messages" is, says RFC
	 * 3463, permanent or temporary; Sendmail-style rulesets also put it
	 * in front of "User Unknown".  The words decide. */
	{ "5.2.1", "suspend", GENERIC },
	{ "4.2.1", "suspend", GENERIC },
	{ "5.2.2", "mailboxfull", SPECIFIC },	/* mailbox full */
	{ "4.2.2", "mailboxfull", SPECIFIC },
	{ "5.2.3", "exceedlimit", SPECIFIC },	/* message over mailbox limit */
	{ "4.2.3", "exceedlimit", SPECIFIC },
	{ "5.2.0", "filtered", GENERIC },
	{ "4.2.0", "filtered", GENERIC },
	/* X.3 mail system */
	{ "5.3.1", "systemfull", SPECIFIC },	/* mail system full */
	{ "4.3.1", "systemfull", SPECIFIC },
	{ "5.3.2", "notaccept", SPECIFIC },	/* not accepting messages */
	{ "4.3.2", "notaccept", GENERIC },	/* now: the words say why */
	{ "5.3.4", "mesgtoobig", SPECIFIC },	/* message too big for system */
	{ "4.3.4", "mesgtoobig", SPECIFIC },
	{ "5.3.", "systemerror", GENERIC },
	{ "4.3.", "systemerror", GENERIC },
	/* X.4 network and routing */
	{ "5.4.4", "hostunknown", GENERIC },	/* unable to route */
	{ "4.4.5", "systemfull", GENERIC },	/* mail system congestion */
	{ "5.4.3", "systemerror", GENERIC },	/* directory server failure */
	{ "4.4.3", "systemerror", GENERIC },
	{ "5.4.7", "expired", GENERIC },	/* delivery time expired */
	{ "4.4.7", "expired", GENERIC },
	{ "5.4.", "networkerror", GENERIC },
	{ "4.4.", "networkerror", GENERIC },
	/* X.5 protocol, X.6 content */
	{ "5.5.", "syntaxerror", GENERIC },
	{ "4.5.", "syntaxerror", GENERIC },
	{ "5.6.0", "contenterror", GENERIC },
	{ "4.6.0", "contenterror", GENERIC },
	{ "5.6.", "contenterror", SPECIFIC },	/* media, conversion */
	{ "4.6.", "contenterror", SPECIFIC },
	/* X.7 security and policy (RFC 7372, RFC 7505, RFC 8689) */
	{ "5.7.13", "suspend", SPECIFIC },	/* user account disabled */
	{ "5.7.17", "hasmoved", SPECIFIC },	/* mailbox owner has changed */
	{ "5.7.20", "authfailure", SPECIFIC },	/* no passing DKIM signature */
	{ "5.7.21", "authfailure", SPECIFIC },
	{ "5.7.22", "authfailure", SPECIFIC },
	{ "5.7.23", "authfailure", SPECIFIC },	/* SPF validation failed */
	{ "5.7.24", "authfailure", SPECIFIC },
	{ "4.7.24", "authfailure", SPECIFIC },
	{ "5.7.25", "requireptr", SPECIFIC },	/* reverse DNS failed */
	{ "4.7.25", "requireptr", SPECIFIC },
	{ "5.7.26", "authfailure", SPECIFIC },	/* multiple auth failures */
	{ "4.7.26", "authfailure", SPECIFIC },
	{ "5.7.27", "notaccept", SPECIFIC },	/* sender has null MX */
	{ "5.7.29", "authfailure", SPECIFIC },	/* ARC validation failure */
	/* Exchange Online's own X.7.5xx/6xx codes (Microsoft NDR list) */
	{ "5.7.509", "authfailure", SPECIFIC },	/* DMARC reject */
	{ "5.7.606", "blocked", SPECIFIC },	/* banned sending IP */
	{ "5.7.607", "blocked", SPECIFIC },
	{ "5.7.608", "blocked", SPECIFIC },
	{ "5.7.511", "blocked", SPECIFIC },	/* banned sender */
	{ "5.7.", "securityerror", GENERIC },
	{ "4.7.", "blocked", GENERIC },
};

static const struct code_reason *
code_reason(const char *status)
{
	for (size_t i = 0; i < sizeof(code_reasons) / sizeof(code_reasons[0]);
	    i++) {
		const char *c = code_reasons[i].code;
		size_t n = strlen(c);

		if (c[n - 1] == '.' ? strncmp(status, c, n) == 0 :
		    strcmp(status, c) == 0)
			return &code_reasons[i];
	}
	return NULL;
}

/* ----------------------------------------------------------- phrases */

/*
 * The last resort: words.  Each phrase is what a named mail system (or
 * RFC) prints, lower case; the first match in table order wins.
 *   MTA   a fixed message of one mail system's own report: it says more
 *         than the code that system puts in front of it (qmail-remote's
 *         "couldn't find a mail exchanger" comes with 5.4.4), so it is
 *         believed first;
 *   TEXT  the usual wording of a cause, read after a specific code;
 *   WEAK  said of several causes: used only when no code says anything.
 * Most wordings are those Sisimai's Sisimai::Reason::* modules list for
 * the same reason (its names are ours); the source column says who
 * writes them.
 */
enum { MTA, TEXT, WEAK };

struct phrase {
	const char *text;
	const char *reason;
	int kind;
	const char *source;
};

static const struct phrase phrases[] = {
	/* fixed messages of one mail system */
	{ "sorry, no mailbox here by that name", "userunknown", MTA,
	    "qmail-local, vpopmail" },
	{ "couldn't find a mail exchanger or ip address", "notaccept", MTA,
	    "qmail-remote" },
	{ "sorry, i couldn't find any host named", "hostunknown", MTA,
	    "qmail-remote" },
	{ "pipe to |", "mailererror", MTA, "Exim pipe transport" },
	{ "procmail:", "mailererror", MTA, "procmail as delivery agent" },
	{ "recipient address rejected: access denied", "userunknown", MTA,
	    "Exchange Online directory-based edge blocking (5.4.1)" },
	{ "not listed in domino directory", "userunknown", MTA,
	    "Lotus Domino" },
	{ "not listed in public name & address book", "userunknown", MTA,
	    "Lotus Domino" },
	{ "domino \xe3\x83\x87\xe3\x82\xa3\xe3\x83\xac\xe3\x82\xaf"
	    "\xe3\x83\x88\xe3\x83\xaa\xe3\x81\xab\xe3\x81\xaf\xe8\xa6"
	    "\x8b\xe3\x81\xa4\xe3\x81\x8b\xe3\x82\x8a\xe3\x81\xbe"
	    "\xe3\x81\x9b\xe3\x82\x93", "userunknown", MTA,
	    "Lotus Domino, Japanese: \"not found in the Domino directory\"" },
	{ "the recipient name is not recognized", "userunknown", MTA,
	    "Exchange 2003 IMS" },
	{ "adresse destinataire invalide", "userunknown", MTA,
	    "Orange / France PTT" },
	{ "doesn't have a yahoo.com account", "userunknown", MTA, "Yahoo" },
	{ "doesn't have a ymail.com account", "userunknown", MTA, "Yahoo" },
	{ "receiving mail at a rate that", "speeding", MTA, "Gmail" },
	{ "is not rfc 5322 compliant", "notcompliantrfc", MTA, "Gmail" },
	{ "messages with multiple addresses in from:", "notcompliantrfc",
	    MTA, "Gmail" },
	{ "mailbox is frozen", "suspend", MTA, "i.ua" },
	{ "the account or domain may not exist", "hostunknown", MTA,
	    "cPanel's Exim bounce template" },
	{ "resolver.adr.recipientnotfound", "userunknown", MTA,
	    "Exchange Online (which says 5.1.10 for it)" },
	{ "resolver.adr.recipnotfound", "userunknown", MTA,
	    "Exchange 2007 and later" },
	{ "the email address you entered couldn't be found", "userunknown",
	    MTA, "Exchange / Office 365 NDR text" },
	{ "did not accept our requests to connect", "expired", MTA,
	    "Gmail, after its retries" },
	{ "could not deliver for the last", "expired", MTA, "DragonFly dma" },
	{ "this system is not configured to relay mail", "norelaying", MTA,
	    "Exchange" },
	/* the sender, not the recipient, was refused (Sisimai Rejected) */
	{ "sender was rejected", "rejected", TEXT, "qmail-remote" },
	{ "sender address rejected", "rejected", TEXT, "Postfix" },
	{ "sender rejected", "rejected", TEXT, "many MTAs" },
	{ "sender verify failed", "rejected", TEXT, "Exim" },
	{ "domain of sender address", "rejected", TEXT, "Postfix" },
	{ "sender domain must exist", "rejected", TEXT, "Sendmail" },
	{ "envelope sender", "rejected", TEXT, "many MTAs" },
	{ "invalid sender", "rejected", TEXT, "many MTAs" },
	{ "sender is not allowed", "rejected", TEXT, "many MTAs" },
	{ "not allowed to send", "rejected", TEXT, "many MTAs" },
	{ "mail from not owned", "rejected", TEXT, "Yahoo" },
	{ "unroutable sender", "rejected", TEXT, "Exim" },
	{ "permission to post", "rejected", TEXT, "Google Groups" },
	/* authentication of our mail (RFC 7208, 6376, 7489) */
	{ "dmarc", "authfailure", TEXT, "RFC 7489 rejections" },
	{ "spf ", "authfailure", TEXT, "RFC 7208 rejections" },
	{ "spf:", "authfailure", TEXT, "RFC 7208 rejections" },
	{ "spf)", "authfailure", TEXT, "RFC 7208 rejections" },
	{ "spf record", "authfailure", TEXT, "Exchange Online" },
	{ "sender policy framework", "authfailure", TEXT, "RFC 7208" },
	{ "dkim", "authfailure", TEXT, "RFC 6376 rejections" },
	{ "does not have authentication information", "authfailure", TEXT,
	    "Gmail" },
	{ "unauthenticated email", "authfailure", TEXT, "Gmail" },
	/* relaying (Sisimai NoRelaying) */
	{ "relay access denied", "norelaying", TEXT, "Postfix" },
	{ "relaying denied", "norelaying", TEXT, "Sendmail" },
	{ "relay not permitted", "norelaying", TEXT, "Exim" },
	{ "not permitted to relay", "norelaying", TEXT, "many MTAs" },
	{ "unable to relay", "norelaying", TEXT, "Exchange" },
	{ "we do not relay", "norelaying", TEXT, "Sendmail" },
	{ "relay denied", "norelaying", TEXT, "many MTAs" },
	{ "no relaying", "norelaying", TEXT, "many MTAs" },
	/* our IP and its reverse DNS (Sisimai RequirePTR) */
	{ "reverse dns", "requireptr", TEXT, "many MTAs" },
	{ "ptr record", "requireptr", TEXT, "many MTAs" },
	{ "reverse lookup", "requireptr", TEXT, "many MTAs" },
	{ "no ptr", "requireptr", TEXT, "many MTAs" },
	{ "cannot find your hostname", "requireptr", TEXT, "Sendmail" },
	{ "cannot resolve your address", "requireptr", TEXT, "Exim" },
	{ "does not have a reverse", "requireptr", TEXT, "many MTAs" },
	{ "no reverse", "requireptr", TEXT, "many MTAs" },
	{ "reverse hostname", "requireptr", TEXT, "Postfix" },
	{ "rdns", "requireptr", TEXT, "many MTAs" },
	/* content */
	{ "virus", "virusdetected", TEXT, "virus scanners" },
	{ "malware", "virusdetected", TEXT, "virus scanners" },
	{ "message content rejected", "spamdetected", TEXT,
	    "Sendmail milters, Barracuda" },
	{ "blacklisted url", "spamdetected", TEXT, "URIBL checks" },
	/* our IP's standing (Sisimai Blocked, BadReputation) */
	{ "spamhaus", "blocked", TEXT, "DNSBL rejections" },
	{ "blacklist", "blocked", TEXT, "DNSBL rejections" },
	{ "blocklist", "blocked", TEXT, "DNSBL rejections" },
	{ "block list", "blocked", TEXT, "DNSBL rejections" },
	{ "dnsbl", "blocked", TEXT, "DNSBL rejections" },
	{ "rbl", "blocked", TEXT, "DNSBL rejections" },
	{ "client host rejected", "blocked", TEXT, "Postfix" },
	{ "banned sending ip", "blocked", TEXT, "Exchange Online" },
	{ "invalid ip for sending", "blocked", TEXT, "Yahoo" },
	{ "poor reputation", "badreputation", TEXT, "Gmail" },
	{ "bad reputation", "badreputation", TEXT, "many MTAs" },
	{ "reputation", "badreputation", TEXT, "many MTAs" },
	{ "spam", "spamdetected", TEXT, "content filters" },
	{ "junk mail", "spamdetected", TEXT, "content filters" },
	{ "unsolicited", "spamdetected", TEXT, "content filters" },
	/* rates (Sisimai TooManyConn, Speeding) */
	{ "too many connections", "toomanyconn", TEXT, "many MTAs" },
	{ "too many concurrent", "toomanyconn", TEXT, "many MTAs" },
	{ "connection rate", "toomanyconn", TEXT, "Postfix anvil" },
	{ "too many recipients", "toomanyconn", TEXT, "many MTAs" },
	{ "rate limit", "speeding", TEXT, "many MTAs" },
	{ "too many messages", "speeding", TEXT, "many MTAs" },
	/* the address is dead (Sisimai UserUnknown) */
	{ "user unknown", "userunknown", TEXT, "Postfix, Sendmail, qmail" },
	{ "unknown user", "userunknown", TEXT, "Postfix local, IMail" },
	{ "user is unknown", "userunknown", TEXT, "many MTAs" },
	{ "unknown recipient", "userunknown", TEXT, "many MTAs" },
	{ "recipient unknown", "userunknown", TEXT, "many MTAs" },
	{ "no such user", "userunknown", TEXT, "many MTAs" },
	{ "no such mailbox", "userunknown", TEXT, "many MTAs" },
	{ "no such recipient", "userunknown", TEXT, "many MTAs" },
	{ "no such account", "userunknown", TEXT, "many MTAs" },
	{ "no such person", "userunknown", TEXT, "many MTAs" },
	{ "no such local user", "userunknown", TEXT, "Exim" },
	{ "no mailbox", "userunknown", TEXT, "many MTAs" },
	{ "mailbox not found", "userunknown", TEXT, "many MTAs" },
	{ "mailbox does not exist", "userunknown", TEXT, "many MTAs" },
	{ "user not found", "userunknown", TEXT, "many MTAs" },
	{ "recipient not found", "userunknown", TEXT, "many MTAs" },
	{ "address not found", "userunknown", TEXT, "Gmail" },
	{ "account does not exist", "userunknown", TEXT, "many MTAs" },
	{ "account that you tried to reach does not exist", "userunknown",
	    TEXT, "Gmail" },
	{ "address does not exist", "userunknown", TEXT, "many MTAs" },
	{ "user does not exist", "userunknown", TEXT, "many MTAs" },
	{ "user doesn't exist", "userunknown", TEXT, "many MTAs" },
	{ "user not exist", "userunknown", TEXT, "many MTAs" },
	{ "not a valid mailbox", "userunknown", TEXT, "many MTAs" },
	{ "invalid mailbox", "userunknown", TEXT, "many MTAs" },
	{ "invalid recipient", "userunknown", TEXT, "many MTAs" },
	{ "bad recipient", "userunknown", TEXT, "many MTAs" },
	{ "unknown address", "userunknown", TEXT, "many MTAs" },
	{ "unknown local part", "userunknown", TEXT, "Exim" },
	{ "unknown mailbox", "userunknown", TEXT, "many MTAs" },
	{ "addressee unknown", "userunknown", TEXT, "Sendmail" },
	{ "unknown or illegal alias", "userunknown", TEXT, "Sendmail" },
	{ "no valid recipients", "userunknown", TEXT, "many MTAs" },
	{ "recipient rejected", "userunknown", TEXT, "many MTAs" },
	{ "invalid address", "userunknown", TEXT, "many MTAs" },
	{ "invalid user", "userunknown", TEXT, "many MTAs" },
	{ "invalid final delivery userid", "userunknown", TEXT, "IMail" },
	{ "is not a known user", "userunknown", TEXT, "many MTAs" },
	{ "doesn't have a", "userunknown", TEXT, "Yahoo, Gmail" },
	{ "no longer available", "userunknown", TEXT, "many MTAs" },
	{ "requested action not taken: mailbox unavailable", "userunknown",
	    TEXT, "RFC 5321 4.2.3 (550), Outlook.com" },
	{ "not listed in", "userunknown", TEXT, "directory lookups" },
	/* the domain is dead (Sisimai HostUnknown, NotAccept) */
	{ "unrouteable address", "hostunknown", TEXT, "Exim" },
	{ "unroutable address", "hostunknown", TEXT, "Exim" },
	{ "unrouteable mail domain", "hostunknown", TEXT, "Exim" },
	{ "host not found", "hostunknown", TEXT, "Postfix, Sendmail" },
	{ "dns lookup failure", "hostunknown", TEXT, "many MTAs" },
	{ "domain is not reachable", "hostunknown", TEXT, "many MTAs" },
	{ "host unknown", "hostunknown", TEXT, "Sendmail" },
	{ "unknown host", "hostunknown", TEXT, "many MTAs" },
	{ "domain not found", "hostunknown", TEXT, "many MTAs" },
	{ "no such domain", "hostunknown", TEXT, "many MTAs" },
	{ "domain does not exist", "hostunknown", TEXT, "many MTAs" },
	{ "domain may not exist", "hostunknown", TEXT, "Exchange" },
	{ "name or service not known", "hostunknown", TEXT, "getaddrinfo" },
	{ "host or domain name not found", "hostunknown", TEXT, "Postfix" },
	{ "unknown domain", "hostunknown", TEXT, "many MTAs" },
	{ "nxdomain", "hostunknown", TEXT, "DNS (RFC 8020)" },
	{ "non-existent host", "hostunknown", TEXT, "many MTAs" },
	{ "null mx", "notaccept", TEXT, "RFC 7505" },
	{ "no smtp service", "notaccept", TEXT, "many MTAs" },
	{ "no mx record", "notaccept", TEXT, "many MTAs" },
	{ "no mx found for domain", "notaccept", MTA, "OpenSMTPD" },
	{ "does not accept mail", "notaccept", TEXT, "RFC 7505 wording" },
	{ "not accepting mail", "notaccept", TEXT, "many MTAs" },
	{ "accepts no mail", "notaccept", TEXT, "many MTAs" },
	{ "has moved", "hasmoved", TEXT, "Sendmail (551)" },
	{ "address has changed", "hasmoved", TEXT, "many MTAs" },
	{ "not our customer", "hasmoved", TEXT, "Sendmail (551)" },
	{ "not our user", "hasmoved", TEXT, "Sendmail (551)" },
	/* the mailbox is there but cannot take it now */
	{ "mailbox full", "mailboxfull", TEXT, "many MTAs" },
	{ "mailbox is full", "mailboxfull", TEXT, "many MTAs" },
	{ "mailbox is over", "mailboxfull", TEXT, "many MTAs" },
	{ "full mailbox", "mailboxfull", TEXT, "many MTAs" },
	{ "folder is full", "mailboxfull", TEXT, "many MTAs" },
	{ "over quota", "mailboxfull", TEXT, "many MTAs" },
	{ "overquota", "mailboxfull", TEXT, "many MTAs" },
	{ "relay quota", "blocked", TEXT, "many MTAs" },
	{ "quota", "mailboxfull", TEXT, "many MTAs" },
	{ "exceeded storage", "mailboxfull", TEXT, "many MTAs" },
	{ "mailbox size limit", "mailboxfull", TEXT, "Postfix local" },
	{ "too much mail", "mailboxfull", TEXT, "many MTAs" },
	{ "exceeded the local limit", "mailboxfull", TEXT, "Biglobe" },
	{ "insufficient disk space", "systemfull", TEXT, "Sendmail" },
	{ "insufficient storage", "mailboxfull", TEXT, "many MTAs" },
	{ "account disabled", "suspend", TEXT, "many MTAs" },
	{ "account has been disabled", "suspend", TEXT, "many MTAs" },
	{ "account is disabled", "suspend", TEXT, "many MTAs" },
	{ "mailbox disabled", "suspend", TEXT, "many MTAs" },
	{ "disabled recipient", "suspend", TEXT, "many MTAs" },
	{ "is disabled", "suspend", TEXT, "many MTAs" },
	{ "suspended", "suspend", TEXT, "many MTAs" },
	{ "deactivated", "suspend", TEXT, "many MTAs" },
	{ "inactive", "suspend", TEXT, "many MTAs" },
	{ "not active", "suspend", TEXT, "many MTAs" },
	{ "account is locked", "suspend", TEXT, "many MTAs" },
	{ "temporary locked", "suspend", TEXT, "many MTAs" },
	/* gave up (Sisimai Expired) */
	{ "retry timeout exceeded", "expired", TEXT, "Exim" },
	{ "retry time not reached", "expired", TEXT, "Exim" },
	{ "message expired", "expired", TEXT, "many MTAs" },
	{ "has expired", "expired", TEXT, "many MTAs" },
	{ "delivery time expired", "expired", TEXT, "RFC 3463 X.4.7" },
	{ "been in the queue too long", "expired", WEAK,
	    "qmail-send, after the cause" },
	{ "giving up", "expired", WEAK, "many MTAs, after the cause" },
	{ "could not be delivered within", "expired", TEXT, "many MTAs" },
	{ "was not delivered within", "expired", TEXT, "many MTAs" },
	{ "message timed out", "expired", TEXT, "many MTAs" },
	{ "delivery expired", "expired", TEXT, "many MTAs" },
	{ "envelope expired", "expired", TEXT, "OpenSMTPD" },
	{ "message still undelivered", "expired", TEXT, "Sendmail" },
	{ "will be retried for", "expired", TEXT, "Gmail delay notice" },
	/* the network (Sisimai NetworkError) */
	{ "network error", "networkerror", TEXT, "OpenSMTPD" },
	{ "host name lookup failure", "networkerror", TEXT, "Sendmail" },
	{ "lost connection with", "networkerror", TEXT, "Postfix" },
	{ "routing loop", "networkerror", TEXT, "many MTAs" },
	{ "mail loop", "networkerror", TEXT, "many MTAs" },
	{ "too many hops", "networkerror", TEXT, "many MTAs" },
	{ "loop detected", "networkerror", TEXT, "many MTAs" },
	{ "loops back to myself", "systemerror", TEXT, "Postfix" },
	{ "connection refused", "networkerror", TEXT, "many MTAs" },
	{ "connection timed out", "networkerror", TEXT, "many MTAs" },
	{ "no route to host", "networkerror", TEXT, "many MTAs" },
	{ "network is unreachable", "networkerror", TEXT, "many MTAs" },
	/* the message itself */
	{ "message too large", "mesgtoobig", TEXT, "many MTAs" },
	{ "message is too large", "mesgtoobig", TEXT, "many MTAs" },
	{ "message size exceeds", "mesgtoobig", TEXT, "Sendmail" },
	{ "exceeds the maximum size", "mesgtoobig", TEXT, "many MTAs" },
	{ "size limit", "mesgtoobig", TEXT, "many MTAs" },
	{ "too big", "mesgtoobig", TEXT, "many MTAs" },
	{ "exceeded the maximum", "exceedlimit", TEXT, "many MTAs" },
	/* the receiving system */
	{ "local configuration error", "systemerror", TEXT, "Sendmail" },
	{ "system error", "systemerror", TEXT, "many MTAs" },
	{ "internal error", "systemerror", TEXT, "many MTAs" },
	{ "queue file write error", "systemerror", TEXT, "Postfix" },
	{ "service currently unavailable", "systemerror", TEXT,
	    "many MTAs" },
	{ "transaction failed", "systemerror", WEAK, "many MTAs" },
	{ "mailer error", "mailererror", TEXT, "Sendmail" },
	{ "command died", "mailererror", TEXT, "Postfix pipe(8)" },
	{ "exited with", "mailererror", TEXT, "many MTAs" },
	{ "starttls", "securityerror", TEXT, "RFC 3207 rejections" },
	{ "tls required", "securityerror", TEXT, "many MTAs" },
	{ "authentication required", "securityerror", TEXT, "RFC 4954" },
	{ "unauthenticated senders not allowed", "securityerror", TEXT,
	    "many MTAs" },
	{ "not authenticated", "securityerror", TEXT, "many MTAs" },
	{ "protocol violation", "policyviolation", TEXT, "many MTAs" },
	{ "policy violation", "policyviolation", WEAK, "many MTAs" },
	{ "content presents a potential", "policyviolation", TEXT, "Gmail" },
	{ "denied by policy", "policyviolation", TEXT, "many MTAs" },
	{ "policy reasons", "policyviolation", TEXT, "many MTAs" },
	{ "prohibited", "policyviolation", WEAK, "many MTAs" },
	{ "blocked", "blocked", WEAK, "many MTAs" },
	{ "listed", "blocked", WEAK, "DNSBL rejections" },
	{ "access denied", "blocked", WEAK, "many MTAs" },
	{ "filtered", "filtered", WEAK, "many MTAs" },
	{ "syntax error", "syntaxerror", TEXT, "RFC 5321 (500, 501)" },
	{ "command parameter not implemented", "syntaxerror", TEXT,
	    "RFC 5321 (504)" },
	{ "on hold", "onhold", TEXT, "many MTAs" },
	/* said of many causes */
	{ "does not exist", "userunknown", WEAK, "many MTAs" },
	{ "doesn't exist", "userunknown", WEAK, "many MTAs" },
	{ "mailbox unavailable", "userunknown", WEAK, "RFC 5321 (550)" },
	{ "mailbox is unavailable", "userunknown", WEAK, "RFC 5321 (550)" },
	{ "address rejected", "userunknown", WEAK, "Postfix" },
};

size_t
iw_bounce_reason_nphrases(void)
{
	return sizeof(phrases) / sizeof(phrases[0]);
}

const char *
iw_bounce_reason_phrase_text(size_t i)
{
	return i < iw_bounce_reason_nphrases() ? phrases[i].text : "";
}

/*
 * The first phrase of kind in lower-cased text that off does not switch
 * off: its index, or -1.
 */
static int
find_phrase(const char *lower, int kind, const unsigned char *off)
{
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].kind == kind && (off == NULL || !off[i]) &&
		    strstr(lower, phrases[i].text) != NULL)
			return (int)i;
	return -1;
}

/*
 * text lower-cased, without the reply codes (and enhanced codes) that
 * begin each line of a multiline reply (RFC 5321 section 4.2.1: "550-5.7.1
 * ... messages with multiple 550-5.7.1 addresses ..."), so a phrase cut by
 * a line break still matches.  NULL when out of memory.
 */
static char *
reply_words(const char *text)
{
	size_t n = strlen(text), o = 0, len;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; ) {
		if ((i == 0 || text[i - 1] == ' ') &&
		    iw_bounce_reason_reply_at(text + i, text,
		    text + n) >= 200 &&
		    (text[i + 3] == '-' || text[i + 3] == ' ')) {
			i += 4;
			if (iw_bounce_reason_is_status(text + i, &len) &&
			    text[i + len] == ' ')
				i += len + 1;
			continue;
		}
		out[o++] = (char)tolower((unsigned char)text[i++]);
	}
	out[o] = '\0';
	return out;
}

/* find_phrase over the words of text. */
static int
text_phrase(const char *text, int kind, const unsigned char *off)
{
	char *lower;
	int i;

	if (text == NULL || *text == '\0')
		return -1;
	if ((lower = reply_words(text)) == NULL)
		return -1;
	i = find_phrase(lower, kind, off);
	free(lower);
	return i;
}

const char *
iw_bounce_reason_phrase(const char *lower, const unsigned char *off,
    int *rule)
{
	int i = find_phrase(lower, MTA, off);

	if (i < 0)
		i = find_phrase(lower, TEXT, off);
	if (i < 0)
		return NULL;
	if (rule != NULL)
		*rule = i + 1;
	return phrases[i].reason;
}

/* Sisimai-compatible pseudo codes for a reason without a code. */
static const struct { const char *detail, *reason; } pseudo[] = {
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
			return pseudo[i].detail;
	return "900";
}

/*
 * What a reason means for the address: dead (hard), there but not taking
 * mail now (soft), or our side refused (ours).  Sisimai counts
 * userunknown, hostunknown, hasmoved and notaccept as hard bounces.
 */
enum iw_bounce_class
iw_bounce_reason_class(const char *reason)
{
	static const char *hard[] = { "userunknown", "hostunknown",
	    "hasmoved", "notaccept" };
	static const char *soft[] = { "mailboxfull", "suspend", "expired",
	    "exceedlimit", "systemfull", "filtered", "networkerror",
	    "systemerror", "mailererror", "onhold" };
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

/* ------------------------------------------------- the SMTP command */

/* What reports say when a reply answered RCPT TO (RFC 5321 3.3) ... */
static const char *const at_rcpt_words[] = { "in reply to rcpt",
    "after rcpt", "rcpt to command", ">>> rcpt", "rcpt to:<", "rcpt to: <",
    "[rcpt_to]", "smtp:rcpt",
    "does not like recipient" /* qmail-remote */ };

/* ... and when it came after the message was sent. */
static const char *const after_data_words[] = { "end of data",
    "data command", "final data", "after data", "in reply to data",
    "failed after i sent the message" /* qmail-remote */ };

/*
 * In a transcript (Sendmail's ">>> " and "<<< " lines) the command is the
 * last ">>> " line before the first error: 'R', 'D' or 0.
 */
static int
transcript_command(const char *text)
{
	const char *last = NULL;

	for (const char *p = text; *p != '\0'; ) {
		const char *e = strchr(p, '\n');

		if (e == NULL)
			e = p + strlen(p);
		if (strncmp(p, ">>> ", 4) == 0)
			last = p + 4;
		else if (strncmp(p, "<<< ", 4) == 0 && (p[4] == '4' ||
		    p[4] == '5')) {
			if (last == NULL)
				return 0;
			/* pipelined: a 503 to DATA means an earlier
			 * command failed, which one is not said */
			if (iw_bounce_mime_starts_ci(last, "data"))
				return strstr(p, "<<< 503") == NULL ? 'D' : 0;
			return iw_bounce_mime_starts_ci(last, "rcpt") ? 'R' : 0;
		}
		p = *e != '\0' ? e + 1 : e;
	}
	return 0;
}

/* The first of words in text: where, or NULL. */
static const char *
first_of(const char *text, const char *const *words, size_t n)
{
	const char *first = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *at = iw_bounce_mime_find_ci(text, words[i]);

		if (at != NULL && (first == NULL || at < first))
			first = at;
	}
	return first;
}

/*
 * The SMTP command a report says the reply answered: 'R' for RCPT TO, 'D'
 * for DATA (or the end of it), 0 when it does not say.  Text about several
 * recipients names the one at hand first.
 */
static int
command_of(const char *text)
{
	const char *r, *d;
	int t;

	if (text == NULL)
		return 0;
	if ((t = transcript_command(text)) != 0)
		return t;
	r = first_of(text, at_rcpt_words, sizeof(at_rcpt_words) /
	    sizeof(at_rcpt_words[0]));
	d = first_of(text, after_data_words, sizeof(after_data_words) /
	    sizeof(after_data_words[0]));
	if (r == NULL && d == NULL)
		return 0;
	return d == NULL || (r != NULL && r < d) ? 'R' : 'D';
}

/*
 * "user unknown" proves a dead address only when it answered RCPT (or came
 * with an X.1.x status).  Said after DATA, or where the command is unknown,
 * it is often a content filter's wording; Sisimai, whose reason names we
 * use, calls that "filtered" (not hard), and so do we: such an address is
 * suppressed only after bounces.soft_limit soft bounces.
 */
static int
unknown_is_filter(const struct iw_bounce_rcpt *r, const char *context,
    const char *near, int at_rcpt)
{
	const char *texts[3] = { r->diagnostic, near, context };

	if (at_rcpt || strncmp(r->status + 1, ".1.", 3) == 0)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		int cmd = command_of(texts[i]);

		if (cmd != 0)
			return cmd == 'D';
	}
	return 1;
}

/* ------------------------------------------------------------ settling */

/* Status and reply code out of the diagnostic (or the context). */
static const char *
read_codes(struct iw_bounce_rcpt *r, const char *context)
{
	char code[IW_BOUNCE_STATUS_MAX] = "";
	const char *d = r->diagnostic, *de = d + strlen(d);
	const char *at = iw_bounce_reason_find_status(d, de, code,
	    sizeof(code));

	if (r->reply_code == 0)
		r->reply_code = iw_bounce_reason_find_reply(d, de, at);
	/* A vague Status gives way to the precise one in the reply. */
	if (code[0] != '\0' && (r->status[0] == '\0' ||
	    strcmp(code + 1, ".0.0") != 0))
		iw_strlcpy(r->status, code, sizeof(r->status));
	if (r->status[0] == '\0' && context != NULL) {
		iw_bounce_reason_find_status(context, context + strlen(context),
		    code, sizeof(code));
		if (code[0] != '\0')
			iw_strlcpy(r->status, code, sizeof(r->status));
	}
	return at;
}

/*
 * A phrase of kind in the reply; when the recipient has no status code,
 * also in the rest of the diagnostic and then near (around a code, other
 * words are often the relay's labels for the code, e.g. Amazon SES's
 * "5.1.0 - Unknown address error" in front of the real reply).
 */
static int
phrase_in(const char *text, const struct iw_bounce_rcpt *r,
    const char *near, int kind, const unsigned char *off)
{
	int i = text_phrase(text, kind, off);

	if (i >= 0 || (kind != MTA && r->status[0] != '\0' &&
	    strcmp(r->status + 1, ".0.0") != 0))
		return i;
	if (text != r->diagnostic)
		i = text_phrase(r->diagnostic, kind, off);
	if (i < 0)
		i = text_phrase(near, kind, off);
	return i;
}

/* "4.4.0": class and subject, but "other or undefined" detail. */
static int
detail_is_zero(const char *status)
{
	const char *d = strrchr(status, '.');

	return d != NULL && strcmp(d, ".0") == 0;
}

/*
 * "neko.example.com does not exist": what does not exist is a host name
 * (a dotted word, no '@'), not a mailbox.
 */
static int
names_a_host(const char *text, const char *phrase)
{
	const char *at = iw_bounce_mime_find_ci(text, phrase), *w;
	int dots = 0;

	if (at == NULL || at == text || at[-1] != ' ')
		return 0;
	for (w = at - 1; w > text && w[-1] != ' '; w--) {
		if (w[-1] == '@' || w[-1] == '<' || w[-1] == '>')
			return 0;
		dots += w[-1] == '.';
	}
	return dots > 0 && at - w > 3;
}

/*
 * A specific code decides, except that X.1.1 is reused for refusals the
 * words (phrase i, or -1) name better: relaying, blocks, a full, moved or
 * disabled mailbox, a refused sender (as Sisimai's UserUnknown has it).
 */
static const char *
specific_code(const struct code_reason *cr, int i, int *rule)
{
	static const char *const better[] = { "norelaying", "blocked",
	    "mailboxfull", "hasmoved", "rejected", "notaccept", "suspend" };

	if (i < 0 || strcmp(cr->reason, "userunknown") != 0)
		return cr->reason;
	for (size_t k = 0; k < sizeof(better) / sizeof(better[0]); k++)
		if (strcmp(phrases[i].reason, better[k]) == 0) {
			*rule = i + 1;
			return better[k];
		}
	return cr->reason;
}

/*
 * The reason, in order of evidence: an MTA's own fixed message; a specific
 * status code; the wording of the reply; a generic status code; wording
 * said of many causes.  *rule: 1 + the phrase index that decided, or 0.
 */
static const char *
decide(struct iw_bounce_rcpt *r, const char *text, const char *context,
    const char *near, int at_rcpt, const unsigned char *off, int *rule)
{
	const struct code_reason *cr = r->status[0] != '\0' &&
	    strcmp(r->status + 1, ".0.0") != 0 ? code_reason(r->status) : NULL;
	int i;

	*rule = 0;
	/* 1. an MTA's own fixed message */
	if ((i = phrase_in(text, r, near, MTA, off)) >= 0) {
		*rule = i + 1;
		return phrases[i].reason;
	}
	/* 2. a code that names the cause */
	if (cr != NULL && cr->strength == SPECIFIC)
		return specific_code(cr, phrase_in(text, r, near, TEXT, off),
		    rule);
	/* RFC 3464 "delayed" with no particular cause: it is still being
	 * retried, and Sisimai calls that expired */
	if (strcasecmp(r->action, "delayed") == 0 &&
	    (cr == NULL || detail_is_zero(r->status)))
		return "expired";
	/* 3. the usual wording of a cause */
	if ((i = phrase_in(text, r, near, TEXT, off)) >= 0) {
		*rule = i + 1;
		if (strcmp(phrases[i].reason, "userunknown") == 0 &&
		    unknown_is_filter(r, context, near, at_rcpt))
			return "filtered";
		return phrases[i].reason;
	}
	/* 4. a generic code: its class and subject */
	if (cr != NULL)
		return cr->reason;
	/* 5. words said of many causes */
	if ((i = phrase_in(text, r, near, WEAK, off)) >= 0) {
		*rule = i + 1;
		if (strcmp(phrases[i].reason, "userunknown") == 0 &&
		    names_a_host(text, phrases[i].text))
			return "hostunknown";
		return phrases[i].reason;
	}
	return NULL;
}

/* A failure without a code gets a Sisimai pseudo code: "5.0.911". */
static void
pseudo_status(struct iw_bounce_rcpt *r, const char *text, const char *near,
    const char *reason)
{
	/* delay notices that carry no Action field */
	static const char *const delay[] = {
		"technical details of temporary failure",	/* Gmail */
		"this is a warning only",		/* Postfix */
		"message still undelivered",		/* Sendmail */
		"has not yet been delivered",		/* Exim */
	};
	int temp = r->reply_code / 100 == 4 ||
	    strcasecmp(r->action, "delayed") == 0;

	for (size_t i = 0; !temp && i < sizeof(delay) / sizeof(delay[0]);
	    i++)
		temp = iw_bounce_mime_find_ci(text, delay[i]) != NULL ||
		    (near != NULL &&
		    iw_bounce_mime_find_ci(near, delay[i]) != NULL);

	snprintf(r->status, sizeof(r->status), "%c.0.%s", temp ? '4' : '5',
	    iw_bounce_reason_pseudo(reason));
}

void
iw_bounce_reason_settle(struct iw_bounce_rcpt *r, const char *context,
    const char *near, int at_rcpt, const unsigned char *off)
{
	const char *text = context != NULL ? context : r->diagnostic;
	const char *at = read_codes(r, context), *reason;

	/* the reply, not what the relay said about it: "... said: 550 5.1.1
	 * ..." (a code at the end, qmail's "(#5.1.1)", keeps all of it) */
	for (int k = 4; text == r->diagnostic && at != NULL && k <= 5; k++)
		if (at >= r->diagnostic + k && iw_bounce_reason_reply_at(at - k,
		    r->diagnostic, at) >= 400)
			text = at - k;
	if (strcasecmp(r->action, "delivered") == 0 ||
	    strcasecmp(r->action, "relayed") == 0 ||
	    strcasecmp(r->action, "expanded") == 0 || r->status[0] == '2') {
		r->cls = IW_BOUNCE_DELIVERED;
		iw_strlcpy(r->reason, "delivered", sizeof(r->reason));
		return;
	}
	reason = decide(r, text, context, near, at_rcpt, off, &r->rule);
	if (reason == NULL)
		reason = "undefined";
	iw_strlcpy(r->reason, reason, sizeof(r->reason));
	if (r->status[0] == '\0')
		pseudo_status(r, text, near, reason);
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
