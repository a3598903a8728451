/* fuzz-sources: lib/util.c lib/bounce.c lib/bounce_mime.c lib/bounce_reason.c lib/bounce_body.c lib/bounce_json.c */
/*
 * libFuzzer target for the bounce parser: any bytes in, no crash, no leak,
 * no read outside the input, and every string in the result terminated
 * within its field and (for diagnostics) valid UTF-8; the dry-run JSON
 * valid UTF-8; the RCPT reply classifier safe on any text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "bounce_json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
			free(t);
		}
	}
	free(copy);
	return 0;
}
