/*
 * lines: a bounded line reader for `ipwarn enqueue`.  The buffer holds the
 * longest allowed line plus one read's worth; lines are found with memchr
 * and handed out in place, so reading costs one copy per buffer refill, not
 * one allocation per line.  An over-long line is discarded as it streams by.
 */
#include "lines.h"

#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536

struct iw_lines {
	FILE *fp;
	size_t max;
	char *buf;
	size_t size;
	size_t start, end;	/* unread bytes are buf[start..end) */
	int eof;
};

struct iw_lines *
iw_lines_new(FILE *fp, size_t max)
{
	struct iw_lines *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->fp = fp;
	l->max = max;
	l->size = max + 1 + READ_CHUNK;
	if ((l->buf = malloc(l->size)) == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

void
iw_lines_free(struct iw_lines *l)
{
	if (l == NULL)
		return;
	free(l->buf);
	free(l);
}

/* Move the unread bytes to the front and read more; 0, or -1 on error. */
static int
refill(struct iw_lines *l)
{
	size_t n;

	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	n = fread(l->buf + l->end, 1, l->size - l->end, l->fp);
	l->end += n;
	if (n == 0) {
		if (ferror(l->fp))
			return -1;
		l->eof = 1;
	}
	return 0;
}

/* Throw away the rest of an over-long line, up to and with its '\n'. */
static int
discard_line(struct iw_lines *l)
{
	for (;;) {
		char *nl = memchr(l->buf + l->start, '\n', l->end - l->start);

		if (nl != NULL) {
			l->start = (size_t)(nl - l->buf) + 1;
			return 0;
		}
		l->start = l->end = 0;
		if (l->eof)
			return 0;
		if (refill(l) != 0)
			return -1;
	}
}

int
iw_lines_next(struct iw_lines *l, const char **line, size_t *len,
    int *too_long)
{
	*too_long = 0;
	*len = 0;
	for (;;) {
		size_t avail = l->end - l->start;
		char *nl = memchr(l->buf + l->start, '\n', avail);

		if (nl != NULL || (l->eof && avail > 0)) {
			size_t n = nl != NULL ? (size_t)(nl - l->buf) -
			    l->start : avail;

			if (n > l->max) {
				*too_long = 1;
				return discard_line(l) == 0 ? 1 : -1;
			}
			*line = l->buf + l->start;
			*len = n;
			l->start += n + (nl != NULL);
			return 1;
		}
		if (l->eof)
			return 0;
		if (avail > l->max) {
			*too_long = 1;
			return discard_line(l) == 0 ? 1 : -1;
		}
		if (refill(l) != 0)
			return -1;
	}
}
