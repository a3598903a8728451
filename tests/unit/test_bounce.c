/*
 * Unit tests for the bounce parser: small inline messages for each kind of
 * bounce and each encoding, plus a few real ones from the shared corpus
 * (IW_CORPUS, else ../shared/corpus/bounces; skipped when absent).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bounce.h"
#include "bounce_json.h"
#include "bounce_mime.h"
#include "bounce_reason.h"
#include "util.h"

static struct iw_bounce *
parse(const char *msg)
{
	struct iw_bounce *b = NULL;
	struct iw_err err;

	assert_int_equal(iw_bounce_parse(msg, strlen(msg), &b, &err), 0);
	assert_non_null(b);
	return b;
}

static const char postfix_dsn[] =
    "Return-Path: <>\n"
    "X-Original-To: bounces+AbC123@example.org\n"
    "Delivered-To: bounces+AbC123@example.org\n"
    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
    "To: bounces+AbC123@example.org\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"B1\"\n"
    "\n"
    "--B1\n"
    "Content-Type: text/plain\n"
    "\n"
    "This is the mail system at host mx.example.net.\n"
    "\n"
    "<abuse@example.net>: host mx.example.net said: 550 5.1.1 <abuse@example.net>:\n"
    "    Recipient address rejected: User unknown in local recipient table (in\n"
    "    reply to RCPT TO command)\n"
    "\n"
    "--B1\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "Original-Envelope-Id: letter-42\n"
    "\n"
    "Final-Recipient: rfc822; abuse@example.net\n"
    "Original-Recipient: rfc822;abuse@example.net\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.net\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <abuse@example.net>: Recipient address\n"
    "    rejected: User unknown in local recipient table\n"
    "\n"
    "--B1\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "From: Secure <secure@example.org>\n"
    "To: abuse@example.net\n"
    "Message-ID: <letter-42@example.org>\n"
    "Subject: open proxy\n"
    "\n"
    "--B1--\n";

static void
test_postfix_dsn_user_unknown_is_hard(void **state)
{
	struct iw_bounce *b = parse(postfix_dsn);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	assert_string_equal(iw_bounce_class_name(b->cls), "hard");
	assert_int_equal(b->kind, IW_BOUNCE_KIND_DSN);
	assert_true(b->is_dsn);
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_string_equal(b->rcpt[0].action, "failed");
	assert_string_equal(b->rcpt[0].status, "5.1.1");
	assert_int_equal(b->rcpt[0].reply_code, 550);
	assert_string_equal(b->rcpt[0].remote_mta, "mx.example.net");
	assert_non_null(strstr(b->rcpt[0].diagnostic, "User unknown"));
	assert_string_equal(b->envid, "letter-42");
	assert_string_equal(b->orig_message_id, "<letter-42@example.org>");
	assert_true(b->nenvelope >= 1);
	assert_string_equal(b->envelope[0], "bounces+AbC123@example.org");
	iw_bounce_free(b);
}

static void
test_delayed_dsn_is_transient(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Delayed Mail (still being retried)\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; mx.example.net\n"
	    "\n"
	    "Final-Recipient: rfc822; abuse@example.net\n"
	    "Action: delayed\n"
	    "Status: 4.4.1\n"
	    "Diagnostic-Code: X-Postfix; connect to mx.example.net: Connection timed out\n"
	    "\n"
	    "--b--\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_TRANSIENT);
	assert_string_equal(b->rcpt[0].status, "4.4.1");
	assert_string_equal(b->rcpt[0].action, "delayed");
	iw_bounce_free(b);
}

static void
test_arf_is_complaint(void **state)
{
	static const char msg[] =
	    "From: feedback@isp.example\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Abuse report\n"
	    "Content-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\n"
	    "\n"
	    "--f\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "This is an email abuse report.\n"
	    "--f\n"
	    "Content-Type: message/feedback-report\n"
	    "\n"
	    "Feedback-Type: abuse\n"
	    "User-Agent: SomeGenerator/1.0\n"
	    "Version: 1\n"
	    "Original-Rcpt-To: <abuse@example.net>\n"
	    "\n"
	    "--f\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "From: secure@example.org\n"
	    "To: abuse@example.net\n"
	    "Message-ID: <m1@example.org>\n"
	    "\n"
	    "body\n"
	    "--f--\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_COMPLAINT);
	assert_true(b->is_arf);
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_string_equal(b->orig_message_id, "<m1@example.org>");
	iw_bounce_free(b);
}

static void
test_vacation_is_autoreply(void **state)
{
	static const char msg[] =
	    "From: Kim <abuse@example.net>\n"
	    "To: secure@example.org\n"
	    "Subject: Out of Office: open proxy\n"
	    "Auto-Submitted: auto-replied\n"
	    "\n"
	    "I am on vacation until Monday.\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_AUTOREPLY);
	assert_true(b->is_autoreply);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	iw_bounce_free(b);
}

static void
test_dsn_marked_auto_replied_is_still_a_dsn(void **state)
{
	static const char msg[] =
	    "From: postmaster@example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Undeliverable: open proxy\n"
	    "Auto-Submitted: auto-replied\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=z\n"
	    "\n"
	    "--z\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Final-Recipient: rfc822;abuse@example.net\n"
	    "Action: failed\n"
	    "Status: 5.1.10\n"
	    "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\n"
	    "--z--\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	assert_false(b->is_autoreply);
	assert_string_equal(b->rcpt[0].status, "5.1.10");
	iw_bounce_free(b);
}

/* The same DSN parsed with CRLF and with bare CR endings. */
static void
test_crlf_and_cr_line_endings(void **state)
{
	size_t n = strlen(postfix_dsn);
	char *crlf = malloc(2 * n), *cr = malloc(n);
	size_t k = 0;
	struct iw_bounce *b;
	struct iw_err err;

	(void)state;
	assert_non_null(crlf);
	assert_non_null(cr);
	for (size_t i = 0; i < n; i++) {
		if (postfix_dsn[i] == '\n')
			crlf[k++] = '\r';
		crlf[k++] = postfix_dsn[i];
		cr[i] = postfix_dsn[i] == '\n' ? '\r' : postfix_dsn[i];
	}
	/* exact-size buffers: no NUL terminator is relied upon */
	assert_int_equal(iw_bounce_parse(crlf, k, &b, &err), 0);
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	assert_string_equal(b->rcpt[0].status, "5.1.1");
	assert_string_equal(b->envid, "letter-42");
	iw_bounce_free(b);
	assert_int_equal(iw_bounce_parse(cr, n, &b, &err), 0);
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	iw_bounce_free(b);
	free(crlf);
	free(cr);
}

