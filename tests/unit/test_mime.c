/*
 * Unit tests for lib/mime: RFC 2047 subjects and display names decode back
 * to what went in, quoted-printable stays within 76 columns without
 * splitting a character, nothing with a CR, LF or broken UTF-8 reaches a
 * header, and the message uses CRLF throughout; an attachment makes a
 * multipart/mixed message, and iw_mime_decode_text shows a built message
 * as text.  The decoders here are deliberately independent of lib/mime.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "mime_decode.h"
#include "util.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes quoted-printable (CRLF lines, "=" soft breaks) to LF text. */
static char *
qp_decode(const char *s, size_t n)
{
	struct iw_buf b = IW_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' &&
		    s[i + 2] == '\n') {
			i += 2;
		} else if (s[i] == '=') {
			int hi, lo;

			assert_true(i + 2 < n + 0 || i + 2 == n);
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			assert_true(hi >= 0 && lo >= 0);
			iw_buf_putc(&b, (char)(hi * 16 + lo));
			i += 2;
		} else if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			iw_buf_putc(&b, '\n');
			i++;
		} else
			iw_buf_putc(&b, s[i]);
	}
	return iw_buf_steal(&b);
}

/* Decodes one RFC 2047 Q encoded word's payload. */
static void
q_decode(const char *p, size_t n, struct iw_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '_')
			iw_buf_putc(out, ' ');
		else if (p[i] == '=') {
			assert_true(i + 2 < n);
			iw_buf_putc(out, (char)(hexval(p[i + 1]) * 16 +
			    hexval(p[i + 2])));
			i += 2;
		} else
			iw_buf_putc(out, p[i]);
	}
}

/*
 * Unfolds a header value and decodes encoded words; white space between
 * two encoded words is dropped (RFC 2047 6.2).  Checks each word <= 75.
 */
static char *
header_decode(const char *v)
{
	struct iw_buf unf = IW_BUF_INIT, out = IW_BUF_INIT;
	const char *p;
	int prev_word = 0;

	for (p = v; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			assert_true(p[2] == ' ' || p[2] == '\t');
			p++;
			continue;
		}
		iw_buf_putc(&unf, *p);
	}
	p = unf.data != NULL ? unf.data : "";
	while (*p != '\0') {
		const char *ws = p, *end;

		while (*p == ' ')
			p++;
		if (strncmp(p, "=?UTF-8?Q?", 10) == 0 &&
		    (end = strstr(p + 10, "?=")) != NULL) {
			assert_true((size_t)(end + 2 - p) <= 75);
			if (!prev_word)
				iw_buf_append(&out, ws, (size_t)(p - ws));
			q_decode(p + 10, (size_t)(end - p - 10), &out);
			p = end + 2;
			prev_word = 1;
			continue;
		}
		iw_buf_append(&out, ws, (size_t)(p - ws));
		while (*p != '\0' && *p != ' ')
			iw_buf_putc(&out, *p++);
		prev_word = 0;
	}
	iw_buf_free(&unf);
	return iw_buf_steal(&out);
}

/* The value of header name (folded lines included), or NULL. */
static char *
get_header(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t nl = strlen(name);
	const char *p = msg;

	assert_non_null(end);
	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e = eol;

			while (*v == ' ')
				v++;
			while (e[2] == ' ' || e[2] == '\t')
				e = strstr(e + 2, "\r\n");
			return iw_strndup(v, (size_t)(e - v));
		}
		p = eol + 2;
	}
	return NULL;
}

static const struct iw_mime_msg base = {
	"Secure Your Server <secure@example.org>",
	"secure@example.org",
	"abuse@Example.NET",
	"Open relay at 192.0.2.1",
	"<20261123.1.abc@example.org>",
	1795431571,	/* Mon, 23 Nov 2026 10:59:31 +0000 */
	"da",
	NULL,
	0,
	NULL,
};

static char *
build(const struct iw_mime_msg *m, const char *body)
{
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err = { "" };

	if (iw_mime_build(m, body, strlen(body), &out, &err) != 0)
		fail_msg("build: %s", err.msg);
	return iw_buf_steal(&out);
}

static void
assert_header_lines_max_78(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n"), *p = msg;

	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if (eol - p > 78)
			fail_msg("header line of %d: %.*s", (int)(eol - p),
			    (int)(eol - p), p);
		p = eol + 2;
	}
}

