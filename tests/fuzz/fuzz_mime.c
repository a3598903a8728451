/* fuzz-sources: lib/util.c lib/mime.c lib/mime_decode.c */
/*
 * libFuzzer target for iw_mime_parse_address (outside text: configuration
 * and WHOIS abuse contacts), and for the message built from what it
 * accepts: whatever the input, an accepted address is a normalised mailbox
 * and a display name without line breaks, and the message it yields is
 * pure ASCII with CRLF line ends, no line over 78 columns unless it holds
 * an address too long for that (a mailbox cannot be folded).
 * Also iw_mime_decode_text: on any input its output is bounded and free of
 * control characters but LF and TAB; a message built with the input as
 * letter and as attachment decodes back to that input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "mime_decode.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_message(const char *from, size_t addrlen)
{
	struct iw_mime_msg m = {
		NULL, NULL, "abuse@example.net", "fuzz",
		"<1.fuzz@example.org>", 0, NULL, NULL, 0, NULL,
	};
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err;
	size_t col = 0, max = addrlen + 8 > 78 ? addrlen + 8 : 78;

	m.from = from;
	if (iw_mime_build(&m, "x\n", 2, &out, &err) != 0)
		abort();	/* it parsed, so it must build */
	for (size_t i = 0; i < out.len; i++) {
		unsigned char c = (unsigned char)out.data[i];

		if (c >= 0x80 || c == 0)
			abort();
		if (c == '\n') {
			if (i == 0 || out.data[i - 1] != '\r')
				abort();
			col = 0;
			continue;
		}
		if (c == '\r' && out.data[i + 1] != '\n')
			abort();
		if (c != '\r' && ++col > max)
			abort();
	}
	iw_buf_free(&out);
}

/* Output of iw_mime_decode_text: bounded, no controls but LF and TAB. */
static void
check_decoded(const struct iw_buf *out, size_t inlen)
{
	if (out->len > inlen + 16 * 200 + 64)
		abort();
	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			abort();
	}
}

/* Text that the display shows as it is: UTF-8, no control characters. */
static int
shown_as_is(const char *s, size_t n)
{
	if (!iw_utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ||
		    (c == 0xc2 && i + 1 < n &&
		    (unsigned char)s[i + 1] < 0xa0))
			return 0;
	}
	return 1;
}

/* Build with s as letter and attachment; decoding must give both back. */
static void
check_roundtrip(const char *s, size_t n)
{
	struct iw_mime_attachment a = { "f.txt", "text/plain", s, n };
	struct iw_mime_msg m = {
		"a@example.org", NULL, "abuse@example.net", "fuzz",
		"<1.fuzz@example.org>", 0, NULL, NULL, 0, &a,
	};
	struct iw_buf msg = IW_BUF_INIT, out = IW_BUF_INIT, want = IW_BUF_INIT;
	struct iw_err err;
	const char *body;

	if (n == 0 || s[n - 1] != '\n' || !shown_as_is(s, n))
		return;
	if (iw_mime_build(&m, s, n, &msg, &err) != 0 ||
	    iw_mime_decode_text(msg.data, msg.len, &out, &err) != 0)
		abort();
	check_decoded(&out, msg.len);
	if (iw_buf_append(&want, s, n) != 0 ||
	    iw_buf_puts(&want, "\n--- attachment f.txt (text/plain) ---\n")
	    != 0 || iw_buf_append(&want, s, n) != 0)
		abort();
	body = strstr(out.data, "\n\n");
	if (body == NULL || strcmp(body + 2, want.data) != 0)
		abort();
	iw_buf_free(&msg);
	iw_buf_free(&out);
	iw_buf_free(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, name[1024], addr[256], again[256];
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err;

	if (size > 4096)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (iw_mime_parse_address(s, name, sizeof(name), addr, sizeof(addr),
	    &err) == 0) {
		if (strpbrk(name, "\r\n") != NULL ||
		    !iw_utf8_valid(name, strlen(name)))
			abort();
		if (iw_mailbox_normalize(addr, strlen(addr), again,
		    sizeof(again), &err) != 0 || strcmp(addr, again) != 0)
			abort();
		check_message(s, strlen(addr));
	}
	/* tiny output buffers must be refused, never overrun */
	(void)iw_mime_parse_address(s, name, 2, addr, 4, &err);
	if (iw_mime_decode_text((const char *)data, size, &out, &err) == 0)
		check_decoded(&out, size);
	iw_buf_free(&out);
	check_roundtrip(s, size);
	free(s);
	return 0;
}
