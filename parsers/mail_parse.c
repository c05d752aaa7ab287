#include "parsers/mail_parse.h"

#include <gmime/gmime.h>
#include <string.h>

#include "parsers/charset.h"
#include "parsers/header_decode.h"
#include "parsers/html_text.h"

/* Bounds against hostile nesting; real mail stays far below them. */
#define MAX_MIME_DEPTH 32
#define MAX_MIME_PARTS 1000
#define MAX_GMIME_WARNINGS 20

struct walk {
	struct mail *mail;
	GMimeParserOptions *options;
	GString *plain;
	GString *html;
	int parts;
	gboolean cut_short; /* a bound stopped the walk: the original is attached whole */
};

static GBytes *part_content_bytes(GMimePart *part)
{
	GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
	GByteArray *array;
	GMimeStream *stream;

	if (!wrapper)
		return g_bytes_new(NULL, 0);
	array = g_byte_array_new();
	stream = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	g_mime_data_wrapper_write_to_stream(wrapper, stream);
	g_object_unref(stream);
	return g_byte_array_free_to_bytes(array);
}

static const char *extension_for(const char *mime_type)
{
	static const struct {
		const char *type, *ext;
	} map[] = {
	    {"application/pdf", "pdf"},	  {"image/png", "png"},
	    {"image/jpeg", "jpg"},	  {"image/gif", "gif"},
	    {"image/webp", "webp"},	  {"text/plain", "txt"},
	    {"text/html", "html"},	  {"text/csv", "csv"},
	    {"text/calendar", "ics"},	  {"application/zip", "zip"},
	    {"message/rfc822", "eml"},	  {"application/msword", "doc"},
	    {"application/json", "json"}, {"application/vnd.ms-excel", "xls"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(map); i++)
		if (g_ascii_strcasecmp(map[i].type, mime_type) == 0)
			return map[i].ext;
	return "bin";
}

/* A file name safe to hand to a desk and to a file system: no directories, control characters or
 * leading dots. Newly allocated; NULL when nothing usable is left. */
static char *safe_filename(const char *name)
{
	const char *base = name;
	GString *out;

	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	out = g_string_new(NULL);
	for (const char *p = base; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_iscntrl(c))
			g_string_append_c(out, '_');
		else
			g_string_append_unichar(out, c);
	}
	g_strstrip(out->str);
	g_string_set_size(out, strlen(out->str));
	while (out->len && out->str[0] == '.')
		g_string_erase(out, 0, 1);
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

static void add_attachment(struct walk *w, const char *name, const char *mime_type,
			   const char *content_id, gboolean is_inline, GBytes *data)
{
	struct mail_attachment *att = g_new0(struct mail_attachment, 1);
	char *safe = name ? safe_filename(name) : NULL;

	att->filename = safe ? safe
			     : g_strdup_printf("attachment-%u.%s", w->mail->attachments->len + 1,
					       extension_for(mime_type));
	att->content_type = g_ascii_strdown(mime_type, -1);
	att->content_id = content_id && *content_id ? g_strdup(content_id) : NULL;
	att->is_inline = is_inline;
	att->data = data;
	g_ptr_array_add(w->mail->attachments, att);
}

static gboolean is_signature_type(const char *mime_type)
{
	return g_ascii_strcasecmp(mime_type, "application/pgp-signature") == 0 ||
	       g_ascii_strcasecmp(mime_type, "application/pkcs7-signature") == 0 ||
	       g_ascii_strcasecmp(mime_type, "application/x-pkcs7-signature") == 0;
}

static void walk_leaf(struct walk *w, GMimePart *part, gboolean attachments_only)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *mime_type = g_mime_content_type_get_mime_type(ct);
	const char *disposition = g_mime_object_get_disposition(obj);
	const char *filename = g_mime_part_get_filename(part);
	gboolean is_attachment_disp =
	    disposition && g_ascii_strcasecmp(disposition, "attachment") == 0;
	gboolean is_plain = g_ascii_strcasecmp(mime_type, "text/plain") == 0;
	gboolean is_html = g_ascii_strcasecmp(mime_type, "text/html") == 0;

	if (is_signature_type(mime_type)) {
		g_free(mime_type);
		return;
	}
	if ((is_plain || is_html) && !is_attachment_disp && !filename) {
		if (!attachments_only) {
			GBytes *bytes = part_content_bytes(part);
			gsize len;
			const char *data = g_bytes_get_data(bytes, &len);
			const char *charset = g_mime_content_type_get_parameter(ct, "charset");
			gboolean lossy = FALSE;
			char *text = charset_to_utf8(data ? data : "", len, charset, &lossy);
			GString *into = is_plain ? w->plain : w->html;

			if (lossy)
				mail_add_warning(w->mail,
						 "text part %s: bytes not valid in charset %s "
						 "were replaced",
						 mime_type, charset ? charset : "(none)");
			if (into->len && text[0])
				g_string_append(into, is_plain ? "\n\n" : "<br><br>");
			g_string_append(into, text);
			g_free(text);
			g_bytes_unref(bytes);
		}
		g_free(mime_type);
		return;
	}
	add_attachment(w, filename, mime_type, g_mime_object_get_content_id(obj),
		       !is_attachment_disp && (disposition || g_mime_object_get_content_id(obj)),
		       part_content_bytes(part));
	g_free(mime_type);
}

