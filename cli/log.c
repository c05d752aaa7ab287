#include "cli/log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/log_syslog.h"

static enum log_level max_level = LOG_INFO;
static gboolean as_json;
static enum log_target target = LOG_TO_STDERR;
static gboolean to_journal;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* $JOURNAL_STREAM is "device:inode" of the journal's socket; it is inherited, so it counts only
 * while standard error is still that socket. */
static gboolean stderr_is_journal(void)
{
	const char *stream = g_getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	if (!stream || sscanf(stream, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0)
		return FALSE;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(enum log_level level, gboolean json, enum log_target where)
{
	max_level = level;
	as_json = json;
	target = where;
	if (target == LOG_TO_SYSLOG)
		log_syslog_open();
	else
		to_journal = stderr_is_journal();
}

static void emit(enum log_level level, const char *text)
{
	if (target == LOG_TO_SYSLOG)
		log_syslog_write(level, text);
	else if (to_journal)
		fprintf(stderr, "<%d>%s\n", log_syslog_priority(level), text);
	else if (as_json)
		fprintf(stderr, "%s\n", text);
	else
		fprintf(stderr, "mail2ticket: %s\n", text);
	fflush(stderr);
}

/* Quoted when it has blanks, with quotes and line breaks escaped, so one event stays one line. */
static void append_text_value(GString *line, const char *value)
{
	if (!*value || strpbrk(value, " \"=\t\r\n\\")) {
		g_string_append_c(line, '"');
		for (const char *p = value; *p; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_printf(line, "\\%c", *p);
			else if (*p == '\n')
				g_string_append(line, "\\n");
			else if (*p == '\r' || *p == '\t')
				g_string_append_c(line, ' ');
			else
				g_string_append_c(line, *p);
		}
		g_string_append_c(line, '"');
	} else {
		g_string_append(line, value);
	}
}

static void log_write(enum log_level level, const char *message, va_list fields)
{
	const char *name;

	if (level > max_level)
		return;
	if (as_json) {
		GDateTime *now = g_date_time_new_now_utc();
		char *time = g_date_time_format_iso8601(now);
		json_t *obj = json_pack("{s:s, s:s, s:s}", "time", time, "level",
					level_names[level], "msg", message);
		char *text;
		while ((name = va_arg(fields, const char *))) {
			const char *value = va_arg(fields, const char *);
			if (value)
				json_object_set_new(obj, name, json_string(value));
		}
		text = json_dumps(obj, JSON_COMPACT);
		emit(level, text);
		free(text);
		json_decref(obj);
		g_free(time);
		g_date_time_unref(now);
	} else {
		GString *line = g_string_new(NULL);
		g_string_append_printf(line, "%s: %s", level_names[level], message);
		while ((name = va_arg(fields, const char *))) {
			const char *value = va_arg(fields, const char *);
			if (!value)
				continue;
			g_string_append_printf(line, " %s=", name);
			append_text_value(line, value);
		}
		emit(level, line->str);
		g_string_free(line, TRUE);
	}
}

void log_event(enum log_level level, const char *message, ...)
{
	va_list ap;

	va_start(ap, message);
	log_write(level, message, ap);
	va_end(ap);
}

static void log_no_fields(enum log_level level, const char *message, ...)
{
	va_list ap;

	va_start(ap, message);
	log_write(level, message, ap);
	va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	char *message;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	log_no_fields(level, message, NULL);
	g_free(message);
}
