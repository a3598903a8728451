/* fuzz-sources: lib/util.c lib/bounce.c lib/bounce_mime.c lib/bounce_reason.c lib/bounce_body.c lib/bounce_json.c */
/*
 * libFuzzer target for the bounce parser: any bytes in, no crash, no leak,
 * no read outside the input, and every string in the result terminated
 * within its field and (for diagnostics) valid UTF-8, every reason a
 * known name; the dry-run JSON valid UTF-8; the RCPT reply classifier,
 * the RFC 2047 decoder and the charset converter safe on any text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "bounce_json.h"
#include "bounce_mime.h"
#include "bounce_reason.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encoded words and charsets: the output must stay bounded UTF-8-safe. */
static void
fuzz_text(const char *t, size_t size)
{
	static const char *const cs[] = { "ISO-2022-JP", "Shift_JIS",
	    "iso-8859-1", "windows-1252", "utf-8", "x-unknown" };
	struct iw_buf o = IW_BUF_INIT;

	if (iw_bounce_mime_words(&o, t, size) == 0 && o.len > 8 * size + 64)
		abort();
	iw_buf_free(&o);
	if (iw_bounce_mime_to_utf8(&o, cs[size % 6], t, size) == 0 &&
	    o.len > 8 * size + 64)
		abort();
	iw_buf_free(&o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_bounce *b = NULL;
	struct iw_err err;
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	/* an exact-size heap copy lets ASan catch any read past the end */
	memcpy(copy, data, size);
	if (iw_bounce_parse(copy, size, &b, &err) == 0) {
		if (b->nrcpt > IW_BOUNCE_MAX_RCPT)
			abort();
		for (size_t i = 0; i < b->nrcpt; i++) {
			const struct iw_bounce_rcpt *r = &b->rcpt[i];

			if (memchr(r->diagnostic, '\0',
			    sizeof(r->diagnostic)) == NULL ||
			    !iw_utf8_valid(r->diagnostic, strlen(r->diagnostic)))
				abort();
			if (memchr(r->address, '\0', sizeof(r->address)) == NULL)
				abort();
			if (memchr(r->reason, '\0', sizeof(r->reason)) == NULL ||
			    (r->reason[0] != '\0' &&
			    iw_bounce_reason_class(r->reason) ==
			    IW_BOUNCE_UNDETERMINED &&
			    strcmp(r->reason, "undefined") != 0 &&
			    strcmp(r->reason, "delivered") != 0 &&
			    strcmp(r->reason, "vacation") != 0 &&
			    strcmp(r->reason, "feedback") != 0))
				abort();
		}
		(void)iw_bounce_class_name(b->cls);
		{
			/* the dry-run JSON must be valid UTF-8 whatever came in */
			struct iw_buf j = IW_BUF_INIT;

			if (iw_bounce_json(b, 0, 0, &j) == 0 &&
			    !iw_utf8_valid(j.data, j.len))
				abort();
			iw_buf_free(&j);
		}
		iw_bounce_free(b);
	}
	{
		/* a relay's reply to RCPT, as the send path classifies it */
		char *t = malloc(size + 1);

		if (t != NULL) {
			memcpy(t, data, size);
			t[size] = '\0';
			(void)iw_bounce_classify_status(550, "5.1.1", t);
			(void)iw_bounce_classify_status(0, t, t);
			fuzz_text(t, size);
			free(t);
		}
	}
	free(copy);
	return 0;
}