static void
test_subject_rfc2047_roundtrip(void **state)
{
	static const char *const subjects[] = {
		"Åbent mail relay eller åben proxy server på 192.0.2.1",
		"Åpne e-postservere eller åpne proxyservere på 12 IP-adresser",
		"Offene Relay-Mail- oder Proxyserver unter 3 IP-Adressen",
		"ascii =?UTF-8?Q?looks_encoded?= stays literal",
		"emoji \xf0\x9f\x93\xa7 and _under_score? and =equals",
		"øøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøø"
		"øøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøøø end",
		"Open relays at 3 IP addresses, a plain subject that is long "
		"enough to need folding at a space somewhere",
		"Averylongwordwithoutanyspaceatallwhichcannotbefoldedanywhereat"
		"allsoitmustbeencoded",
		" leading and trailing space ",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(subjects) / sizeof(*subjects); i++) {
		struct iw_mime_msg m = base;
		char *msg, *raw, *dec;

		m.subject = subjects[i];
		msg = build(&m, "x\n");
		assert_header_lines_max_78(msg);
		raw = get_header(msg, "Subject");
		assert_non_null(raw);
		for (const char *c = raw; *c != '\0'; c++)
			assert_true((unsigned char)*c < 0x80);
		dec = header_decode(raw);
		assert_string_equal(dec, subjects[i]);
		free(raw);
		free(dec);
		free(msg);
	}
}

static void
test_ascii_subject_stays_readable(void **state)
{
	char *msg;

	(void)state;
	msg = build(&base, "x\n");
	assert_non_null(strstr(msg, "\r\nSubject: Open relay at 192.0.2.1\r\n"));
	free(msg);
}

static void
test_header_encode_api_folds(void **state)
{
	struct iw_buf out = IW_BUF_INIT;
	char *dec;
	const char *v = "Åbne mail relays eller åbne proxy servere på 42 "
	    "IP-adresser hos jeres organisation";

	(void)state;
	assert_int_equal(iw_mime_header_encode(v, 7, &out), 0);
	{
		const char *p = out.data, *eol;
		size_t col = 9;

		while ((eol = strstr(p, "\r\n")) != NULL) {
			assert_true(col + (size_t)(eol - p) <= 78);
			p = eol + 2;
			col = 0;
		}
		assert_true(col + strlen(p) <= 78);
	}
	dec = header_decode(out.data);
	assert_string_equal(dec, v);
	free(dec);
	iw_buf_free(&out);
	assert_int_equal(iw_mime_header_encode("a\r\nb", 7, &out), -1);
	assert_int_equal(iw_mime_header_encode("bad \xc3", 7, &out), -1);
}

/* Every line <= 76, and decoding gives back the body with LF lines. */
static void
check_qp(const char *body)
{
	struct iw_buf out = IW_BUF_INIT;
	const char *p;
	char *dec;

	assert_int_equal(iw_mime_qp_encode(body, strlen(body), &out), 0);
	for (p = out.data; p != NULL && *p != '\0';) {
		const char *eol = strstr(p, "\r\n");
		size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (n > 76)
			fail_msg("QP line of %zu: %.*s", n, (int)n, p);
		/* no line ends in white space (it would be lost) */
		assert_true(n == 0 || (p[n - 1] != ' ' && p[n - 1] != '\t'));
		/* a soft break never splits a character's =XX run */
		if (n > 0 && p[n - 1] == '=' && eol != NULL) {
			const char *q = eol + 2;

			if (q[0] == '=' && hexval(q[1]) >= 0) {
				int b = hexval(q[1]) * 16 + hexval(q[2]);

				assert_true((b & 0xc0) != 0x80);
			}
		}
		p = eol != NULL ? eol + 2 : p + n;
	}
	dec = qp_decode(out.data != NULL ? out.data : "", out.len);
	assert_string_equal(dec, body);
	free(dec);
	iw_buf_free(&out);
}

