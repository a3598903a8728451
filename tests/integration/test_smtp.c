/*
 * Integration tests of lib/smtp against tests/servers/smtpfault.py, a real
 * SMTP server on loopback that misbehaves on request: every test starts its
 * own server in a temporary directory with the fault rules it needs and
 * checks what iw_smtp_send_batch() reports and what the server received.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtp.h"
#include "util.h"

struct server {
	pid_t pid;
	char dir[256];
	char relay[64];
	char rules[300];
	char log[300];
	char spool[300];
};

static const char *
srcdir(void)
{
	const char *d = getenv("IW_SRCDIR");

	return d != NULL && d[0] != '\0' ? d : ".";
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct iw_buf b = IW_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(iw_buf_append(&b, chunk, n), 0);
	fclose(f);
	if (len != NULL)
		*len = b.len;
	return iw_buf_steal(&b);
}

static void
spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Start smtpfault.py with rules (JSON text, may be NULL) and extra args. */
static void
server_start(struct server *sv, const char *rules, const char *const *extra)
{
	char portfile[300], script[512];
	const char *argv[32];
	int argc = 0;

	memset(sv, 0, sizeof *sv);
	snprintf(sv->dir, sizeof sv->dir, "/tmp/iw-smtp-test.XXXXXX");
	assert_non_null(mkdtemp(sv->dir));
	snprintf(portfile, sizeof portfile, "%s/port", sv->dir);
	snprintf(sv->rules, sizeof sv->rules, "%s/rules.json", sv->dir);
	snprintf(sv->log, sizeof sv->log, "%s/smtp.log", sv->dir);
	snprintf(sv->spool, sizeof sv->spool, "%s/spool", sv->dir);
	snprintf(script, sizeof script, "%s/tests/servers/smtpfault.py",
	    srcdir());
	spit(sv->rules, rules != NULL ? rules : "[]");

	argv[argc++] = "python3";
	argv[argc++] = script;
	argv[argc++] = "--port-file";
	argv[argc++] = portfile;
	argv[argc++] = "--spool";
	argv[argc++] = sv->spool;
	argv[argc++] = "--log";
	argv[argc++] = sv->log;
	argv[argc++] = "--rules";
	argv[argc++] = sv->rules;
	for (; extra != NULL && *extra != NULL && argc < 30; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;

	sv->pid = fork();
	assert_true(sv->pid >= 0);
	if (sv->pid == 0) {
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		char *p = slurp(portfile, NULL);
		int status;

		if (p != NULL) {
			snprintf(sv->relay, sizeof sv->relay, "127.0.0.1:%d",
			    atoi(p));
			free(p);
			return;
		}
		if (waitpid(sv->pid, &status, WNOHANG) == sv->pid) {
			sv->pid = 0;
			fail_msg("smtpfault.py exited early (status %d)",
			    status);
		}
		sleep_ms(50);
	}
	fail_msg("smtpfault.py did not write its port file");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
server_stop(struct server *sv)
{
	if (sv->pid > 0) {
		kill(sv->pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(sv->pid, NULL, WNOHANG) == sv->pid) {
				sv->pid = 0;
				break;
			}
			sleep_ms(50);
		}
		if (sv->pid > 0) {
			kill(sv->pid, SIGKILL);
			waitpid(sv->pid, NULL, 0);
		}
	}
	if (sv->dir[0] != '\0' && getenv("IW_KEEP_TMP") == NULL)
		nftw(sv->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Each test's state: its server, freed by the teardown even on failure. */
static int
setup(void **state)
{
	struct server *sv = calloc(1, sizeof *sv);

	if (sv == NULL)
		return -1;
	*state = sv;
	return 0;
}

static int
teardown(void **state)
{
	server_stop(*state);
	free(*state);
	return 0;
}

static int
count_in_file(const char *path, const char *needle)
{
	char *text = slurp(path, NULL);
	int n = 0;

	if (text == NULL)
		return 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

static int
spool_count(const struct server *sv)
{
	char path[400];
	int n = 0;

	for (int i = 1; i < 1000; i++) {
		snprintf(path, sizeof path, "%s/%06d.json", sv->spool, i);
		if (access(path, F_OK) != 0)
			break;
		n++;
	}
	return n;
}

static char *
spool_file(const struct server *sv, int seq, const char *ext, size_t *len)
{
	char path[400];

	snprintf(path, sizeof path, "%s/%06d.%s", sv->spool, seq, ext);
	return slurp(path, len);
}

static struct iw_smtp_conf
conf_for(const struct server *sv)
{
	struct iw_smtp_conf c = {
		.relay = sv->relay,
		.starttls = IW_SMTP_TLS_DISABLED,
		.helo = "client.test",
		.timeout_s = 10,
	};

	return c;
}

/* A complete message; bufs are kept in a small static ring for the test. */
static char msgbuf[8][2048];

static void
make_msg(struct iw_smtp_msg *m, int k, const char *rcpt)
{
	char *b = msgbuf[k % 8];

	snprintf(b, sizeof msgbuf[0],
	    "From: Secure Your Server <secure@example.org>\r\n"
	    "To: <%s>\r\n"
	    "Subject: Open proxy on your network %d\r\n"
	    "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
	    "Message-ID: <letter-%d@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "\r\n"
	    "Hello,\r\n"
	    ".a line that starts with a dot\r\n"
	    "..two dots\r\n"
	    ".\r\n"
	    "the line above is a lone dot; message %d ends here\r\n",
	    rcpt, k, k, k);
	memset(m, 0, sizeof *m);
	m->reverse_path = "bounces+tok@example.org";
	m->rcpt = rcpt;
	m->envid = NULL;
	m->data = b;
	m->len = strlen(b);
}

/* -- tests ------------------------------------------------------------------ */

static void
test_batch_goes_in_one_session_byte_identical(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[3];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, NULL, NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "abuse@one.example");
	make_msg(&m[1], 1, "abuse@two.example");
	make_msg(&m[2], 2, "abuse@three.example");
	m[1].envid = "letter-1+x=y";
	assert_int_equal(iw_smtp_send_batch(&c, m, 3, &err), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(m[i].outcome, IW_SMTP_SENT);
		assert_int_equal(m[i].code, 250);
		assert_string_equal(m[i].enhanced, "2.0.0");
		assert_string_equal(m[i].stage, "");
		assert_non_null(strstr(m[i].reply, "250 2.0.0 queued as"));
	}
	assert_int_equal(count_in_file(sv->log, " connect "), 1);
	assert_int_equal(spool_count(sv), 3);
	for (int i = 0; i < 3; i++) {
		size_t len;
		char *eml = spool_file(sv, i + 1, "eml", &len);

		assert_non_null(eml);
		assert_int_equal(len, m[i].len);
		assert_memory_equal(eml, m[i].data, len);
		free(eml);
	}
	{
		char *j = spool_file(sv, 2, "json", NULL);

		assert_non_null(j);
		assert_non_null(strstr(j, "\"mail_from\": \"bounces+tok@example.org\""));
		assert_non_null(strstr(j, "\"abuse@two.example\""));
		/* '+' and '=' are xtext-encoded in ENVID */
		assert_non_null(strstr(j, "ENVID=letter-1+2Bx+3Dy"));
		assert_non_null(strstr(j, "RET=HDRS"));
		assert_non_null(strstr(j, "NOTIFY=FAILURE,DELAY"));
		assert_non_null(strstr(j, "\"helo\": \"client.test\""));
		free(j);
	}
}

static void
test_greeting_421_fails_session_all_tempfail(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[2];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"greeting\",\"reply\":\"421 4.3.2 busy\"}]",
	    NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "a@x.example");
	make_msg(&m[1], 1, "b@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 2, &err), -1);
	assert_non_null(strstr(err.msg, "421"));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(m[i].outcome, IW_SMTP_TEMPFAIL);
		assert_int_equal(m[i].code, 421);
		assert_string_equal(m[i].enhanced, "4.3.2");
		assert_string_equal(m[i].stage, "greet");
		assert_string_equal(m[i].reply, "421 4.3.2 busy");
	}
	assert_int_equal(spool_count(sv), 0);
}

static void
test_greeting_554_is_still_tempfail(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"greeting\",\"reply\":\"554 5.7.1 no\"}]",
	    NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), -1);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_int_equal(m[0].code, 554);
	assert_string_equal(m[0].stage, "greet");
}

