/*
 * metrics: counters and the exposition format.  See metrics.h.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const smtp_names[IW_METRICS_SMTP_N] = {
	"sent", "deferred", "failed"
};

struct server {
	char name[128];
	atomic_ulong queries, throttled;
};

struct iw_metrics {
	atomic_ulong smtp[IW_METRICS_SMTP_N];
	/* Slots are filled once and never move; nservers only grows, so a
	 * reader that loads it sees complete entries below it.  The last
	 * slot is "other". */
	struct server servers[IW_METRICS_MAX_SERVERS + 1];
	atomic_int nservers;
	pthread_mutex_t lock;		/* adding a server */
};

struct iw_metrics *
iw_metrics_new(void)
{
	struct iw_metrics *m = iw_calloc(1, sizeof(*m));
	int i;

	if (m == NULL)
		return NULL;
	for (i = 0; i < IW_METRICS_SMTP_N; i++)
		atomic_init(&m->smtp[i], 0);
	for (i = 0; i <= IW_METRICS_MAX_SERVERS; i++) {
		atomic_init(&m->servers[i].queries, 0);
		atomic_init(&m->servers[i].throttled, 0);
	}
	atomic_init(&m->nservers, 0);
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void
iw_metrics_free(struct iw_metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
iw_metrics_smtp(struct iw_metrics *m, enum iw_metrics_smtp result)
{
	if (m != NULL && (unsigned)result < IW_METRICS_SMTP_N)
		atomic_fetch_add_explicit(&m->smtp[result], 1,
		    memory_order_relaxed);
}

static struct server *
server_slot(struct iw_metrics *m, const char *name)
{
	int i, n = atomic_load(&m->nservers);

	for (i = 0; i < n; i++)
		if (strcmp(m->servers[i].name, name) == 0)
			return &m->servers[i];
	pthread_mutex_lock(&m->lock);
	n = atomic_load(&m->nservers);
	for (i = 0; i < n; i++)
		if (strcmp(m->servers[i].name, name) == 0)
			break;
	if (i == n) {
		if (n == IW_METRICS_MAX_SERVERS)
			i = IW_METRICS_MAX_SERVERS;	/* "other" */
		else {
			iw_strlcpy(m->servers[n].name, name,
			    sizeof(m->servers[n].name));
			atomic_store(&m->nservers, n + 1);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return &m->servers[i];
}

void
iw_metrics_whois(struct iw_metrics *m, const char *server, int throttled)
{
	struct server *s;

	if (m == NULL)
		return;
	s = server_slot(m, server);
	atomic_fetch_add_explicit(&s->queries, 1, memory_order_relaxed);
	if (throttled)
		atomic_fetch_add_explicit(&s->throttled, 1,
		    memory_order_relaxed);
}

/* The slots in use: the named ones, and "other" when it was needed. */
static int
used(struct iw_metrics *m, int i)
{
	int n = atomic_load(&m->nservers);

	return i < n || (i == IW_METRICS_MAX_SERVERS &&
	    n == IW_METRICS_MAX_SERVERS);
}

unsigned long
iw_metrics_whois_total(struct iw_metrics *m)
{
	unsigned long sum = 0;
	int i;

	for (i = 0; m != NULL && i <= IW_METRICS_MAX_SERVERS; i++)
		if (used(m, i))
			sum += atomic_load_explicit(&m->servers[i].queries,
			    memory_order_relaxed);
	return sum;
}

int
iw_metrics_label(struct iw_buf *b, const char *v)
{
	int bad = iw_buf_putc(b, '"');

	for (; *v != '\0' && bad == 0; v++) {
		if (*v == '\\')
			bad = iw_buf_puts(b, "\\\\");
		else if (*v == '"')
			bad = iw_buf_puts(b, "\\\"");
		else if (*v == '\n')
			bad = iw_buf_puts(b, "\\n");
		else
			bad = iw_buf_putc(b, *v);
	}
	return bad | iw_buf_putc(b, '"');
}

static int
whois_family(struct iw_metrics *m, struct iw_buf *b, const char *name,
    const char *help, int which)
{
	int i, bad;

	bad = iw_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help,
	    name);
	for (i = 0; i <= IW_METRICS_MAX_SERVERS && bad == 0; i++) {
		const struct server *s = &m->servers[i];
		unsigned long v;

		if (!used(m, i))
			continue;
		v = atomic_load_explicit(which ? &s->throttled : &s->queries,
		    memory_order_relaxed);
		bad |= iw_buf_printf(b, "%s{server=", name);
		bad |= iw_metrics_label(b, i == IW_METRICS_MAX_SERVERS ?
		    "other" : s->name);
		bad |= iw_buf_printf(b, "} %lu\n", v);
	}
	return bad;
}

int
iw_metrics_counters(struct iw_metrics *m, struct iw_buf *b)
{
	int i, bad;

	bad = iw_buf_puts(b, "# HELP ipwarn_smtp_attempts_total SMTP "
	    "attempts of this ipwarnd by result.\n# TYPE "
	    "ipwarn_smtp_attempts_total counter\n");
	for (i = 0; i < IW_METRICS_SMTP_N; i++)
		bad |= iw_buf_printf(b, "ipwarn_smtp_attempts_total{result="
		    "\"%s\"} %lu\n", smtp_names[i], atomic_load_explicit(
		    &m->smtp[i], memory_order_relaxed));
	bad |= whois_family(m, b, "ipwarn_whois_queries_total", "WHOIS "
	    "queries of this ipwarnd by server.", 0);
	bad |= whois_family(m, b, "ipwarn_whois_throttled_total", "WHOIS "
	    "queries of this ipwarnd that the server refused or "
	    "rate-limited.", 1);
	return bad < 0 ? -1 : 0;
}