static void
test_base64_dsn(void **state)
{
	/* "Final-Recipient: rfc822; abuse@example.net\nAction: failed\n
	 *  Status: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full\n" */
	static const char msg[] =
	    "From: MAILER-DAEMON@example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: failure\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=q\n"
	    "\n"
	    "--q\n"
	    "Content-Type: message/delivery-status\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "RmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFidXNlQGV4YW1wbGUubmV0CkFjdGlvbjogZmFpbGVk\n"
	    "ClN0YXR1czogNS4yLjIKRGlhZ25vc3RpYy1Db2RlOiBzbXRwOyA1NTIgNS4yLjIgTWFpbGJveCBm\n"
	    "dWxsCg==\n"
	    "--q--\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_string_equal(b->rcpt[0].status, "5.2.2");
	assert_string_equal(b->rcpt[0].reason, "mailboxfull");
	assert_int_equal(b->cls, IW_BOUNCE_SOFT);
	iw_bounce_free(b);
}

static void
test_quoted_printable_text_bounce(void **state)
{
	static const char msg[] =
	    "From: Mail Delivery Subsystem <mailer-daemon@example.net>\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Delivery Status Notification (Failure)\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "Delivery to the following recipient failed permanently:\n"
	    "\n"
	    "     abuse@example.net\n"
	    "\n"
	    "The error that the other server returned was:\n"
	    "550 5.1.1 The email account that you tried to reach does not exi=\n"
	    "st. =E2=9C=89\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_string_equal(b->rcpt[0].status, "5.1.1");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	assert_non_null(strstr(b->rcpt[0].diagnostic, "does not exist"));
	iw_bounce_free(b);
}

static void
test_qmail_body(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: failure notice\n"
	    "\n"
	    "Hi. This is the qmail-send program at mx.example.net.\n"
	    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
	    "This is a permanent error; I've given up. Sorry it didn't work out.\n"
	    "\n"
	    "<abuse@example.net>:\n"
	    "Sorry, no mailbox here by that name. (#5.1.1)\n"
	    "\n"
	    "--- Below this line is a copy of the message.\n"
	    "\n"
	    "Return-Path: <bounces+x@example.org>\n"
	    "From: secure@example.org\n"
	    "To: abuse@example.net\n"
	    "Message-ID: <q1@example.org>\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->kind, IW_BOUNCE_KIND_BODY);
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_string_equal(b->rcpt[0].status, "5.1.1");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	assert_string_equal(b->orig_message_id, "<q1@example.org>");
	iw_bounce_free(b);
}