static void
test_rcpt_450_is_tempfail_others_sent(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[2];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"rcpt\":\"later@x.example\","
	    "\"reply\":\"450 4.2.0 try later\"}]", NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "later@x.example");
	make_msg(&m[1], 1, "fine@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 2, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_int_equal(m[0].code, 450);
	assert_string_equal(m[0].enhanced, "4.2.0");
	assert_string_equal(m[0].stage, "rcpt");
	assert_string_equal(m[0].reply, "450 4.2.0 try later");
	assert_int_equal(m[1].outcome, IW_SMTP_SENT);
	assert_int_equal(spool_count(sv), 1);
	assert_int_equal(count_in_file(sv->log, " connect "), 1);
}

static void
test_rcpt_450_times_then_accepted(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"rcpt\":\"later@x.example\",\"times\":2,"
	    "\"reply\":\"451 4.3.0 greylisted\"}]", NULL);
	c = conf_for(sv);
	for (int attempt = 0; attempt < 3; attempt++) {
		make_msg(&m[0], 0, "later@x.example");
		assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), 0);
		assert_int_equal(m[0].outcome, attempt < 2 ? IW_SMTP_TEMPFAIL :
		    IW_SMTP_SENT);
	}
	assert_int_equal(spool_count(sv), 1);
}

