/*
 * config: ipwarn.conf loading and validation.  The schema below lists every
 * key each section accepts, with its type and checker; anything else is an
 * error that names file:line and the key.  Defaults live here and only
 * here, so the example config, the man page and the code agree.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mime.h"

struct loader {
	struct iw_config *c;
	const char *path;
	char dir[PATH_MAX];		/* directory of the config file */
	struct iw_err *err;
};

typedef int (*key_fn)(struct loader *, config_setting_t *, const char *);

struct key {
	const char *name;
	key_fn fn;
};

struct section {
	const char *name;
	unsigned bit;
	const struct key *keys;
};

static int
fail(struct loader *ld, config_setting_t *s, const char *qual,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct loader *ld, config_setting_t *s, const char *qual,
    const char *fmt, ...)
{
	char msg[IW_ERR_MAX];
	const char *file = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL)
		file = config_setting_source_file(s);
	if (file == NULL)
		file = ld->path;
	if (s != NULL && config_setting_source_line(s) > 0)
		iw_err_set(ld->err, "%s:%u: %s: %s", file,
		    config_setting_source_line(s), qual, msg);
	else
		iw_err_set(ld->err, "%s: %s: %s", file, qual, msg);
	return -1;
}

static int
get_string(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, qual, "must be a string");
	v = config_setting_get_string(s);
	if (v == NULL || !iw_utf8_valid(v, strlen(v)))
		return fail(ld, s, qual, "not valid UTF-8");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(ld, s, qual,
			    "control characters are not allowed");
	free(*out);
	*out = iw_strdup(v);
	return *out ? 0 : fail(ld, s, qual, "out of memory");
}

static int
get_nonempty(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	if (get_string(ld, s, qual, out) != 0)
		return -1;
	if (**out == '\0')
		return fail(ld, s, qual, "must not be empty");
	return 0;
}

static int
get_int(struct loader *ld, config_setting_t *s, const char *qual, int lo,
    int hi, int *out)
{
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else
		return fail(ld, s, qual, "must be an integer");
	if (v < lo || v > hi)
		return fail(ld, s, qual, "must be between %d and %d", lo, hi);
	*out = (int)v;
	return 0;
}

/* A non-negative rate (per second): integer or float; 0 = unlimited. */
static int
get_rate(struct loader *ld, config_setting_t *s, const char *qual,
    double *out)
{
	int t = config_setting_type(s);
	double v;

	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else if (t == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else
		return fail(ld, s, qual, "must be a number (per second)");
	if (t == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	if (!(v >= 0 && v <= 1e6))
		return fail(ld, s, qual, "must be between 0 and 1000000");
	*out = v;
	return 0;
}

/* A duration: an integer (seconds) or a string "30s", "5m", "1h", "7d". */
static int
get_duration(struct loader *ld, config_setting_t *s, const char *qual,
    long long *out)
{
	int t = config_setting_type(s);

	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		*out = config_setting_get_int64(s);
		if (t == CONFIG_TYPE_INT)
			*out = config_setting_get_int(s);
		if (*out < 0)
			return fail(ld, s, qual, "must not be negative");
		return 0;
	}
	if (t != CONFIG_TYPE_STRING)
		return fail(ld, s, qual, "must be a duration like \"5m\"");
	if (iw_duration_parse(config_setting_get_string(s), out) != 0)
		return fail(ld, s, qual, "bad duration \"%s\" (use a number "
		    "with s, m, h or d, e.g. \"5m\")",
		    config_setting_get_string(s));
	return 0;
}

/* Make a relative path absolute: the current directory when the path
 * exists there (how the example config is meant to be used, from the
 * source tree), else the config file's directory. */
static int
get_path(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	char cwd[PATH_MAX], buf[PATH_MAX * 2 + 2];
	struct stat st;
	const char *base;

	if (get_nonempty(ld, s, qual, out) != 0)
		return -1;
	if ((*out)[0] == '/')
		return 0;
	if (stat(*out, &st) == 0 && getcwd(cwd, sizeof(cwd)) != NULL)
		base = cwd;
	else
		base = ld->dir;
	snprintf(buf, sizeof(buf), "%s/%s", base, *out);
	free(*out);
	*out = iw_strdup(buf);
	return *out ? 0 : fail(ld, s, qual, "out of memory");
}

/* "host:port" or "[v6]:port" with a numeric port 1..65535. */
static int
check_hostport(const char *v, struct iw_err *why)
{
	const char *colon, *host_end;
	char *end;
	long port;

	if (v[0] == '[') {
		host_end = strchr(v, ']');
		if (host_end == NULL || host_end[1] != ':') {
			iw_err_set(why, "expected \"[address]:port\"");
			return -1;
		}
		colon = host_end + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL) {
			iw_err_set(why, "missing port (expected \"host:port\")");
			return -1;
		}
		if (memchr(v, ':', (size_t)(colon - v)) != NULL) {
			iw_err_set(why, "IPv6 addresses need brackets: "
			    "\"[::1]:25\"");
			return -1;
		}
		host_end = colon;
	}
	if (host_end == v || (v[0] == '[' && host_end == v + 1)) {
		iw_err_set(why, "missing host");
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		iw_err_set(why, "bad port \"%s\"", colon + 1);
		return -1;
	}
	return 0;
}

