#include "ingest/envelope.h"

#include <string.h>

#define ENVELOPE_HEADER "X-Mail2ticket-Envelope:"

char *envelope_to_head(const struct envelope *e)
{
	const char *names[] = {"sender", "recipient", "mailbox"};
	const char *values[] = {e->sender, e->recipient, e->mailbox};
	GString *head;

	if (!e->sender && !e->recipient && !e->mailbox)
		return NULL;
	head = g_string_new(ENVELOPE_HEADER);
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