static void
test_exim_body(void **state)
{
	static const char msg[] =
	    "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Mail delivery failed: returning message to sender\n"
	    "X-Failed-Recipients: abuse@example.net, noc@example.net\n"
	    "\n"
	    "This message was created automatically by mail delivery software.\n"
	    "\n"
	    "A message that you sent could not be delivered to one or more of its\n"
	    "recipients. This is a permanent error. The following address(es) failed:\n"
	    "\n"
	    "  abuse@example.net\n"
	    "    SMTP error from remote mail server after RCPT TO:<abuse@example.net>:\n"
	    "    host mx.example.net [192.0.2.1]: 550 5.1.1 <abuse@example.net>... User unknown\n"
	    "  noc@example.net\n"
	    "    SMTP error from remote mail server after RCPT TO:<noc@example.net>:\n"
	    "    host mx.example.net [192.0.2.1]: 552 5.2.2 <noc@example.net>... Mailbox full\n"
	    "\n"
	    "------ This is a copy of the message, including all the headers. ------\n"
	    "\n"
	    "From: secure@example.org\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 2);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_string_equal(b->rcpt[0].status, "5.1.1");
	assert_int_equal(b->rcpt[0].cls, IW_BOUNCE_HARD);
	assert_string_equal(b->rcpt[1].address, "noc@example.net");
	assert_string_equal(b->rcpt[1].status, "5.2.2");
	assert_int_equal(b->rcpt[1].cls, IW_BOUNCE_SOFT);
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	iw_bounce_free(b);
}

static void
test_sendmail_transcript_user_unknown(void **state)
{
	static const char msg[] =
	    "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Returned mail: see transcript for details\n"
	    "\n"
	    "The original message was received at Thu, 29 Apr 2010 23:34:45 +0900\n"
	    "\n"
	    "   ----- The following addresses had permanent fatal errors -----\n"
	    "<abuse@example.net>\n"
	    "    (reason: 550 User unknown)\n"
	    "\n"
	    "   ----- Transcript of session follows -----\n"
	    "... while talking to mx.example.net.:\n"
	    ">>> RCPT To:<abuse@example.net>\n"
	    "<<< 550 User unknown\n"
	    "550 <abuse@example.net>... User unknown\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_int_equal(b->rcpt[0].reply_code, 550);
	assert_string_equal(b->rcpt[0].reason, "userunknown");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	iw_bounce_free(b);
}

static void
test_office365_body(void **state)
{
	static const char msg[] =
	    "From: Microsoft Outlook <postmaster@example.onmicrosoft.com>\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Undeliverable: open proxy\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "Delivery has failed to these recipients or groups:\n"
	    "\n"
	    "abuse@example.net\n"
	    "The email address you entered couldn't be found.\n"
	    "\n"
	    "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found'\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_string_equal(b->rcpt[0].status, "5.1.10");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	iw_bounce_free(b);
}

static void
test_spf_block_is_ours(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=s\n"
	    "\n"
	    "--s\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Final-Recipient: rfc822; abuse@example.net\n"
	    "Action: failed\n"
	    "Status: 5.7.23\n"
	    "Diagnostic-Code: smtp; 550 5.7.23 Message rejected due to: SPF fail - not authorized\n"
	    "--s--\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_OURS);
	assert_string_equal(iw_bounce_class_name(b->cls), "ours");
	assert_string_equal(b->rcpt[0].reason, "authfailure");
	iw_bounce_free(b);
}

static void
test_blocklisted_ip_is_ours(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: failure notice\n"
	    "\n"
	    "Hi. This is the qmail-send program at mx.example.net.\n"
	    "\n"
	    "<abuse@example.net>:\n"
	    "192.0.2.9 failed after I sent the message.\n"
	    "Remote host said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_OURS);
	assert_string_equal(b->rcpt[0].status, "5.7.1");
	iw_bounce_free(b);
}

static void
test_no_code_infers_pseudo_status(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: failure notice\n"
	    "\n"
	    "Hi. This is the qmail-send program at mx.example.net.\n"
	    "\n"
	    "<abuse@example.net>:\n"
	    "This mailbox is full, sorry.\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_string_equal(b->rcpt[0].reason, "mailboxfull");
	assert_string_equal(b->rcpt[0].status, "5.0.922");
	assert_int_equal(b->cls, IW_BOUNCE_SOFT);
	iw_bounce_free(b);
}

static void
test_delivered_notice(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Successful Mail Delivery Report\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=d\n"
	    "\n"
	    "--d\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Final-Recipient: rfc822; abuse@example.net\n"
	    "Action: delivered\n"
	    "Status: 2.0.0\n"
	    "--d--\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_DELIVERED);
	iw_bounce_free(b);
}

