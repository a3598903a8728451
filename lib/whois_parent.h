/*
 * whois_parent: the enclosing, less specific registration of a network
 * and its abuse contact -- the first fallback when a network's own abuse
 * address does not work (lib/fallback.c, daemon/fallback.c).
 *
 *   RIPE, APNIC, AFRINIC  "-r -l NETWORK": RPSL's one-level-less-specific
 *                         lookup (the first enclosing inetnum/inet6num,
 *                         exact match excluded), parsed as any answer;
 *                         no abuse address but a mnt-irt: "-r -T irt
 *                         HANDLE", as a lookup does;
 *   ARIN                  "n + IP" again for the matched network's
 *                         "Parent:" handle, then "n + ! HANDLE";
 *   LACNIC                no less-specific query: none (the chain goes
 *                         on to the national CERT).
 *
 * Answers are untrusted like every WHOIS answer: the parent must hold the
 * IP, be wider than the network it is the parent of, and name a valid
 * mailbox (iw_whois_parse checks it).
 */
#ifndef IW_WHOIS_PARENT_H
#define IW_WHOIS_PARENT_H

#include <stddef.h>

#include "whois.h"

struct iw_whois_parent {
	enum iw_whois_status status;	/* OK: email is the parent's */
	int refused;			/* TRANSIENT because throttled */
	char email[IW_WHOIS_ADDR_MAX];
	char source[128];		/* "abuse-c ... abuse-mailbox" */
	char network[128];		/* the parent, as the registry wrote
					   it */
	char query[200];		/* the last query sent */
	char reason[256];		/* why not OK */
};

/*
 * The RPSL query line for the network text a registry wrote ("a - b" or a
 * prefix); -1 when it holds anything else (it came from outside).
 */
int iw_whois_parent_query(const char *network, char *out, size_t outsz);

/*
 * ARIN: the Parent: handle ("NET-198-0-0-0-0") of the most specific
 * NetRange record of an answer holding ip.  0 and the handle, -1 none
 * (or not a plain handle).  Pure: takes (buf, len).
 */
int iw_whois_arin_parent(const char *ip, const char *buf, size_t len,
    char *handle, size_t hsz);

/*
 * Ask server (where the IP's network was found) for the parent of
 * network, the registration ip was matched to.  0 when out->status is set,
 * -1 on bad arguments.
 */
int iw_whois_find_parent(const struct iw_whois_conf *conf,
    const char *server, const char *ip, const char *network,
    struct iw_whois_parent *out);

#endif
