#include "cli/log_syslog.h"

#include <syslog.h>

static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void log_syslog_open(void)
{
	openlog("mail2ticket", LOG_PID, LOG_MAIL);
}

int log_syslog_priority(int level)
{
	return priorities[level];
}

void log_syslog_write(int level, const char *line)
{
	syslog(priorities[level], "%s", line);
}
