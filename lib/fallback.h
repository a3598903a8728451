/*
 * fallback: the fallback contact chain in the database.  When a letter's
 * contact hard-bounces, is refused at RCPT, or is suppressed, its IPs are
 * not lost and not held: in the caller's transaction they go back to
 * 'new' with fallback_step raised (sql/010_fallback.sql), and the daemon's
 * fallback stage (daemon/fallback.c) claims them and gives each the next
 * contact of its chain -- the abuse contact of the enclosing, less
 * specific registration, then the national CERT of letters.escalation --
 * or, when the chain is exhausted, holds it with the chain as the reason.
 * The build stage puts moved IPs in letters of their own (letter.fallback
 * names the address that did not work), so a fallback letter holds exactly
 * the moved IPs and a letter already sent is never sent again.
 */
#ifndef IW_FALLBACK_H
#define IW_FALLBACK_H

#include <stdint.h>

#include "db.h"
#include "util.h"

struct pg_conn;

/* Chain positions (target.fallback_level). */
enum { IW_FALLBACK_REGISTRY = 0, IW_FALLBACK_PARENT = 1,
	IW_FALLBACK_CERT = 2 };

/*
 * Move the IPs of letter_id (state notified or resolved) on: its contact
 * failed for why ("hard bounce 5.1.1", "refused at RCPT 5.1.1 ...").  Run
 * inside the caller's transaction.  The number moved, or -1 (err).
 */
long iw_fallback_move_letter(struct pg_conn *c, int64_t letter_id,
    const char *why, struct iw_err *err);

/*
 * Move on every resolved IP without a letter whose contact is suppressed,
 * and fail every unsent letter (queued, deferred) to a suppressed contact,
 * moving its IPs on too.  In the build's transaction.  The number of IPs
 * moved, or -1.
 */
long iw_fallback_move_suppressed(struct pg_conn *c, struct iw_err *err);

/*
 * IPs held because all WHOIS names is a registry's own address (lib/
 * contact.c, whois.registry_domains) go on to the CERT of their country
 * when letters.escalation names one; countries is a PostgreSQL array
 * literal of those countries ("{DK,NL}").  The number moved, or -1.
 */
long iw_fallback_escalate_registry_run(struct iw_db *db,
    const char *countries, struct iw_err *err);

/* A moved IP as the fallback stage claims it. */
struct iw_fallback_target {
	int64_t id;
	char ip[48];
	int attempts;			/* of this step, this one included */
	int level;			/* of the contact that failed */
	char country[3];
	char server[128];		/* where its network was found */
	char network[128];		/* that network, as written there */
	char chain[1024];		/* what happened so far */
};

int iw_fallback_claim(struct iw_db *db, const char *owner, long long lease_s,
    int limit, struct iw_fallback_target *out, int *n, struct iw_err *err);

/* 1 when email may take the IP (never tried for it, not suppressed), 0
 * not, -1 error. */
int iw_fallback_usable(struct iw_db *db, int64_t id, const char *email,
    struct iw_err *err);

/* The IP's next contact: email at level, with the whole chain as its
 * contact_source and, for a parent, the parent's network. */
int iw_fallback_resolved(struct iw_db *db, const char *owner, int64_t id,
    const char *email, int level, const char *source, const char *network,
    struct iw_err *err);

/* The chain is exhausted: held, with the chain as reason and source. */
int iw_fallback_held(struct iw_db *db, const char *owner, int64_t id,
    const char *chain, struct iw_err *err);

/* A transient failure on the way: ask again in delay_s. */
int iw_fallback_later(struct iw_db *db, const char *owner, int64_t id,
    long long delay_s, struct iw_err *err);

#endif
