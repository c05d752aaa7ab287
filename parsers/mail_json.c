/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* struct mail as JSON (jansson), for `parse` and the golden samples. */
#include "parsers/mail_json.h"

#include "parsers/mail_parse.h"

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *address_to_json(const struct mail_address *addr)
{
	return json_pack("{s:o, s:o}", "name", string_or_null(addr->name), "email",
			 string_or_null(addr->email));
}

static json_t *addresses_to_json(const GPtrArray *list)
{
	json_t *array = json_array();

	for (guint i = 0; i < list->len; i++)
		json_array_append_new(array, address_to_json(g_ptr_array_index(list, i)));
	return array;
}

static json_t *strings_to_json(const GPtrArray *list)
{
	json_t *array = json_array();

	for (guint i = 0; i < list->len; i++)
		json_array_append_new(array, json_string(g_ptr_array_index(list, i)));
	return array;
}

static json_t *attachment_to_json(const struct mail_attachment *att, gboolean with_data)
{
	/* A parse for parse and route keeps every attachment's bytes (attachment_sizes_only is a
	 * dry run's). */
	gsize len = att->size;
	const guchar *data = g_bytes_get_data(att->data, NULL);
	char *digest =
	    g_compute_checksum_for_data(G_CHECKSUM_SHA256, data ? data : (const guchar *)"", len);
	json_t *obj =
	    json_pack("{s:s, s:s, s:I, s:s, s:b, s:o}", "filename", att->filename, "content_type",
		      att->content_type, "size", (json_int_t)len, "sha256", digest, "inline",
		      att->is_inline, "content_id", string_or_null(att->content_id));

	if (with_data) {
		char *b64 = g_base64_encode(data, len);
		json_object_set_new(obj, "data", json_string(b64));
		g_free(b64);
	}
	g_free(digest);
	return obj;
}

static const char *text_source_name(enum mail_text_source source)
{
	switch (source) {
	case MAIL_TEXT_PLAIN:
		return "text/plain";
	case MAIL_TEXT_HTML:
		return "text/html";
	case MAIL_TEXT_NONE:
		break;
	}
	return "none";
}

static json_t *report_to_json(const struct mail_report *r)
{
	if (!r)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "type", string_or_null(r->type),
			 "action", string_or_null(r->action), "status", string_or_null(r->status),
			 "recipient", string_or_null(r->recipient), "diagnostic",
			 string_or_null(r->diagnostic), "disposition",
			 string_or_null(r->disposition), "original_message_id",
			 string_or_null(r->original_message_id));
}

json_t *mail_to_json(const struct mail *mail, gboolean with_data)
{
	const struct mail_address *original = mail_original_sender(mail);
	json_t *attachments = json_array();
	json_t *date = json_null();
	json_t *obj;

	for (guint i = 0; i < mail->attachments->len; i++)
		json_array_append_new(
		    attachments,
		    attachment_to_json(g_ptr_array_index(mail->attachments, i), with_data));
	if (mail->date) {
		char *iso = g_date_time_format(mail->date, "%Y-%m-%dT%H:%M:%S%:z");
		date = json_string(iso);
		g_free(iso);
	}
	obj = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "subject",
			mail->subject, "from", address_to_json(&mail->from), "to",
			addresses_to_json(mail->to), "cc", addresses_to_json(mail->cc), "date",
			date, "message_id", string_or_null(mail->message_id), "in_reply_to",
			string_or_null(mail->in_reply_to), "references",
			strings_to_json(mail->references), "text", mail->text, "reply_text",
			mail_reply_text(mail), "text_source", text_source_name(mail->text_source));
	/* json_pack takes at most so many values at once; the rest in a second step. */
	if (original->email)
		json_object_set_new(obj, "original_sender", address_to_json(original));
	json_object_update_new(
	    obj, json_pack("{s:o, s:o, s:o, s:o, s:I, s:s}", "attachments", attachments, "omitted",
			   strings_to_json(mail->omitted), "report", report_to_json(mail->report),
			   "warnings", strings_to_json(mail->warnings), "size",
			   (json_int_t)mail->raw_size, "sha256", mail->raw_sha256));
	return obj;
}
