/*
 * Reading a file of flagged IPs the way `enqueue` does (lib/feed.c says
 * what a line means), for enqueue and observe.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int
cli_open_input(const char *path, FILE **fp)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		*fp = stdin;
		return 0;
	}
	*fp = fopen(path, "r");
	if (*fp == NULL) {
		cli_error("%s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	return 0;
}

/* The next line that is not skipped into in->kind, rec, why and lineno
 * (an over-long line is BAD): 1, 0 at the end, -1 on a read error. */
int
cli_in_next(struct cli_in *in)
{
	const char *line;
	size_t len;
	int too_long, r;

	if (in->held) {
		in->held = 0;
		return 1;
	}
	while ((r = iw_lines_next(in->lr, &line, &len, &too_long)) == 1) {
		in->lineno++;
		if (too_long) {
			in->kind = IW_FEED_BAD;
			iw_err_set(&in->why, "line longer than "
			    STR(IW_LINES_MAX) " bytes; skipped");
			return 1;
		}
		in->kind = iw_feed_line(in->f, line, len, &in->rec, &in->why);
		if (in->kind != IW_FEED_SKIP)
			return 1;
	}
	return r;
}