static void
test_rcpt_550_is_permfail_511(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[2];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"rcpt_re\":\"nobody@.*\","
	    "\"reply\":\"550 5.1.1 unknown user\"}]", NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "fine@x.example");
	make_msg(&m[1], 1, "nobody@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 2, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
	assert_int_equal(m[1].outcome, IW_SMTP_PERMFAIL);
	assert_int_equal(m[1].code, 550);
	assert_string_equal(m[1].enhanced, "5.1.1");
	assert_string_equal(m[1].stage, "rcpt");
}

static void
test_mail_451_is_tempfail_stage_mail(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"mail\",\"reply\":\"451 4.3.0 later\"}]",
	    NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_int_equal(m[0].code, 451);
	assert_string_equal(m[0].stage, "mail");
}

static void
test_data_554_is_permfail_stage_dot(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[3];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"data\",\"rcpt\":\"spam@x.example\","
	    "\"reply\":\"554 5.7.1 rejected as spam\"}]", NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "a@x.example");
	make_msg(&m[1], 1, "spam@x.example");
	make_msg(&m[2], 2, "c@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 3, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
	assert_int_equal(m[1].outcome, IW_SMTP_PERMFAIL);
	assert_int_equal(m[1].code, 554);
	assert_string_equal(m[1].enhanced, "5.7.1");
	assert_string_equal(m[1].stage, "dot");
	assert_string_equal(m[1].reply, "554 5.7.1 rejected as spam");
	assert_int_equal(m[2].outcome, IW_SMTP_SENT);
	assert_int_equal(spool_count(sv), 2);
	assert_int_equal(count_in_file(sv->log, " connect "), 1);
}

static void
test_data_command_451_is_stage_data(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"datacmd\",\"reply\":\"451 4.3.0 no\"}]",
	    NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_int_equal(m[0].code, 451);
	assert_string_equal(m[0].stage, "data");
}

static void
test_drop_mid_data_keeps_earlier_sent(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[3];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"data\",\"rcpt\":\"drop@x.example\","
	    "\"action\":\"drop\"}]", NULL);
	c = conf_for(sv);
	make_msg(&m[0], 0, "a@x.example");
	make_msg(&m[1], 1, "drop@x.example");
	make_msg(&m[2], 2, "c@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 3, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
	assert_int_equal(m[1].outcome, IW_SMTP_TEMPFAIL);
	assert_int_equal(m[1].code, 0);
	assert_string_equal(m[1].stage, "dot");
	assert_int_equal(m[2].outcome, IW_SMTP_TEMPFAIL);
	assert_string_equal(m[2].stage, "");
	assert_non_null(strstr(m[2].reply, "not attempted"));
	assert_int_equal(spool_count(sv), 1);
}