static void
test_plain_mail_is_undetermined(void **state)
{
	static const char msg[] =
	    "From: Kim <abuse@example.net>\n"
	    "To: secure@example.org\n"
	    "Subject: Re: open proxy\n"
	    "\n"
	    "Thanks, we fixed it. Write to noc@example.net next time.\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->cls, IW_BOUNCE_UNDETERMINED);
	assert_int_equal(b->nrcpt, 0);
	iw_bounce_free(b);
}

static void
test_diagnostic_is_sanitised_and_bounded(void **state)
{
	char msg[8192];
	int n = snprintf(msg, sizeof(msg),
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n"
	    "\n"
	    "--x\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Final-Recipient: rfc822; abuse@example.net\n"
	    "Action: failed\n"
	    "Status: 5.1.1\n"
	    "Diagnostic-Code: smtp; 550 \x01\x02\xff\xfe bad \x1b[31m");
	struct iw_bounce *b;
	struct iw_err err;

	(void)state;
	for (int i = 0; i < 2000; i++)
		msg[n++] = 'A';
	assert_int_equal(iw_bounce_parse(msg, (size_t)n, &b, &err), 0);
	assert_true(strlen(b->rcpt[0].diagnostic) < IW_BOUNCE_DIAG_MAX);
	assert_true(iw_utf8_valid(b->rcpt[0].diagnostic,
	    strlen(b->rcpt[0].diagnostic)));
	for (const char *p = b->rcpt[0].diagnostic; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	iw_bounce_free(b);
}

static void
test_invalid_address_is_left_empty(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n"
	    "\n"
	    "--x\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Final-Recipient: rfc822; \"quoted\\\"\"@@example..net\n"
	    "Final-Recipient: rfc822; abuse@example.net\n"
	    "Action: failed\n"
	    "Status: 5.1.1\n"
	    "--x--\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 2);
	assert_string_equal(b->rcpt[0].address, "");
	assert_string_equal(b->rcpt[1].address, "abuse@example.net");
	iw_bounce_free(b);
}

static void
test_empty_and_garbage_input(void **state)
{
	struct iw_bounce *b;
	struct iw_err err;
	static const char junk[] = "\0\0\r\r\n--\n\x80\xff:";

	(void)state;
	assert_int_equal(iw_bounce_parse(NULL, 0, &b, &err), 0);
	assert_int_equal(b->cls, IW_BOUNCE_UNDETERMINED);
	iw_bounce_free(b);
	assert_int_equal(iw_bounce_parse(junk, sizeof(junk) - 1, &b, &err), 0);
	iw_bounce_free(b);
	assert_int_equal(iw_bounce_parse("x", 1, NULL, &err), -1);
	iw_bounce_free(NULL);
}

static void
test_nested_multipart_and_unterminated_boundary(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Content-Type: multipart/mixed; boundary=outer\n"
	    "\n"
	    "--outer\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=inner\n"
	    "\n"
	    "--inner\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Final-Recipient: rfc822; abuse@example.net\n"
	    "Action: failed\n"
	    "Status: 5.1.2\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].status, "5.1.2");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	iw_bounce_free(b);
}

/* ------------------------------------------------------------ corpus */

static char *
corpus_file(const char *name, size_t *len)
{
	const char *dir = getenv("IW_CORPUS");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	if (dir == NULL)
		dir = "../shared/corpus/bounces";
	snprintf(path, sizeof(path), "%s/eml/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

static void
check_corpus(const char *name, const char *addr, const char *status,
    enum iw_bounce_class cls)
{
	size_t len;
	char *buf = corpus_file(name, &len);
	struct iw_bounce *b;
	struct iw_err err;

	if (buf == NULL) {
		skip();
		return;
	}
	assert_int_equal(iw_bounce_parse(buf, len, &b, &err), 0);
	assert_true(b->nrcpt >= 1);
	if (addr != NULL)
		assert_string_equal(b->rcpt[0].address, addr);
	assert_string_equal(b->rcpt[0].status, status);
	assert_int_equal(b->rcpt[0].cls, cls);
	iw_bounce_free(b);
	free(buf);
}

static void
test_corpus_exim_two_recipients(void **state)
{
	(void)state;
	check_corpus("lhost-exim-02.eml", "kijitora@example.jp", "5.1.1",
	    IW_BOUNCE_HARD);
}

static void
test_corpus_qmail_sender_rejected_is_ours(void **state)
{
	(void)state;
	check_corpus("lhost-qmail-03.eml", "kijitora@example.org", "5.7.1",
	    IW_BOUNCE_OURS);
}

static void
test_corpus_gmail_user_unknown(void **state)
{
	(void)state;
	check_corpus("lhost-gmail-01.eml", "userunknown@example.jp", "5.1.1",
	    IW_BOUNCE_HARD);
}

static void
test_corpus_dragonfly_dmarc_is_ours(void **state)
{
	(void)state;
	check_corpus("lhost-dragonfly-01.eml", NULL, "5.7.26", IW_BOUNCE_OURS);
}

static void
test_corpus_yahoo_mailbox_full_is_soft(void **state)
{
	(void)state;
	check_corpus("lhost-yahoo-02.eml", "kijitora@example.ed.jp", "5.2.2",
	    IW_BOUNCE_SOFT);
}

static void
test_rcpt_reply_user_unknown_is_hard_policy_is_ours(void **state)
{
	(void)state;
	assert_int_equal(iw_bounce_classify_status(550, "5.1.1",
	    "5.1.1 <a@b.example>: Recipient address rejected: User unknown"),
	    IW_BOUNCE_HARD);
	/* without an enhanced code: said at RCPT, so not "filtered" */
	assert_int_equal(iw_bounce_classify_status(550, "", "User unknown"),
	    IW_BOUNCE_HARD);
	assert_int_equal(iw_bounce_classify_status(554, "5.7.1",
	    "Service unavailable; client host blocked using zen"),
	    IW_BOUNCE_OURS);
	assert_int_equal(iw_bounce_classify_status(552, "5.2.2",
	    "Mailbox full"), IW_BOUNCE_SOFT);
	/* a temporary reply never proves an address dead */
	assert_int_equal(iw_bounce_classify_status(450, "4.1.1",
	    "User unknown"), IW_BOUNCE_SOFT);
	assert_int_equal(iw_bounce_classify_status(550, "junk<>",
	    NULL), IW_BOUNCE_SOFT);
}

static const char body_user_unknown[] =
    "From: MAILER-DAEMON@mx.example.net\n"
    "To: bounces+1.x@example.org\n"
    "Subject: Returned mail: see transcript for details\n"
    "\n"
    "The original message was received at Mon, 2 Nov 2026 10:00:00\n"
    "   ----- The following addresses had permanent fatal errors -----\n"
    "<abuse@example.net>\n"
    "\n"
    "   ----- Transcript of session follows -----\n"
    "550 <abuse@example.net>... User unknown\n";

static void
test_user_unknown_without_rcpt_is_filtered_not_hard(void **state)
{
	struct iw_bounce *b = parse(body_user_unknown);

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].reason, "filtered");
	assert_int_not_equal(b->cls, IW_BOUNCE_HARD);
	assert_string_equal(b->rcpt[0].action, "failed");
	iw_bounce_free(b);
}

static void
test_mcafee_user_unknown_is_hard(void **state)
{
	char msg[2048];
	struct iw_bounce *b;

	(void)state;
	snprintf(msg, sizeof(msg), "X-NAI-Header: Modified by McAfee Email "
	    "and Web Security Appliance\n%s", body_user_unknown);
	b = parse(msg);
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].reason, "userunknown");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	iw_bounce_free(b);
}