static int
get_hostport(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	struct iw_err why;

	if (get_nonempty(ld, s, qual, out) != 0)
		return -1;
	if (check_hostport(*out, &why) != 0)
		return fail(ld, s, qual, "%s", why.msg);
	return 0;
}

/* --- database --- */

static int
k_conninfo(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_string(ld, s, q, &ld->c->db_conninfo);
}

static int
k_reconnect_max(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_duration(ld, s, q, &ld->c->db_reconnect_max) != 0)
		return -1;
	if (ld->c->db_reconnect_max < 1)
		return fail(ld, s, q, "must be at least 1s");
	return 0;
}

static const struct key database_keys[] = {
	{ "conninfo", k_conninfo },
	{ "reconnect_max", k_reconnect_max },
	{ NULL, NULL },
};

/* --- smtp --- */

static int
k_relay(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_hostport(ld, s, q, &ld->c->smtp_relay);
}

static int
k_starttls(struct loader *ld, config_setting_t *s, const char *q)
{
	char *v = NULL;
	int rc = 0;

	if (get_string(ld, s, q, &v) != 0)
		return -1;
	if (strcmp(v, "disabled") == 0)
		ld->c->smtp_starttls = IW_SMTP_TLS_DISABLED;
	else if (strcmp(v, "enabled") == 0)
		ld->c->smtp_starttls = IW_SMTP_TLS_ENABLED;
	else if (strcmp(v, "required") == 0)
		ld->c->smtp_starttls = IW_SMTP_TLS_REQUIRED;
	else
		rc = fail(ld, s, q, "must be \"disabled\", \"enabled\" or "
		    "\"required\", not \"%s\"", v);
	free(v);
	return rc;
}

static int
k_username(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_nonempty(ld, s, q, &ld->c->smtp_username);
}

static int
k_password(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_string(ld, s, q, &ld->c->smtp_password);
}

static int
k_helo(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_nonempty(ld, s, q, &ld->c->smtp_helo) != 0)
		return -1;
	for (const char *p = ld->c->smtp_helo; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return fail(ld, s, q, "not a host name");
	return 0;
}

static int
k_ca_file(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_path(ld, s, q, &ld->c->smtp_ca_file);
}

static int
k_smtp_timeout(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_duration(ld, s, q, &ld->c->smtp_timeout) != 0)
		return -1;
	if (ld->c->smtp_timeout < 1)
		return fail(ld, s, q, "must be at least 1s");
	return 0;
}

static const struct key smtp_keys[] = {
	{ "relay", k_relay },
	{ "starttls", k_starttls },
	{ "username", k_username },
	{ "password", k_password },
	{ "helo", k_helo },
	{ "ca_file", k_ca_file },
	{ "timeout", k_smtp_timeout },
	{ NULL, NULL },
};

/* --- sender --- */

static int
k_from(struct loader *ld, config_setting_t *s, const char *q)
{
	char name[256], addr[256];
	struct iw_err why;
	const char *at;

	if (get_nonempty(ld, s, q, &ld->c->sender_from) != 0)
		return -1;
	if (iw_mime_parse_address(ld->c->sender_from, name, sizeof(name),
	    addr, sizeof(addr), &why) != 0)
		return fail(ld, s, q, "%s", why.msg);
	at = strrchr(addr, '@');
	free(ld->c->sender_domain);
	ld->c->sender_domain = iw_strdup(at ? at + 1 : "localhost");
	return 0;
}

