/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* multipart/report (bounces, DSNs, MDNs): the machine-readable part (report.h). */
#include "parsers/report.h"

#include <string.h>

/* A block of "Name: value" fields parsed as the header of a message; its body is the rest. The
 * default options: a field block is no message, and the mail's warning callback would take
 * GMime's remarks about that for problems of the mail. */
static GMimeMessage *parse_fields(const char *text, gsize len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	return msg;
}

/* Runs of blanks (left where a long field was folded) as one space. Takes text. */
static char *single_spaced(char *text)
{
	char *w = text;
	gboolean blank = FALSE;

	for (const char *r = text; *r; r++) {
		if (*r == ' ' || *r == '\t') {
			blank = TRUE;
			continue;
		}
		if (blank && w > text)
			*w++ = ' ';
		blank = FALSE;
		*w++ = *r;
	}
	*w = '\0';
	return text;
}

/* "rfc822; a@example.org" -> "a@example.org"; values are unfolded and trimmed. */
static char *field(GMimeMessage *msg, const char *name, gboolean strip_type)
{
	const char *v = g_mime_object_get_header(GMIME_OBJECT(msg), name);
	char *unfolded;
	const char *semi;

	if (!v)
		return NULL;
	unfolded = g_mime_utils_header_unfold(v);
	semi = strip_type ? strchr(unfolded, ';') : NULL;
	if (semi) {
		char *bare = single_spaced(g_strdup(semi + 1));
		g_free(unfolded);
		return bare;
	}
	return single_spaced(unfolded);
}

/* "<id@host>" -> "id@host". Takes value. */
static char *decoded_id(char *value)
{
	char *id = value ? g_mime_utils_decode_message_id(value) : NULL;

	g_free(value);
	return id;
}

static void keep(char **slot, char *value)
{
	if (*slot || !value)
		g_free(value);
	else
		*slot = value;
}

static char *body_of(GMimeMessage *msg)
{
	GMimeObject *part = g_mime_message_get_mime_part(msg);
	GMimeDataWrapper *content;
	GByteArray *array;
	GMimeStream *stream;

	if (!part || !GMIME_IS_PART(part) || !(content = g_mime_part_get_content(GMIME_PART(part))))
		return NULL;
	array = g_byte_array_new();
	stream = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	g_mime_data_wrapper_write_to_stream(content, stream);
	g_object_unref(stream);
	g_byte_array_append(array, (const guint8 *)"", 1);
	return (char *)g_byte_array_free(array, FALSE);
}

void report_read_status(struct mail_report *report, const char *body, gsize len)
{
	GMimeMessage *per_message = parse_fields(body, len);
	GMimeMessage *per_recipient;
	char *rest;

	if (!per_message)
		return;
	keep(&report->disposition, field(per_message, "Disposition", FALSE));
	keep(&report->recipient, field(per_message, "Final-Recipient", TRUE));
	keep(&report->original_message_id,
	     decoded_id(field(per_message, "Original-Message-ID", FALSE)));
	rest = body_of(per_message);
	g_object_unref(per_message);
	if (!rest)
		return;
	g_strchug(rest);
	per_recipient = *rest ? parse_fields(rest, strlen(rest)) : NULL;
	g_free(rest);
	if (!per_recipient)
		return;
	keep(&report->recipient, field(per_recipient, "Final-Recipient", TRUE));
	keep(&report->action, field(per_recipient, "Action", FALSE));
	keep(&report->status, field(per_recipient, "Status", FALSE));
	keep(&report->diagnostic, field(per_recipient, "Diagnostic-Code", TRUE));
	g_object_unref(per_recipient);
}

char *report_message_id_in_headers(const char *headers, gsize len)
{
	GMimeMessage *msg = parse_fields(headers, len);
	const char *id = msg ? g_mime_message_get_message_id(msg) : NULL;
	char *copy = id && *id ? g_strdup(id) : NULL;

	if (msg)
		g_object_unref(msg);
	return copy;
}