static void
test_silence_at_rcpt_times_out_tempfail(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[2];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;
	int64_t t0;

	server_start(sv, "[{\"when\":\"rcpt\",\"rcpt\":\"quiet@x.example\","
	    "\"action\":\"silence\"}]", NULL);
	c = conf_for(sv);
	c.timeout_s = 2;
	make_msg(&m[0], 0, "a@x.example");
	make_msg(&m[1], 1, "quiet@x.example");
	t0 = iw_now_ms();
	assert_int_equal(iw_smtp_send_batch(&c, m, 2, &err), 0);
	assert_true(iw_now_ms() - t0 < 8000);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
	assert_int_equal(m[1].outcome, IW_SMTP_TEMPFAIL);
	assert_string_equal(m[1].stage, "rcpt");
	assert_non_null(strstr(m[1].reply, "timeout"));
}

static void
test_silence_after_data_times_out_tempfail(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"data\",\"action\":\"silence\"}]", NULL);
	c = conf_for(sv);
	c.timeout_s = 2;
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_string_equal(m[0].stage, "dot");
}

static void
test_silent_greeting_times_out(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, "[{\"when\":\"greeting\",\"action\":\"silence\"}]",
	    NULL);
	c = conf_for(sv);
	c.timeout_s = 1;
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), -1);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_string_equal(m[0].stage, "greet");
}

static void
test_connect_refused(void **state)
{
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c = { .relay = "127.0.0.1:1", .timeout_s = 2 };

	(void)state;
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), -1);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_string_equal(m[0].stage, "connect");
	assert_true(err.msg[0] != '\0');
}

static void
test_starttls_required_but_not_offered(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, NULL, NULL);
	c = conf_for(sv);
	c.starttls = IW_SMTP_TLS_REQUIRED;
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), -1);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_string_equal(m[0].stage, "tls");
	assert_int_equal(spool_count(sv), 0);
	assert_int_equal(count_in_file(sv->log, "C: MAIL"), 0);
}

static void
test_starttls_enabled_without_offer_sends_plain(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;

	server_start(sv, NULL, NULL);
	c = conf_for(sv);
	c.starttls = IW_SMTP_TLS_ENABLED;
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
}

/* -- TLS with a certificate made at test time ------------------------------- */

static int
make_cert(const char *dir, const char *name, const char *cn)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd,
	    "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
	    "-keyout '%s/%s.key' -out '%s/%s.pem' -subj '/CN=%s' "
	    "-addext 'subjectAltName=IP:%s' >/dev/null 2>&1",
	    dir, name, dir, name, cn, cn);
	return system(cmd);
}

static void
tls_server(struct server *sv, char *cert, char *key, size_t sz)
{
	char tmpl[] = "/tmp/iw-smtp-cert.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	assert_int_equal(make_cert(d, "relay", "127.0.0.1"), 0);
	assert_int_equal(make_cert(d, "other", "127.0.0.1"), 0);
	snprintf(cert, sz, "%s/relay.pem", d);
	snprintf(key, sz, "%s/relay.key", d);
	{
		const char *extra[] = { "--tls-cert", cert, "--tls-key", key,
		    NULL };

		server_start(sv, NULL, extra);
	}
}

