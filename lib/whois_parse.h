/*
 * whois_parse.h: what the WHOIS client (whois.c) and the registries'
 * parsers (whois_parse.c) share inside the whois module, beyond the
 * public whois.h.  Nothing outside lib/whois*.c includes it.
 */
#ifndef IW_WHOIS_PARSE_H
#define IW_WHOIS_PARSE_H

#include <stddef.h>

#include "whois.h"

/* The start of a RIPE-style reason when a network has no abuse contact
 * (the client then asks for the network's irt). */
#define IW_WHOIS_NO_ABUSE "no abuse contact registered for "

/* 1 if the answer says we are rate-limited or denied. */
int iw_whois_throttled(const char *buf, size_t len);

/* The mnt-irt handle of ip's most specific network in a RIPE-style
 * answer, else of the nearest enclosing network of the same registry
 * (from: that network, "" when the handle is the network's own); 0, or
 * -1 when there is none (or it is not a plain handle). */
int iw_whois_irt_handle(const char *ip, const char *buf, size_t len,
    char *out, size_t outsz, char *from, size_t fromsz);

/* The irt object handle's abuse-mailbox in an answer to "-T irt handle":
 * 1 with out->email and ->source set, 0 none, -1 invalid (out->reason). */
int iw_whois_parse_irt(const char *buf, size_t len, const char *handle,
    struct iw_whois_parsed *out);

/*
 * Address ranges as text ("first", "last", sz bytes each), for the
 * delegated authority of a lookup.  _whole: every address of ip's family
 * (-1: ip is not an address).  _narrow: first..last becomes its
 * intersection with dfirst..dlast when that block holds ip, else -1 and
 * nothing changes.  _clip: first..last cut down to afirst..alast; 0 it was
 * inside, 1 cut, -1 no overlap (or not ranges).
 */
int iw_whois_range_whole(const char *ip, char *first, char *last,
    size_t sz);
int iw_whois_range_narrow(char *first, char *last, size_t sz,
    const char *dfirst, const char *dlast, const char *ip);
int iw_whois_range_clip(char *first, char *last, size_t sz,
    const char *afirst, const char *alast);

#endif
