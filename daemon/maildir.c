/*
 * ipwarnd's bounce mailbox: a Maildir (bounces.maildir) that the MTA
 * delivers returned mail to.  Each pass takes every message in new/,
 * parses it (lib/bounce), records it (lib/feedback), and only then moves
 * it by rename(2) into the Maildir++ folder .done (understood) or .failed
 * (not understood, or unreadable) — never deleting anything.  A crash
 * between recording and renaming leaves the message in new/, to be taken
 * again: at least once, never lost.  A database error leaves it in new/
 * and fails the pass, so the daemon retries later.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounce.h"
#include "feedback.h"
#include "ipwarnd.h"
#include "log.h"

#define IWD_MAILDIR_MAX_PASS	1000	/* messages per pass; rest next */

/* DIR/.NAME/{cur,new,tmp}, created if missing; -1 if it cannot be. */
static int
folder(const char *dir, const char *name, char *cur, size_t cursz)
{
	static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
	char p[4096];

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s/.%s%s", dir, name,
		    sub[i]) >= sizeof(p))
			return -1;
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return -1;
	}
	return (size_t)snprintf(cur, cursz, "%s/.%s/cur", dir, name) < cursz ?
	    0 : -1;
}

/* The whole file, at most IW_BOUNCE_MAX_INPUT bytes; -1 with errno. */
static int
slurp(const char *path, struct iw_buf *b)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (b->len < IW_BOUNCE_MAX_INPUT &&
		    iw_buf_append(b, chunk, (size_t)n) < 0)) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* new/NAME -> .FOLDER/cur/NAME:2,FLAGS (Maildir info: S = seen). */
static void
move(const char *dir, const char *name, const char *to, const char *flags)
{
	char cur[4096], src[4096], dst[4096];
	const char *colon = strchr(name, ':');
	int base = colon != NULL ? (int)(colon - name) : (int)strlen(name);

	if (folder(dir, to, cur, sizeof(cur)) < 0 ||
	    (size_t)snprintf(src, sizeof(src), "%s/new/%s", dir, name) >=
	    sizeof(src) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%.*s:2,%s", cur, base,
	    name, flags) >= sizeof(dst) || rename(src, dst) != 0)
		iw_log(IW_LOG_ERR, "maildir: cannot move %s to .%s: %s",
		    name, to, strerror(errno));
}

/* One message: 1 taken, 0 left in new/ for later, -1 database error. */
static int
take(struct iwd *d, const char *dir, const char *name)
{
	struct iw_feedback_conf fc = { d->cfg->sender_verp_secret,
	    d->cfg->bounces_soft_limit };
	struct iw_feedback_result res;
	struct iw_buf raw = IW_BUF_INIT;
	struct iw_bounce *b = NULL;
	struct iw_err err;
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/new/%s", dir, name) >=
	    sizeof(path))
		return 0;
	if (slurp(path, &raw) < 0) {
		iw_buf_free(&raw);
		if (errno == ENOENT)
			return 0;	/* taken by someone else meanwhile */
		iw_log(IW_LOG_ERR, "maildir: %s: %s", path, strerror(errno));
		move(dir, name, "failed", "");
		return 1;
	}
	if (iw_bounce_parse(raw.data != NULL ? raw.data : "", raw.len, &b,
	    &err) < 0) {
		iw_log(IW_LOG_ERR, "maildir: %s: %s", name, err.msg);
		iw_buf_free(&raw);
		return 0;	/* out of memory: try again next pass */
	}
	if (iw_feedback_record(d->db, &fc, b, NULL, IW_FEEDBACK_MAILDIR,
	    raw.data, raw.len, &res, &err) < 0) {
		iw_log(IW_LOG_ERR, "maildir: %s: %s", name, err.msg);
		iw_bounce_free(b);
		iw_buf_free(&raw);
		return -1;
	}
	iw_log(IW_LOG_INFO, "bounce %lld from maildir: %s, %s%s%s",
	    (long long)res.bounce_id, iw_bounce_class_name(res.cls),
	    res.duplicate ? "already recorded, not counted" :
	    res.letter_id > 0 ? "letter matched" : "unmatched",
	    res.letter_bounced ? ", letter bounced" : "",
	    res.suppressed ? ", contact suppressed" : "");
	if (res.cls == IW_BOUNCE_UNDETERMINED)
		move(dir, name, "failed", "");
	else
		move(dir, name, "done", "S");
	iw_bounce_free(b);
	iw_buf_free(&raw);
	return 1;
}

int
iwd_scan_maildir(struct iwd *d)
{
	const char *dir = d->cfg->bounces_maildir;
	char nd[4096];
	struct dirent *e;
	DIR *dp;
	int n = 0, rc = 0;

	if (dir == NULL || d->db == NULL)
		return 0;
	if ((size_t)snprintf(nd, sizeof(nd), "%s/new", dir) >= sizeof(nd))
		return 0;
	if ((dp = opendir(nd)) == NULL) {
		iw_log(IW_LOG_ERR, "maildir: %s: %s", nd, strerror(errno));
		return 0;	/* not the database's fault: go on sending */
	}
	while (!iwd_stop && n < IWD_MAILDIR_MAX_PASS &&
	    (e = readdir(dp)) != NULL) {
		int r;

		if (e->d_name[0] == '.')
			continue;
		if ((r = take(d, dir, e->d_name)) < 0) {
			rc = -1;
			break;
		}
		n += r;
	}
	closedir(dp);
	return rc;
}