static void
cert_dir_remove(const char *cert)
{
	char d[256];
	char *slash;

	iw_strlcpy(d, cert, sizeof d);
	slash = strrchr(d, '/');
	if (slash != NULL) {
		*slash = '\0';
		nftw(d, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	}
}

static void
test_starttls_required_with_right_ca_sends(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[2];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;
	char cert[256], key[256];

	tls_server(sv, cert, key, sizeof cert);
	c = conf_for(sv);
	c.starttls = IW_SMTP_TLS_REQUIRED;
	c.ca_file = cert;
	make_msg(&m[0], 0, "a@x.example");
	make_msg(&m[1], 1, "b@x.example");
	if (iw_smtp_send_batch(&c, m, 2, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
	assert_int_equal(m[1].outcome, IW_SMTP_SENT);
	{
		char *j = spool_file(sv, 1, "json", NULL);

		assert_non_null(j);
		assert_non_null(strstr(j, "\"tls\": true"));
		free(j);
	}
	/* A second session in the same process: libESMTP 1.1.0's own
	   SSL_CTX would be used after free here (upstream issue 30). */
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
	cert_dir_remove(cert);
}

static void
test_starttls_required_with_wrong_ca_fails(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;
	char cert[256], key[256], other[300];

	tls_server(sv, cert, key, sizeof cert);
	iw_strlcpy(other, cert, sizeof other);
	memcpy(strrchr(other, '/'), "/other.pem", sizeof "/other.pem");
	c = conf_for(sv);
	c.starttls = IW_SMTP_TLS_REQUIRED;
	c.ca_file = other;
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), -1);
	assert_int_equal(m[0].outcome, IW_SMTP_TEMPFAIL);
	assert_string_equal(m[0].stage, "tls");
	assert_int_equal(spool_count(sv), 0);
	cert_dir_remove(cert);
}

/* -- AUTH ------------------------------------------------------------------- */

static void
test_auth_succeeds(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[1];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;
	const char *extra[] = { "--auth", "ipwarn:s3cret", NULL };

	server_start(sv, NULL, extra);
	c = conf_for(sv);
	c.username = "ipwarn";
	c.password = "s3cret";
	make_msg(&m[0], 0, "a@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 1, &err), 0);
	assert_int_equal(m[0].outcome, IW_SMTP_SENT);
	{
		char *j = spool_file(sv, 1, "json", NULL);

		assert_non_null(j);
		assert_non_null(strstr(j, "\"auth\": \"ipwarn\""));
		free(j);
	}
}

static void
test_auth_failure_fails_session_sends_nothing(void **state)
{
	struct server *sv = *state;
	struct iw_smtp_msg m[2];
	struct iw_err err = { "" };
	struct iw_smtp_conf c;
	const char *extra[] = { "--auth", "ipwarn:s3cret", NULL };

	server_start(sv, NULL, extra);
	c = conf_for(sv);
	c.username = "ipwarn";
	c.password = "wrong";
	make_msg(&m[0], 0, "a@x.example");
	make_msg(&m[1], 1, "b@x.example");
	assert_int_equal(iw_smtp_send_batch(&c, m, 2, &err), -1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(m[i].outcome, IW_SMTP_TEMPFAIL);
		assert_string_equal(m[i].stage, "auth");
	}
	assert_int_equal(m[0].code, 535);
	assert_int_equal(spool_count(sv), 0);
}

static void
test_empty_batch_does_not_connect(void **state)
{
	struct iw_err err = { "" };
	struct iw_smtp_conf c = { .relay = "127.0.0.1:1", .timeout_s = 2 };

	(void)state;
	assert_int_equal(iw_smtp_send_batch(&c, NULL, 0, &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_batch_goes_in_one_session_byte_identical),
		T(test_greeting_421_fails_session_all_tempfail),
		T(test_greeting_554_is_still_tempfail),
		T(test_rcpt_450_is_tempfail_others_sent),
		T(test_rcpt_450_times_then_accepted),
		T(test_rcpt_550_is_permfail_511),
		T(test_mail_451_is_tempfail_stage_mail),
		T(test_data_554_is_permfail_stage_dot),
		T(test_data_command_451_is_stage_data),
		T(test_drop_mid_data_keeps_earlier_sent),
		T(test_silence_at_rcpt_times_out_tempfail),
		T(test_silence_after_data_times_out_tempfail),
		T(test_silent_greeting_times_out),
		T(test_connect_refused),
		T(test_starttls_required_but_not_offered),
		T(test_starttls_enabled_without_offer_sends_plain),
		T(test_starttls_required_with_right_ca_sends),
		T(test_starttls_required_with_wrong_ca_fails),
		T(test_auth_succeeds),
		T(test_auth_failure_fails_session_sends_nothing),
		T(test_empty_batch_does_not_connect),
#undef T
	};

	/* libESMTP writes with write(2); a relay hanging up must not kill us */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
