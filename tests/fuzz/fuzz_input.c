/* fuzz-sources: lib/util.c lib/input.c */
/*
 * libFuzzer target for the enqueue line parser: any bytes, with and without
 * the first-record flag, must give a well-formed result (NUL-terminated
 * fields, a record only with a canonical IP, a reason only for BAD) and
 * never read outside the line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size, int first)
{
	struct iw_input_rec rec;
	struct iw_err err;
	enum iw_input_kind k;
	char *copy;
	char canon[48];

	/* An exact-size heap copy lets ASan catch reads past the line. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return;
	if (size > 0)
		memcpy(copy, data, size);
	err.msg[0] = '\0';
	/* Every separator a file may use, the one it would be read with. */
	k = iw_input_parse_line_sep(copy, size, first,
	    iw_input_separator(copy, size), &rec, &err);
	if (memchr(rec.ip, '\0', sizeof(rec.ip)) == NULL ||
	    memchr(rec.evidence, '\0', sizeof(rec.evidence)) == NULL ||
	    memchr(rec.observed, '\0', sizeof(rec.observed)) == NULL)
		abort();
	switch (k) {
	case IW_INPUT_RECORD:
		/* The canonical form is a fixed point. */
		if (iw_input_canon_ip(rec.ip, strlen(rec.ip), canon,
		    sizeof(canon)) != 0 || strcmp(canon, rec.ip) != 0)
			abort();
		if (!iw_utf8_valid(rec.evidence, strlen(rec.evidence)))
			abort();
		break;
	case IW_INPUT_BAD:
		if (err.msg[0] == '\0' || rec.ip[0] != '\0')
			abort();
		for (const char *p = err.msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		break;
	case IW_INPUT_SKIP:
		break;
	default:
		abort();
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, 0);
	check(data, size, 1);
	return 0;
}
