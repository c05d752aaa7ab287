/* The syslog side of the log, apart because <syslog.h> defines LOG_INFO and LOG_DEBUG as
 * macros that clash with log.h's levels. */
#ifndef M2T_CLI_LOG_SYSLOG_H
#define M2T_CLI_LOG_SYSLOG_H

/* Open the connection to syslog: ident mail2ticket, with the pid, facility mail. */
void log_syslog_open(void);
/* line at level (0 error, 1 warning, 2 info, 3 debug: log.h's order). */
void log_syslog_write(int level, const char *line);
/* The journal's "<N>" prefix for level, as systemd reads it on standard error. */
int log_syslog_priority(int level);

#endif