static void
test_dry_run_json_is_escaped_valid_utf8(void **state)
{
	struct iw_bounce *b = parse(postfix_dsn);
	struct iw_buf j = IW_BUF_INIT;

	(void)state;
	/* a hostile diagnostic: quotes, backslash, control, bad UTF-8 */
	iw_strlcpy(b->rcpt[0].diagnostic, "a\"b\\c\x01" "d\xff\xc3\xa9",
	    sizeof(b->rcpt[0].diagnostic));
	assert_int_equal(iw_bounce_json(b, 1, 42, &j), 0);
	assert_true(iw_utf8_valid(j.data, j.len));
	assert_non_null(strstr(j.data, "{\"verified\": true, \"letter\": 42, "
	    "\"class\": \"hard\", \"reason\": \"userunknown\", "
	    "\"recipients\": [{\"address\": "
	    "\"abuse@example.net\", \"action\": \"failed\", \"status\": "
	    "\"5.1.1\", \"reason\": \"userunknown\", \"diagnostic\": "
	    "\"a\\\"b\\\\c\\u0001d\\ufffd\xc3\xa9\"}]}"));
	iw_buf_reset(&j);
	assert_int_equal(iw_bounce_json(b, 0, 0, &j), 0);
	assert_non_null(strstr(j.data, "\"verified\": false, \"letter\": null"));
	iw_buf_free(&j);
	iw_bounce_free(b);
}

