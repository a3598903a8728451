/*
 * progress: how far a campaign's work has come, from the shared database
 * (so every daemon and `campaign show` see the same figures) — IPs
 * resolved of all enqueued, letters sent of all built, the WHOIS servers
 * that throttle us now, and an estimate of the time left from the pace of
 * the last minute.  ipwarnd logs it every 10 s while it works; `campaign
 * show` prints it.
 */
#ifndef IW_PROGRESS_H
#define IW_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

/* The pace is measured over this many seconds. */
#define IW_PROGRESS_WINDOW_S 60

struct iw_progress {
	int64_t campaign_id;
	char campaign[128];
	long targets, resolved;		/* enqueued; no longer 'new' */
	long resolved_recent;		/* within the window */
	long letters, sent, failed;	/* built; handed to the relay */
	long due;			/* queued, sending, deferred and due */
	long waiting;			/* deferred to a later time */
	long sent_recent;
	long long eta_s;		/* -1: cannot tell yet; 0: nothing due */
};

/* Every campaign's (campaign_id 0) or one's; *out is malloc'd (free()).
 * active_only: those with IPs to resolve or letters due. */
int iw_progress_load(struct iw_db *db, int64_t campaign_id, int active_only,
    struct iw_progress **out, size_t *n, struct iw_err *err);

/* The WHOIS servers every daemon leaves alone now (they refused or
 * throttled us), comma separated, "" for none. */
int iw_progress_throttled(struct iw_db *db, struct iw_buf *out,
    struct iw_err *err);

/* "resolved N/M, letters sent N/M (F failed, W deferred), ETA 3m20s". */
int iw_progress_text(const struct iw_progress *p, struct iw_buf *out);
/* The same as JSON members (no braces). */
int iw_progress_json(const struct iw_progress *p, struct iw_buf *out);

#endif
