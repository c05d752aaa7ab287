#include "cli/log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static enum log_level max_level = LOG_INFO;
static gboolean as_json;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_setup(enum log_level level, gboolean json)
{
	max_level = level;
	as_json = json;
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
		while ((name = va_arg(fields, const char *))) {
			const char *value = va_arg(fields, const char *);
			if (value)
				json_object_set_new(obj, name, json_string(value));
		}
		json_dumpf(obj, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(obj);
		g_free(time);
		g_date_time_unref(now);
	} else {
		GString *line = g_string_new(NULL);
		g_string_append_printf(line, "mail2ticket: %s: %s", level_names[level], message);
		while ((name = va_arg(fields, const char *))) {
			const char *value = va_arg(fields, const char *);
			if (!value)
				continue;
			g_string_append_printf(line, " %s=", name);
			append_text_value(line, value);
		}
		fprintf(stderr, "%s\n", line->str);
		g_string_free(line, TRUE);
	}
	fflush(stderr);
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