static void
test_rfc2047_subject_is_decoded(void **state)
{
	/* a bounce known only by its (encoded) subject */
	static const char msg[] =
	    "From: Postmaster <admin@mx.example.net>\n"
	    "To: bounces+x@example.org\n"
	    "Subject: =?UTF-8?B?VW5kZWxpdmVyYWJsZTo=?= =?ISO-8859-1?Q?open_proxy?=\n"
	    "\n"
	    "Your message to <abuse@example.net> was refused:\n"
	    "550 5.1.1 <abuse@example.net>: Recipient address rejected\n";
	static const char hdrs[] =
	    "Subject: =?UTF-8?B?VW5kZWxpdmVyYWJsZTo=?= =?ISO-8859-1?Q?caf=E9?=\n"
	    "From: =?UTF-8?Q?Mail_Delivery?= <=?utf-8?B?8J+QiA==?=@example.org>\n"
	    "\n";
	struct iw_bounce_mime_hdrs h = IW_BOUNCE_MIME_HDRS_INIT;
	struct iw_bounce *b;
	int oom = 0;

	(void)state;
	iw_bounce_mime_headers(hdrs, hdrs + strlen(hdrs), &h, &oom);
	assert_int_equal(oom, 0);
	/* adjacent words join; ISO-8859-1 becomes UTF-8 */
	assert_string_equal(iw_bounce_mime_hdr(&h, "Subject"),
	    "Undeliverable:caf\xc3\xa9");
	/* never inside an addr-spec (RFC 2047 section 5) */
	assert_string_equal(iw_bounce_mime_hdr(&h, "From"),
	    "Mail Delivery <=?utf-8?B?8J+QiA==?=@example.org>");
	iw_bounce_mime_hdrs_free(&h);
	b = parse(msg);
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	iw_bounce_free(b);
}

/* A body bounce whose text part is in charset cs. */
static struct iw_bounce *
parse_charset_bounce(const char *cs, const char *words)
{
	char msg[2048];

	snprintf(msg, sizeof(msg),
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Returned mail\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=%s\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "<abuse@example.net>:\n"
	    "550 %s\n", cs, words);
	return parse(msg);
}

static void
test_iso2022jp_body_is_decoded(void **state)
{
	struct iw_bounce *b = parse_charset_bounce("ISO-2022-JP",
	    "\x1b$B08@h$,8+$D$+$j$^$;$s\x1b(B");

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_non_null(strstr(b->rcpt[0].diagnostic, "\xe5\xae\x9b\xe5\x85\x88\xe3\x81\x8c\xe8\xa6\x8b\xe3\x81\xa4\xe3\x81\x8b\xe3\x82\x8a\xe3\x81\xbe\xe3\x81\x9b\xe3\x82\x93"));
	assert_true(iw_utf8_valid(b->rcpt[0].diagnostic,
	    strlen(b->rcpt[0].diagnostic)));
	iw_bounce_free(b);
}

static void
test_shift_jis_and_windows1252_bodies_are_decoded(void **state)
{
	struct iw_bounce *b = parse_charset_bounce("Shift_JIS",
	    "\x83\x86\x81[\x83U\x82\xaa\x91\xb6\x8d\xdd\x82\xb5\x82\xdc\x82\xb9\x82\xf1");

	(void)state;
	assert_non_null(strstr(b->rcpt[0].diagnostic,
	    "\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6\xe3\x81\x8c\xe5\xad\x98\xe5\x9c\xa8\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x9b\xe3\x82\x93"));
	iw_bounce_free(b);
	b = parse_charset_bounce("windows-1252", "Empf\xe4nger unbekannt");
	assert_non_null(strstr(b->rcpt[0].diagnostic,
	    "Empf\xc3\xa4nger unbekannt"));
	iw_bounce_free(b);
	/* a charset iconv does not know: the bytes, made safe */
	b = parse_charset_bounce("x-no-such-charset", "Empf\xe4nger unbekannt");
	assert_non_null(strstr(b->rcpt[0].diagnostic, "Empf?nger"));
	iw_bounce_free(b);
}

/* One DSN recipient with the given Action, Status and Diagnostic-Code. */
static struct iw_bounce *
parse_dsn_rcpt(const char *action, const char *status, const char *diag)
{
	char msg[4096];

	snprintf(msg, sizeof(msg),
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Delivery Status Notification\n"
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=\"B\"\n"
	    "\n"
	    "--B\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "Delivery to the following recipient failed.\n"
	    "\n"
	    "--B\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; mx.example.net\n"
	    "\n"
	    "Final-Recipient: rfc822; abuse@example.net\n"
	    "Action: %s\n"
	    "Status: %s\n"
	    "Diagnostic-Code: smtp; %s\n"
	    "\n"
	    "--B--\n", action, status, diag);
	return parse(msg);
}

