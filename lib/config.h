/*
 * config: loading and validating ipwarn.conf (libconfig syntax).  Every key
 * is checked against a schema: an unknown key is an error (a typo must not
 * silently fall back to a default), and every error names file:line and the
 * key ("ipwarn.conf:14: smtp.relay: missing port").  Relative paths are made
 * absolute at load time so a daemon that changes directory keeps them.
 */
#ifndef IW_CONFIG_H
#define IW_CONFIG_H

#include <stddef.h>

#include "smtp.h"
#include "util.h"
#include "whois.h"

/* Sections, as a bit mask for iw_config_require(). */
enum {
	IW_CONF_DATABASE = 1 << 0,
	IW_CONF_SMTP = 1 << 1,
	IW_CONF_SENDER = 1 << 2,
	IW_CONF_GEOIP = 1 << 3,
	IW_CONF_WHOIS = 1 << 4,
	IW_CONF_LETTERS = 1 << 5,
	IW_CONF_DELIVERY = 1 << 6,
	IW_CONF_BOUNCES = 1 << 7,
	IW_CONF_DAEMON = 1 << 8,
	IW_CONF_METRICS = 1 << 9,
};

#define IW_CONFIG_DEFAULT_PATH "/etc/ipwarn/ipwarn.conf"
#define IW_CONFIG_DEFAULT_USER "ipwarn"
/* etc/ipwarn.conf's verp_secret: published, so refused. */
#define IW_CONFIG_EXAMPLE_SECRET "change-me-to-something-long"

struct iw_country_locale {
	char cc[3];
	char *locale;
};

/* letters.escalation: the national CERT of a country (normalised). */
struct iw_country_cert {
	char cc[3];
	char email[256];
};

struct iw_config {
	char *path;			/* as given */
	unsigned sections;		/* IW_CONF_* present */

	char *db_conninfo;
	long long db_reconnect_max;	/* seconds: longest wait between
					   attempts to reach PostgreSQL */
	char *daemon_user;		/* ipwarnd started as root runs as */

	char *smtp_relay;
	int smtp_starttls;		/* enum iw_smtp_starttls */
	char *smtp_username;
	char *smtp_password;
	char *smtp_helo;
	char *smtp_ca_file;
	long long smtp_timeout;		/* seconds */

	char *sender_from;
	char *sender_reply_to;
	char *sender_return_path;
	char *sender_verp_secret;
	char *sender_domain;		/* domain of from, for Message-ID */

	char *geoip_database;

	char *whois_bootstrap;
	struct iw_whois_host *whois_hosts;
	size_t whois_nhosts;
	long long whois_timeout;	/* seconds */
	int whois_retries;		/* transient failures before giving up */
	long long whois_cache_ttl;	/* seconds a registry answer is reused */
	int whois_cache;		/* 0: ask per IP (baseline, debugging) */
	char **whois_registry_domains;	/* a registry's own mailboxes: not
					   an abuse desk; NULL = defaults */
	size_t whois_nregistry_domains;

	char *letters_directory;
	char *letters_default_locale;
	struct iw_country_locale *letters_countries;
	size_t letters_ncountries;
	struct iw_country_cert *letters_escalation; /* the last link of the
					   fallback chain: a national CERT
					   per country */
	size_t letters_nescalation;
	long long letters_hold;		/* seconds a resolved IP may wait for
					   the rest of its campaign */
	long long letters_renotify_after; /* an IP's address got a letter in
					   another campaign this recently:
					   hold it (0: no guard) */
	int letters_max_inline_ips;	/* more: the rest in ips.csv only */

	int delivery_workers;
	int delivery_batch;
	long long delivery_min_backoff;
	long long delivery_max_backoff;
	long long delivery_max_age;
	long long delivery_lease;
	double delivery_rate;		/* letters/s through the relay, 0: no
					   limit (per daemon) */
	double delivery_domain_rate;	/* letters/s per recipient domain */

	char *bounces_maildir;
	int bounces_soft_limit;

	char *metrics_listen;		/* "host:port" of GET /metrics; NULL:
					   off */
	int metrics_listen_line;	/* its line in the file */
};

/* One key of the schema, for documentation and its tests. */
struct iw_config_key_info {
	const char *section;
	const char *name;
	const char *def;		/* default as a file writes it, or NULL */
	int required;			/* its section needs it */
	int secret;			/* refused in a world-readable file */
};

/* The i-th key of the schema; -1 past the last. */
int iw_config_key(size_t i, struct iw_config_key_info *out);

/* Load and validate path.  On error *out is NULL and err names file:line. */
int iw_config_load(const char *path, struct iw_config **out,
    struct iw_err *err);
void iw_config_free(struct iw_config *c);

/* -1 and "FILE: missing section 'smtp'" if one of sections is absent. */
int iw_config_require(const struct iw_config *c, unsigned sections,
    struct iw_err *err);

/* Locale for an ISO 3166 country code ("" or unknown -> default). */
const char *iw_config_locale_for(const struct iw_config *c, const char *cc);

/* The CERT letters.escalation names for country cc; NULL: none. */
const char *iw_config_cert_for(const struct iw_config *c, const char *cc);

/* Fill a whois client configuration that points into c. */
void iw_config_whois(const struct iw_config *c, struct iw_whois_conf *wc);

/* Fill an SMTP client configuration that points into c. */
void iw_config_smtp(const struct iw_config *c, struct iw_smtp_conf *sc);

/* The default path: $IPWARN_CONF, else /etc/ipwarn/ipwarn.conf; never one
 * relative to the current directory (a file planted there). */
const char *iw_config_default_path(void);

/* path made absolute against the current directory (malloc'd; NULL when
 * out of memory or the directory is gone), so a daemon that chdir's to /
 * still reloads the same file. */
char *iw_config_absolute(const char *path);

/* 1 when a smtp.relay "host:port" names loopback by address (127/8, ::1)
 * or "localhost"; names are not resolved. */
int iw_config_relay_is_loopback(const char *relay);

/* 1 when AUTH may happen without TLS (allowed on loopback only: the
 * daemon warns once). */
int iw_config_auth_in_clear(const struct iw_config *c);

#endif