static void walk_message_part(struct walk *w, GMimeMessagePart *mp)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	GByteArray *array = g_byte_array_new();
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);
	const char *subject = inner ? g_mime_message_get_subject(inner) : NULL;
	char *name = NULL;

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	if (inner)
		g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, stream);
	g_object_unref(stream);
	if (subject && *subject)
		name = g_strconcat(subject, ".eml", NULL);
	add_attachment(w, name ? name : "forwarded-message.eml", "message/rfc822",
		       g_mime_object_get_content_id(GMIME_OBJECT(mp)), FALSE,
		       g_byte_array_free_to_bytes(array));
	g_free(name);
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth, gboolean attachments_only);

/* The index of the alternative to read the text from: text/plain first, as the sender wrote it. */
static int best_alternative(GMimeMultipart *mp)
{
	int n = g_mime_multipart_get_count(mp);
	int html = -1;

	for (int i = 0; i < n; i++) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);
		GMimeContentType *ct = g_mime_object_get_content_type(child);
		if (g_mime_content_type_is_type(ct, "text", "plain"))
			return i;
		if (g_mime_content_type_is_type(ct, "text", "html") ||
		    g_mime_content_type_is_type(ct, "multipart", "*"))
			html = html < 0 ? i : html;
	}
	return html >= 0 ? html : n - 1;
}

static void walk_multipart(struct walk *w, GMimeMultipart *mp, int depth, gboolean attachments_only)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(mp));
	int n = g_mime_multipart_get_count(mp);

	if (g_mime_content_type_is_type(ct, "multipart", "alternative")) {
		int best = best_alternative(mp);
		for (int i = 0; i < n; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1,
				    attachments_only || i != best);
		return;
	}
	for (int i = 0; i < n; i++)
		walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, attachments_only);
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth, gboolean attachments_only)
{
	if (depth > MAX_MIME_DEPTH || w->parts >= MAX_MIME_PARTS) {
		if (!w->cut_short)
			mail_add_warning(w->mail, "MIME structure deeper than %d levels or more than "
						  "%d parts: the rest was not read; the whole "
						  "message is attached as original-message.eml",
					 MAX_MIME_DEPTH, MAX_MIME_PARTS);
		w->cut_short = TRUE;
		return;
	}
	w->parts++;
	if (GMIME_IS_MULTIPART(obj))
		walk_multipart(w, GMIME_MULTIPART(obj), depth, attachments_only);
	else if (GMIME_IS_MESSAGE_PART(obj))
		walk_message_part(w, GMIME_MESSAGE_PART(obj));
	else if (GMIME_IS_PART(obj))
		walk_leaf(w, GMIME_PART(obj), attachments_only);
}