static int
k_mailbox(struct loader *ld, config_setting_t *s, const char *q, char **out)
{
	char addr[256];
	struct iw_err why;

	if (get_nonempty(ld, s, q, out) != 0)
		return -1;
	if (iw_mailbox_normalize(*out, strlen(*out), addr, sizeof(addr),
	    &why) != 0)
		return fail(ld, s, q, "not a mailbox: %s", why.msg);
	free(*out);
	*out = iw_strdup(addr);
	return 0;
}

static int
k_reply_to(struct loader *ld, config_setting_t *s, const char *q)
{
	return k_mailbox(ld, s, q, &ld->c->sender_reply_to);
}

static int
k_return_path(struct loader *ld, config_setting_t *s, const char *q)
{
	if (k_mailbox(ld, s, q, &ld->c->sender_return_path) != 0)
		return -1;
	if (strchr(ld->c->sender_return_path, '+') != NULL)
		return fail(ld, s, q, "must not contain '+': the VERP token "
		    "is added as local+TOKEN@domain");
	return 0;
}

static int
k_verp_secret(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_nonempty(ld, s, q, &ld->c->sender_verp_secret) != 0)
		return -1;
	if (strlen(ld->c->sender_verp_secret) < 8)
		return fail(ld, s, q, "too short: use at least 8 characters "
		    "(it is what stops forged bounces)");
	if (strcmp(ld->c->sender_verp_secret, IW_CONFIG_EXAMPLE_SECRET) == 0)
		return fail(ld, s, q, "still the example's value, which "
		    "anyone can read: make one with `openssl rand -hex 32`");
	return 0;
}

static const struct key sender_keys[] = {
	{ "from", k_from },
	{ "reply_to", k_reply_to },
	{ "return_path", k_return_path },
	{ "verp_secret", k_verp_secret },
	{ NULL, NULL },
};

/* --- daemon --- */

static int
k_user(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_nonempty(ld, s, q, &ld->c->daemon_user);
}

static const struct key daemon_keys[] = {
	{ "user", k_user },
	{ NULL, NULL },
};

/* --- geoip --- */

static int
k_geoip_db(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_path(ld, s, q, &ld->c->geoip_database);
}

static const struct key geoip_keys[] = {
	{ "database", k_geoip_db },
	{ NULL, NULL },
};

/* --- whois --- */

static int
k_bootstrap(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_nonempty(ld, s, q, &ld->c->whois_bootstrap);
}

static int
host_entry(struct loader *ld, config_setting_t *e, struct iw_whois_host *h)
{
	char q[64];

	if (config_setting_type(e) != CONFIG_TYPE_GROUP)
		return fail(ld, e, "whois.hosts", "each entry must be a group "
		    "{ name = \"...\"; address = \"host:port\"; }");
	for (int i = 0; i < config_setting_length(e); i++) {
		config_setting_t *k = config_setting_get_elem(e, (unsigned)i);
		const char *n = config_setting_name(k);

		snprintf(q, sizeof(q), "whois.hosts.%s", n);
		if (strcmp(n, "name") == 0) {
			if (get_nonempty(ld, k, q, &h->name) != 0)
				return -1;
			for (char *p = h->name; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		} else if (strcmp(n, "address") == 0) {
			if (get_hostport(ld, k, q, &h->address) != 0)
				return -1;
		} else if (strcmp(n, "concurrency") == 0) {
			if (get_int(ld, k, q, 1, 64, &h->concurrency) != 0)
				return -1;
		} else if (strcmp(n, "rate") == 0) {
			if (get_rate(ld, k, q, &h->rate) != 0)
				return -1;
		} else
			return fail(ld, k, q, "unknown key");
	}
	if (h->name == NULL)
		return fail(ld, e, "whois.hosts", "each entry needs a name");
	return 0;
}

static int
k_hosts(struct loader *ld, config_setting_t *s, const char *q)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return fail(ld, s, q, "must be a list ( { name = ...; "
		    "address = ...; }, ... )");
	n = config_setting_length(s);
	ld->c->whois_hosts = iw_calloc(n > 0 ? (size_t)n : 1,
	    sizeof(*ld->c->whois_hosts));
	if (ld->c->whois_hosts == NULL)
		return fail(ld, s, q, "out of memory");
	ld->c->whois_nhosts = (size_t)n;
	for (int i = 0; i < n; i++)
		ld->c->whois_hosts[i].rate = -1;
	for (int i = 0; i < n; i++)
		if (host_entry(ld, config_setting_get_elem(s, (unsigned)i),
		    &ld->c->whois_hosts[i]) != 0)
			return -1;
	return 0;
}

