/*
 * log: where the programs' messages go — stderr in the foreground, syslog
 * (facility mail) when daemonised.  The sink is chosen once at start-up by
 * main(); library modules never log, they return errors to their caller.
 */
#ifndef IW_LOG_H
#define IW_LOG_H

enum iw_log_level {
	IW_LOG_ERR,
	IW_LOG_WARNING,
	IW_LOG_NOTICE,
	IW_LOG_INFO,
	IW_LOG_DEBUG,
};

/* ident: program name; to_syslog: 0 stderr, 1 syslog; max: least
 * important level still written. */
void iw_log_open(const char *ident, int to_syslog, enum iw_log_level max);
void iw_log_close(void);

void iw_log(enum iw_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
