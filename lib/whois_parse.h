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

/* An address or a network as [first, last]; v4 uses bytes 12..15. */
struct iw_whois_net {
	int af;			/* 4 or 6, 0 = none */
	unsigned char first[16];
	unsigned char last[16];
};

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

/*
 * What the national registries' parsers (whois_nir.c) share with the
 * others: the line and attribute readers, networks, and how a value
 * becomes the answer's network or mailbox.  The same rules as the RIRs'.
 */
int iw_whois_line(const char *buf, size_t len, size_t *pos, const char **l,
    size_t *ln);
int iw_whois_attr_split(const char *l, size_t ln, const char **k,
    size_t *kn, const char **v, size_t *vn);
const char *iw_whois_ci_find(const char *a, size_t an, const char *needle);
int iw_whois_ci_prefix(const char *a, size_t an, const char *pre);
int iw_whois_addr_parse(const char *s, size_t n, struct iw_whois_net *a);
int iw_whois_net_parse(const char *s, size_t n, struct iw_whois_net *out);
int iw_whois_net_contains(const struct iw_whois_net *n,
    const struct iw_whois_net *a);
int iw_whois_net_smaller(const struct iw_whois_net *a,
    const struct iw_whois_net *b);
void iw_whois_net_name(const struct iw_whois_net *n, char *out,
    size_t outsz);
void iw_whois_set_net(struct iw_whois_parsed *out,
    const struct iw_whois_net *n, const char *text, size_t tn);
void iw_whois_set_top(struct iw_whois_parsed *out,
    const struct iw_whois_net *n);
int iw_whois_take_mailbox(struct iw_whois_parsed *out, const char *what,
    const char *v, size_t vn);
void iw_whois_no_network(struct iw_whois_parsed *out, const char *buf,
    size_t len, const char *ip);
/* ip's most specific inetnum/inet6num object (RPSL, LACNIC): 1 found. */
int iw_whois_best_inetnum(const char *buf, size_t len,
    const struct iw_whois_net *ip, const char **o, size_t *on,
    struct iw_whois_net *n);

/* The national registries' answers (whois_nir.c), as iw_whois_parse. */
int iw_whois_parse_jpnic(const struct iw_whois_net *ip, const char *ipstr,
    const char *buf, size_t len, struct iw_whois_parsed *out);
int iw_whois_parse_krnic(const struct iw_whois_net *ip, const char *ipstr,
    const char *buf, size_t len, struct iw_whois_parsed *out);
int iw_whois_parse_twnic(const struct iw_whois_net *ip, const char *ipstr,
    const char *buf, size_t len, struct iw_whois_parsed *out);

/* JPNIC's answer for a network lists the networks inside it ("More
 * Specific Info."): each, and the network itself, goes to add (-1 stops:
 * full).  0; 1 the answer has no such list; -1 when add said so. */
typedef int (*iw_whois_net_fn)(void *arg, const struct iw_whois_net *n,
    const char *text, size_t tn);
int iw_whois_jpnic_nets(const char *buf, size_t len, iw_whois_net_fn add,
    void *arg);

#endif