static int
k_whois_timeout(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_duration(ld, s, q, &ld->c->whois_timeout) != 0)
		return -1;
	if (ld->c->whois_timeout < 1)
		return fail(ld, s, q, "must be at least 1s");
	return 0;
}

static int
k_whois_retries(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_int(ld, s, q, 0, 1000, &ld->c->whois_retries);
}

static int
k_whois_cache_ttl(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_duration(ld, s, q, &ld->c->whois_cache_ttl);
}

static int
k_whois_cache(struct loader *ld, config_setting_t *s, const char *q)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(ld, s, q, "must be true or false");
	ld->c->whois_cache = config_setting_get_bool(s);
	return 0;
}

static const struct key whois_keys[] = {
	{ "bootstrap", k_bootstrap },
	{ "cache_ttl", k_whois_cache_ttl },
	{ "cache", k_whois_cache },
	{ "hosts", k_hosts },
	{ "timeout", k_whois_timeout },
	{ "retries", k_whois_retries },
	{ NULL, NULL },
};

/* --- letters --- */

static int
k_directory(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_path(ld, s, q, &ld->c->letters_directory);
}

static int
check_locale(const char *v)
{
	size_t n = strlen(v);

	if (n < 2 || n > 16)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)v[i]) && v[i] != '_' &&
		    v[i] != '-')
			return -1;
	return 0;
}

static int
k_default_locale(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_nonempty(ld, s, q, &ld->c->letters_default_locale) != 0)
		return -1;
	if (check_locale(ld->c->letters_default_locale) != 0)
		return fail(ld, s, q, "not a locale name like \"en\"");
	return 0;
}

static int
k_countries(struct loader *ld, config_setting_t *s, const char *q)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail(ld, s, q, "must be a group { DK = \"da\"; ... }");
	n = config_setting_length(s);
	ld->c->letters_countries = iw_calloc((size_t)n,
	    sizeof(*ld->c->letters_countries));
	if (ld->c->letters_countries == NULL)
		return fail(ld, s, q, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct iw_country_locale *cl = &ld->c->letters_countries[i];
		const char *cc = config_setting_name(e);
		char eq[64];

		snprintf(eq, sizeof(eq), "%s.%s", q, cc);
		if (strlen(cc) != 2 || !isupper((unsigned char)cc[0]) ||
		    !isupper((unsigned char)cc[1]))
			return fail(ld, e, eq, "not an ISO 3166 alpha-2 code "
			    "in upper case");
		memcpy(cl->cc, cc, 3);
		ld->c->letters_ncountries = (size_t)i + 1;
		if (get_nonempty(ld, e, eq, &cl->locale) != 0)
			return -1;
		if (check_locale(cl->locale) != 0)
			return fail(ld, e, eq, "not a locale name like \"da\"");
	}
	return 0;
}

static int
k_hold(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_duration(ld, s, q, &ld->c->letters_hold);
}

static int
k_renotify_after(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_duration(ld, s, q, &ld->c->letters_renotify_after);
}

static int
k_max_inline_ips(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_int(ld, s, q, 1, 100000, &ld->c->letters_max_inline_ips);
}

static const struct key letters_keys[] = {
	{ "directory", k_directory },
	{ "default_locale", k_default_locale },
	{ "countries", k_countries },
	{ "hold", k_hold },
	{ "renotify_after", k_renotify_after },
	{ "max_inline_ips", k_max_inline_ips },
	{ NULL, NULL },
};

/* --- delivery --- */

static int
k_workers(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_int(ld, s, q, 1, 256, &ld->c->delivery_workers);
}

static int
k_batch(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_int(ld, s, q, 1, 10000, &ld->c->delivery_batch);
}

static int
k_min_backoff(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_duration(ld, s, q, &ld->c->delivery_min_backoff);
}

static int
k_max_backoff(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_duration(ld, s, q, &ld->c->delivery_max_backoff);
}

