/*
 * whois: RFC 3912 client and per-registry answer parsers.  Given an IP it
 * asks the bootstrap server (IANA), follows `refer:`/`whois:` and ARIN
 * `ReferralServer:` chains and an APNIC or LACNIC answer's pointer to a
 * national registry (lib/whois_nir.c), and extracts the abuse mailbox of the most
 * specific network from the answering registry's format (RIPE, APNIC,
 * AFRINIC, ARIN, LACNIC).  Everything received is untrusted: parsers take
 * (buf, len), bound every length, and the address they return has passed
 * iw_mailbox_normalize().
 */
#ifndef IW_WHOIS_H
#define IW_WHOIS_H

#include <signal.h>
#include <stddef.h>

#include "util.h"

struct iw_ratelimit;
struct iw_metrics;

/* Where a named WHOIS server is really reached (config whois.hosts). */
struct iw_whois_host {
	char *name;		/* e.g. "whois.ripe.net" (lower case) */
	char *address;		/* "host:port" or "[v6]:port"; may be NULL */
	int concurrency;	/* queries in flight; 0 = registry default */
	double rate;		/* queries/s; 0 = unlimited, < 0 = default */
};

/*
 * The budget every daemon on one database shares (lib/budget.c through
 * lib/contact.c): reserve() a query start for server, interval_ms after
 * the last one anyone reserved: 0 and *wait_ms until it, 1 the server is
 * backed off for all (*wait_ms left), -1 it cannot say (why).  refused()
 * backs the server off for all for open_ms.  take()/give() hold one of
 * the server's query slots, so its concurrency holds for all daemons.
 */
struct iw_whois_budget {
	int (*reserve)(void *arg, const char *server, long long interval_ms,
	    long long *wait_ms, char *why, size_t wsz);
	void (*refused)(void *arg, const char *server, long long open_ms);
	/* take(): one of server's concurrency slots for all daemons:
	 * >= 0 the slot, -2 all busy, -1 it cannot say; give() returns it. */
	int (*take)(void *arg, const char *server, int concurrency);
	void (*give)(void *arg, const char *server, int slot);
	void *arg;
};

struct iw_whois_conf {
	const char *bootstrap;		/* "whois.iana.org" */
	const struct iw_whois_host *hosts;
	size_t nhosts;
	int timeout_ms;			/* connect and each read; default 10000 */
	size_t max_answer;		/* bytes; default 1 MiB */
	int max_referrals;		/* chain depth; default 5 */
	struct iw_ratelimit *limiter;	/* shared pacing; may be NULL */
	const struct iw_whois_budget *budget; /* across daemons; may be NULL */
	const volatile sig_atomic_t *stop; /* non-zero: stop waiting for a
					   query slot (shutdown); may be NULL */
	const char *const *registry_domains; /* mailboxes of a registry
					   itself (whois.registry_domains);
					   NULL: the defaults */
	size_t nregistry_domains;
	struct iw_metrics *metrics;	/* counts queries; may be NULL */
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
	IW_WHOIS_FMT_LACNIC,	/* LACNIC, registro.br, NIC Mexico */
	IW_WHOIS_FMT_JPNIC,	/* "a. [Network Number]", English (/e) */
	IW_WHOIS_FMT_KRNIC,	/* "[ Network Information ]" sections */
	IW_WHOIS_FMT_TWNIC,	/* "Netblock:" and contact blocks */
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
	int server_port;		/* of server; 0 = 43 */
	int leaf;			/* the network's status forbids more
					   specific registrations */
	char top_first[48];		/* least specific network of the */
	char top_last[48];		/* registry containing the IP */
	int refused;			/* TRANSIENT because the server
					   refused or throttled us */
	char auth_first[48];		/* the block the answering server */
	char auth_last[48];		/* was delegated by its referrer
					   (IANA's allocation, the referring
					   network); "" = unknown: the answer
					   is good for this IP only and must
					   not be cached for others */
	int clipped;			/* the claimed network was wider than
					   the delegation: net_ and top_ are
					   cut down to it */
	int latin1;			/* an answer was not UTF-8 and was read
					   as Latin-1 (raw is UTF-8 always) */
	char *raw;			/* last answer, NUL-terminated, owned;
					   valid UTF-8 */
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
	int leaf;			/* status forbids more specifics */
	char top_first[48];		/* least specific network listed */
	char top_last[48];
	char deleg_first[48];		/* with a referral: the block the */
	char deleg_last[48];		/* referred server answers for (IANA
					   inetnum, ARIN's referring network);
					   "" = not said */
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

/* The same, but the chain starts at server (a registry the cache knows
 * holds ip) instead of the bootstrap server.  auth_first..auth_last is
 * the block server is known to answer for (the cache cover that named
 * it); NULL: unknown, and the answer is then not cacheable.  The
 * bootstrap server itself answers for every address. */
int iw_whois_lookup_from(const struct iw_whois_conf *conf,
    const char *server, int port, const char *auth_first,
    const char *auth_last, const char *ip, struct iw_whois_result *res,
    struct iw_err *err);

void iw_whois_result_free(struct iw_whois_result *res);	/* frees raw only */

/*
 * One exchange with server under the limits (no referral followed,
 * nothing parsed): the answer, made valid UTF-8, in ans.  0 ok; -1 a
 * transient failure (why; *refused when the server refused or throttled
 * us, or the wait for a query slot was too long).
 */
struct iw_buf;
int iw_whois_ask(const struct iw_whois_conf *conf, const char *server,
    int port, const char *query, struct iw_buf *ans, int *refused,
    char *why, size_t wsz);

/*
 * More-specific listings: every registration a registry holds inside a
 * network (RIPE/APNIC/AFRINIC "-r -M first - last", ARIN "n + > CIDR").
 * complete says the listing can be trusted to hold all of them (an
 * explicit "no entries" counts; a truncated, throttled or unknown answer
 * does not).  Where the listing itself shows a network's abuse address
 * (RIPE's "% Abuse contact for" comment, ARIN's Org/Resource abuse POC)
 * it is returned, parsed exactly as a query for an address inside that
 * network and no more specific one would be.
 */
struct iw_whois_subnet {
	char first[48], last[48];
	char text[128];
	int has_contact;		/* email and source are set */
	char email[IW_WHOIS_ADDR_MAX];
	char source[128];
};

#define IW_WHOIS_LISTING_MAX 1024

struct iw_whois_listing {
	enum iw_whois_status status;	/* OK: nets valid; TRANSIENT */
	int complete;
	int refused;
	char query[160];
	char reason[256];
	struct iw_whois_subnet *nets;	/* owned */
	size_t n;
};

/* The query line for the listing, -1 when the registry has none. */
int iw_whois_listing_query(enum iw_whois_format fmt, const char *first,
    const char *last, char *out, size_t outsz);

/* Parse a listing answer for [first, last] (pure). 0 ok, -1 bad args or
 * out of memory. */
int iw_whois_parse_listing(enum iw_whois_format fmt, const char *first,
    const char *last, const char *buf, size_t len,
    struct iw_whois_listing *out);

/* Ask server for the listing.  0 when out->status is set, -1 on bad
 * arguments/out of memory. */
int iw_whois_more_specific(const struct iw_whois_conf *conf,
    const char *server, int port, const char *first, const char *last,
    struct iw_whois_listing *out, struct iw_err *err);
void iw_whois_listing_free(struct iw_whois_listing *l);

#endif