static void append_addresses(GPtrArray *into, InternetAddressList *list)
{
	int n = list ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			append_addresses(into, internet_address_group_get_members(
						   INTERNET_ADDRESS_GROUP(ia)));
		} else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			struct mail_address *addr = g_new0(struct mail_address, 1);
			const char *name = internet_address_get_name(ia);
			const char *email = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			addr->name = name && *name ? g_strdup(name) : NULL;
			addr->email = email && *email ? g_strdup(email) : NULL;
			g_ptr_array_add(into, addr);
		}
	}
}

static void read_addresses(struct walk *w, GMimeHeaderList *headers, const char *name,
			   GPtrArray *into)
{
	int n = g_mime_header_list_get_count(headers);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		InternetAddressList *list;
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0)
			continue;
		list = header_parse_addresses(w->options, g_mime_header_get_raw_value(h));
		append_addresses(into, list);
		if (list)
			g_object_unref(list);
	}
}

static void read_from(struct walk *w, GMimeHeaderList *headers)
{
	static const char *const sources[] = {"From", "Sender", "Reply-To"};
	GPtrArray *found = g_ptr_array_new_with_free_func((GDestroyNotify)mail_address_free);

	for (gsize s = 0; s < G_N_ELEMENTS(sources) && found->len == 0; s++)
		read_addresses(w, headers, sources[s], found);
	for (guint i = 0; i < found->len; i++) {
		struct mail_address *addr = g_ptr_array_index(found, i);
		if (addr->email) {
			w->mail->from.name = g_strdup(addr->name);
			w->mail->from.email = g_strdup(addr->email);
			break;
		}
	}
	if (!w->mail->from.email)
		mail_add_warning(w->mail, "no sender address in From, Sender or Reply-To");
	g_ptr_array_unref(found);
}

static void read_headers(struct walk *w, GMimeMessage *msg)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = g_mime_header_list_get_count(headers);
	const char *raw;
	GDateTime *date;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		struct mail_header *hdr = g_new0(struct mail_header, 1);
		hdr->name = g_strdup(g_mime_header_get_name(h));
		hdr->value = header_decode_text(w->options, g_mime_header_get_raw_value(h));
		g_ptr_array_add(w->mail->headers, hdr);
	}
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Subject") == 0) {
			g_free(w->mail->subject);
			w->mail->subject = header_decode_text(w->options, g_mime_header_get_raw_value(h));
			break;
		}
	}
	read_from(w, headers);
	read_addresses(w, headers, "To", w->mail->to);
	read_addresses(w, headers, "Cc", w->mail->cc);

	raw = g_mime_message_get_message_id(msg);
	w->mail->message_id = raw && *raw ? g_strdup(raw) : NULL;
	raw = g_mime_object_get_header(GMIME_OBJECT(msg), "In-Reply-To");
	if (raw) {
		GMimeReferences *refs = g_mime_references_parse(w->options, raw);
		if (refs && g_mime_references_length(refs) > 0)
			w->mail->in_reply_to = g_strdup(g_mime_references_get_message_id(refs, 0));
		if (refs)
			g_mime_references_free(refs);
	}
	raw = g_mime_object_get_header(GMIME_OBJECT(msg), "References");
	if (raw) {
		GMimeReferences *refs = g_mime_references_parse(w->options, raw);
		int count = refs ? g_mime_references_length(refs) : 0;
		for (int i = 0; i < count; i++)
			g_ptr_array_add(w->mail->references,
					g_strdup(g_mime_references_get_message_id(refs, i)));
		if (refs)
			g_mime_references_free(refs);
	}
	date = g_mime_message_get_date(msg);
	w->mail->date = date ? g_date_time_ref(date) : NULL;
}

