/*
 * ipwarnd: the daemon.  Each pass resolves every due IP, groups resolved IPs
 * into letters, and attempts every due letter once; between passes it
 * sleeps until the next retry is due or PostgreSQL notifies it of new work.
 * --once stops when nothing is due now.  SIGTERM/SIGINT finish the work in
 * hand and exit 0; SIGHUP reloads the configuration.  See ipwarnd(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ipwarnd.h"
#include "log.h"

#define IWD_MAX_SLEEP_MS 60000
#define IWD_ONCE_MAX_PASSES 50

volatile sig_atomic_t iwd_stop;
volatile sig_atomic_t iwd_reload;
/* Self-pipe: a signal caught by any thread wakes the main thread's wait
 * at once, even when it arrives just before poll() starts. */
static int wake_pipe[2] = { -1, -1 };

static void
wake(void)
{
	int saved = errno;

	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "x", 1);
	errno = saved;
}

static void
drain_wake(void)
{
	char buf[64];

	while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

static const char usage_text[] =
    "usage: ipwarnd [-c FILE] [--foreground] [--once] [--dry-run] "
    "[--verbose]\n"
    "               [--pidfile FILE]\n"
    "\n"
    "  -c, --config FILE  configuration (default $IPWARN_CONF, else\n"
    "                     /etc/ipwarn/ipwarn.conf)\n"
    "  -f, --foreground   stay in the foreground, log to stderr\n"
    "      --pidfile FILE write the daemon's pid to FILE (hosts without\n"
    "                     systemd; it tells systemd READY=1 itself)\n"
    "      --once         work until nothing is due now, then exit\n"
    "                     (implies --foreground; 75 if the relay could\n"
    "                     not be used and letters were left unsent)\n"
    "  -n, --dry-run      resolve and build, but send nothing: print each\n"
    "                     due letter to stdout (one pass, like --once)\n"
    "  -v, --verbose      log debug messages too (a line per IP and per\n"
    "                     letter; otherwise a progress line per campaign\n"
    "                     every 10 s while working)\n"
    "  -h, --help         this text\n"
    "      --version      print the version\n"
    "\n"
    "Only letters of approved campaigns are sent (ipwarn campaign).\n"
    "A contact that hard-bounces, is refused with 5.1.x at RCPT or is\n"
    "suppressed passes its IPs on: to the enclosing registration's abuse\n"
    "contact, then to the CERT of letters.escalation (ipwarnd(8)).\n"
    "signals: TERM/INT finish work in hand and exit 0; HUP reloads the\n"
    "configuration at the next batch (a bad file is reported and the old\n"
    "one kept).  Started as root it runs as daemon.user (default ipwarn).\n"
    "metrics.listen = \"127.0.0.1:9464\" in the configuration serves\n"
    "GET /metrics (Prometheus text format; see ipwarnd(8)).\n";

/* systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram to $NOTIFY_SOCKET; nothing when it is not set. */
static void
notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';		/* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

static void
on_stop(int sig)
{
	(void)sig;
	iwd_stop = 1;
	wake();
}

static void
on_hup(int sig)
{
	(void)sig;
	iwd_reload = 1;
	wake();
}

static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must cut the sleep short. */
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	/* A relay that closes the connection must not kill the daemon. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static int
same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Load everything a configuration needs; on failure nothing changes. */
static int
load(struct iwd *d, const char *path, struct iw_err *err)
{
	struct iw_config *cfg;
	struct iw_letters *letters = NULL;
	struct iw_geoip *geoip = NULL;
	unsigned need = IW_CONF_DATABASE | IW_CONF_SENDER | IW_CONF_WHOIS |
	    IW_CONF_LETTERS | IW_CONF_GEOIP;

	if (!d->dry_run)
		need |= IW_CONF_SMTP;
	if (iw_config_load(path, &cfg, err) < 0)
		return -1;
	if (iw_config_require(cfg, need, err) < 0 ||
	    iw_letters_load(cfg->letters_directory, &letters, err) < 0 ||
	    iw_compose_check_locales(cfg, letters, err) < 0 ||
	    iw_geoip_open(cfg->geoip_database, &geoip, err) < 0) {
		iw_letters_free(letters);
		iw_config_free(cfg);
		return -1;
	}
	if (iw_config_auth_in_clear(cfg) &&
	    (d->cfg == NULL || !iw_config_auth_in_clear(d->cfg)))
		iw_log(IW_LOG_WARNING, "smtp: AUTH without required TLS: "
		    "allowed only because the relay %s is on loopback",
		    cfg->smtp_relay);
	if (d->cfg != NULL && strcmp(d->cfg->daemon_user,
	    cfg->daemon_user) != 0)
		iw_log(IW_LOG_WARNING, "daemon.user changed: takes effect on "
		    "restart");
	if (d->cfg != NULL && !same_str(d->cfg->metrics_listen,
	    cfg->metrics_listen))
		iw_log(IW_LOG_WARNING, "metrics.listen changed: takes effect "
		    "on restart");
	if (d->cfg != NULL && strcmp(d->cfg->db_conninfo,
	    cfg->db_conninfo) != 0)
		iw_log(IW_LOG_WARNING, "database.conninfo changed: takes "
		    "effect on restart");
	iw_letters_free(d->letters);
	iw_geoip_close(d->geoip);
	iwd_campaigns_clear(d);
	if (d->cfg != NULL) {
		/* Keep the connection string in use with the new config. */
		free(cfg->db_conninfo);
		cfg->db_conninfo = d->cfg->db_conninfo;
		d->cfg->db_conninfo = NULL;
	}
	iw_config_free(d->cfg);
	d->cfg = cfg;
	d->cfg_gen++;
	d->letters = letters;
	d->geoip = geoip;
	iwd_throttle_set(&d->throttle, cfg->delivery_rate,
	    cfg->delivery_domain_rate);
	return 0;
}

int
iwd_pool_ready(struct iwd *d)
{
	struct iw_err err;
	int i, ok = 0;

	for (i = 0; i < d->npool; i++) {
		if (d->pool[i] != NULL && !iw_db_broken(d->pool[i])) {
			ok++;
			continue;
		}
		iw_db_close(d->pool[i]);
		d->pool[i] = NULL;
		if (iw_db_connect(d->cfg->db_conninfo, &d->pool[i], &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			return -1;
		}
		ok++;
	}
	return ok > 0 ? 0 : -1;
}

static int
resize_pool(struct iwd *d)
{
	int want = d->cfg->delivery_workers, i;
	struct iw_db **p;

	if (want == d->npool)
		return iwd_pool_ready(d);
	for (i = want; i < d->npool; i++)
		iw_db_close(d->pool[i]);
	p = realloc(d->pool, (size_t)want * sizeof(*p));
	if (p == NULL)
		return -1;
	for (i = d->npool; i < want; i++)
		p[i] = NULL;
	d->pool = p;
	d->npool = want;
	return iwd_pool_ready(d);
}

static int
connect_main(struct iwd *d)
{
	struct iw_err err;

	if (d->db != NULL && !iw_db_broken(d->db))
		return 0;
	iw_db_close(d->db);
	d->db = NULL;
	if (iw_db_connect(d->cfg->db_conninfo, &d->db, &err) < 0 ||
	    iw_db_schema_check(d->db, &err) < 0 ||
	    (!d->once && !d->dry_run && iw_db_listen(d->db, &err) < 0)) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

static void
rescue(struct iwd *d)
{
	struct iw_err err;
	long t;

	if (iw_db_rescue(d->db, &t, &err) < 0)
		iw_log(IW_LOG_ERR, "%s", err.msg);
	else if (t > 0)
		iw_log(IW_LOG_NOTICE, "took back %ld IPs whose lease had "
		    "expired", t);
}

static int pass_stages(struct iwd *);

/* One pass over the stages (the progress thread reports meanwhile); -1
 * when the database failed. */
static int
pass(struct iwd *d)
{
	int rc;

	atomic_store(&d->busy, 1);
	rc = pass_stages(d);
	atomic_store(&d->busy, 0);
	return rc;
}

static int
pass_stages(struct iwd *d)
{
	int64_t t0, t1, t2;
	long n;

	rescue(d);
	t0 = iw_now_ms();
	if ((n = iwd_resolve(d)) < 0)
		return -1;
	if (n > 0)
		iw_log(IW_LOG_INFO, "resolved %ld IPs in %.1f s", n,
		    (double)(iw_now_ms() - t0) / 1000);
	if (iwd_stop || iwd_reload)
		return 0;
	t1 = iw_now_ms();
	if (iwd_build(d) < 0)
		return -1;
	iw_log(IW_LOG_DEBUG, "build took %.1f s",
	    (double)(iw_now_ms() - t1) / 1000);
	if (iwd_stop || iwd_reload)
		return 0;
	if (d->cfg->bounces_maildir != NULL && !d->dry_run &&
	    iwd_scan_maildir(d) < 0)
		return -1;
	t2 = iw_now_ms();
	n = d->dry_run ? iwd_print(d) : iwd_send(d);
	if (n > 0)
		iw_log(IW_LOG_INFO, "%s %ld letters in %.1f s", d->dry_run ?
		    "printed" : "attempted", n,
		    (double)(iw_now_ms() - t2) / 1000);
	return n < 0 ? -1 : 0;
}

static void
sleep_until_work(struct iwd *d)
{
	struct iw_err err;
	long long due;
	int ms = IWD_MAX_SLEEP_MS;

	if (iw_db_next_due(d->db, &due, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		due = 5;
	}
	if (due >= 0 && due * 1000 < ms)
		ms = (int)(due * 1000);
	if (ms <= 0)
		ms = 200;	/* due now but leased elsewhere: look again */
	pthread_mutex_lock(&d->breaker_lock);
	if (d->breaker_until_ms > iw_now_ms()) {
		/* Letters are due but the relay is resting. */
		int64_t rest = d->breaker_until_ms - iw_now_ms();

		if (ms < rest)
			ms = rest > IWD_MAX_SLEEP_MS ? IWD_MAX_SLEEP_MS :
			    (int)rest;
	}
	pthread_mutex_unlock(&d->breaker_lock);
	if (iwd_reload || iwd_stop)
		return;
	if (iw_db_wait(d->db, ms, wake_pipe[0], &err) < 0)
		iw_log(IW_LOG_ERR, "%s", err.msg);
}

/* Wait ms, or less when a signal comes. */
static void
nap(int ms)
{
	struct pollfd p = { .fd = wake_pipe[0], .events = POLLIN };

	if (!iwd_stop && !iwd_reload)
		(void)poll(&p, 1, ms);
}

static void
reload(struct iwd *d, const char *path)
{
	struct iw_err err;

	iwd_reload = 0;
	notify("RELOADING=1");
	if (load(d, path, &err) < 0)
		iw_log(IW_LOG_ERR, "reload: %s; keeping the old "
		    "configuration", err.msg);
	else
		iw_log(IW_LOG_NOTICE, "configuration reloaded from %s", path);
	notify("READY=1");
}

/* After a failed pass: start again with fresh connections.  One that
 * PostgreSQL closed while it was idle still looks fine until used, and
 * would fail the first pass after the outage. */
static void
drop_connections(struct iwd *d)
{
	int i;

	for (i = 0; i < d->npool; i++) {
		iw_db_close(d->pool[i]);
		d->pool[i] = NULL;
	}
	iw_db_close(d->db);
	d->db = NULL;
}

/* The wait before the next attempt after `failures` failed passes: 1 s,
 * doubling, at most database.reconnect_max. */
static int
backoff_ms(const struct iwd *d, int failures)
{
	long long s = 1LL << (failures < 20 ? failures - 1 : 20);

	if (s > d->cfg->db_reconnect_max)
		s = d->cfg->db_reconnect_max;
	return (int)(s * 1000);
}

static int
run(struct iwd *d, const char *path)
{
	struct iw_err err;
	int passes = 0, due, failures = 0;

	while (!iwd_stop) {
		drain_wake();
		if (iwd_reload)
			reload(d, path);
		if (connect_main(d) < 0 || resize_pool(d) < 0 ||
		    pass(d) < 0) {
			/* The database is away (or failed a statement):
			 * never give up while running as a service. */
			if (d->once || d->dry_run || iwd_stop)
				return EX_TEMPFAIL;
			drop_connections(d);
			if (failures++ == 0)
				iw_log(IW_LOG_WARNING, "database unusable; "
				    "retrying, at most every %llds",
				    d->cfg->db_reconnect_max);
			nap(backoff_ms(d, failures));
			continue;
		}
		if (failures > 0)
			iw_log(IW_LOG_NOTICE, "database reachable again after "
			    "%d failed attempt%s", failures,
			    failures == 1 ? "" : "s");
		failures = 0;
		if (d->dry_run)
			break;
		if (d->once && iwd_breaker_open(d)) {
			/* The relay is unusable: what is left waits for the
			 * next run, like a deferred letter, and the exit
			 * code tells cron. */
			iw_log(IW_LOG_WARNING, "relay unusable; letters left "
			    "queued for a later run");
			d->relay_unusable = 1;
			break;
		}
		if (d->once) {
			if (iw_db_work_due(d->db, &due, &err) < 0) {
				iw_log(IW_LOG_ERR, "%s", err.msg);
				return EX_TEMPFAIL;
			}
			if (!due || ++passes >= IWD_ONCE_MAX_PASSES)
				break;
			continue;
		}
		sleep_until_work(d);
	}
	if (d->db != NULL && !iw_db_broken(d->db) &&
	    iw_db_release(d->db, d->owner, &err) < 0)
		iw_log(IW_LOG_ERR, "%s", err.msg);
	return d->relay_unusable ? EX_TEMPFAIL : 0;
}

/* The account daemon.user names; NULL (and err) when there is none.  Not
 * consulted when not started as root or when the file says "root". */
static const struct passwd *
service_user(const struct iw_config *c, struct iw_err *err)
{
	const struct passwd *pw = getpwnam(c->daemon_user);

	if (pw == NULL)
		iw_err_set(err, "%s: daemon.user: no user \"%s\" on this "
		    "host (create it, e.g. systemd-sysusers, or name another "
		    "user; \"root\" keeps root)", c->path, c->daemon_user);
	return pw;
}

static int
must_drop(const struct iw_config *c)
{
	return geteuid() == 0 && strcmp(c->daemon_user, "root") != 0;
}

/* Give up root for daemon.user: everything the daemon opens as root is
 * open; what comes next parses outside input (WHOIS, bounces). */
static int
drop_privileges(const struct iw_config *c, struct iw_err *err)
{
	const struct passwd *pw;

	if (!must_drop(c))
		return 0;
	if ((pw = service_user(c, err)) == NULL)
		return -1;
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		iw_err_set(err, "cannot become %s: %s", c->daemon_user,
		    strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		iw_err_set(err, "could regain root after becoming %s",
		    c->daemon_user);
		return -1;
	}
	return 0;
}

static int
write_pidfile(const char *file, struct iw_err *err)
{
	FILE *f = fopen(file, "w");

	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
	    fclose(f) != 0) {
		iw_err_set(err, "%s: %s", file, strerror(errno));
		return -1;
	}
	return 0;
}

static void
make_owner(struct iwd *d)
{
	char host[128];
	unsigned r;

	if (gethostname(host, sizeof(host)) != 0)
		iw_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	r = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16) ^
	    (unsigned)(uintptr_t)d;
	snprintf(d->owner, sizeof(d->owner), "%s:%ld:%08x", host,
	    (long)getpid(), r);
}

static void
cleanup(struct iwd *d)
{
	int i;

	iwd_progress_stop(d);
	iwd_metrics_stop(d);
	iw_metrics_free(d->counters);
	for (i = 0; i < d->npool; i++)
		iw_db_close(d->pool[i]);
	free(d->pool);
	iw_db_close(d->db);
	iw_letters_free(d->letters);
	iw_geoip_close(d->geoip);
	iw_config_free(d->cfg);
	pthread_mutex_destroy(&d->out_lock);
	pthread_mutex_destroy(&d->breaker_lock);
	iwd_campaigns_clear(d);
	pthread_mutex_destroy(&d->campaigns_lock);
	iwd_throttle_free(&d->throttle);
	free(d->path);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "once", no_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	char *pidfile = NULL;
	struct iwd d;
	struct iw_err err;
	int ch, foreground = 0, verbose = 0, rc;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt_long(argc, argv, "c:fnvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = 1; break;
		case 'o': d.once = 1; break;
		case 'n': d.dry_run = 1; break;
		case 'v': verbose = 1; break;
		case 'p':
			/* Absolute: it is removed after the chdir to /. */
			free(pidfile);
			if ((pidfile = iw_config_absolute(optarg)) == NULL)
				return EX_OSERR;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("ipwarnd %s\n", IW_VERSION); return 0;
		default: fputs(usage_text, stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ipwarnd: unexpected argument '%s'\n",
		    argv[optind]);
		return EX_USAGE;
	}
	if (path == NULL)
		path = iw_config_default_path();
	/* Absolute now: daemon() chdir's to / and SIGHUP reads it again. */
	if ((d.path = iw_config_absolute(path)) == NULL) {
		fprintf(stderr, "ipwarnd: %s: %s\n", path, strerror(errno));
		return EX_OSERR;
	}
	path = d.path;
	if (d.once || d.dry_run)
		foreground = 1;
	iw_log_open("ipwarnd", 0, verbose ? IW_LOG_DEBUG : IW_LOG_INFO);
	pthread_mutex_init(&d.out_lock, NULL);
	pthread_mutex_init(&d.breaker_lock, NULL);
	pthread_mutex_init(&d.campaigns_lock, NULL);
	iwd_throttle_init(&d.throttle, 0, 0);
	if ((d.counters = iw_metrics_new()) == NULL) {
		fprintf(stderr, "ipwarnd: out of memory\n");
		cleanup(&d);
		return EX_OSERR;
	}
	if (load(&d, path, &err) < 0 ||
	    (must_drop(d.cfg) && service_user(d.cfg, &err) == NULL) ||
	    iwd_metrics_bind(&d, &err) < 0) {
		fprintf(stderr, "ipwarnd: %s\n", err.msg);
		cleanup(&d);
		return EX_CONFIG;
	}
	/* A service waits for its database (run() retries); a one-shot run
	 * tells its caller at once. */
	if (connect_main(&d) < 0 && (d.once || d.dry_run)) {
		fprintf(stderr, "ipwarnd: cannot use the database (see "
		    "above)\n");
		cleanup(&d);
		return EX_UNAVAILABLE;
	}
	if (!foreground) {
		/* Paths in the config are absolute already. */
		if (daemon(0, 0) != 0) {
			fprintf(stderr, "ipwarnd: daemon: %s\n",
			    strerror(errno));
			cleanup(&d);
			return EX_OSERR;
		}
		iw_log_open("ipwarnd", 1, verbose ? IW_LOG_DEBUG :
		    IW_LOG_INFO);
		/* The connection survived the fork in the child only. */
	}
	if ((pidfile != NULL && write_pidfile(pidfile, &err) < 0) ||
	    drop_privileges(d.cfg, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		cleanup(&d);
		return EX_OSERR;
	}
	make_owner(&d);
	if (pipe(wake_pipe) != 0 ||
	    fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK) != 0) {
		fprintf(stderr, "ipwarnd: pipe: %s\n", strerror(errno));
		cleanup(&d);
		return EX_OSERR;
	}
	signals();
	if (iwd_metrics_start(&d, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		cleanup(&d);
		return EX_OSERR;
	}
	iwd_progress_start(&d);
	iw_log(IW_LOG_INFO, "started as %s%s%s", d.owner,
	    d.once ? " (once)" : "", d.dry_run ? " (dry run)" : "");
	notify("READY=1");
	rc = run(&d, path);
	notify("STOPPING=1");
	if (pidfile != NULL)
		(void)unlink(pidfile);	/* fails when its directory is not
					   daemon.user's: harmless */
	free(pidfile);
	iw_log(IW_LOG_INFO, "stopped");
	cleanup(&d);
	iw_log_close();
	return rc;
}
