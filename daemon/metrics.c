/*
 * GET /metrics (metrics.listen): libmicrohttpd serves it from one thread of
 * its own, with a database connection of its own.  The listening socket is
 * made before ipwarnd forks and drops root (a port in use is a
 * configuration error, said at once); the server starts after.  The
 * database's gauges (one grouped query over every letter and IP) are read
 * again at most every IWD_METRICS_CACHE_MS, and never more often than
 * IW_PACE_FACTOR times as long as the last read took (lib/util.h): frequent
 * scrapes of a campaign of millions cost the database a bounded share.
 * This process's counters are read at every scrape.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ipwarnd.h"
#include "log.h"
#include "metrics.h"
#include "metrics_db.h"

#define IWD_METRICS_CACHE_MS 5000

struct iwd_metrics {
	struct iwd *d;
	int fd;
	struct MHD_Daemon *mhd;
	char *conninfo;
	struct iw_db *db;		/* the server thread's */
	struct iw_buf cache;		/* the database's gauges */
	struct iw_pace pace;		/* when to read them again */
	int db_up;
};

/* "host:port" / "[v6]:port" (checked by the configuration) into parts. */
static void
split(const char *hp, char *host, size_t hsz, char *port, size_t psz)
{
	const char *colon = strrchr(hp, ':');

	if (hp[0] == '[')
		iw_strlcpy_n(host, hsz, hp + 1, (size_t)(colon - hp - 2));
	else
		iw_strlcpy_n(host, hsz, hp, (size_t)(colon - hp));
	iw_strlcpy(port, colon + 1, psz);
}

int
iwd_metrics_bind(struct iwd *d, struct iw_err *err)
{
	const struct iw_config *c = d->cfg;
	struct addrinfo hints, *ai = NULL, *p;
	char host[256], port[16];
	int fd = -1, one = 1, r, e = 0;

	if (c->metrics_listen == NULL)
		return 0;
	split(c->metrics_listen, host, sizeof(host), port, sizeof(port));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &ai)) != 0) {
		iw_err_set(err, "%s:%d: metrics.listen: %s: %s", c->path,
		    c->metrics_listen_line, c->metrics_listen,
		    gai_strerror(r));
		return -1;
	}
	for (p = ai; p != NULL; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC,
		    p->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 &&
		    listen(fd, 64) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		iw_err_set(err, "%s:%d: metrics.listen: cannot listen on %s: "
		    "%s", c->path, c->metrics_listen_line, c->metrics_listen,
		    strerror(e));
		return -1;
	}
	if ((d->metrics = iw_calloc(1, sizeof(*d->metrics))) == NULL ||
	    (d->metrics->conninfo = iw_strdup(c->db_conninfo)) == NULL) {
		free(d->metrics);
		d->metrics = NULL;
		close(fd);
		iw_err_set(err, "out of memory");
		return -1;
	}
	d->metrics->d = d;
	d->metrics->fd = fd;
	return 0;
}

/* The database's gauges, again when the cached ones are too old (a
 * failed connection is paced the same way). */
static void
refresh(struct iwd_metrics *m)
{
	struct iw_err err;
	int64_t now = iw_now_ms();

	if (!iw_pace_due(&m->pace, now))
		return;
	iw_buf_reset(&m->cache);
	if (m->db == NULL || iw_db_broken(m->db)) {
		iw_db_close(m->db);
		m->db = NULL;
		if (iw_db_connect(m->conninfo, &m->db, &err) < 0 ||
		    iw_db_serial(m->db, &err) < 0) {
			if (m->db_up)
				iw_log(IW_LOG_WARNING, "metrics: %s", err.msg);
			m->db_up = 0;
			goto out;
		}
	}
	m->db_up = iw_metrics_db(m->db, &m->cache, &err) == 0;
	if (!m->db_up) {
		iw_buf_reset(&m->cache);
		iw_log(IW_LOG_WARNING, "metrics: %s", err.msg);
	}
out:
	iw_pace_done(&m->pace, now, iw_now_ms(), IWD_METRICS_CACHE_MS);
}

static int
render(struct iwd_metrics *m, struct iw_buf *b)
{
	int bad;

	refresh(m);
	bad = iw_metrics_counters(m->d->counters, b);
	bad |= iw_buf_printf(b, "# HELP ipwarn_relay_breaker_open 1 while "
	    "the relay's circuit breaker holds every letter back.\n# TYPE "
	    "ipwarn_relay_breaker_open gauge\nipwarn_relay_breaker_open %d\n"
	    "# HELP ipwarn_database_up 1 if the last read of the database's "
	    "figures worked.\n# TYPE ipwarn_database_up gauge\n"
	    "ipwarn_database_up %d\n", iwd_breaker_open(m->d), m->db_up);
	if (m->cache.len > 0)
		bad |= iw_buf_append(b, m->cache.data, m->cache.len);
	return bad;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct iwd_metrics *m = cls;
	struct iw_buf b = IW_BUF_INIT;
	struct MHD_Response *resp;
	unsigned code = MHD_HTTP_OK;
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	enum MHD_Result r;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (*upload_size != 0)
		return MHD_NO;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		type = "text/plain";
		(void)iw_buf_puts(&b, "only GET\n");
	} else if (strcmp(url, "/metrics") != 0) {
		code = MHD_HTTP_NOT_FOUND;
		type = "text/plain";
		(void)iw_buf_puts(&b, "see /metrics\n");
	} else if (render(m, &b) < 0) {
		iw_buf_free(&b);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(b.len, b.data,
	    MHD_RESPMEM_MUST_COPY);
	iw_buf_free(&b);
	if (resp == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    type);
	r = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return r;
}

int
iwd_metrics_start(struct iwd *d, struct iw_err *err)
{
	struct iwd_metrics *m = d->metrics;

	if (m == NULL)
		return 0;
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, answer, m,
	    MHD_OPTION_LISTEN_SOCKET, m->fd, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
	    MHD_OPTION_END);
	if (m->mhd == NULL) {
		iw_err_set(err, "metrics: cannot start the HTTP server on %s",
		    d->cfg->metrics_listen);
		return -1;
	}
	iw_log(IW_LOG_INFO, "metrics: serving http://%s/metrics",
	    d->cfg->metrics_listen);
	return 0;
}

void
iwd_metrics_stop(struct iwd *d)
{
	struct iwd_metrics *m = d->metrics;

	if (m == NULL)
		return;
	if (m->mhd != NULL)
		MHD_stop_daemon(m->mhd);
	else
		close(m->fd);
	iw_db_close(m->db);
	iw_buf_free(&m->cache);
	free(m->conninfo);
	free(m);
	d->metrics = NULL;
}
