/*
 * Unit tests for lib/letter: the shipped templates load and keep the seed
 * letters' wording, singular and plural wordings list every IP, untrusted
 * item text is cleaned and bounded, broken templates are refused with
 * FILE:LINE; composed letters (compose) attach a cut list as ips.csv and
 * decode back to the rendered text.  The source tree is $IW_SRCDIR
 * (default "."); the seed letters are looked for in ../shared/seeds next
 * to it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose.h"
#include "letter.h"
#include "mime_decode.h"
#include "util.h"

static const char *const seed_locales[] = { "da", "nb", "nl", "de", "ro" };

static const char *
srcdir(void)
{
	const char *s = getenv("IW_SRCDIR");

	return s != NULL && *s != '\0' ? s : ".";
}

static struct iw_letters *
load_shipped(void)
{
	char dir[1024];
	struct iw_letters *l = NULL;
	struct iw_err err = { "" };

	snprintf(dir, sizeof(dir), "%s/locales", srcdir());
	if (iw_letters_load(dir, &l, &err) != 0)
		fail_msg("loading %s: %s", dir, err.msg);
	return l;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct iw_buf b = IW_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(iw_buf_append(&b, chunk, n), 0);
	fclose(f);
	return iw_buf_steal(&b);
}

/* Collapses every run of whitespace into one space; trims both ends. */
static char *
norm_ws(const char *s)
{
	struct iw_buf b = IW_BUF_INIT;
	int sp = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			sp = 1;
			continue;
		}
		if (sp && b.len > 0)
			iw_buf_putc(&b, ' ');
		sp = 0;
		iw_buf_putc(&b, *s);
	}
	return iw_buf_steal(&b);
}

/*
 * The seed as the rendered singular letter must read: "[placeholder]"
 * (the first bracketed text) replaced by the IP, a comma that closed the
 * inline insertion dropped (the IP list is now an indented block), and
 * Markdown links "[text](url)" shown as their text.
 */
static char *
seed_expected(const char *seed, const char *ip)
{
	struct iw_buf b = IW_BUF_INIT;
	const char *p = seed, *open = strchr(seed, '['), *close;
	char *r;

	assert_non_null(open);
	close = strchr(open, ']');
	assert_non_null(close);
	iw_buf_append(&b, p, (size_t)(open - p));
	iw_buf_puts(&b, ip);
	p = close + 1;
	if (*p == ',')
		p++;
	while (*p != '\0') {
		const char *lt = strchr(p, '['), *rt, *paren;

		if (lt == NULL || (rt = strchr(lt, ']')) == NULL ||
		    rt[1] != '(' || (paren = strchr(rt, ')')) == NULL) {
			const char *stop = lt != NULL ? lt + 1 : p + strlen(p);

			iw_buf_append(&b, p, (size_t)(stop - p));
			p = stop;
			continue;
		}
		iw_buf_append(&b, p, (size_t)(lt - p));
		iw_buf_append(&b, lt + 1, (size_t)(rt - lt - 1));
		p = paren + 1;
	}
	r = norm_ws(b.data);
	iw_buf_free(&b);
	return r;
}

static void
test_every_seed_locale_loads(void **state)
{
	struct iw_letters *l = load_shipped();

	(void)state;
	for (size_t i = 0; i < 5; i++)
		assert_true(iw_letters_has(l, seed_locales[i]));
	assert_true(iw_letters_has(l, "en"));
	assert_false(iw_letters_has(l, "fr"));
	assert_false(iw_letters_has(l, "README"));
	iw_letters_free(l);
}

static void
test_seed_wording_kept(void **state)
{
	struct iw_letters *l;
	struct iw_err err = { "" };
	char path[1024];
	char *seed;

	(void)state;
	snprintf(path, sizeof(path), "%s/../shared/seeds/letter-da.txt",
	    srcdir());
	if (access(path, R_OK) != 0) {
		print_message("seed letters not found at %s/../shared/seeds; "
		    "skipping\n", srcdir());
		skip();
	}
	l = load_shipped();
	for (size_t i = 0; i < 5; i++) {
		struct iw_letter_item it = { "192.0.2.1", NULL, NULL };
		struct iw_buf subj = IW_BUF_INIT, body = IW_BUF_INIT;
		char *want, *got;

		snprintf(path, sizeof(path), "%s/../shared/seeds/letter-%s.txt",
		    srcdir(), seed_locales[i]);
		seed = slurp(path);
		assert_non_null(seed);
		assert_int_equal(iw_letter_render(l, seed_locales[i], &it, 1,
		    NULL, &subj, &body, NULL, &err), 0);
		want = seed_expected(seed, "192.0.2.1");
		got = norm_ws(body.data);
		if (strcmp(want, got) != 0) {
			size_t k = 0;

			while (want[k] == got[k])
				k++;
			fail_msg("%s: wording differs from the seed at "
			    "\"%.60s\" (seed: \"%.60s\")", seed_locales[i],
			    got + k, want + k);
		}
		free(want);
		free(got);
		free(seed);
		iw_buf_free(&subj);
		iw_buf_free(&body);
	}
	iw_letters_free(l);
}

static const char *const all_locales[] = { "da", "nb", "nl", "de", "ro",
    "en" };

