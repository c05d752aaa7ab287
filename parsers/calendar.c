/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calendar invitations (RFC 5545) summarized, unfolded and read in one pass. */
#include "parsers/calendar.h"

#include <string.h>

#include "parsers/lines.h"

/* One content line: NAME;PARAM=V;PARAM=V:VALUE. */
struct ics_line {
	char *name;
	char *params; /* ";..." part without the leading ';', or "" */
	char *value;
};

static void ics_line_clear(struct ics_line *l)
{
	g_free(l->name);
	g_free(l->params);
	g_free(l->value);
}

/* Lines of ics with folding undone (a line starting with a blank continues the previous one). */
static char **unfold(const char *ics)
{
	GString *joined = g_string_sized_new(strlen(ics));
	char **lines;

	for (const char *p = ics; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n' && (p[1] == ' ' || p[1] == '\t')) {
			p++;
			continue;
		}
		g_string_append_c(joined, *p);
	}
	lines = lines_split(joined->str);
	g_string_free(joined, TRUE);
	return lines;
}

static gboolean split_line(const char *line, struct ics_line *out)
{
	const char *colon = NULL;
	gboolean quoted = FALSE;
	const char *semi;

	for (const char *p = line; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ':' && !quoted) {
			colon = p;
			break;
		}
	}
	if (!colon)
		return FALSE;
	semi = memchr(line, ';', colon - line);
	out->name = g_ascii_strup(line, (semi ? semi : colon) - line);
	out->params = semi ? g_strndup(semi + 1, colon - semi - 1) : g_strdup("");
	out->value = g_strdup(colon + 1);
	return TRUE;
}

/* TEXT values escape ',', ';', '\' and line breaks with a backslash. */
static char *unescape_text(const char *value)
{
	GString *out = g_string_new(NULL);

	for (const char *p = value; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			g_string_append_c(out, (*p == 'n' || *p == 'N') ? '\n' : *p);
		} else {
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

/* A parameter's value (quotes removed) or NULL. Newly allocated. Parameters are separated by ';'
 * outside quotes (RFC 5545 3.2: a quoted value may hold ';', ':' and ','); an unclosed quote runs
 * to the end. */
static char *param(const char *params, const char *name)
{
	gsize name_len = strlen(name);

	for (const char *p = params; *p;) {
		const char *start = p, *value, *value_end;
		gboolean match;

		p += strcspn(p, ";=");
		match = *p == '=' && (gsize)(p - start) == name_len &&
			g_ascii_strncasecmp(start, name, name_len) == 0;
		if (*p == '=')
			p++;
		if (*p == '"') {
			value = ++p;
			p += strcspn(p, "\"");
			value_end = p;
			if (*p == '"')
				p++;
			p += strcspn(p, ";");
		} else {
			value = p;
			p += strcspn(p, ";");
			value_end = p;
		}
		if (match)
			return g_strndup(value, value_end - value);
		if (*p == ';')
			p++;
	}
	return NULL;
}

/* 20260310T140000Z -> "2026-03-10 14:00 UTC"; 20260310 -> "2026-03-10"; with a TZID, the zone
 * in parentheses. Anything else is shown as written. */
static char *format_time(const struct ics_line *l)
{
	const char *v = l->value;
	char *tzid = param(l->params, "TZID");
	char *shown;

	if (strlen(v) >= 15 && v[8] == 'T')
		shown = g_strdup_printf("%.4s-%.2s-%.2s %.2s:%.2s%s%s%s", v, v + 4, v + 6, v + 9,
					v + 11, v[15] == 'Z' ? " UTC" : "", tzid ? " (" : "",
					tzid ? tzid : "");
	else if (strlen(v) == 8)
		shown = g_strdup_printf("%.4s-%.2s-%.2s", v, v + 4, v + 6);
	else
		shown = g_strdup(v);
	if (tzid) {
		char *closed = g_strconcat(shown, ")", NULL);
		g_free(shown);
		shown = closed;
	}
	g_free(tzid);
	return shown;
}

static char *format_person(const struct ics_line *l)
{
	char *cn = param(l->params, "CN");
	const char *addr =
	    g_ascii_strncasecmp(l->value, "mailto:", 7) == 0 ? l->value + 7 : l->value;
	char *shown = cn && *cn ? g_strdup_printf("%s <%s>", cn, addr) : g_strdup(addr);

	g_free(cn);
	return shown;
}

char *calendar_summary(const char *ics)
{
	char **lines = unfold(ics);
	char *method = NULL, *summary = NULL, *start = NULL, *end = NULL, *where = NULL;
	char *organizer = NULL;
	gboolean in_event = FALSE, seen_event = FALSE;
	GString *out;

	for (char **l = lines; *l; l++) {
		struct ics_line line = {0};
		if (!split_line(*l, &line))
			continue;
		if (strcmp(line.name, "BEGIN") == 0 &&
		    g_ascii_strcasecmp(line.value, "VEVENT") == 0) {
			in_event = !seen_event; /* only the first event is summarized */
		} else if (strcmp(line.name, "END") == 0 &&
			   g_ascii_strcasecmp(line.value, "VEVENT") == 0) {
			seen_event = seen_event || in_event;
			in_event = FALSE;
		} else if (strcmp(line.name, "METHOD") == 0 && !method) {
			method = g_ascii_strup(line.value, -1);
		} else if (in_event && strcmp(line.name, "SUMMARY") == 0 && !summary) {
			summary = unescape_text(line.value);
		} else if (in_event && strcmp(line.name, "DTSTART") == 0 && !start) {
			start = format_time(&line);
		} else if (in_event && strcmp(line.name, "DTEND") == 0 && !end) {
			end = format_time(&line);
		} else if (in_event && strcmp(line.name, "LOCATION") == 0 && !where) {
			where = unescape_text(line.value);
		} else if (in_event && strcmp(line.name, "ORGANIZER") == 0 && !organizer) {
			organizer = format_person(&line);
		}
		ics_line_clear(&line);
	}
	g_strfreev(lines);
	if (!seen_event && !in_event) {
		g_free(method);
		return NULL;
	}
	out = g_string_new(NULL);
	g_string_append_printf(out, "%s: %s\n",
			       g_strcmp0(method, "CANCEL") == 0 ? "Cancelled event" : "Invitation",
			       summary ? summary : "(no title)");
	if (start)
		g_string_append_printf(out, "When: %s%s%s\n", start, end ? " to " : "",
				       end ? end : "");
	if (where && *where)
		g_string_append_printf(out, "Where: %s\n", where);
	if (organizer)
		g_string_append_printf(out, "Organizer: %s\n", organizer);
	g_free(method);
	g_free(summary);
	g_free(start);
	g_free(end);
	g_free(where);
	g_free(organizer);
	return g_string_free(out, FALSE);
}
