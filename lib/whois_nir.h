/*
 * whois_nir: the national internet registries (NIRs) under APNIC and
 * LACNIC, and the registries' own addresses.  APNIC and LACNIC answer for
 * NIR-managed space with the NIR's copy or pointer, which names the NIR's
 * hostmaster or IRT; the network's abuse desk is at the NIR, in its own
 * format and encoding.  This module knows which NIR an RIR answer points
 * to, that NIR's server, query syntax and encoding, its answer formats
 * (JPNIC, KRNIC, TWNIC; CNNIC and IDNIC answer in RPSL, registro.br and
 * NIC Mexico in LACNIC's format), and which mailboxes belong to a
 * registry rather than to a network (whois.registry_domains).
 */
#ifndef IW_WHOIS_NIR_H
#define IW_WHOIS_NIR_H

#include <stddef.h>

#include "util.h"
#include "whois.h"

struct iw_whois_nir {
	const char *name;		/* "JPNIC" */
	const char *server;		/* its port-43 server; NULL: none that
					   answers for networks is known */
	const char *rir;		/* the RIR whose answers point to it
					   (a part of that RIR's server name) */
	enum iw_whois_format fmt;
	const char *query;		/* query line, "%s" = the IP */
	const char *charset;		/* iconv name of its legacy encoding,
					   NULL: UTF-8 (Latin-1 fallback) */
	const char *const *markers;	/* in an RIR object: names the NIR */
};

/* The NIR whose server is server (case-insensitive), or NULL. */
const struct iw_whois_nir *iw_whois_nir_by_server(const char *server);

/*
 * The NIR managing ip's most specific network in an answer of rir_server
 * (RPSL or LACNIC format): an attribute of that network (netname, descr,
 * remarks, mnt-by, mnt-irt, owner, ...) names one of the NIR's markers,
 * and the NIR is under that RIR.  NULL: none, or the NIR has no server.
 */
const struct iw_whois_nir *iw_whois_nir_detect(const char *rir_server,
    const char *ip, const char *buf, size_t len);

/* The query line for ip at nir's server (no CRLF); -1 too long. */
int iw_whois_nir_query_line(const struct iw_whois_nir *nir, const char *ip,
    char *out, size_t outsz);

/*
 * An answer of server in its legacy encoding, converted to UTF-8 in
 * place (ISO-2022-JP, EUC-JP, EUC-KR, Big5, GB2312/GB18030 with glibc
 * iconv).  *decoded is set to 1 when it was converted.  Text that is
 * UTF-8 already, or that does not convert cleanly, is left alone (the
 * caller's Latin-1 fallback then applies).  0, or -1 out of memory.
 */
int iw_whois_nir_decode(const char *server, struct iw_buf *ans,
    int *decoded);

/* The default of whois.registry_domains, NULL-terminated. */
extern const char *const iw_whois_registry_domains_default[];

/*
 * 1 if email's domain is one of domains[0..n) or below one (a registry's
 * hostmaster, IRT or helpdesk rather than a network's abuse desk), with
 * the listed domain copied to dom; else 0.
 */
int iw_whois_registry_address(const char *const *domains, size_t n,
    const char *email, char *dom, size_t domsz);

/* The same for conf's whois.registry_domains (NULL: the defaults). */
int iw_whois_registry_run(const struct iw_whois_conf *conf,
    const char *email, char *dom, size_t domsz);

#endif