static void
test_plural_lists_every_ip(void **state)
{
	struct iw_letters *l = load_shipped();
	struct iw_err err = { "" };
	const struct iw_letter_item items[] = {
		{ "192.0.2.1", "open proxy on 3128/tcp",
		  "2026-11-01T10:00:00Z" },
		{ "198.51.100.7", "open relay on 25/tcp", NULL },
		{ "2001:db8::25", NULL, "2026-11-02T08:30:00Z" },
	};

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		struct iw_buf s1 = IW_BUF_INIT, b1 = IW_BUF_INIT;
		struct iw_buf s3 = IW_BUF_INIT, b3 = IW_BUF_INIT;

		assert_int_equal(iw_letter_render(l, all_locales[i], items, 1,
		    NULL, &s1, &b1, NULL, &err), 0);
		assert_int_equal(iw_letter_render(l, all_locales[i], items, 3,
		    NULL, &s3, &b3, NULL, &err), 0);
		assert_non_null(strstr(b3.data,
		    "\n  192.0.2.1     open proxy on 3128/tcp ("));
		assert_non_null(strstr(b3.data, "2026-11-01T10:00:00Z)\n"));
		assert_non_null(strstr(b3.data,
		    "\n  198.51.100.7  open relay on 25/tcp\n"));
		assert_non_null(strstr(b3.data, "\n  2001:db8::25 ("));
		assert_non_null(strstr(b3.data, "2026-11-02T08:30:00Z)\n"));
		assert_null(strstr(b1.data, "198.51.100.7"));
		/* the plural has its own wording and subject */
		assert_true(strcmp(b1.data, b3.data) != 0);
		assert_non_null(strstr(s1.data, "192.0.2.1"));
		assert_non_null(strstr(s3.data, "3"));
		assert_null(strstr(s3.data, "192.0.2.1"));
		iw_buf_free(&s1);
		iw_buf_free(&b1);
		iw_buf_free(&s3);
		iw_buf_free(&b3);
	}
	iw_letters_free(l);
}