static int
k_max_age(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_duration(ld, s, q, &ld->c->delivery_max_age);
}

static int
k_lease(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_duration(ld, s, q, &ld->c->delivery_lease) != 0)
		return -1;
	if (ld->c->delivery_lease < 10)
		return fail(ld, s, q, "must be at least 10s");
	return 0;
}

static int
k_rate(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_rate(ld, s, q, &ld->c->delivery_rate);
}

static int
k_domain_rate(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_rate(ld, s, q, &ld->c->delivery_domain_rate);
}

static const struct key delivery_keys[] = {
	{ "workers", k_workers },
	{ "rate", k_rate },
	{ "domain_rate", k_domain_rate },
	{ "batch", k_batch },
	{ "min_backoff", k_min_backoff },
	{ "max_backoff", k_max_backoff },
	{ "max_age", k_max_age },
	{ "lease", k_lease },
	{ NULL, NULL },
};

/* --- bounces --- */

static int
k_maildir(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_path(ld, s, q, &ld->c->bounces_maildir);
}

static int
k_soft_limit(struct loader *ld, config_setting_t *s, const char *q)
{
	return get_int(ld, s, q, 1, 1000, &ld->c->bounces_soft_limit);
}

static const struct key bounces_keys[] = {
	{ "maildir", k_maildir },
	{ "soft_limit", k_soft_limit },
	{ NULL, NULL },
};

static const struct section sections[] = {
	{ "database", IW_CONF_DATABASE, database_keys },
	{ "smtp", IW_CONF_SMTP, smtp_keys },
	{ "sender", IW_CONF_SENDER, sender_keys },
	{ "geoip", IW_CONF_GEOIP, geoip_keys },
	{ "whois", IW_CONF_WHOIS, whois_keys },
	{ "letters", IW_CONF_LETTERS, letters_keys },
	{ "delivery", IW_CONF_DELIVERY, delivery_keys },
	{ "bounces", IW_CONF_BOUNCES, bounces_keys },
	{ "daemon", IW_CONF_DAEMON, daemon_keys },
	{ NULL, 0, NULL },
};

/* Keys a section cannot do without, checked after it was read. */
static int
check_required(struct loader *ld, const struct section *sec,
    config_setting_t *g)
{
	const struct iw_config *c = ld->c;
	const char *missing = NULL;

	if (sec->bit == IW_CONF_DATABASE && c->db_conninfo == NULL)
		missing = "conninfo";
	else if (sec->bit == IW_CONF_SMTP && c->smtp_relay == NULL)
		missing = "relay";
	else if (sec->bit == IW_CONF_SENDER && c->sender_from == NULL)
		missing = "from";
	else if (sec->bit == IW_CONF_SENDER && c->sender_return_path == NULL)
		missing = "return_path";
	else if (sec->bit == IW_CONF_SENDER && c->sender_verp_secret == NULL)
		missing = "verp_secret";
	else if (sec->bit == IW_CONF_GEOIP && c->geoip_database == NULL)
		missing = "database";
	else if (sec->bit == IW_CONF_WHOIS && c->whois_bootstrap == NULL)
		missing = "bootstrap";
	else if (sec->bit == IW_CONF_LETTERS && c->letters_directory == NULL)
		missing = "directory";
	else if (sec->bit == IW_CONF_BOUNCES && c->bounces_maildir == NULL)
		missing = "maildir";
	if (missing != NULL)
		return fail(ld, g, sec->name, "missing key '%s'", missing);
	if (sec->bit == IW_CONF_SMTP && c->smtp_password != NULL &&
	    c->smtp_username == NULL)
		return fail(ld, g, sec->name, "password without username");
	if (sec->bit == IW_CONF_SMTP && c->smtp_username != NULL &&
	    c->smtp_starttls != IW_SMTP_TLS_REQUIRED &&
	    !iw_config_relay_is_loopback(c->smtp_relay))
		return fail(ld, g, sec->name, "username (AUTH) needs starttls "
		    "= \"required\" unless the relay is on loopback: the "
		    "password must not cross the network in clear text");
	if (sec->bit == IW_CONF_DELIVERY &&
	    c->delivery_min_backoff > c->delivery_max_backoff)
		return fail(ld, g, sec->name, "min_backoff is larger than "
		    "max_backoff");
	return 0;
}

