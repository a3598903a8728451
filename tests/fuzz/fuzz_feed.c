/* fuzz-sources: lib/util.c lib/input.c lib/jsonl.c lib/feed.c */
/*
 * libFuzzer target for the enqueue file mapping: the input is split into
 * lines and read as one file, in every format, with and without an
 * --evidence template; every record must hold a canonical IP and evidence
 * that is valid UTF-8 within the limit, every refusal a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(struct iw_feed *f, const char *line, size_t len)
{
	struct iw_input_rec rec;
	struct iw_err err;
	char canon[48];
	char *copy = malloc(len ? len : 1);

	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, line, len);
	err.msg[0] = '\0';
	switch (iw_feed_line(f, copy, len, &rec, &err)) {
	case IW_FEED_RECORD:
		if (memchr(rec.evidence, '\0', sizeof(rec.evidence)) == NULL ||
		    memchr(rec.observed, '\0', sizeof(rec.observed)) == NULL ||
		    iw_input_canon_ip(rec.ip, strlen(rec.ip), canon,
		    sizeof(canon)) != 0 || strcmp(canon, rec.ip) != 0 ||
		    !iw_utf8_valid(rec.evidence, strlen(rec.evidence)))
			abort();
		break;
	case IW_FEED_BAD:
	case IW_FEED_USAGE:
		if (err.msg[0] == '\0')
			abort();
		break;
	case IW_FEED_SKIP:
		break;
	default:
		abort();
	}
	free(copy);
}

static void
run(enum iw_feed_format fmt, const char *tmpl, const uint8_t *data,
    size_t size)
{
	struct iw_feed *f;
	struct iw_err err;
	size_t start = 0;

	if (iw_feed_new(fmt, tmpl, &f, &err) != 0)
		abort();
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			check_line(f, (const char *)data + start, i - start);
			start = i + 1;
		}
	}
	iw_feed_free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(IW_FEED_AUTO, NULL, data, size);
	run(IW_FEED_CSV, "{tag} on {port}/{protocol}", data, size);
	run(IW_FEED_JSONL, "{tag} on {port}/{protocol}", data, size);
	return 0;
}