static void collect_gmime_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
				  gpointer user_data)
{
	struct mail *mail = user_data;

	if (mail->warnings->len >= MAX_GMIME_WARNINGS)
		return;
	mail_add_warning(mail, "MIME structure problem %d at byte %" G_GINT64_FORMAT "%s%s",
			 (int)code, offset, item ? ": " : "", item ? item : "");
}

/* CRLF and bare CR as LF: mail on the wire uses CRLF, tickets and JSON want one convention. */
static char *unix_line_ends(const char *text)
{
	GString *out = g_string_sized_new(strlen(text));

	for (const char *p = text; *p; p++) {
		if (*p == '\r') {
			g_string_append_c(out, '\n');
			if (p[1] == '\n')
				p++;
		} else {
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

static void finish_text(struct walk *w)
{
	g_free(w->mail->text);
	if (w->plain->len) {
		w->mail->text = unix_line_ends(w->plain->str);
		w->mail->text_source = MAIL_TEXT_PLAIN;
	} else if (w->html->len) {
		w->mail->text = html_to_text(w->html->str, w->html->len);
		w->mail->text_source = MAIL_TEXT_HTML;
	} else {
		w->mail->text = g_strdup("");
		w->mail->text_source = MAIL_TEXT_NONE;
	}
}

/* GMime reads LF and CRLF line ends; a mail from an old Mac mailer ends its lines with a bare
 * CR. Such a CR becomes LF. NULL when raw has none (then raw is used as it is). */
static GByteArray *without_bare_cr(const char *raw, gsize len)
{
	GByteArray *copy;
	const char *cr = memchr(raw, '\r', len);

	while (cr && cr + 1 < raw + len && cr[1] == '\n')
		cr = memchr(cr + 1, '\r', raw + len - cr - 1);
	if (!cr)
		return NULL;
	copy = g_byte_array_sized_new(len);
	for (gsize i = 0; i < len; i++) {
		guint8 c = raw[i];
		if (c == '\r' && (i + 1 == len || raw[i + 1] != '\n'))
			c = '\n';
		g_byte_array_append(copy, &c, 1);
	}
	return copy;
}

struct mail *mail_parse(const char *raw, gsize len)
{
	static const char *fallback_charsets[] = {"UTF-8", "windows-1252", NULL};
	struct walk w = {.mail = mail_new(), .plain = g_string_new(NULL), .html = g_string_new(NULL)};
	GByteArray *fixed = without_bare_cr(raw, len);
	GMimeStream *stream = fixed ? g_mime_stream_mem_new_with_byte_array(fixed)
				    : g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg;
	char *digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)raw, len);

	w.mail->raw_size = len;
	g_strlcpy(w.mail->raw_sha256, digest, sizeof(w.mail->raw_sha256));
	g_free(digest);

	w.options = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(w.options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(w.options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(w.options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(w.options, TRUE);
	g_mime_parser_options_set_fallback_charsets(w.options, fallback_charsets);
	g_mime_parser_options_set_warning_callback(w.options, collect_gmime_warning, w.mail);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);

	msg = g_mime_parser_construct_message(parser, w.options);
	if (msg) {
		read_headers(&w, msg);
		if (g_mime_message_get_mime_part(msg))
			walk_object(&w, g_mime_message_get_mime_part(msg), 0, FALSE);
		g_object_unref(msg);
		if (w.cut_short)
			add_attachment(&w, "original-message.eml", "message/rfc822", NULL, FALSE,
				       g_bytes_new(raw, len));
	} else {
		mail_add_warning(w.mail, "not a readable MIME message: kept whole as message.eml");
		add_attachment(&w, "message.eml", "message/rfc822", NULL, FALSE,
			       g_bytes_new(raw, len));
	}
	finish_text(&w);

	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(w.options);
	g_string_free(w.plain, TRUE);
	g_string_free(w.html, TRUE);
	return w.mail;
}