static int
load_section(struct loader *ld, const struct section *sec,
    config_setting_t *g)
{
	char q[128];

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, sec->name, "must be a group { ... }");
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct key *k;

		snprintf(q, sizeof(q), "%s.%s", sec->name, name);
		for (k = sec->keys; k->name != NULL; k++)
			if (strcmp(k->name, name) == 0)
				break;
		if (k->name == NULL)
			return fail(ld, s, q, "unknown key");
		if (k->fn(ld, s, q) != 0)
			return -1;
	}
	ld->c->sections |= sec->bit;
	return check_required(ld, sec, g);
}

static void
set_defaults(struct iw_config *c)
{
	c->db_reconnect_max = 60;
	c->daemon_user = iw_strdup(IW_CONFIG_DEFAULT_USER);
	c->smtp_starttls = IW_SMTP_TLS_DISABLED;
	c->smtp_timeout = 60;
	c->whois_timeout = 10;
	c->whois_retries = 5;
	c->whois_cache_ttl = 7 * 86400;
	c->whois_cache = 1;
	c->letters_default_locale = iw_strdup("en");
	c->letters_hold = 3600;
	c->letters_renotify_after = 30 * 86400;
	c->letters_max_inline_ips = 100;
	c->delivery_workers = 4;
	c->delivery_batch = 50;
	c->delivery_min_backoff = 300;
	c->delivery_max_backoff = 3600;
	c->delivery_max_age = 5 * 86400;
	c->delivery_lease = 300;
	c->delivery_rate = 0;
	c->delivery_domain_rate = 0;
	c->bounces_soft_limit = 3;
}

/* The first secret the configuration holds, by key; NULL when none. */
static const char *
secret_key(const struct iw_config *c)
{
	if (c->smtp_password != NULL)
		return "smtp.password";
	if (c->sender_verp_secret != NULL)
		return "sender.verp_secret";
	if (c->db_conninfo != NULL && strstr(c->db_conninfo, "password") !=
	    NULL)
		return "database.conninfo's password";
	return NULL;
}

/* A file holding a secret must not be readable by every user: whoever
 * reads the VERP secret forges bounces, the SMTP password sends mail. */
static int
check_secret_mode(struct loader *ld)
{
	const char *what = secret_key(ld->c);
	struct stat st;

	if (what == NULL)
		return 0;
	if (stat(ld->path, &st) != 0) {
		iw_err_set(ld->err, "%s: cannot stat: %m", ld->path);
		return -1;
	}
	if ((st.st_mode & S_IROTH) == 0)
		return 0;
	iw_err_set(ld->err, "%s: holds %s but every user can read it: "
	    "chmod 640 %s (owner root, group of the daemon's user)", ld->path,
	    what, ld->path);
	return -1;
}

static void
dir_of(const char *path, char *dir, size_t size)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		if (getcwd(dir, size) == NULL)
			iw_strlcpy(dir, ".", size);
		return;
	}
	iw_strlcpy_n(tmp, sizeof(tmp), path, (size_t)(slash - path));
	if (realpath(tmp[0] ? tmp : "/", dir) == NULL)
		iw_strlcpy(dir, tmp, size);
}

int
iw_config_load(const char *path, struct iw_config **out, struct iw_err *err)
{
	struct loader ld;
	config_t cfg;
	config_setting_t *root;
	int rc = -1;

	*out = NULL;
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.err = err;
	ld.c = iw_calloc(1, sizeof(*ld.c));
	if (ld.c == NULL) {
		iw_err_set(err, "%s: out of memory", path);
		return -1;
	}
	set_defaults(ld.c);
	ld.c->path = iw_strdup(path);
	dir_of(path, ld.dir, sizeof(ld.dir));

	config_init(&cfg);
	if (access(path, R_OK) != 0) {
		iw_err_set(err, "%s: cannot read: %m", path);
		goto out;
	}
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		iw_err_set(err, "%s:%d: %s",
		    config_error_file(&cfg) ? config_error_file(&cfg) : path,
		    config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	root = config_root_setting(&cfg);
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *g = config_setting_get_elem(root,
		    (unsigned)i);
		const char *name = config_setting_name(g);
		const struct section *sec;

		for (sec = sections; sec->name != NULL; sec++)
			if (strcmp(sec->name, name) == 0)
				break;
		if (sec->name == NULL) {
			fail(&ld, g, name, "unknown section");
			goto out;
		}
		if (load_section(&ld, sec, g) != 0)
			goto out;
	}
	if (check_secret_mode(&ld) != 0)
		goto out;
	rc = 0;
out:
	config_destroy(&cfg);
	if (rc == 0)
		*out = ld.c;
	else
		iw_config_free(ld.c);
	return rc;
}

