/*
 * whois: RFC 3912 client and per-registry answer parsers.  Given an IP it
 * asks the bootstrap server (IANA), follows `refer:`/`whois:` and ARIN
 * `ReferralServer:` chains, and extracts the abuse mailbox of the most
 * specific network from the answering registry's format (RIPE, APNIC,
 * AFRINIC, ARIN, LACNIC).  Everything received is untrusted: parsers take
 * (buf, len), bound every length, and the address they return has passed
 * iw_mailbox_normalize().
 */
#ifndef IW_WHOIS_H
#define IW_WHOIS_H

#include <stddef.h>

#include "util.h"

/* Where a named WHOIS server is really reached (config whois.hosts). */
struct iw_whois_host {
	char *name;		/* e.g. "whois.ripe.net" (lower case) */
	char *address;		/* "host:port" or "[v6]:port" */
};

struct iw_whois_conf {
	const char *bootstrap;		/* "whois.iana.org" */
	const struct iw_whois_host *hosts;
	size_t nhosts;
	int timeout_ms;			/* connect and each read; default 10000 */
	size_t max_answer;		/* bytes; default 1 MiB */
	int max_referrals;		/* chain depth; default 5 */
};

enum iw_whois_status {
	IW_WHOIS_OK = 0,	/* email holds a valid abuse mailbox */
	IW_WHOIS_NOCONTACT,	/* permanent: no (valid) abuse address */
	IW_WHOIS_TRANSIENT,	/* network, timeout, throttling: try later */
};

enum iw_whois_format {
	IW_WHOIS_FMT_IANA,
	IW_WHOIS_FMT_RIPE,	/* RIPE, APNIC, AFRINIC: RPSL objects */
	IW_WHOIS_FMT_ARIN,
	IW_WHOIS_FMT_LACNIC,	/* LACNIC and registro.br */
	IW_WHOIS_FMT_UNKNOWN,
};

#define IW_WHOIS_ADDR_MAX 256
#define IW_WHOIS_CHAIN_MAX 512

struct iw_whois_result {
	enum iw_whois_status status;
	char email[IW_WHOIS_ADDR_MAX];	/* normalised mailbox when OK */
	char server[128];		/* the registry server that answered */
	char net_first[48];		/* matched network, first address */
	char net_last[48];		/* matched network, last address */
	char net_text[128];		/* as the registry wrote it */
	char source[128];		/* where the address came from, e.g.
					   "abuse-c AR123-RIPE abuse-mailbox" */
	char chain[IW_WHOIS_CHAIN_MAX];	/* "whois.iana.org > whois.arin.net" */
	char reason[256];		/* why not OK */
	char *raw;			/* last answer, NUL-terminated, owned */
	size_t raw_len;
};

/* Parsed view of one answer (pure function of the bytes). */
struct iw_whois_parsed {
	char referral[128];		/* next server name, "" if none */
	int referral_port;		/* 0 = default 43 */
	char email[IW_WHOIS_ADDR_MAX];
	char source[128];
	char net_first[48];
	char net_last[48];
	char net_text[128];
	int throttled;			/* answer says rate-limited/denied */
	char reason[256];		/* when no email */
};

/* Which format a server's answers are in, from its name. */
enum iw_whois_format iw_whois_format_for(const char *server);

/* The query line to send to server for ip (without CRLF). */
int iw_whois_query_line(enum iw_whois_format fmt, const char *ip,
    char *out, size_t outsz);

/* Parse one answer; ip is the address asked about (for most-specific). */
int iw_whois_parse(enum iw_whois_format fmt, const char *ip,
    const char *buf, size_t len, struct iw_whois_parsed *out);

/*
 * Resolve ip's abuse contact.  Returns 0 when res->status is set (any of
 * the three), -1 only on bad arguments/out of memory (err says why).
 */
int iw_whois_lookup(const struct iw_whois_conf *conf, const char *ip,
    struct iw_whois_result *res, struct iw_err *err);

void iw_whois_result_free(struct iw_whois_result *res);	/* frees raw only */

#endif