/* The reason and class of a one-recipient DSN. */
static void
expect(const char *action, const char *status, const char *diag,
    const char *reason, enum iw_bounce_class cls)
{
	struct iw_bounce *b = parse_dsn_rcpt(action, status, diag);

	assert_string_equal(b->rcpt[0].reason, reason);
	assert_string_equal(b->reason, reason);
	assert_int_equal(b->rcpt[0].cls, cls);
	iw_bounce_free(b);
}

static void
test_specific_status_code_decides_over_wording(void **state)
{
	(void)state;
	/* X.2.2 names the cause; the words are a ruleset's boilerplate
	 * (read first, they would make it a filtered "user unknown") */
	expect("failed", "5.2.2", "552 5.2.2 <abuse@example.net>... User "
	    "unknown", "mailboxfull", IW_BOUNCE_SOFT);
	/* X.1.1 with words naming a better refusal: the words (Sisimai) */
	expect("failed", "5.1.1", "550 5.1.1 <abuse@example.net>: Relay "
	    "access denied", "norelaying", IW_BOUNCE_OURS);
}

static void
test_generic_status_code_gives_way_to_wording(void **state)
{
	(void)state;
	/* X.7.1 only says "not authorized": the words say why */
	expect("failed", "5.7.1", "554 5.7.1 Service unavailable; Client "
	    "host [192.0.2.1] blocked using zen.spamhaus.org", "blocked",
	    IW_BOUNCE_OURS);
	/* and with no words that fit, the code's class and subject */
	expect("failed", "5.7.1", "550 5.7.1 Go away", "securityerror",
	    IW_BOUNCE_OURS);
}

static void
test_network_error_is_not_hard(void **state)
{
	(void)state;
	expect("failed", "4.4.1", "connect to mx.example.net[192.0.2.1]:25: "
	    "Connection refused", "networkerror", IW_BOUNCE_SOFT);
}

static void
test_rfc3464_mailbox_full_is_soft(void **state)
{
	(void)state;
	expect("failed", "5.0.0", "550 Requested action not taken: mailbox "
	    "full", "mailboxfull", IW_BOUNCE_SOFT);
}

static void
test_delayed_without_cause_is_expired(void **state)
{
	(void)state;
	expect("delayed", "4.4.0", "The server will continue trying for up "
	    "to 21 hours", "expired", IW_BOUNCE_TRANSIENT);
}

static void
test_multiline_reply_is_read_as_one_text(void **state)
{
	(void)state;
	/* Gmail wraps its reply; each line starts with "550-5.7.1" */
	expect("failed", "5.7.1", "550-5.7.1 [192.0.2.1] Messages with "
	    "multiple 550-5.7.1 addresses in From: header are not "
	    "accepted.", "notcompliantrfc", IW_BOUNCE_OURS);
}

static void
test_exchange_online_recipient_not_found_is_hard(void **state)
{
	(void)state;
	/* Exchange Online says 5.1.10, which RFC 7505 gives to null MX */
	expect("failed", "5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
	    "Recipient not found by SMTP address lookup", "userunknown",
	    IW_BOUNCE_HARD);
}

static void
test_help_desk_address_is_not_a_failed_recipient(void **state)
{
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	    "To: bounces+x@example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "\n"
	    "This is the mail system at host mx.example.net.\n"
	    "\n"
	    "For further assistance, please contact <help@example.net>\n"
	    "\n"
	    "<abuse@example.net>: host mx2.example.net[192.0.2.2] said: 550\n"
	    "    5.1.1 <abuse@example.net>: User unknown (in reply to RCPT TO\n"
	    "    command)\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 1);
	assert_string_equal(b->rcpt[0].address, "abuse@example.net");
	assert_int_equal(b->cls, IW_BOUNCE_HARD);
	iw_bounce_free(b);
}

static void
test_phrases_name_a_source_and_can_be_switched_off(void **state)
{
	/* bench-bounces' cross-validation switches phrases off */
	size_t n = iw_bounce_reason_nphrases();
	unsigned char *off = calloc(n, 1);
	struct iw_bounce_opts o = { off };
	struct iw_bounce *b;
	struct iw_err err;
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: failure notice\n"
	    "\n"
	    "<abuse@example.net>:\n"
	    "550 sorry, no mailbox here by that name\n";

	(void)state;
	assert_non_null(off);
	b = parse(msg);
	assert_string_equal(b->rcpt[0].reason, "userunknown");
	assert_true(b->rcpt[0].rule > 0);
	off[b->rcpt[0].rule - 1] = 1;
	iw_bounce_free(b);
	assert_int_equal(iw_bounce_parse_opts(msg, strlen(msg), &o, &b, &err),
	    0);
	assert_string_not_equal(b->rcpt[0].reason, "userunknown");
	iw_bounce_free(b);
	free(off);
}