static void
test_qp_lines_at_most_76(void **state)
{
	struct iw_buf b = IW_BUF_INIT;

	(void)state;
	for (int i = 0; i < 300; i++)
		iw_buf_puts(&b, i % 7 == 0 ? "ø" : i % 11 == 0 ? "= " :
		    i % 13 == 0 ? "\xf0\x9f\x93\xa7" : "ab ");
	iw_buf_puts(&b, "\n\nVi sender denne e-mail som en del af "
	    "“Operation gør din computer sikker”, der er et fælles projekt "
	    "med deltagelse af United States Federal Trade Commission\n");
	check_qp(b.data);
	for (size_t shift = 0; shift < 80; shift++) {
		struct iw_buf c = IW_BUF_INIT;

		for (size_t k = 0; k < shift; k++)
			iw_buf_putc(&c, 'x');
		iw_buf_puts(&c, "æøå€\xf0\x9f\x93\xa7æøå€æøå€æøå€æøå€æøå€"
		    "æøå€æøå€æøå€æøå€æøå€ \n");
		check_qp(c.data);
		iw_buf_free(&c);
	}
	iw_buf_free(&b);
}

/* Random lines of every kind of byte the encoder treats apart: each must
 * round-trip, and a soft break may only come when the next token would
 * not have fitted (at most 12 columns: one 4-byte character). */
static void
test_qp_random_lines(void **state)
{
	static const char *const piece[] = { "a", "Z", "0", " ", "\t", "=",
		".", "From ", "ø", "€", "\xf0\x9f\x93\xa7", "\x7f", "~", "\n" };
	unsigned seed = 20261123;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		struct iw_buf b = IW_BUF_INIT, out = IW_BUF_INIT;
		int n = rand_r(&seed) % 200;
		const char *p;

		for (int i = 0; i < n; i++) {
			/* mostly plain letters, as in a real letter */
			int k = rand_r(&seed) % 40;

			iw_buf_puts(&b, k < 14 ? piece[k] : "x");
		}
		check_qp(b.data != NULL ? b.data : "");
		assert_int_equal(iw_mime_qp_encode(b.data != NULL ? b.data : "",
		    b.len, &out), 0);
		for (p = out.data; p != NULL && *p != '\0';) {
			const char *eol = strstr(p, "\r\n");
			size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);

			if (len > 0 && p[len - 1] == '=' && len - 1 + 12 <= 75)
				fail_msg("early soft break after %zu columns: "
				    "%.*s", len - 1, (int)len, p);
			p = eol != NULL ? eol + 2 : p + len;
		}
		iw_buf_free(&b);
		iw_buf_free(&out);
	}
}

static void
test_qp_special_cases(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "trailing space \n", "trailing space=20\r\n" },
		{ "trailing tab\t", "trailing tab=09" },
		{ "a=b\n", "a=3Db\r\n" },
		{ "From here\nnot From\n", "=46rom here\r\nnot From\r\n" },
		{ ".\n..x\n", "=2E\r\n=2E.x\r\n" },
		{ "crlf\r\nin\r\n", "crlf\r\nin\r\n" },
		{ "bare\rcr\n", "bare=0Dcr\r\n" },
		{ "ø\n", "=C3=B8\r\n" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct iw_buf out = IW_BUF_INIT;

		assert_int_equal(iw_mime_qp_encode(cases[i].in,
		    strlen(cases[i].in), &out), 0);
		assert_string_equal(out.data != NULL ? out.data : "",
		    cases[i].out);
		iw_buf_free(&out);
	}
}