/* The singular sentence is changed only in the first paragraph(s). */
static void
test_plural_shares_the_general_paragraphs(void **state)
{
	struct iw_letters *l = load_shipped();
	struct iw_err err = { "" };
	const struct iw_letter_item items[] = {
		{ "192.0.2.1", NULL, NULL }, { "192.0.2.2", NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		struct iw_buf s = IW_BUF_INIT, b1 = IW_BUF_INIT;
		struct iw_buf b2 = IW_BUF_INIT;
		const char *t1, *t2;

		assert_int_equal(iw_letter_render(l, all_locales[i], items, 1,
		    NULL, &s, &b1, NULL, &err), 0);
		assert_int_equal(iw_letter_render(l, all_locales[i], items, 2,
		    NULL, &s, &b2, NULL, &err), 0);
		t1 = strstr(b1.data, "ftc.gov/secureyourserver");
		t2 = strstr(b2.data, "ftc.gov/secureyourserver");
		assert_non_null(t1);
		assert_non_null(t2);
		assert_string_equal(t1, t2);
		iw_buf_free(&s);
		iw_buf_free(&b1);
		iw_buf_free(&b2);
	}
	iw_letters_free(l);
}

static void
test_body_lf_only_within_76_columns(void **state)
{
	struct iw_letters *l = load_shipped();
	struct iw_err err = { "" };
	const struct iw_letter_item items[] = {
		{ "192.0.2.1", NULL, NULL }, { "192.0.2.2", NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		for (size_t n = 1; n <= 2; n++) {
			struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
			size_t col = 0;

			assert_int_equal(iw_letter_render(l, all_locales[i],
			    items, n, NULL, &s, &b, NULL, &err), 0);
			assert_null(strchr(b.data, '\r'));
			assert_null(strchr(s.data, '\n'));
			assert_true(b.data[0] != '\n');
			assert_true(b.len >= 2 && b.data[b.len - 1] == '\n' &&
			    b.data[b.len - 2] != '\n');
			assert_true(iw_utf8_valid(b.data, b.len));
			for (size_t k = 0; k < b.len; k++) {
				unsigned char c = (unsigned char)b.data[k];

				if (c == '\n') {
					col = 0;
					continue;
				}
				if ((c & 0xc0) != 0x80)
					col++;
				if (col > 76)
					fail_msg("%s: line over 76 columns "
					    "near \"%.40s\"", all_locales[i],
					    b.data + k - 40);
			}
			iw_buf_free(&s);
			iw_buf_free(&b);
		}
	}
	iw_letters_free(l);
}

static void
test_evidence_control_chars_removed(void **state)
{
	struct iw_letters *l = load_shipped();
	struct iw_err err = { "" };
	struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
	const struct iw_letter_item it = {
		"192.0.2.1",
		"open proxy\r\n\r\nSubject: spoofed\x1b[31m\x7f \xe2\x80\xae"
		"gnp.exe \xc2\x85 \xff\xfe tail\t end",
		"2026-11-01\nT10:00\x01Z",
	};
	const char *line;

	(void)state;
	assert_int_equal(iw_letter_render(l, "en", &it, 1,
	    NULL, &s, &b, NULL, &err), 0);
	assert_null(strchr(s.data, '\n'));
	assert_null(strchr(s.data, '\r'));
	assert_true(iw_utf8_valid(b.data, b.len));
	for (size_t k = 0; k < b.len; k++) {
		unsigned char c = (unsigned char)b.data[k];

		assert_true(c == '\n' || (c >= 0x20 && c != 0x7f));
	}
	assert_null(strstr(b.data, "\xe2\x80\xae"));	/* RLO */
	assert_null(strstr(b.data, "\xc2\x85"));	/* NEL */
	assert_null(strstr(b.data, "\nSubject:"));
	assert_null(strstr(b.data, "\nBcc:"));
	line = strstr(b.data, "\n  192.0.2.1  open proxy "
	    "Subject: spoofed?[31m? ?gnp.exe ?? tail end (observed "
	    "2026-11-01 T10:00?Z)\n");
	assert_non_null(line);
	iw_buf_free(&s);
	iw_buf_free(&b);
	iw_letters_free(l);
}

static void
test_evidence_length_bounded(void **state)
{
	struct iw_letters *l = load_shipped();
	struct iw_err err = { "" };
	struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
	char *ev = malloc(100001);
	struct iw_letter_item it = { "192.0.2.1", NULL, NULL };
	const char *p, *e;

	(void)state;
	/* 2-byte characters, so a cut in the middle would break UTF-8 */
	for (size_t i = 0; i < 100000; i += 2)
		memcpy(ev + i, "\xc3\xb8", 2);
	ev[100000] = '\0';
	it.evidence = ev;
	assert_int_equal(iw_letter_render(l, "da", &it, 1,
	    NULL, &s, &b, NULL, &err), 0);
	assert_true(iw_utf8_valid(b.data, b.len));
	p = strstr(b.data, "  192.0.2.1  ");
	assert_non_null(p);
	e = strchr(p, '\n');
	assert_true(e - p < 260);
	assert_memory_equal(e - 3, "...", 3);
	free(ev);
	iw_buf_free(&s);
	iw_buf_free(&b);
	iw_letters_free(l);
}

static void
test_unknown_locale_or_bad_ip_is_an_error(void **state)
{
	struct iw_letters *l = load_shipped();
	struct iw_err err = { "" };
	struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
	struct iw_letter_item it = { "192.0.2.1", NULL, NULL };

	(void)state;
	assert_int_equal(iw_letter_render(l, "xx", &it, 1,
	    NULL, &s, &b, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "xx"));
	assert_int_equal(iw_letter_render(l, "en", &it, 0,
	    NULL, &s, &b, NULL, &err), -1);
	it.ip = "192.0.2.1\r\nBcc: x@example.org";
	assert_int_equal(iw_letter_render(l, "en", &it, 1,
	    NULL, &s, &b, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "item 1: not an IP address"));
	it.ip = "";
	assert_int_equal(iw_letter_render(l, "en", &it, 1,
	    NULL, &s, &b, NULL, &err), -1);
	iw_buf_free(&s);
	iw_buf_free(&b);
	iw_letters_free(l);
}

/* A scratch template directory. */
static void
mkdir_tmp(char *dir, size_t sz)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sz, "%s/iw-letter-XXXXXX", t != NULL ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
rm_tmp(const char *dir, const char *const *names, size_t n)
{
	char path[1024];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

#define GOOD_HEAD "subject-one: One {ip}\nsubject-many: Many {count}\n\n"

/* A template "en" and the error loading it must give. */
struct load_case {
	const char *text;
	const char *want;
};

static void
expect_load_errors(const struct load_case *cases, size_t n)
{
	static const char *const names[] = { "en" };

	for (size_t i = 0; i < n; i++) {
		char dir[512];
		struct iw_letters *l = NULL;
		struct iw_err err = { "" };

		mkdir_tmp(dir, sizeof(dir));
		put_file(dir, "en", cases[i].text);
		assert_int_equal(iw_letters_load(dir, &l, &err), -1);
		assert_null(l);
		if (strstr(err.msg, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
			    err.msg, cases[i].want);
		rm_tmp(dir, names, 1);
	}
}

static void
test_template_errors_name_file_line(void **state)
{
	static const struct load_case cases[] = {
		{ GOOD_HEAD "Hello\n{ips}\n{ipz}\n", "/en:6: unknown "
		  "placeholder {ipz}" },
		{ GOOD_HEAD "ok\nbad \xc3\x28 byte\n{ips}\n",
		  "/en:5: invalid UTF-8" },
		{ GOOD_HEAD "{one}\n{ips}\n{end}\n", "plural wording shows "
		  "{ips} 0 times" },
		{ GOOD_HEAD "{ips}\n{many}\n{ips}\n", "/en:5: {many} block "
		  "not closed" },
		{ "subject-one: x\nsubjekt-many: y\n\n{ips}\n",
		  "/en:2: unknown header key 'subjekt-many'" },
		{ "subject-one: x\n\n{ips}\n", "missing subject-many" },
		{ "subject-one: x\nsubject-many: y {ip}\n\n{ips}\n",
		  "/en:2: placeholder {ip} not allowed" },
		{ GOOD_HEAD "Your IP {ip}\n{ips}\n", "/en:4: placeholder {ip} "
		  "not allowed" },
		{ GOOD_HEAD "see {ips} here\n", "/en:4: placeholder {ips} not "
		  "allowed here ({ips} goes alone" },
		{ GOOD_HEAD "{ips}\n{end}\n", "/en:5: {end} without" },
		{ GOOD_HEAD "{ips}\nbell\a\n", "/en:5: control character "
		  "0x07" },
		{ "subject-one: x\nsubject-many: y\n", "no empty line" },
		{ GOOD_HEAD "{ips}\n{ips}\n", "singular wording shows {ips} "
		  "2 times" },
	};

	(void)state;
	expect_load_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_readme_and_backups_skipped_regions_matched(void **state)
{
	static const char *const names[] = { "README", "en~", ".en.swp",
	    "pt_BR", "EN" };
	char dir[512];
	struct iw_letters *l = NULL;
	struct iw_err err = { "" };
	struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
	const struct iw_letter_item it[] = { { "192.0.2.9", "x", "t" },
	    { "192.0.2.10", NULL, NULL } };

	(void)state;
	mkdir_tmp(dir, sizeof(dir));
	put_file(dir, "README", "not a template\n");
	put_file(dir, "en~", "not a template\n");
	put_file(dir, ".en.swp", "not a template\n");
	put_file(dir, "EN", "not a template\n");
	put_file(dir, "pt_BR", "# comment\nsubject-one: Um {ip}\n"
	    "subject-many: {count} IPs\nobserved: [visto {time}]\n\n\n"
	    "{one}\nO IP\n{many}\nOs IPs ({count}):\n{end}\n\n{ips}\n\n"
	    "{attached}\nCortada.\n\n{end}\nFim {{ok}\n\n\n");
	assert_int_equal(iw_letters_load(dir, &l, &err), 0);
	assert_true(iw_letters_has(l, "pt-BR"));
	assert_true(iw_letters_has(l, "pt_BR"));
	assert_true(iw_letters_has(l, "pt_br"));
	assert_false(iw_letters_has(l, "en"));
	assert_int_equal(iw_letter_render(l, "pt-BR", it, 1,
	    NULL, &s, &b, NULL, &err), 0);
	assert_string_equal(s.data, "Um 192.0.2.9");
	assert_string_equal(b.data, "O IP\n\n  192.0.2.9  x [visto t]\n\n"
	    "Fim {ok}\n");
	assert_int_equal(iw_letter_render(l, "pt_BR", it, 2,
	    NULL, &s, &b, NULL, &err), 0);
	assert_string_equal(s.data, "2 IPs");
	assert_string_equal(b.data, "Os IPs (2):\n\n  192.0.2.9   x [visto t]\n"
	    "  192.0.2.10\n\nFim {ok}\n");
	iw_buf_free(&s);
	iw_buf_free(&b);
	iw_letters_free(l);
	rm_tmp(dir, names, sizeof(names) / sizeof(names[0]));
}

static void
test_empty_directory_is_an_error(void **state)
{
	char dir[512];
	struct iw_letters *l = NULL;
	struct iw_err err = { "" };

	(void)state;
	mkdir_tmp(dir, sizeof(dir));
	assert_int_equal(iw_letters_load(dir, &l, &err), -1);
	assert_non_null(strstr(err.msg, "no letter templates"));
	rmdir(dir);
	assert_int_equal(iw_letters_load("/nonexistent/ipwarn", &l, &err), -1);
	iw_letters_free(NULL);
}


/* A scratch directory with one template "en", loaded, and what a
 * render writes. */
struct scratch {
	char dir[512];
	struct iw_letters *l;
	struct iw_buf s, b;
	struct iw_err err;
};

static void
scratch_open(struct scratch *x, const char *text)
{
	memset(x, 0, sizeof(*x));
	mkdir_tmp(x->dir, sizeof(x->dir));
	put_file(x->dir, "en", text);
	if (iw_letters_load(x->dir, &x->l, &x->err) != 0)
		fail_msg("loading: %s", x->err.msg);
}

static void
scratch_close(struct scratch *x)
{
	static const char *const names[] = { "en" };

	iw_buf_free(&x->s);
	iw_buf_free(&x->b);
	iw_letters_free(x->l);
	rm_tmp(x->dir, names, 1);
}

#define CAMPAIGN_TMPL "subject-one: {campaign} {ref}: {ip}\n" \
	"subject-many: {campaign} {ref}: {count} for {var.agency}\n\n" \
	"{one}\nDear {var.who},\n{many}\nDear {var.who}, all {count}:\n" \
	"{end}\n" \
	"{ips}\n{attached}\nCut; see ips.csv.\n{end}\n" \
	"Ref {ref}, {campaign}, {var.agency}.\n"

static void
test_campaign_placeholders_render_cleaned(void **state)
{
	static const char *const keys[] = { "agency", "who" };
	const char *values[] = { "Post\r\nBcc: x@example.org\x1b[1m", NULL };
	const struct iw_letter_item it[] = { { "192.0.2.1", NULL, NULL },
	    { "192.0.2.2", NULL, NULL } };
	struct iw_letter_ctx ctx = { "osys \xe2\x80\xae 2026",
	    "osys-2026-000123", keys, values, 2, 0, NULL };
	struct scratch x;
	char longv[400];
	int att = -1;

	(void)state;
	scratch_open(&x, CAMPAIGN_TMPL);
	assert_int_equal(iw_letter_render(x.l, "en", it, 1, &ctx, &x.s, &x.b,
	    &att, &x.err), 0);
	assert_int_equal(att, 0);
	assert_string_equal(x.s.data, "osys ? 2026 osys-2026-000123: "
	    "192.0.2.1");
	assert_string_equal(x.b.data, "Dear ,\n  192.0.2.1\nRef "
	    "osys-2026-000123, osys ? 2026, Post Bcc: x@example.org?[1m.\n");
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	values[1] = longv;
	assert_int_equal(iw_letter_render(x.l, "en", it, 2, &ctx, &x.s, &x.b,
	    &att, &x.err), 0);
	assert_string_equal(x.s.data, "osys ? 2026 osys-2026-000123: 2 for "
	    "Post Bcc: x@example.org?[1m");
	assert_non_null(strstr(x.b.data, "Dear xxxx"));
	/* "Dear ", the value cut to its bound, "..." */
	assert_true(strstr(x.b.data, "...,") - strstr(x.b.data, "Dear x") ==
	    5 + IW_LETTER_VALUE_MAX);
	assert_null(strchr(x.s.data, '\n'));
	scratch_close(&x);
}

static void
test_undefined_var_is_a_render_error_naming_file_line(void **state)
{
	static const char *const keys[] = { "agency" };
	static const char *const values[] = { "Post" };
	const struct iw_letter_item it[] = { { "192.0.2.1", NULL, NULL },
	    { "192.0.2.2", NULL, NULL } };
	struct iw_letter_ctx ctx = { "c", "r", keys, values, 1, 0, NULL };
	struct scratch x;
	char want[600];

	(void)state;
	scratch_open(&x, CAMPAIGN_TMPL);
	/* {var.who} is on lines 5 and 7: the first fails either wording */
	snprintf(want, sizeof(want), "%s/en:5: {var.who} is not defined by "
	    "the campaign (--var who=VALUE)", x.dir);
	for (size_t n = 1; n <= 2; n++) {
		assert_int_equal(iw_letter_render(x.l, "en", it, n, &ctx, &x.s,
		    &x.b, NULL, &x.err), -1);
		if (strstr(x.err.msg, want) == NULL)
			fail_msg("got \"%s\", want \"%s\"", x.err.msg, want);
	}
	/* without a context no variable is defined: the subject comes first */
	assert_int_equal(iw_letter_render(x.l, "en", it, 1, NULL, &x.s, &x.b,
	    NULL, &x.err), -1);
	assert_non_null(strstr(x.err.msg, "/en:2: {var.agency} is not "
	    "defined"));
	assert_string_equal(iw_letters_path(x.l, "en") + strlen(x.dir), "/en");
	assert_null(iw_letters_path(x.l, "de"));
	scratch_close(&x);
}

static void
test_check_vars_names_the_first_undefined(void **state)
{
	static const char *const both[] = { "who", "agency" };
	static const char *const who[] = { "who" };
	struct iw_letters *shipped = load_shipped();
	struct scratch x;
	char want[600];

	(void)state;
	scratch_open(&x, CAMPAIGN_TMPL);
	assert_int_equal(iw_letters_check_vars(x.l, both, 2, &x.err), 0);
	assert_int_equal(iw_letters_check_vars(x.l, who, 1, &x.err), -1);
	snprintf(want, sizeof(want), "%s/en:2: {var.agency} is not defined by "
	    "the campaign (--var agency=VALUE)", x.dir);
	assert_string_equal(x.err.msg, want);
	assert_int_equal(iw_letters_check_vars(x.l, NULL, 0, &x.err), -1);
	assert_int_equal(iw_letters_check_vars(shipped, NULL, 0, &x.err), 0);
	iw_letters_free(shipped);
	scratch_close(&x);
}

static void
test_attached_block_required_once_and_alone(void **state)
{
	static const struct load_case cases[] = {
		{ GOOD_HEAD "Hello\n{ips}\nBye\n", "/en:6: no {attached} "
		  "block" },
		{ GOOD_HEAD "{ips}\n{attached}\na\n{end}\n{attached}\nb\n"
		  "{end}\n", "/en:8: a second {attached} block (the first is "
		  "at line 5)" },
		{ GOOD_HEAD "{ips}\n{many}\n{attached}\na\n{end}\n",
		  "/en:6: {attached} inside the {many} block" },
		{ GOOD_HEAD "{attached}\n{ips}\n{end}\n", "/en:5: {ips} inside "
		  "the {attached} block" },
		{ GOOD_HEAD "{ips}\n{attached}\n\n{end}\n", "/en:5: the "
		  "{attached} block has no text" },
		{ GOOD_HEAD "{ips}\n{attached}\nall {count}\n", "/en:5: "
		  "{attached} block not closed" },
		{ GOOD_HEAD "{ips}\n{attached}\n{one}\n", "/en:6: {one} inside "
		  "the {attached} block" },
		{ GOOD_HEAD "{ips}\n{attached}\nsee {ip}\n{end}\n", "/en:6: "
		  "placeholder {ip} not allowed" },
		{ GOOD_HEAD "{ips}\n{attached}\nfor {var.Agency}\n{end}\n",
		  "/en:6: {var.Agency}: a variable name is" },
		{ GOOD_HEAD "{ips}\n{attached}\nfor {var.}\n{end}\n",
		  "/en:6: unknown placeholder {var.}" },
	};

	(void)state;
	expect_load_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_fallback_block_at_most_once_and_alone(void **state)
{
	static const struct load_case cases[] = {
		{ GOOD_HEAD "{ips}\n{attached}\na\n{end}\n{fallback}\nx\n"
		  "{end}\n{fallback}\ny\n{end}\n", "/en:11: a second "
		  "{fallback} block (the first is at line 8)" },
		{ GOOD_HEAD "{ips}\n{attached}\na\n{end}\n{fallback}\n{ips}\n"
		  "{end}\n", "/en:9: {ips} inside the {fallback} block" },
		{ GOOD_HEAD "{ips}\n{attached}\na\n{end}\nto {previous}\n",
		  "/en:8: placeholder {previous} not allowed here (only in "
		  "the {fallback} block)" },
		{ GOOD_HEAD "{ips}\n{attached}\na\n{end}\n{fallback}\nx\n",
		  "/en:8: {fallback} block not closed" },
	};

	(void)state;
	expect_load_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

static const struct iw_letter_item five[] = {
	{ "192.0.2.1", "open proxy on 3128/tcp", "2026-11-01T10:00:00Z" },
	{ "192.0.2.2", "relay, \"open\" on 25/tcp", NULL },
	{ "192.0.2.3", NULL, "2026-11-02T08:30:00Z" },
	{ "2001:db8::4", "a  b\tc\r\nd", "" },
	{ "192.0.2.5", "last", "2026-11-03T00:00:00Z" },
};

/* Lines of body that are entries of the IP list. */
static size_t
listed_ips(const char *body)
{
	size_t n = 0;

	for (const char *p = body; (p = strstr(p, "\n  ")) != NULL; p++)
		n += strncmp(p + 3, "192.0.2.", 8) == 0 ||
		    strncmp(p + 3, "2001:db8::", 10) == 0;
	return n;
}

static void
test_cut_list_shows_max_inline_and_attached_block(void **state)
{
	/* max_inline 0 is no limit */
	static const size_t max[] = { 3, 5, 0 }, listed[] = { 3, 5, 5 };
	struct iw_letters *l = load_shipped();
	struct iw_letter_ctx ctx = { NULL, NULL, NULL, NULL, 0, 3, NULL };
	struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
	struct iw_err err = { "" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		int att = -1;

		ctx.max_inline = max[i];
		assert_int_equal(iw_letter_render(l, "en", five, 5, &ctx, &s,
		    &b, &att, &err), 0);
		assert_int_equal(att, i == 0);
		assert_int_equal(listed_ips(b.data), listed[i]);
		assert_non_null(strstr(s.data, " 5 IP addresses"));
		assert_true((strstr(b.data, "2001:db8::4") == NULL) ==
		    (i == 0));
		assert_true((strstr(b.data, "ips.csv") == NULL) == (i != 0));
	}
	ctx.max_inline = 3;
	assert_int_equal(iw_letter_render(l, "en", five, 5, &ctx, &s, &b, NULL,
	    &err), 0);
	assert_non_null(strstr(b.data, "\n\nThe list above is shortened. The "
	    "complete list of all 5 IP addresses,\n"));
	assert_non_null(strstr(b.data, "the attached file\nips.csv.\n\nWe "
	    "are sending"));
	ctx.max_inline = 0;
	assert_int_equal(iw_letter_render(l, "en", five, 5, &ctx, &s, &b, NULL,
	    &err), 0);
	assert_non_null(strstr(b.data, "contact person.\n\nWe are sending"));
	iw_buf_free(&s);
	iw_buf_free(&b);
	iw_letters_free(l);
}

/* The digit d stands alone somewhere in text: {count} was expanded. */
static int
shows_number(const char *text, char d)
{
	for (const char *p = text + 1; (p = strchr(p, d)) != NULL; p++)
		if (strchr(" \n(", p[-1]) != NULL && p[1] != '\0' &&
		    strchr(" \n),", p[1]) != NULL)
			return 1;
	return 0;
}

static void
test_every_shipped_locale_renders_the_attached_block(void **state)
{
	static const char *const cut_says[] = { "afkortet", "forkortet",
	    "ingekort", "gekürzt", "scurtată", "shortened" };
	struct iw_letters *l = load_shipped();
	struct iw_letter_ctx ctx = { NULL, NULL, NULL, NULL, 0, 2, NULL };
	struct iw_err err = { "" };

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
		int att = 0;

		assert_int_equal(iw_letter_render(l, all_locales[i], five, 5,
		    &ctx, &s, &b, &att, &err), 0);
		assert_int_equal(att, 1);
		assert_int_equal(listed_ips(b.data), 2);
		assert_non_null(strstr(b.data, cut_says[i]));
		assert_non_null(strstr(b.data, "ips.csv."));
		assert_true(shows_number(b.data, '5'));
		assert_null(strstr(b.data, "\n\n\n"));
		assert_true(iw_utf8_valid(b.data, b.len));
		iw_buf_free(&s);
		iw_buf_free(&b);
	}
	iw_letters_free(l);
}


static void
test_every_shipped_locale_says_why_a_fallback_letter_came(void **state)
{
	static const char *const first_sent[] = {
	    "kunne ikke nå operatøren af", "kunne ikke nå operatøren av",
	    "niet bereiken via", "nicht über",
	    "Nu am putut ajunge", "could not reach the operator" };
	struct iw_letters *l = load_shipped();
	struct iw_letter_ctx ctx = { NULL, NULL, NULL, NULL, 0, 0, NULL };
	struct iw_err err = { "" };

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT;
		struct iw_buf s2 = IW_BUF_INIT, b2 = IW_BUF_INIT;

		ctx.fallback = NULL;
		assert_int_equal(iw_letter_render(l, all_locales[i], five, 2,
		    &ctx, &s, &b, NULL, &err), 0);
		assert_null(strstr(b.data, first_sent[i]));
		assert_null(strstr(b.data, "dead@lir.example"));
		ctx.fallback = "dead@lir.example\n<x>";
		assert_int_equal(iw_letter_render(l, all_locales[i], five, 2,
		    &ctx, &s2, &b2, NULL, &err), 0);
		assert_non_null(strstr(b2.data, first_sent[i]));
		assert_non_null(strstr(b2.data, "dead@lir.example <x>"));
		assert_string_equal(s.data, s2.data);
		assert_null(strstr(b2.data, "\n\n\n"));
		assert_true(iw_utf8_valid(b2.data, b2.len));
		iw_buf_free(&s);
		iw_buf_free(&b);
		iw_buf_free(&s2);
		iw_buf_free(&b2);
	}
	iw_letters_free(l);
}

/* The shipped templates, a configuration and a letter of five[0..n). */
struct composing {
	struct iw_letters *l;
	struct iw_config cfg;
	struct iw_compose_in in;
	struct iw_composed out;
	struct iw_err err;
};

static void
composing_open(struct composing *c, size_t n, size_t max_inline)
{
	memset(c, 0, sizeof(*c));
	c->l = load_shipped();
	c->cfg.sender_from = "Secure Your Server <secure@example.org>";
	c->cfg.sender_return_path = "bounces@example.org";
	c->cfg.sender_verp_secret = "0123456789abcdef0123456789abcdef";
	c->cfg.letters_default_locale = "en";
	c->in.letter_id = 42;
	c->in.email = "abuse@example.net";
	c->in.locale = "de";
	c->in.message_id = "<42.test@example.org>";
	c->in.items = five;
	c->in.nitems = n;
	c->in.date = 1795431571;
	c->in.ctx.campaign = "osys";
	c->in.ctx.ref = "osys-2026-000042";
	c->in.ctx.max_inline = max_inline;
}

/* Compose c->in into c->out (freed first); iw_compose's result. */
static int
composing_run(struct composing *c)
{
	iw_composed_free(&c->out);
	return iw_compose(&c->cfg, c->l, &c->in, &c->out, &c->err);
}

static void
composing_close(struct composing *c)
{
	iw_composed_free(&c->out);
	iw_letters_free(c->l);
}

/* Independent of lib/mime: base64 with line breaks to bytes. */
static char *
b64_decode(const char *p, size_t n)
{
	static const char dig[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	struct iw_buf b = IW_BUF_INIT;
	unsigned long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n && p[i] != '='; i++) {
		const char *d = strchr(dig, p[i]);

		if (p[i] == '\r' || p[i] == '\n')
			continue;
		assert_non_null(d);
		acc = (acc << 6) | (unsigned long)(d - dig);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			iw_buf_putc(&b, (char)((acc >> bits) & 0xff));
		}
	}
	return iw_buf_steal(&b);
}

/* Every line ends in CRLF and has at most 78 octets. */
static void
assert_lines_crlf_max_78(const char *m, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (m[i] != '\n')
			continue;
		assert_true(i > 0 && m[i - 1] == '\r');
		if (i - 1 - start > 78)
			fail_msg("line of %zu octets: %.60s", i - 1 - start,
			    m + start);
		start = i + 1;
	}
	assert_int_equal(start, len);
}

static void
test_cut_letter_is_multipart_with_every_ip_in_csv(void **state)
{
	struct composing c;
	const char *m, *ct, *csv, *end;
	char boundary[80], delim[90], *rows;
	size_t bl;

	(void)state;
	composing_open(&c, 5, 3);
	if (composing_run(&c) != 0)
		fail_msg("compose: %s", c.err.msg);
	m = c.out.data.data;
	assert_lines_crlf_max_78(m, c.out.data.len);
	assert_string_equal(c.out.locale, "de");
	assert_non_null(strstr(m, "\r\nX-Ipwarn-Ref: osys-2026-000042\r\n"));
	ct = strstr(m, "\r\nContent-Type: multipart/mixed; boundary=\"");
	assert_non_null(ct);
	ct += strlen("\r\nContent-Type: multipart/mixed; boundary=\"");
	bl = strcspn(ct, "\"");
	assert_true(bl > 0 && bl < 70);
	memcpy(boundary, ct, bl);
	boundary[bl] = '\0';
	snprintf(delim, sizeof(delim), "\r\n--%s\r\n", boundary);
	assert_non_null(strstr(m, "\r\n\r\n--"));
	assert_non_null(strstr(m, "Content-Type: text/plain; charset=UTF-8"
	    "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"));
	csv = strstr(m, "Content-Type: text/csv; charset=utf-8\r\n"
	    "Content-Disposition: attachment; filename=\"ips.csv\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	assert_non_null(csv);
	assert_non_null(strstr(m, delim));
	csv = strstr(csv, "\r\n\r\n") + 4;
	snprintf(delim, sizeof(delim), "--%s--\r\n", boundary);
	end = strstr(csv, delim);
	assert_non_null(end);
	assert_int_equal(strlen(end), strlen(delim));	/* the last line */
	/* the boundary occurs only as delimiters */
	for (const char *p = m; (p = strstr(p, boundary)) != NULL; p++)
		assert_true(p[-1] == '-' || p[-1] == '"');
	rows = b64_decode(csv, (size_t)(end - csv));
	assert_string_equal(rows, "ip,evidence,observed\r\n"
	    "192.0.2.1,open proxy on 3128/tcp,2026-11-01T10:00:00Z\r\n"
	    "192.0.2.2,\"relay, \"\"open\"\" on 25/tcp\",\r\n"
	    "192.0.2.3,,2026-11-02T08:30:00Z\r\n"
	    "2001:db8::4,a  b c  d,\r\n"
	    "192.0.2.5,last,2026-11-03T00:00:00Z\r\n");
	free(rows);
	composing_close(&c);
}

static void
test_short_letter_stays_single_part(void **state)
{
	struct composing c;

	(void)state;
	composing_open(&c, 3, 3);
	c.in.ctx.ref = NULL;
	assert_int_equal(composing_run(&c), 0);
	assert_lines_crlf_max_78(c.out.data.data, c.out.data.len);
	assert_null(strstr(c.out.data.data, "multipart"));
	assert_null(strstr(c.out.data.data, "ips.csv"));
	assert_null(strstr(c.out.data.data, "X-Ipwarn-Ref"));
	assert_non_null(strstr(c.out.data.data, "\r\nContent-Type: "
	    "text/plain; charset=UTF-8\r\n"));
	composing_close(&c);
}

static void
test_compose_refuses_a_bad_ref(void **state)
{
	static const char *const bad[] = { "osys 2026", "osys-\xc3\xa6",
	    "a\r\nBcc: x@example.org",
	    "0123456789012345678901234567890123456789012345678901234567890123x",
	};
	struct composing c;

	(void)state;
	composing_open(&c, 1, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.in.ctx.ref = bad[i];
		assert_int_equal(composing_run(&c), -1);
		assert_non_null(strstr(c.err.msg, "ref: "));
		assert_null(c.out.data.data);
	}
	composing_close(&c);
}

static void
test_compose_prefers_campaign_templates_then_global_then_default(
    void **state)
{
	static const char *const names[] = { "de" };
	struct iw_letters *camp;
	struct composing c;
	char dir[512];
	static const struct {
		const char *locale, *used, *subject;
	} cases[] = {
		{ "de", "de", "Subject: Kampagne osys\r\n" },
		{ "nl", "nl", "Subject: Open relay of open proxy op 192.0" },
		{ "xx", "en", "Subject: Open mail relay or open proxy server" },
		{ NULL, "en", "Subject: Open mail relay or open proxy server" },
	};

	(void)state;
	mkdir_tmp(dir, sizeof(dir));
	put_file(dir, "de", "subject-one: Kampagne {campaign}\n"
	    "subject-many: Kampagne {campaign}\n\n{ips}\n{attached}\n"
	    "Gekürzt.\n{end}\n");
	composing_open(&c, 1, 0);
	assert_int_equal(iw_letters_load(dir, &camp, &c.err), 0);
	c.in.campaign_letters = camp;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c.in.locale = cases[i].locale;
		if (composing_run(&c) != 0)
			fail_msg("%s: %s", cases[i].locale, c.err.msg);
		assert_string_equal(c.out.locale, cases[i].used);
		if (strstr(c.out.data.data, cases[i].subject) == NULL)
			fail_msg("%s: no \"%s\"", cases[i].used,
			    cases[i].subject);
	}
	iw_letters_free(camp);
	composing_close(&c);
	rm_tmp(dir, names, 1);
}

/* What iw_mime_decode_text shows after the header block. */
static const char *
decoded_body(const char *text)
{
	const char *p = strstr(text, "\n\n");

	assert_non_null(p);
	return p + 2;
}

static void
test_decode_shows_the_rendered_letter_and_the_csv(void **state)
{
	struct composing c;
	struct iw_buf s = IW_BUF_INIT, b = IW_BUF_INIT, d = IW_BUF_INIT;
	char want[512];

	(void)state;
	composing_open(&c, 1, 3);
	for (size_t i = 0; i < 6; i++) {
		for (size_t n = 1; n <= 5; n += 4) {
			const char *body, *att;

			c.in.nitems = n;
			c.in.locale = all_locales[i];
			assert_int_equal(composing_run(&c), 0);
			assert_lines_crlf_max_78(c.out.data.data,
			    c.out.data.len);
			assert_int_equal(iw_letter_render(c.l, all_locales[i],
			    five, n, &c.in.ctx, &s, &b, NULL, &c.err), 0);
			if (iw_mime_decode_text(c.out.data.data,
			    c.out.data.len, &d, &c.err) != 0)
				fail_msg("decode: %s", c.err.msg);
			snprintf(want, sizeof(want), "\nSubject: %s\n",
			    s.data);
			assert_non_null(strstr(d.data, want));
			assert_non_null(strstr(d.data, "\nFrom: Secure Your "
			    "Server <secure@example.org>\n"));
			body = decoded_body(d.data);
			att = strstr(body, "\n--- attachment ips.csv "
			    "(text/csv) ---\n");
			assert_true((att != NULL) == (n == 5));
			if (att == NULL) {
				assert_string_equal(body, b.data);
			} else {
				assert_int_equal((size_t)(att - body),
				    b.len);
				assert_memory_equal(body, b.data, b.len);
				assert_non_null(strstr(att, "---\nip,evidence,"
				    "observed\n192.0.2.1,"));
				assert_non_null(strstr(att, "\n192.0.2.5,last,"
				    "2026-11-03T00:00:00Z\n"));
			}
		}
	}
	iw_buf_free(&s);
	iw_buf_free(&b);
	iw_buf_free(&d);
	composing_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_seed_locale_loads),
		cmocka_unit_test(test_fallback_block_at_most_once_and_alone),
		cmocka_unit_test(
		    test_every_shipped_locale_says_why_a_fallback_letter_came),
		cmocka_unit_test(test_seed_wording_kept),
		cmocka_unit_test(test_plural_lists_every_ip),
		cmocka_unit_test(test_plural_shares_the_general_paragraphs),
		cmocka_unit_test(test_body_lf_only_within_76_columns),
		cmocka_unit_test(test_evidence_control_chars_removed),
		cmocka_unit_test(test_evidence_length_bounded),
		cmocka_unit_test(test_unknown_locale_or_bad_ip_is_an_error),
		cmocka_unit_test(test_template_errors_name_file_line),
		cmocka_unit_test(
		    test_readme_and_backups_skipped_regions_matched),
		cmocka_unit_test(test_empty_directory_is_an_error),
		cmocka_unit_test(test_campaign_placeholders_render_cleaned),
		cmocka_unit_test(
		    test_undefined_var_is_a_render_error_naming_file_line),
		cmocka_unit_test(test_check_vars_names_the_first_undefined),
		cmocka_unit_test(test_attached_block_required_once_and_alone),
		cmocka_unit_test(
		    test_cut_list_shows_max_inline_and_attached_block),
		cmocka_unit_test(
		    test_every_shipped_locale_renders_the_attached_block),
		cmocka_unit_test(
		    test_cut_letter_is_multipart_with_every_ip_in_csv),
		cmocka_unit_test(test_short_letter_stays_single_part),
		cmocka_unit_test(test_compose_refuses_a_bad_ref),
		cmocka_unit_test(
	    test_compose_prefers_campaign_templates_then_global_then_default),
		cmocka_unit_test(
		    test_decode_shows_the_rendered_letter_and_the_csv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
