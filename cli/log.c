/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Log lines in text, JSON or syslog form, every value escaped so mail text cannot forge one. */
#include "cli/log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static enum log_level max_level = M2T_LOG_INFO;
static gboolean as_json;
static enum log_target target = M2T_LOG_TO_STDERR;
static gboolean to_journal;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
/* syslog's priority for each level; also the journal's "<N>" prefix on standard error. */
static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

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
	if (target == M2T_LOG_TO_SYSLOG)
		openlog("mail2ticket", LOG_PID, LOG_MAIL);
	else
		to_journal = stderr_is_journal();
}

static void emit(enum log_level level, const char *text)
{
	if (target == M2T_LOG_TO_SYSLOG)
		syslog(priorities[level], "%s", text);
	else if (to_journal)
		fprintf(stderr, "<%d>%s\n", priorities[level], text);
	else if (as_json)
		fprintf(stderr, "%s\n", text);
	else
		fprintf(stderr, "mail2ticket: %s\n", text);
	fflush(stderr);
}

void log_escape_append(GString *out, const char *text, const char *also)
{
	const char *p = text;

	while (*p) {
		const char *next = g_utf8_find_next_char(p, NULL);
		gunichar c = g_utf8_get_char_validated(p, next ? next - p : -1);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(out, "\\x%02x", (guchar)*p++);
			continue;
		}
		if (c == '\\' || (c < 0x80 && also && strchr(also, (int)c)))
			g_string_append_printf(out, "\\%c", (char)c);
		else if (c == '\n')
			g_string_append(out, "\\n");
		else if (c == '\r')
			g_string_append(out, "\\r");
		else if (c == '\t')
			g_string_append(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			g_string_append_printf(out, "\\x%02x", c);
		else if (c == 0x85 || c == 0x2028 || c == 0x2029)
			g_string_append_printf(out, "\\u%04x", c);
		else
			g_string_append_len(out, p, next - p);
		p = next;
	}
}

char *log_escape(const char *text)
{
	GString *out = g_string_sized_new(strlen(text));

	log_escape_append(out, text, NULL);
	return g_string_free(out, FALSE);
}

/* Quoted when it has blanks or anything escaped, so that one value stays one word. */
static void append_text_value(GString *line, const char *value)
{
	gsize start = line->len;

	log_escape_append(line, value, NULL);
	if (*value && line->len - start == strlen(value) && !strpbrk(value, " \"="))
		return;
	g_string_truncate(line, start);
	g_string_append_c(line, '"');
	log_escape_append(line, value, "\"");
	g_string_append_c(line, '"');
}

/* A JSON text with the characters some readers take for line ends (U+0085, U+2028, U+2029) and
 * DEL escaped; jansson escapes the C0 controls itself. They occur only inside strings, where an
 * escape means the same character. Takes text. */
static char *json_line_safe(char *text)
{
	GString *out = g_string_sized_new(strlen(text));

	for (const char *p = text; *p; p++) {
		if ((guchar)p[0] == 0xc2 && (guchar)p[1] == 0x85) {
			g_string_append(out, "\\u0085");
			p++;
		} else if ((guchar)p[0] == 0xe2 && (guchar)p[1] == 0x80 &&
			   ((guchar)p[2] == 0xa8 || (guchar)p[2] == 0xa9)) {
			g_string_append_printf(out, "\\u%04x",
					       (guchar)p[2] == 0xa8 ? 0x2028 : 0x2029);
			p += 2;
		} else if (*p == 0x7f) {
			g_string_append(out, "\\u007f");
		} else {
			g_string_append_c(out, *p);
		}
	}
	free(text);
	return g_string_free(out, FALSE);
}

/* jansson refuses strings that are not UTF-8: such bytes become U+FFFD. */
static json_t *json_text_value(const char *text)
{
	char *valid = g_utf8_make_valid(text, -1);
	json_t *value = json_string(valid);

	g_free(valid);
	return value;
}

static void log_write(enum log_level level, const char *message, va_list fields)
{
	const char *name;

	if (level > max_level)
		return;
	if (as_json) {
		GDateTime *now = g_date_time_new_now_utc();
		char *time = g_date_time_format_iso8601(now);
		json_t *obj = json_pack("{s:s, s:s, s:o}", "time", time, "level",
					level_names[level], "msg", json_text_value(message));
		char *text;
		while ((name = va_arg(fields, const char *))) {
			const char *value = va_arg(fields, const char *);
			if (value)
				json_object_set_new(obj, name, json_text_value(value));
		}
		text = json_line_safe(json_dumps(obj, JSON_COMPACT));
		emit(level, text);
		g_free(text);
		json_decref(obj);
		g_free(time);
		g_date_time_unref(now);
	} else {
		GString *line = g_string_new(NULL);
		g_string_append_printf(line, "%s: ", level_names[level]);
		log_escape_append(line, message, NULL);
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

gboolean log_writes(enum log_level level)
{
	return level <= max_level;
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
