/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The envelope kept in a mail's head while it waits in the spool or quarantine (envelope.h). */
#include "ingest/envelope.h"

#include <string.h>

#define ENVELOPE_HEADER "X-Mail2ticket-Envelope:"

char *envelope_to_head(const struct envelope *e)
{
	const char *names[] = {"sender", "recipient", "mailbox"};
	const char *values[] = {e ? e->sender : NULL, e ? e->recipient : NULL,
				e ? e->mailbox : NULL};
	GString *head = g_string_new(ENVELOPE_HEADER);

	/* Escaped so that any address stays one word on one line. */
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		char *escaped;
		if (!values[i])
			continue;
		escaped = g_uri_escape_string(values[i], "@+", FALSE);
		g_string_append_printf(head, " %s=%s", names[i], escaped);
		g_free(escaped);
	}
	g_string_append_c(head, '\n');
	return g_string_free(head, FALSE);
}

/* Whether the header line at line (up to end) is named ENVELOPE_HEADER. */
static gboolean is_envelope_line(const char *line, const char *end)
{
	gsize n = strlen(ENVELOPE_HEADER);

	return (gsize)(end - line) >= n && g_ascii_strncasecmp(line, ENVELOPE_HEADER, n) == 0;
}

GBytes *envelope_remove_forged(const char *raw, gsize len)
{
	const char *end = raw + len;
	GByteArray *kept = NULL;
	gboolean dropping = FALSE;
	const char *copied = raw; /* bytes before this are in kept, or not to be kept */

	for (const char *line = raw; line < end;) {
		const char *nl = memchr(line, '\n', end - line);
		const char *next = nl ? nl + 1 : end;

		if (line[0] == '\n' || (line[0] == '\r' && line + 1 < end && line[1] == '\n'))
			break; /* the empty line: the body follows */
		if (!(dropping && (line[0] == ' ' || line[0] == '\t')))
			dropping = is_envelope_line(line, next);
		if (dropping) {
			if (!kept)
				kept = g_byte_array_sized_new(len);
			g_byte_array_append(kept, (const guint8 *)copied, line - copied);
			copied = next;
		}
		line = next;
	}
	if (!kept)
		return NULL;
	g_byte_array_append(kept, (const guint8 *)copied, end - copied);
	return g_byte_array_free_to_bytes(kept);
}

gsize envelope_from_head(const char *data, gsize len, struct envelope_kept *out)
{
	const char *end = memchr(data, '\n', len);
	char *line;
	char **words;

	if (len < strlen(ENVELOPE_HEADER) || !end ||
	    memcmp(data, ENVELOPE_HEADER, strlen(ENVELOPE_HEADER)) != 0)
		return 0;
	line = g_strndup(data + strlen(ENVELOPE_HEADER), end - data - strlen(ENVELOPE_HEADER));
	words = g_strsplit(g_strstrip(line), " ", -1);
	for (char **w = words; *w; w++) {
		char *eq = strchr(*w, '=');
		char **slot = NULL;
		if (!eq)
			continue;
		*eq = '\0';
		if (strcmp(*w, "sender") == 0)
			slot = &out->sender;
		else if (strcmp(*w, "recipient") == 0)
			slot = &out->recipient;
		else if (strcmp(*w, "mailbox") == 0)
			slot = &out->mailbox;
		if (slot) {
			g_free(*slot);
			*slot = g_uri_unescape_string(eq + 1, NULL);
		}
	}
	g_strfreev(words);
	g_free(line);
	return end + 1 - data;
}

void envelope_kept_clear(struct envelope_kept *kept)
{
	g_free(kept->sender);
	g_free(kept->recipient);
	g_free(kept->mailbox);
	*kept = (struct envelope_kept){0};
}
