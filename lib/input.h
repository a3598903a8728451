/*
 * input: the `ipwarn enqueue` line format — CSV (or ';' / TAB separated),
 * one flagged IP a line:
 * IP[,evidence[,observed ISO-8601 time]].  Blank and '#' lines are skipped,
 * a leading `ip,...` header line is allowed.  The parser is a pure function
 * of one line's bytes; the caller counts lines and reports "LINE: reason".
 */
#ifndef IW_INPUT_H
#define IW_INPUT_H

#include <stddef.h>

#include "util.h"

#define IW_INPUT_EVIDENCE_MAX 512

enum iw_input_kind {
	IW_INPUT_RECORD,	/* rec is filled */
	IW_INPUT_SKIP,		/* blank, comment, or header line */
	IW_INPUT_BAD,		/* err says why */
};

struct iw_input_rec {
	char ip[48];				/* canonical (inet_ntop) */
	char evidence[IW_INPUT_EVIDENCE_MAX];	/* UTF-8, no controls */
	char observed[40];			/* normalised ISO-8601 or "" */
};

/*
 * Parse one line (without its line end; a trailing CR is tolerated).
 * first_record is 1 while no record has been seen yet (a header line is only
 * accepted then).
 */
enum iw_input_kind iw_input_parse_line(const char *buf, size_t len,
    int first_record, struct iw_input_rec *rec, struct iw_err *err);

/* The same for a file whose fields are separated by sep (',', ';' or
 * TAB); RFC 4180 quoting works the same way. */
enum iw_input_kind iw_input_parse_line_sep(const char *buf, size_t len,
    int first_record, char sep, struct iw_input_rec *rec,
    struct iw_err *err);

/* A file's separator, from its first record or header line: whichever of
 * ',', ';' and TAB ends the first field (',' when there is none). */
char iw_input_separator(const char *buf, size_t len);

/* One field of a split line: bytes [off, off + len) of the caller's store,
 * followed there by a NUL. */
struct iw_input_field {
	size_t off;
	size_t len;
};

/*
 * Split one line (without its line end) into at most maxf fields separated
 * by sep, with the quoting of iw_input_parse_line_sep (unquoted fields
 * trimmed).  The decoded fields go to store; storesz >= len + maxf always
 * suffices.  0 with *nf set, or -1 with the reason in err.
 */
int iw_input_split(const char *buf, size_t len, char sep, char *store,
    size_t storesz, struct iw_input_field *f, size_t maxf, size_t *nf,
    struct iw_err *err);

/*
 * Check and fill rec from an IP, an evidence text and an observation time
 * (may be empty), as one line would give them: the IP and time are trimmed,
 * the evidence is taken as is.  0, or -1 with the reason in err and rec
 * zeroed.
 */
int iw_input_record(const char *ip, size_t ipn, const char *ev, size_t evn,
    const char *t, size_t tn, struct iw_input_rec *rec, struct iw_err *err);

/* Canonicalise an IPv4/IPv6 address; -1 if buf is not one address. */
int iw_input_canon_ip(const char *buf, size_t len, char *out, size_t outsz);

/*
 * 0 if the canonical address ip can be a target; -1 with the reason in err
 * for addresses no abuse contact owns (unspecified, loopback, link-local,
 * multicast, broadcast).
 */
int iw_input_check_target(const char *ip, struct iw_err *err);

/* Validate an ISO-8601 date/time and normalise it for PostgreSQL: a date,
 * or date and time joined by 'T' or a blank, seconds and a fraction
 * optional, then Z, UTC, an offset (+HH, +HHMM, +HH:MM; a blank may come
 * before it) or nothing, which means UTC. */
int iw_input_parse_time(const char *buf, size_t len, char *out,
    size_t outsz, struct iw_err *err);

#endif