static void
expect_build_error(const struct iw_mime_msg *m, const char *body,
    const char *want)
{
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err = { "" };

	assert_int_equal(iw_mime_build(m, body, strlen(body), &out, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err.msg, want);
	assert_true(out.len == 0);
	iw_buf_free(&out);
}

static void
test_header_injection_rejected(void **state)
{
	struct iw_mime_msg m;
	struct iw_mime_header h[1];

	(void)state;
	m = base;
	m.subject = "hello\r\nBcc: victim@example.com";
	expect_build_error(&m, "x\n", "Subject: contains a line break");
	m = base;
	m.subject = "hello\nBcc: victim@example.com";
	expect_build_error(&m, "x\n", "Subject: contains a line break");
	m = base;
	m.subject = "bad \xc3\x28 utf-8";
	expect_build_error(&m, "x\n", "Subject: invalid UTF-8");
	m = base;
	m.subject = "esc \x1b[2J";
	expect_build_error(&m, "x\n", "Subject: contains control");
	m = base;
	m.to = "abuse@example.net\r\nBcc: victim@example.com";
	expect_build_error(&m, "x\n", "To: contains a line break");
	m = base;
	m.to = "abuse@example.net, victim@example.com";
	expect_build_error(&m, "x\n", "To:");
	m = base;
	m.from = "Evil\n <a@example.org>";
	expect_build_error(&m, "x\n", "From: contains a line break");
	m = base;
	m.reply_to = "x@example.org>\r\n";
	expect_build_error(&m, "x\n", "Reply-To:");
	m = base;
	m.message_id = "<a@b>\r\nBcc: x";
	expect_build_error(&m, "x\n", "Message-ID:");
	m = base;
	m.message_id = "<a b@c>";
	expect_build_error(&m, "x\n", "Message-ID:");
	m = base;
	m.language = "da\r\nX: y";
	expect_build_error(&m, "x\n", "Content-Language:");
	m = base;
	h[0].name = "X-IPWarn-Campaign";
	h[0].value = "spring\r\nBcc: x@example.com";
	m.extra = h;
	m.nextra = 1;
	expect_build_error(&m, "x\n", "X-IPWarn-Campaign: contains a line");
	h[0].name = "Bcc";
	h[0].value = "x@example.com";
	expect_build_error(&m, "x\n", "Bcc: may not be given");
	h[0].name = "X-Bad Name";
	h[0].value = "v";
	expect_build_error(&m, "x\n", "bad character 0x20 in name");
	h[0].name = "X:Colon";
	expect_build_error(&m, "x\n", "bad character 0x3a");
	m = base;
	m.subject = NULL;
	expect_build_error(&m, "x\n", "Subject: missing");
	m = base;
	expect_build_error(&m, "broken \xff body\n", "body: invalid UTF-8");
}

static void
test_crlf_everywhere(void **state)
{
	struct iw_mime_msg m = base;
	struct iw_mime_header h[2] = {
		{ "X-IPWarn-Campaign", "spring 2026" },
		{ "X-IPWarn-Note", "Ünïcödé note" },
	};
	char *msg;
	size_t n;

	(void)state;
	m.extra = h;
	m.nextra = 2;
	m.subject = "Åbent mail relay eller åben proxy server på 192.0.2.1 "
	    "og mere tekst for at folde linjen";
	msg = build(&m, "line one\nline two\r\nline three without end");
	n = strlen(msg);
	for (size_t i = 0; i < n; i++) {
		if (msg[i] == '\n')
			assert_true(i > 0 && msg[i - 1] == '\r');
		if (msg[i] == '\r')
			assert_true(msg[i + 1] == '\n');
		assert_true((unsigned char)msg[i] < 0x80);
	}
	assert_true(n >= 2 && memcmp(msg + n - 2, "\r\n", 2) == 0);
	assert_header_lines_max_78(msg);
	assert_non_null(strstr(msg, "\r\n\r\nline one\r\nline two\r\n"
	    "line three without end\r\n"));
	free(msg);
}

static void
test_required_headers_present(void **state)
{
	char *msg, *v;
	static const struct {
		const char *name, *value;
	} want[] = {
		{ "Date", "Mon, 23 Nov 2026 10:59:31 +0000" },
		{ "From", "Secure Your Server <secure@example.org>" },
		{ "Reply-To", "secure@example.org" },
		{ "To", "abuse@example.net" },
		{ "Message-ID", "<20261123.1.abc@example.org>" },
		{ "MIME-Version", "1.0" },
		{ "Content-Type", "text/plain; charset=UTF-8" },
		{ "Content-Transfer-Encoding", "quoted-printable" },
		{ "Content-Language", "da" },
		{ "Auto-Submitted", "auto-generated" },
	};

	(void)state;
	msg = build(&base, "Hej\n");
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		v = get_header(msg, want[i].name);
		if (v == NULL)
			fail_msg("no %s header", want[i].name);
		assert_string_equal(v, want[i].value);
		free(v);
	}
	free(msg);
}

static void
test_date_is_rfc5322_utc(void **state)
{
	struct iw_mime_msg m = base;
	char *msg, *v;

	(void)state;
	m.date = 0;
	m.language = NULL;
	m.reply_to = NULL;
	msg = build(&m, "x\n");
	v = get_header(msg, "Date");
	assert_string_equal(v, "Thu, 1 Jan 1970 00:00:00 +0000");
	free(v);
	assert_null(get_header(msg, "Content-Language"));
	assert_null(get_header(msg, "Reply-To"));
	free(msg);
}

