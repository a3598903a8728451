/*
 * feed: what one `ipwarn enqueue` input file means, line by line.  It
 * decides the format from the first line that is not blank or a comment
 * (JSON lines when it starts with '{', else CSV with ',' ';' or TAB), finds
 * the columns by a header's names when there is one (Shadowserver-style
 * reports), and builds each row's evidence from an --evidence template.
 * Lines are read elsewhere (lines.h); the CSV fields come from input.h and
 * the JSON members from jsonl.h.
 *
 * Header: the first such line is a header when its first field is not an
 * IP address and one of its fields is named ip, ip_address, src_ip or
 * address (case-insensitive).  The IP comes from the first of those names
 * present, the observation time from timestamp, observed, time or
 * first_seen, the evidence from evidence.  A header whose IP column is the
 * first and that names no time or evidence column (`ip,reason`) keeps the
 * positional meaning (2nd column evidence, 3rd time) unless --evidence is
 * given.  Without a header the columns are positional.  A later line
 * whose IP column holds an IP column name (the header again, as in reports
 * joined with cat) is skipped.
 *
 * Template: "{name}" is the row's column of that name (case-insensitive),
 * "{{" and "}}" are literal braces.  The literal text before a placeholder
 * is left out when that placeholder is empty, the text after the last one
 * when the last is empty, and the result is trimmed: "{tag} on
 * {port}/{protocol}" gives "proxy on 3128/tcp", "proxy on 3128" without a
 * protocol, "proxy" without port and protocol.  For CSV every name must be
 * a header column (else IW_FEED_USAGE at the header); for JSON lines a name
 * a row lacks is empty.  Evidence longer than the limit is cut at a
 * character boundary.
 */
#ifndef IW_FEED_H
#define IW_FEED_H

#include <stddef.h>

#include "input.h"
#include "util.h"

#define IW_FEED_COLUMNS_MAX	512	/* fields of a CSV line, members of
					 * a JSON object */
#define IW_FEED_TEMPLATE_MAX	1024	/* bytes of an --evidence template */
#define IW_FEED_PLACEHOLDERS_MAX 32

enum iw_feed_format {
	IW_FEED_AUTO,		/* JSON lines if the first line starts '{' */
	IW_FEED_CSV,
	IW_FEED_JSONL,
};

enum iw_feed_kind {
	IW_FEED_RECORD,		/* rec is filled */
	IW_FEED_SKIP,		/* blank, comment, or header line */
	IW_FEED_BAD,		/* this line is refused; err says why */
	IW_FEED_USAGE,		/* the command line does not fit the input
				 * (an --evidence name the header lacks) */
};

struct iw_feed;

/* "csv", "jsonl" or "auto" -> *fmt; -1 for anything else. */
int iw_feed_format_parse(const char *s, enum iw_feed_format *fmt);

/* A reader for one file; tmpl (may be NULL) is the --evidence template.
 * -1 with the reason in err for a malformed template, -2 when out of
 * memory. */
int iw_feed_new(enum iw_feed_format fmt, const char *tmpl,
    struct iw_feed **out, struct iw_err *err);
void iw_feed_free(struct iw_feed *f);

/*
 * The file's next line buf[0..len), without its '\n' (a trailing CR, and a
 * UTF-8 BOM on the first line, are dropped), in file order.
 */
enum iw_feed_kind iw_feed_line(struct iw_feed *f, const char *buf,
    size_t len, struct iw_input_rec *rec, struct iw_err *err);

#endif