void
iw_config_free(struct iw_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->db_conninfo);
	free(c->smtp_relay);
	free(c->smtp_username);
	free(c->smtp_password);
	free(c->smtp_helo);
	free(c->smtp_ca_file);
	free(c->sender_from);
	free(c->sender_reply_to);
	free(c->sender_return_path);
	free(c->sender_verp_secret);
	free(c->sender_domain);
	free(c->geoip_database);
	free(c->whois_bootstrap);
	for (size_t i = 0; i < c->whois_nhosts; i++) {
		free(c->whois_hosts[i].name);
		free(c->whois_hosts[i].address);
	}
	free(c->whois_hosts);
	free(c->letters_directory);
	free(c->letters_default_locale);
	for (size_t i = 0; i < c->letters_ncountries; i++)
		free(c->letters_countries[i].locale);
	free(c->letters_countries);
	free(c->bounces_maildir);
	free(c->daemon_user);
	free(c);
}

int
iw_config_require(const struct iw_config *c, unsigned need,
    struct iw_err *err)
{
	for (const struct section *s = sections; s->name != NULL; s++) {
		if ((need & s->bit) && !(c->sections & s->bit)) {
			iw_err_set(err, "%s: missing section '%s'", c->path,
			    s->name);
			return -1;
		}
	}
	return 0;
}

const char *
iw_config_locale_for(const struct iw_config *c, const char *cc)
{
	for (size_t i = 0; cc != NULL && i < c->letters_ncountries; i++)
		if (strcmp(c->letters_countries[i].cc, cc) == 0)
			return c->letters_countries[i].locale;
	return c->letters_default_locale;
}

void
iw_config_whois(const struct iw_config *c, struct iw_whois_conf *wc)
{
	memset(wc, 0, sizeof(*wc));
	wc->bootstrap = c->whois_bootstrap;
	wc->hosts = c->whois_hosts;
	wc->nhosts = c->whois_nhosts;
	wc->timeout_ms = (int)(c->whois_timeout * 1000);
	wc->max_answer = 1024 * 1024;
	wc->max_referrals = 5;
}

void
iw_config_smtp(const struct iw_config *c, struct iw_smtp_conf *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->relay = c->smtp_relay;
	sc->starttls = c->smtp_starttls;
	sc->ca_file = c->smtp_ca_file;
	sc->username = c->smtp_username;
	sc->password = c->smtp_password;
	sc->helo = c->smtp_helo;
	sc->timeout_s = (int)c->smtp_timeout;
}

const char *
iw_config_default_path(void)
{
	const char *env = getenv("IPWARN_CONF");

	if (env != NULL && *env != '\0')
		return env;
	return IW_CONFIG_DEFAULT_PATH;
}

char *
iw_config_absolute(const char *path)
{
	char cwd[PATH_MAX], *out;
	size_t n;

	if (path[0] == '/')
		return iw_strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	n = strlen(cwd) + strlen(path) + 2;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s/%s", cwd, path);
	return out;
}

int
iw_config_relay_is_loopback(const char *relay)
{
	char host[256];
	const char *end;
	struct in_addr a4;

	if (relay == NULL)
		return 0;
	if (relay[0] == '[') {
		end = strchr(relay, ']');
		if (end == NULL)
			return 0;
		iw_strlcpy_n(host, sizeof(host), relay + 1,
		    (size_t)(end - relay - 1));
		return strcmp(host, "::1") == 0;
	}
	end = strrchr(relay, ':');
	iw_strlcpy_n(host, sizeof(host), relay,
	    end ? (size_t)(end - relay) : strlen(relay));
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	/* 127.0.0.0/8, written as a dotted quad only: a name is not
	 * resolved here, so it does not count as loopback. */
	return inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

int
iw_config_auth_in_clear(const struct iw_config *c)
{
	return c->smtp_username != NULL &&
	    c->smtp_starttls != IW_SMTP_TLS_REQUIRED;
}