static void
test_display_name_encoded_or_quoted(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Sécurité Serveur <secure@example.org>",
		  "=?UTF-8?Q?S=C3=A9curit=C3=A9_Serveur?= <secure@example.org>" },
		{ "\"Doe, John\" <a@example.org>",
		  "\"Doe, John\" <a@example.org>" },
		{ "\"Say \\\"hi\\\" \\\\ there\" <a@example.org>",
		  "\"Say \\\"hi\\\" \\\\ there\" <a@example.org>" },
		{ "J. Smith <a@example.org>", "\"J. Smith\" <a@example.org>" },
		{ "<a@EXAMPLE.org>", "a@example.org" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct iw_mime_msg m = base;
		char *msg, *v;

		m.from = cases[i].in;
		msg = build(&m, "x\n");
		v = get_header(msg, "From");
		assert_string_equal(v, cases[i].out);
		free(v);
		free(msg);
	}
}

static void
test_long_display_name_folds(void **state)
{
	struct iw_mime_msg m = base;
	char *msg, *v, *dec;

	(void)state;
	m.from = "Den Føderale Handelskommission i USA og andre offentlige "
	    "myndigheder verden over <secureyourserver@ftc.example.gov>";
	msg = build(&m, "x\n");
	assert_header_lines_max_78(msg);
	v = get_header(msg, "From");
	dec = header_decode(v);
	assert_string_equal(dec, "Den Føderale Handelskommission i USA og "
	    "andre offentlige myndigheder verden over "
	    "<secureyourserver@ftc.example.gov>");
	free(dec);
	free(v);
	free(msg);
}

static void
test_parse_address_forms(void **state)
{
	static const struct {
		const char *in, *name, *addr;
	} ok[] = {
		{ "Name <a@B.Example>", "Name", "a@b.example" },
		{ "  \"Quoted, Name\" <abuse@example.net>  ", "Quoted, Name",
		  "abuse@example.net" },
		{ "a@b.example", "", "a@b.example" },
		{ "<a@b.example>", "", "a@b.example" },
		{ "Søren Æbelø <abuse@example.dk>", "Søren Æbelø",
		  "abuse@example.dk" },
		{ "\"with <angle> inside\" <x@y.example>",
		  "with <angle> inside", "x@y.example" },
		{ "\"\" <x@y.example>", "", "x@y.example" },
	};
	static const char *const bad[] = {
		"", "   ", "a@b.example, c@d.example", "Name <a@b.example> x",
		"Na,me <a@b.example>", "\"unterminated <a@b.example>",
		"a@localhost", "Name <a@b.example", "Name a@b.example>",
		"<a@b.example><c@d.example>", "\"q\" x <a@b.example>",
		"Name <\"q\"@b.example>", "Name <a@[192.0.2.1]>",
		"Name\r\n <a@b.example>", "bad \xff <a@b.example>",
		"(comment) a@b.example",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		char name[128], addr[256];
		struct iw_err err = { "" };

		if (iw_mime_parse_address(ok[i].in, name, sizeof(name), addr,
		    sizeof(addr), &err) != 0)
			fail_msg("'%s': %s", ok[i].in, err.msg);
		assert_string_equal(name, ok[i].name);
		assert_string_equal(addr, ok[i].addr);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char name[128], addr[256];
		struct iw_err err = { "" };

		if (iw_mime_parse_address(bad[i], name, sizeof(name), addr,
		    sizeof(addr), &err) == 0)
			fail_msg("'%s' accepted as %s <%s>", bad[i], name,
			    addr);
		assert_true(err.msg[0] != '\0');
	}
}

static void
test_parse_address_bounds_output(void **state)
{
	char name[4], addr[8], big[64];
	struct iw_err err = { "" };

	(void)state;
	assert_int_equal(iw_mime_parse_address("Long Name <a@b.example>",
	    name, sizeof(name), big, sizeof(big), &err), -1);
	assert_int_equal(iw_mime_parse_address("N <abuse@example.org>",
	    name, sizeof(name), addr, sizeof(addr), &err), -1);
}