static void
test_qmail_user_unknown_at_rcpt_is_hard(void **state)
{
	/* no code, but qmail-remote says the reply answered RCPT TO */
	static const char msg[] =
	    "From: MAILER-DAEMON@mx.example.net\n"
	    "To: bounces+x@example.org\n"
	    "Subject: failure notice\n"
	    "\n"
	    "Hi. This is the qmail-send program at mx.example.net.\n"
	    "I'm afraid I wasn't able to deliver your message to the "
	    "following addresses.\n"
	    "This is a permanent error; I've given up. Sorry it didn't work "
	    "out.\n"
	    "\n"
	    "<abuse@example.net>:\n"
	    "192.0.2.2 does not like recipient.\n"
	    "Remote host said: 550 User unknown\n"
	    "Giving up on 192.0.2.2.\n"
	    "\n"
	    "<noc@example.net>:\n"
	    "192.0.2.2 failed after I sent the message.\n"
	    "Remote host said: 550 User unknown\n"
	    "Giving up on 192.0.2.2.\n";
	struct iw_bounce *b = parse(msg);

	(void)state;
	assert_int_equal(b->nrcpt, 2);
	assert_string_equal(b->rcpt[0].reason, "userunknown");
	assert_int_equal(b->rcpt[0].cls, IW_BOUNCE_HARD);
	/* after DATA it is a filter's word: soft */
	assert_string_equal(b->rcpt[1].reason, "filtered");
	assert_int_equal(b->rcpt[1].cls, IW_BOUNCE_SOFT);
	iw_bounce_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix_dsn_user_unknown_is_hard),
		cmocka_unit_test(test_delayed_dsn_is_transient),
		cmocka_unit_test(test_arf_is_complaint),
		cmocka_unit_test(test_vacation_is_autoreply),
		cmocka_unit_test(test_dsn_marked_auto_replied_is_still_a_dsn),
		cmocka_unit_test(test_crlf_and_cr_line_endings),
		cmocka_unit_test(test_base64_dsn),
		cmocka_unit_test(test_quoted_printable_text_bounce),
		cmocka_unit_test(test_qmail_body),
		cmocka_unit_test(test_exim_body),
		cmocka_unit_test(test_sendmail_transcript_user_unknown),
		cmocka_unit_test(test_office365_body),
		cmocka_unit_test(test_spf_block_is_ours),
		cmocka_unit_test(test_blocklisted_ip_is_ours),
		cmocka_unit_test(test_no_code_infers_pseudo_status),
		cmocka_unit_test(test_delivered_notice),
		cmocka_unit_test(test_plain_mail_is_undetermined),
		cmocka_unit_test(test_diagnostic_is_sanitised_and_bounded),
		cmocka_unit_test(test_invalid_address_is_left_empty),
		cmocka_unit_test(test_empty_and_garbage_input),
		cmocka_unit_test(test_nested_multipart_and_unterminated_boundary),
		cmocka_unit_test(test_corpus_exim_two_recipients),
		cmocka_unit_test(test_corpus_qmail_sender_rejected_is_ours),
		cmocka_unit_test(test_corpus_gmail_user_unknown),
		cmocka_unit_test(test_corpus_dragonfly_dmarc_is_ours),
		cmocka_unit_test(test_corpus_yahoo_mailbox_full_is_soft),
		cmocka_unit_test(test_rcpt_reply_user_unknown_is_hard_policy_is_ours),
		cmocka_unit_test(test_user_unknown_without_rcpt_is_filtered_not_hard),
		cmocka_unit_test(test_mcafee_user_unknown_is_hard),
		cmocka_unit_test(test_dry_run_json_is_escaped_valid_utf8),
		cmocka_unit_test(test_rfc2047_subject_is_decoded),
		cmocka_unit_test(test_iso2022jp_body_is_decoded),
		cmocka_unit_test(test_shift_jis_and_windows1252_bodies_are_decoded),
		cmocka_unit_test(test_specific_status_code_decides_over_wording),
		cmocka_unit_test(test_generic_status_code_gives_way_to_wording),
		cmocka_unit_test(test_network_error_is_not_hard),
		cmocka_unit_test(test_rfc3464_mailbox_full_is_soft),
		cmocka_unit_test(test_delayed_without_cause_is_expired),
		cmocka_unit_test(test_multiline_reply_is_read_as_one_text),
		cmocka_unit_test(test_exchange_online_recipient_not_found_is_hard),
		cmocka_unit_test(test_help_desk_address_is_not_a_failed_recipient),
		cmocka_unit_test(test_phrases_name_a_source_and_can_be_switched_off),
		cmocka_unit_test(test_qmail_user_unknown_at_rcpt_is_hard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
