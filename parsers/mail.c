/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* struct mail: constructors, look-ups and warnings (mail.h). */
#include "parsers/mail.h"

#include <string.h>

void mail_address_free(struct mail_address *addr)
{
	if (!addr)
		return;
	g_free(addr->name);
	g_free(addr->email);
	g_free(addr);
}

static void mail_attachment_free(struct mail_attachment *att)
{
	g_free(att->filename);
	g_free(att->content_type);
	g_free(att->content_id);
	if (att->data)
		g_bytes_unref(att->data);
	g_free(att);
}

static void mail_header_free(struct mail_header *hdr)
{
	g_free(hdr->name);
	g_free(hdr->value);
	g_free(hdr);
}

static void mail_report_free(struct mail_report *r)
{
	if (!r)
		return;
	g_free(r->type);
	g_free(r->action);
	g_free(r->status);
	g_free(r->recipient);
	g_free(r->diagnostic);
	g_free(r->disposition);
	g_free(r->original_message_id);
	g_free(r);
}

void mail_reply_cut_free(struct mail_reply_cut *cut)
{
	if (!cut)
		return;
	g_free(cut->calendar);
	g_free(cut->note);
	g_strfreev(cut->markers);
	g_free(cut);
}

struct mail *mail_new(void)
{
	struct mail *mail = g_new0(struct mail, 1);

	mail->subject = g_strdup("");
	mail->text = g_strdup("");
	mail->reply_text = g_strdup("");
	mail->to = g_ptr_array_new_with_free_func((GDestroyNotify)mail_address_free);
	mail->cc = g_ptr_array_new_with_free_func((GDestroyNotify)mail_address_free);
	mail->references = g_ptr_array_new_with_free_func(g_free);
	mail->attachments = g_ptr_array_new_with_free_func((GDestroyNotify)mail_attachment_free);
	mail->headers = g_ptr_array_new_with_free_func((GDestroyNotify)mail_header_free);
	mail->warnings = g_ptr_array_new_with_free_func(g_free);
	mail->omitted = g_ptr_array_new_with_free_func(g_free);
	return mail;
}

void mail_free(struct mail *mail)
{
	if (!mail)
		return;
	g_free(mail->subject);
	g_free(mail->from.name);
	g_free(mail->from.email);
	g_free(mail->original_sender.name);
	g_free(mail->original_sender.email);
	g_ptr_array_unref(mail->to);
	g_ptr_array_unref(mail->cc);
	if (mail->date)
		g_date_time_unref(mail->date);
	g_free(mail->message_id);
	g_free(mail->in_reply_to);
	g_ptr_array_unref(mail->references);
	g_free(mail->text);
	g_free(mail->reply_text);
	mail_reply_cut_free(mail->reply_cut);
	mail_report_free(mail->report);
	if (mail->key_source)
		g_bytes_unref(mail->key_source);
	g_ptr_array_unref(mail->attachments);
	g_ptr_array_unref(mail->headers);
	g_ptr_array_unref(mail->warnings);
	g_ptr_array_unref(mail->omitted);
	g_free(mail);
}

const char *mail_header_value(const struct mail *mail, const char *name)
{
	for (guint i = 0; i < mail->headers->len; i++) {
		const struct mail_header *hdr = g_ptr_array_index(mail->headers, i);
		if (g_ascii_strcasecmp(hdr->name, name) == 0)
			return hdr->value;
	}
	return NULL;
}

void mail_add_warning(struct mail *mail, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* Warnings quote mail text (a charset label, a GMime item), which need not be UTF-8. */
	g_ptr_array_add(mail->warnings, g_utf8_make_valid(text, -1));
	g_free(text);
}