static void
test_base64_rfc4648_vectors_and_76_columns(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" }, { "f", "Zg==\r\n" }, { "fo", "Zm8=\r\n" },
		{ "foo", "Zm9v\r\n" }, { "foob", "Zm9vYg==\r\n" },
		{ "fooba", "Zm9vYmE=\r\n" }, { "foobar", "Zm9vYmFy\r\n" },
	};
	struct iw_buf b = IW_BUF_INIT;
	char big[200];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		iw_buf_reset(&b);
		assert_int_equal(iw_mime_base64_encode(v[i].in,
		    strlen(v[i].in), &b), 0);
		assert_string_equal(b.data != NULL ? b.data : "", v[i].out);
	}
	memset(big, 'x', sizeof(big));
	iw_buf_reset(&b);
	assert_int_equal(iw_mime_base64_encode(big, sizeof(big), &b), 0);
	/* 200 bytes: 268 characters, lines of 76, 76, 76 and 40 */
	assert_int_equal(b.len, 268 + 4 * 2);
	assert_memory_equal(b.data + 76, "\r\n", 2);
	assert_memory_equal(b.data + 2 * 78 - 2, "\r\n", 2);
	iw_buf_free(&b);
}

static const struct iw_mime_attachment csv_att = {
	"ips.csv", "text/csv; charset=utf-8",
	"ip,evidence,observed\r\n192.0.2.1,\"a, b\",\r\n", 41,
};

static void
test_attachment_makes_multipart_mixed(void **state)
{
	struct iw_mime_msg m = base;
	char *msg, *again, *ct;

	(void)state;
	m.attachment = &csv_att;
	msg = build(&m, "Hello\nthere\n");
	ct = get_header(msg, "Content-Type");
	/* "=_" cannot occur in QP or base64, so neither can the boundary */
	assert_int_equal(strlen(ct), 26 + 23);
	assert_memory_equal(ct, "multipart/mixed; boundary=\"=_iw_", 32);
	assert_int_equal(strspn(ct + 32, "0123456789abcdef"), 16);
	assert_non_null(strstr(msg, "\r\n\r\n--=_iw_"));
	assert_non_null(strstr(msg, "\r\nContent-Type: text/plain; "
	    "charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable"
	    "\r\n\r\nHello\r\nthere\r\n\r\n--=_iw_"));
	assert_non_null(strstr(msg, "\r\nContent-Type: text/csv; "
	    "charset=utf-8\r\nContent-Disposition: attachment; filename="
	    "\"ips.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"));
	again = build(&m, "Hello\nthere\n");
	assert_string_equal(msg, again);	/* reproducible */
	free(again);
	m.message_id = "<20261123.2.abc@example.org>";
	again = build(&m, "Hello\nthere\n");
	assert_null(strstr(again, ct + 26));	/* per message */
	free(ct);
	assert_null(get_header(msg, "Content-Transfer-Encoding"));
	assert_header_lines_max_78(msg);
	free(again);
	free(msg);
}

static void
test_attachment_name_and_type_checked(void **state)
{
	static const char *const names[] = { "", ".hidden", "a b.csv",
	    "../ips.csv", "x\r\nBcc: a@b", "ips\xc3\xa6.csv",
	    "a-very-long-file-name-0123456789.csv" };
	static const char *const types[] = { "", "text", "text/csv\r\nX: y",
	    "text/csv; name=\"\xc3\xa6\"", "application/x-very-long-"
	    "type-name-that-does-not-fit-on-a-line" };
	struct iw_mime_msg m = base;
	struct iw_mime_attachment a = csv_att;

	(void)state;
	m.attachment = &a;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		a.filename = names[i];
		expect_build_error(&m, "x\n", "attachment: file name");
	}
	a.filename = "ips.csv";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		a.type = types[i];
		expect_build_error(&m, "x\n", "attachment: ");
	}
}

static char *
decode(const char *msg)
{
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err = { "" };

	if (iw_mime_decode_text(msg, strlen(msg), &out, &err) != 0)
		fail_msg("decode: %s", err.msg);
	return iw_buf_steal(&out);
}

static void
test_decode_unfolds_headers_and_decodes_words(void **state)
{
	const char *subject = "Åbne mail relays eller åbne proxy servere på "
	    "mange IP-adresser — og en meget lang emnelinje, der foldes";
	const char *body = "Kære modtager,\n\nlinje med æøå og = tegn\n"
	    "From the start\n.\n";
	struct iw_mime_msg m = base;
	char *msg, *text, want[400];

	(void)state;
	m.subject = subject;
	m.from = "Sikker Server Ærø <secure@example.org>";
	msg = build(&m, body);
	assert_non_null(strstr(msg, "\r\n =?UTF-8?Q?"));	/* folded */
	text = decode(msg);
	snprintf(want, sizeof(want), "\nSubject: %s\n", subject);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "\nFrom: Sikker Server Ærø "
	    "<secure@example.org>\n"));
	assert_true(strncmp(text, "Date: Mon, 23 Nov 2026 10:59:31 +0000\n",
	    38) == 0);
	assert_non_null(strstr(text, "\nContent-Type: text/plain; "
	    "charset=UTF-8\n"));
	assert_null(strchr(text, '\r'));
	assert_string_equal(strstr(text, "\n\n") + 2, body);
	free(text);
	free(msg);
}

