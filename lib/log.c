/*
 * log: stderr or syslog sink for ipwarnd and ipwarn.  The only process-wide
 * state in lib/: the sink is set once by main() before any thread starts and
 * only read afterwards, so no locking is needed; each message is written with
 * one write so lines of concurrent threads do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
	const char *ident;
	int to_syslog;
	enum iw_log_level max;
} sink = { "ipwarn", 0, IW_LOG_INFO };

static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
	LOG_DEBUG };
static const char *const names[] = { "error", "warning", "notice", "info",
	"debug" };

void
iw_log_open(const char *ident, int to_syslog, enum iw_log_level max)
{
	sink.ident = ident;
	sink.to_syslog = to_syslog;
	sink.max = max;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
iw_log_close(void)
{
	if (sink.to_syslog)
		closelog();
}

void
iw_log(enum iw_log_level level, const char *fmt, ...)
{
	char msg[2048], line[2300], ts[32];
	struct tm tm;
	time_t now;
	va_list ap;
	size_t i;
	int n;

	if (level > sink.max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One message, one line: whatever a peer sent us stays on it. */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	if (sink.to_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s: %s\n", ts,
	    sink.ident, (long)getpid(), names[level], msg);
	if (n > 0)
		(void)!write(STDERR_FILENO, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