static void
test_decode_shows_the_attachment(void **state)
{
	struct iw_mime_msg m = base;
	struct iw_mime_attachment bin = { "x.bin",
	    "application/octet-stream", "\x00\x01\x02", 3 };
	char *msg, *text;

	(void)state;
	m.attachment = &csv_att;
	msg = build(&m, "Hi\n");
	text = decode(msg);
	assert_string_equal(strstr(text, "\n\n") + 2, "Hi\n\n--- attachment "
	    "ips.csv (text/csv) ---\nip,evidence,observed\n192.0.2.1,"
	    "\"a, b\",\n");
	free(text);
	free(msg);
	m.attachment = &bin;
	msg = build(&m, "Hi\n");
	text = decode(msg);
	assert_string_equal(strstr(text, "\n\n") + 2, "Hi\n\n--- attachment "
	    "x.bin (application/octet-stream) ---\n(3 bytes, not shown)\n");
	free(text);
	free(msg);
}

static void
test_decode_bounded_and_safe_on_other_input(void **state)
{
	static const char *const odd[] = {
		"", "no header end", "Subject: =?UTF-8?Q?=1B[31m=0D=0Ax?=\r\n"
		"\r\nbody =1B=\r\n", "Subject: =?UTF-8?B?////?=\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nG1szMW0=\r\n"
		"--b--\r\n",
		"Subject: =?UTF-8?Q?unterminated\r\n\r\n=",
	};
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err = { "" };
	char *big;

	(void)state;
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		assert_int_equal(iw_mime_decode_text(odd[i], strlen(odd[i]),
		    &out, &err), 0);
		for (size_t k = 0; k < out.len; k++) {
			unsigned char c = (unsigned char)out.data[k];

			assert_true(c == '\n' || c == '\t' ||
			    (c >= 0x20 && c != 0x7f));
		}
		assert_true(out.len <= strlen(odd[i]) + 64);
	}
	assert_int_equal(iw_mime_decode_text("Content-Type: multipart/mixed;"
	    " boundary=b\r\n\r\nno parts\r\n", 47, &out, &err), -1);
	assert_non_null(strstr(err.msg, "without parts"));
	big = malloc(70000);
	memset(big, 'a', 70000);
	memcpy(big, "X: ", 3);
	for (size_t i = 100; i < 69000; i += 100)
		memcpy(big + i, "\r\n ", 3);
	assert_int_equal(iw_mime_decode_text(big, 70000, &out, &err), -1);
	assert_non_null(strstr(err.msg, "header field longer"));
	free(big);
	iw_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_rfc2047_roundtrip),
		cmocka_unit_test(test_ascii_subject_stays_readable),
		cmocka_unit_test(test_header_encode_api_folds),
		cmocka_unit_test(test_qp_lines_at_most_76),
		cmocka_unit_test(test_qp_special_cases),
		cmocka_unit_test(test_qp_random_lines),
		cmocka_unit_test(test_header_injection_rejected),
		cmocka_unit_test(test_crlf_everywhere),
		cmocka_unit_test(test_required_headers_present),
		cmocka_unit_test(test_date_is_rfc5322_utc),
		cmocka_unit_test(test_display_name_encoded_or_quoted),
		cmocka_unit_test(test_long_display_name_folds),
		cmocka_unit_test(test_parse_address_forms),
		cmocka_unit_test(test_parse_address_bounds_output),
		cmocka_unit_test(test_base64_rfc4648_vectors_and_76_columns),
		cmocka_unit_test(test_attachment_makes_multipart_mixed),
		cmocka_unit_test(test_attachment_name_and_type_checked),
		cmocka_unit_test(test_decode_unfolds_headers_and_decodes_words),
		cmocka_unit_test(test_decode_shows_the_attachment),
		cmocka_unit_test(test_decode_bounded_and_safe_on_other_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
