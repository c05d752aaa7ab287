/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* MIME to struct mail with GMime; a part that cannot be read is kept as a file. */
#include "parsers/mail_parse.h"

#include <gmime/gmime.h>
#include <string.h>

#include "parsers/address.h"
#include "parsers/base64_size.h"
#include "parsers/calendar.h"
#include "parsers/charset.h"
#include "parsers/flowed.h"
#include "parsers/header_decode.h"
#include "parsers/html_text.h"
#include "parsers/lines.h"
#include "parsers/mail_key.h"
#include "parsers/reply_text.h"
#include "parsers/report.h"
#include "parsers/sha256.h"
#include "parsers/tnef.h"
#include "parsers/uuencode.h"

/* Bounds against hostile nesting; real mail stays far below them. */
#define MAX_MIME_DEPTH 32
#define MAX_MIME_PARTS 1000
#define MAX_GMIME_WARNINGS 20

struct walk {
	struct mail *mail;
	GMimeParserOptions *options;
	GString *plain;
	GString *html;
	char *calendar; /* summary of the first invitation */
	int parts;
	gboolean cut_short; /* parts may be unread: the original is attached whole */
	gboolean depth_warned;
	/* the charsets the parts declare, for 8-bit header text; ends in NULL */
	GPtrArray *charsets;
	/* The text of the alternative text_part_quality() looked at last, in UTF-8, until the
	 * alternatives are walked: when it is the one read, it is not decoded a second time. */
	GMimeObject *checked;
	char *checked_text;
	gboolean sizes_only; /* parse_options.attachment_sizes_only */
	gboolean checked_lossy;
};

static GBytes *part_content_bytes(GMimePart *part)
{
	GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
	GByteArray *array;
	GMimeStream *stream;
	gint64 encoded;

	if (!wrapper)
		return g_bytes_new(NULL, 0);
	/* Decoding (base64, QP, uuencode) only shortens: mostly one allocation, no growing. */
	encoded = g_mime_stream_length(g_mime_data_wrapper_get_stream(wrapper));
	array = g_byte_array_sized_new(encoded > 0 ? MIN(encoded, G_MAXUINT) : 0);
	stream = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	g_mime_data_wrapper_write_to_stream(wrapper, stream);
	g_object_unref(stream);
	return g_byte_array_free_to_bytes(array);
}

/* The decoded size of a base64 part, counted without decoding it (base64_size.h); FALSE when its
 * content is not plain base64 and only decoding tells. */
static gboolean base64_part_size(GMimePart *part, gsize *size)
{
	GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
	struct base64_size count = {0};
	GMimeStream *stream;
	char block[16384];
	gssize n;
	guint64 total;

	if (!wrapper || g_mime_data_wrapper_get_encoding(wrapper) != GMIME_CONTENT_ENCODING_BASE64)
		return FALSE;
	stream = g_mime_data_wrapper_get_stream(wrapper);
	g_mime_stream_reset(stream);
	while ((n = g_mime_stream_read(stream, block, sizeof(block))) > 0)
		base64_size_add(&count, (const guchar *)block, n);
	g_mime_stream_reset(stream);
	if (n < 0 || !base64_size_get(&count, &total) || total > G_MAXSIZE)
		return FALSE;
	*size = total;
	return TRUE;
}

/* A text file sent in a line-oriented encoding (7bit, 8bit, quoted-printable) has the line ends
 * of the transport, LF from a local MTA and CRLF over IMAP: it gets the canonical CRLF of text
 * (RFC 2046 4.1.1), so one file is the same file however the mail came. Takes bytes. */
static GBytes *canonical_line_ends(GMimePart *part, GBytes *bytes)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	GMimeContentEncoding cte = g_mime_part_get_content_encoding(part);
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	GByteArray *out;

	if (!g_mime_content_type_is_type(ct, "text", "*") ||
	    (cte != GMIME_CONTENT_ENCODING_DEFAULT && cte != GMIME_CONTENT_ENCODING_7BIT &&
	     cte != GMIME_CONTENT_ENCODING_8BIT && cte != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE))
		return bytes;
	out = g_byte_array_sized_new(len + len / 32);
	for (gsize i = 0; i < len; i++) {
		if (data[i] == '\r' || data[i] == '\n') {
			g_byte_array_append(out, (const guint8 *)"\r\n", 2);
			if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
				i++;
		} else {
			g_byte_array_append(out, (const guint8 *)data + i, 1);
		}
	}
	g_bytes_unref(bytes);
	return g_byte_array_free_to_bytes(out);
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
	    {"image/jpg", "jpg"},	  {"image/pjpeg", "jpg"},
	    {"image/tiff", "tif"},	  {"image/bmp", "bmp"},
	    {"image/svg+xml", "svg"},	  {"audio/basic", "au"},
	    {"audio/mpeg", "mp3"},	  {"audio/wav", "wav"},
	    {"audio/x-wav", "wav"},	  {"video/mp4", "mp4"},
	    {"text/xml", "xml"},	  {"application/xml", "xml"},
	    {"text/rtf", "rtf"},	  {"application/rtf", "rtf"},
	    {"application/gzip", "gz"},	  {"application/x-zip-compressed", "zip"},
	    {"application/vnd.ms-powerpoint", "ppt"},
	    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
	    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
	    {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(map); i++)
		if (g_ascii_strcasecmp(map[i].type, mime_type) == 0)
			return map[i].ext;
	return "bin";
}

/* Whether a name is one Windows keeps for a device, with or without an extension. */
static gboolean is_windows_device_name(const char *name)
{
	static const char *const devices[] = {"CON", "PRN", "AUX", "NUL", NULL};
	gsize stem = strcspn(name, ".");

	for (int i = 0; devices[i]; i++)
		if (stem == 3 && g_ascii_strncasecmp(name, devices[i], 3) == 0)
			return TRUE;
	return stem == 4 &&
	       (g_ascii_strncasecmp(name, "COM", 3) == 0 ||
		g_ascii_strncasecmp(name, "LPT", 3) == 0) &&
	       name[3] >= '1' && name[3] <= '9';
}

/* A file name safe to hand to a desk and to any desktop's file system: no directories, control
 * characters, leading dots, trailing dots or blanks, characters Windows refuses (: * ? " < > |)
 * or device names, and no format characters (U+202E turns "invoice_\u202Efdp.exe" into what reads
 * as "invoice_exe.pdf"; zero-width ones hide parts of a name). Newly allocated; NULL when nothing
 * usable is left. */
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
		if (g_unichar_iscntrl(c) || (c < 128 && strchr(":*?\"<>|", (int)c)))
			g_string_append_c(out, '_');
		else if (g_unichar_type(c) == G_UNICODE_FORMAT)
			continue;
		else
			g_string_append_unichar(out, c);
	}
	g_strstrip(out->str);
	g_string_set_size(out, strlen(out->str));
	while (out->len && out->str[0] == '.')
		g_string_erase(out, 0, 1);
	while (out->len && (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ' '))
		g_string_truncate(out, out->len - 1);
	if (out->len && is_windows_device_name(out->str))
		g_string_prepend_c(out, '_');
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* The attachment, added to the mail (which owns it), with data taken: NULL for one whose size
 * alone was counted. */
static struct mail_attachment *add_attachment(struct walk *w, const char *name,
					      const char *mime_type, const char *content_id,
					      gboolean is_inline, GBytes *data)
{
	struct mail_attachment *att = g_new0(struct mail_attachment, 1);
	char *safe = name ? safe_filename(name) : NULL;

	/* A name without an extension gets the type's, so that the agent's desktop can open it. */
	if (safe && !strchr(safe, '.') && strcmp(extension_for(mime_type), "bin") != 0) {
		char *named = g_strdup_printf("%s.%s", safe, extension_for(mime_type));
		g_free(safe);
		safe = named;
	}
	att->filename = safe ? safe
			     : g_strdup_printf("attachment-%u.%s", w->mail->attachments->len + 1,
					       extension_for(mime_type));
	att->content_type = g_ascii_strdown(mime_type, -1);
	att->content_id = content_id && *content_id ? g_strdup(content_id) : NULL;
	att->is_inline = is_inline;
	att->data = data;
	att->size = data ? g_bytes_get_size(data) : 0;
	g_ptr_array_add(w->mail->attachments, att);
	return att;
}

static gboolean is_calendar_type(const char *mime_type)
{
	return g_ascii_strcasecmp(mime_type, "text/calendar") == 0 ||
	       g_ascii_strcasecmp(mime_type, "application/ics") == 0;
}

static gboolean is_signature_type(const char *mime_type)
{
	return g_ascii_strcasecmp(mime_type, "application/pgp-signature") == 0 ||
	       g_ascii_strcasecmp(mime_type, "application/pkcs7-signature") == 0 ||
	       g_ascii_strcasecmp(mime_type, "application/x-pkcs7-signature") == 0;
}

static gboolean is_report_type(const char *mime_type)
{
	return g_ascii_strcasecmp(mime_type, "message/delivery-status") == 0 ||
	       g_ascii_strcasecmp(mime_type, "message/global-delivery-status") == 0 ||
	       g_ascii_strcasecmp(mime_type, "message/disposition-notification") == 0;
}

/* The status part of a multipart/report, or the headers of the mail it reports on. */
static void read_report_part(struct walk *w, GMimePart *part, const char *mime_type)
{
	GBytes *bytes = part_content_bytes(part);
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);

	if (!w->mail->report)
		w->mail->report = g_new0(struct mail_report, 1);
	if (is_report_type(mime_type))
		report_read_status(w->mail->report, data ? data : "", len);
	else if (!w->mail->report->original_message_id)
		w->mail->report->original_message_id =
		    report_message_id_in_headers(data ? data : "", len);
	g_bytes_unref(bytes);
}

static void append_text(GString *into, const char *text, const char *separator)
{
	if (into->len && text[0])
		g_string_append(into, separator);
	g_string_append(into, text);
}

static void add_uu_files(struct walk *w, GPtrArray *files)
{
	for (guint i = 0; i < files->len; i++) {
		struct uu_file *f = g_ptr_array_index(files, i);
		const char *type = g_str_has_suffix(f->name, ".txt") ? "text/plain"
								     : "application/octet-stream";
		add_attachment(w, f->name, type, NULL, FALSE, g_bytes_ref(f->data));
	}
}

/* CRLF and bare CR as LF, the first step after a text part is decoded: mail fetched over IMAP has
 * CRLF, and format=flowed, uuencode and the reply cut look at line ends. Newly allocated. */
static char *unix_line_ends(const char *text)
{
	gsize len = strlen(text);
	GString *out = g_string_sized_new(len);
	const char *p = text, *cr;

	/* cr[1] is at most the closing NUL. */
	while ((cr = memchr(p, '\r', text + len - p))) {
		g_string_append_len(out, p, cr - p);
		g_string_append_c(out, '\n');
		p = cr + (cr[1] == '\n' ? 2 : 1);
	}
	g_string_append_len(out, p, text + len - p);
	return g_string_free(out, FALSE);
}

static void read_text_part(struct walk *w, GMimePart *part, gboolean is_plain)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	const char *charset = g_mime_content_type_get_parameter(ct, "charset");
	const char *format = g_mime_content_type_get_parameter(ct, "format");
	const char *delsp = g_mime_content_type_get_parameter(ct, "delsp");
	gboolean lossy = FALSE;
	char *decoded, *text;

	if (charset && !charset_label_is_valid(charset)) {
		mail_add_warning(w->mail,
				 "text part: charset label \"%s\" is not a charset name; "
				 "read as UTF-8 or windows-1252",
				 charset);
		charset = NULL;
	}
	if (w->checked == GMIME_OBJECT(part)) {
		decoded = g_steal_pointer(&w->checked_text);
		lossy = w->checked_lossy;
		w->checked = NULL;
	} else {
		GBytes *bytes = part_content_bytes(part);
		gsize len;
		const char *data = g_bytes_get_data(bytes, &len);

		decoded = charset_to_utf8(data ? data : "", len, charset, &lossy);
		g_bytes_unref(bytes);
	}
	text = unix_line_ends(decoded);
	g_free(decoded);
	if (lossy)
		mail_add_warning(w->mail, "text part: bytes not valid in charset %s were replaced",
				 charset ? charset : "(none)");
	if (is_plain) {
		GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)uu_file_free);
		char *plain = text;
		if (format && g_ascii_strcasecmp(format, "flowed") == 0) {
			plain = flowed_decode(text, delsp && g_ascii_strcasecmp(delsp, "yes") == 0);
			g_free(text);
		}
		text = uuencode_extract(plain, files);
		g_free(plain);
		add_uu_files(w, files);
		g_ptr_array_unref(files);
	}
	append_text(is_plain ? w->plain : w->html, text, is_plain ? "\n\n" : "<br><br>");
	g_free(text);
}

static void summarize_calendar(struct walk *w, GMimePart *part)
{
	GBytes *bytes;
	char *ics;
	gsize len;
	const char *data;

	if (w->calendar)
		return;
	bytes = part_content_bytes(part);
	data = g_bytes_get_data(bytes, &len);
	ics = charset_to_utf8(data ? data : "", len, "utf-8", NULL);
	w->calendar = calendar_summary(ics);
	g_free(ics);
	g_bytes_unref(bytes);
}

static gboolean is_tnef(const char *mime_type, const char *filename)
{
	return g_ascii_strcasecmp(mime_type, "application/ms-tnef") == 0 ||
	       g_ascii_strcasecmp(mime_type, "application/vnd.ms-tnef") == 0 ||
	       (filename && g_ascii_strcasecmp(filename, "winmail.dat") == 0);
}

/* Outlook's winmail.dat holds the real attachments (and sometimes the only text). When it cannot
 * be read completely, it is kept as it is beside what could be taken out of it. */
static void unpack_tnef(struct walk *w, GMimePart *part, const char *filename)
{
	GBytes *bytes = part_content_bytes(part);
	GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)tnef_file_free);
	GError *err = NULL;
	char *body = NULL;
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);
	gboolean ok = tnef_unpack(data ? data : "", len, files, &body, &err);

	for (guint i = 0; i < files->len; i++) {
		struct tnef_file *f = g_ptr_array_index(files, i);
		add_attachment(w, f->name, f->content_type ? f->content_type
							   : "application/octet-stream",
			       NULL, FALSE, g_bytes_ref(f->data));
	}
	if (body && *body && w->plain->len == 0) {
		char *text = unix_line_ends(body);
		append_text(w->plain, text, "\n\n");
		g_free(text);
	}
	if (!ok) {
		mail_add_warning(w->mail, "%s: %s; kept as it is",
				 filename ? filename : "winmail.dat", err->message);
		add_attachment(w, filename ? filename : "winmail.dat", "application/ms-tnef", NULL,
			       FALSE, g_bytes_ref(bytes));
		g_error_free(err);
	}
	g_free(body);
	g_ptr_array_unref(files);
	g_bytes_unref(bytes);
}

/* A part's file name, with encoded words GMime left (glued to other text, "=?...?=.pdf")
 * decoded. Newly allocated, or NULL. */
/* The filename (or name) parameter of a raw Content-Disposition (or Content-Type) header whose
 * encoded words were merged first: GMime decodes a parameter's adjacent encoded words as one
 * base64 stream and stops at the first '=' padding ("[삼성생명]2020.08." lost its "pdf").
 * Newly allocated, or NULL. */
static char *param_from_merged(GMimeParserOptions *options, GMimeObject *obj, const char *header,
			       const char *param)
{
	const char *raw = g_mime_object_get_header(obj, header);
	char *merged, *value = NULL;
	GMimeParamList *params;
	const char *semicolon;

	if (!raw || !strstr(raw, "=?") || !(semicolon = strchr(raw, ';')))
		return NULL;
	merged = header_merge_encoded_words(semicolon + 1);
	params = g_mime_param_list_parse(options, merged);
	if (params && g_mime_param_list_get_parameter(params, param))
		value = g_strdup(
		    g_mime_param_get_value(g_mime_param_list_get_parameter(params, param)));
	if (params)
		g_object_unref(params);
	g_free(merged);
	return value;
}

static char *part_filename(struct walk *w, GMimePart *part)
{
	const char *name = g_mime_part_get_filename(part);
	char *merged, *decoded;

	if (!name)
		return NULL;
	merged =
	    param_from_merged(w->options, GMIME_OBJECT(part), "Content-Disposition", "filename");
	if (!merged)
		merged = param_from_merged(w->options, GMIME_OBJECT(part), "Content-Type", "name");
	/* Longer only where GMime lost text. */
	if (merged && strlen(merged) > strlen(name))
		name = merged;
	decoded = strstr(name, "=?") ? header_decode_text(name) : g_strdup(name);
	g_free(merged);
	return decoded;
}

/* GMime reads a Content-Type it cannot parse ("text plain", an empty one) as
 * application/octet-stream; RFC 2045 section 5.2 says such a part is text/plain. */
static gboolean has_invalid_content_type(GMimeObject *obj, const char *mime_type)
{
	const char *raw = g_mime_object_get_header(obj, "Content-Type");

	if (!raw || g_ascii_strcasecmp(mime_type, "application/octet-stream") != 0)
		return FALSE;
	while (g_ascii_isspace(*raw))
		raw++;
	return g_ascii_strncasecmp(raw, "application/octet-stream", 24) != 0;
}

/* A part that is neither text nor read for what it says: an attachment. A dry run measures a
 * base64 one without decoding it, but for calendars, which are compared with each other
 * (drop_duplicate_calendars()). */
static void add_part_attachment(struct walk *w, GMimePart *part, const char *filename,
				const char *mime_type, const char *content_id, gboolean is_inline)
{
	gsize size;

	if (w->sizes_only && !is_calendar_type(mime_type) && base64_part_size(part, &size))
		add_attachment(w, filename, mime_type, content_id, is_inline, NULL)->size = size;
	else
		add_attachment(w, filename, mime_type, content_id, is_inline,
			       canonical_line_ends(part, part_content_bytes(part)));
}

static void walk_leaf(struct walk *w, GMimePart *part, gboolean attachments_only)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *mime_type = g_mime_content_type_get_mime_type(ct);

	if (has_invalid_content_type(obj, mime_type)) {
		g_free(mime_type);
		mime_type = g_strdup("text/plain");
	}
	const char *disposition = g_mime_object_get_disposition(obj);
	char *filename = part_filename(w, part);
	gboolean is_attachment_disp =
	    disposition && g_ascii_strcasecmp(disposition, "attachment") == 0;
	gboolean is_plain = g_ascii_strcasecmp(mime_type, "text/plain") == 0;
	gboolean is_html = g_ascii_strcasecmp(mime_type, "text/html") == 0;
	const char *content_id = g_mime_object_get_content_id(obj);

	if (is_signature_type(mime_type)) {
		/* A signature is not text the sender wrote; the signed content is read. */
	} else if (is_report_type(mime_type) ||
		   (w->mail->report && g_ascii_strcasecmp(mime_type, "text/rfc822-headers") == 0)) {
		read_report_part(w, part, mime_type);
	} else if ((is_plain || is_html) && !is_attachment_disp &&
		   (!filename || (disposition && g_ascii_strcasecmp(disposition, "inline") == 0))) {
		/* Netscape and many scanners name an inline text part: it is still the text. */
		if (!attachments_only)
			read_text_part(w, part, is_plain);
	} else if (is_tnef(mime_type, filename)) {
		unpack_tnef(w, part, filename);
	} else {
		if (g_ascii_strcasecmp(mime_type, "text/calendar") == 0)
			summarize_calendar(w, part);
		add_part_attachment(w, part, filename, mime_type, content_id,
				    !is_attachment_disp && (disposition || content_id));
	}
	g_free(filename);
	g_free(mime_type);
}

/* The first mailbox with an address in list, copied into out. */
static void first_mailbox(InternetAddressList *list, struct mail_address *out)
{
	int n = list ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		const char *email;
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		email = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		if (!email || !*email)
			continue;
		out->email = g_strdup(email);
		out->name = internet_address_get_name(ia) && *internet_address_get_name(ia)
				? g_strdup(internet_address_get_name(ia))
				: NULL;
		return;
	}
}

/* An inline forward ("---------- Forwarded message ---------", "From: ...") names the original
 * sender in the text; GMime reads the address. */
static void find_inline_forward(struct walk *w, const char *text)
{
	char *value;
	InternetAddressList *list;

	if (w->mail->original_sender.email || !(value = reply_text_original_sender(text)))
		return;
	list = header_parse_addresses(w->options, value);
	first_mailbox(list, &w->mail->original_sender);
	if (list)
		g_object_unref(list);
	g_free(value);
}

/* A forwarded message's own file name (Content-Disposition filename, else Content-Type name):
 * it wins over one made from its subject. Newly allocated, or NULL. */
static char *message_part_filename(GMimeObject *obj)
{
	const char *name = g_mime_object_get_content_disposition_parameter(obj, "filename");

	if (!name)
		name = g_mime_object_get_content_type_parameter(obj, "name");
	if (!name || !*name)
		return NULL;
	return strstr(name, "=?") ? header_decode_text(name) : g_strdup(name);
}

static void walk_message_part(struct walk *w, GMimeMessagePart *mp)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	GByteArray *array = g_byte_array_new();
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);
	GMimeHeaderList *headers =
	    inner ? g_mime_object_get_header_list(GMIME_OBJECT(inner)) : NULL;
	GMimeHeader *subject_header =
	    headers ? g_mime_header_list_get_header(headers, "Subject") : NULL;
	char *subject =
	    subject_header ? header_decode_text(g_mime_header_get_raw_value(subject_header)) : NULL;
	char *name = NULL;

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	if (inner)
		g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, stream);
	g_object_unref(stream);
	name = message_part_filename(GMIME_OBJECT(mp));
	/* A subject is no path: its slashes stay in the name ("Order 12/2026"). */
	if (!name && subject && *subject)
		name = g_strdelimit(g_strconcat(subject, ".eml", NULL), "/\\", '_');
	if (inner && !w->mail->original_sender.email) {
		header_decode_names(g_mime_message_get_from(inner));
		first_mailbox(g_mime_message_get_from(inner), &w->mail->original_sender);
	}
	if (inner && w->mail->report && !w->mail->report->original_message_id &&
	    g_mime_message_get_message_id(inner))
		w->mail->report->original_message_id =
		    g_strdup(g_mime_message_get_message_id(inner));
	add_attachment(w, name ? name : "forwarded-message.eml", "message/rfc822",
		       g_mime_object_get_content_id(GMIME_OBJECT(mp)), FALSE,
		       g_byte_array_free_to_bytes(array));
	g_free(name);
	g_free(subject);
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth, gboolean attachments_only);

enum text_quality { TEXT_BLANK, TEXT_DAMAGED, TEXT_CLEAN };

/* How usable a text alternative is: blank (a mailer's empty plain part), damaged (bytes its
 * charset does not have, or control characters no text holds: NUL, BEL, ESC...), or clean. Its
 * text is kept in w for read_text_part(). */
static enum text_quality text_part_quality(struct walk *w, GMimeObject *obj)
{
	const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
	GBytes *bytes = part_content_bytes(GMIME_PART(obj));
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	gboolean lossy = FALSE, blank = TRUE, controls = FALSE;
	char *text;

	if (charset && !charset_label_is_valid(charset))
		charset = NULL;
	text = charset_to_utf8(data ? data : "", len, charset, &lossy);
	for (const char *p = text; *p; p++) {
		blank = blank && g_ascii_isspace(*p);
		controls = controls || ((guchar)*p < 0x20 && !strchr("\t\n\r\f", *p));
	}
	g_bytes_unref(bytes);
	g_free(w->checked_text);
	w->checked = obj;
	w->checked_text = text;
	w->checked_lossy = lossy;
	return blank ? TEXT_BLANK : lossy || controls ? TEXT_DAMAGED : TEXT_CLEAN;
}

/* The index of the alternative to read the text from: text/plain first, as the sender wrote it,
 * unless it is empty or damaged and there is a clean HTML one. */
static int best_alternative(struct walk *w, GMimeMultipart *mp)
{
	int n = g_mime_multipart_get_count(mp);
	int html = -1, any_html = -1, weak_plain = -1;
	enum text_quality weak = TEXT_BLANK;

	for (int i = 0; i < n; i++) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);
		GMimeContentType *ct = g_mime_object_get_content_type(child);
		gboolean leaf = GMIME_IS_PART(child);
		if (g_mime_content_type_is_type(ct, "text", "plain") && leaf) {
			enum text_quality q = text_part_quality(w, child);
			if (q == TEXT_CLEAN)
				return i;
			if (weak_plain < 0 || q > weak) {
				weak_plain = i;
				weak = q;
			}
		} else if (html < 0 && g_mime_content_type_is_type(ct, "text", "html") && leaf) {
			any_html = any_html < 0 ? i : any_html;
			if (text_part_quality(w, child) == TEXT_CLEAN)
				html = i;
		} else if (html < 0 && g_mime_content_type_is_type(ct, "multipart", "*")) {
			html = i;
		}
	}
	if (html >= 0)
		return html;
	/* What the sender wrote, damaged, before damaged HTML; HTML before nothing. */
	if (weak_plain >= 0 && weak == TEXT_DAMAGED)
		return weak_plain;
	return any_html >= 0 ? any_html : weak_plain >= 0 ? weak_plain : n - 1;
}

static void walk_multipart(struct walk *w, GMimeMultipart *mp, int depth, gboolean attachments_only)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(mp));
	int n = g_mime_multipart_get_count(mp);

	if (g_mime_content_type_is_type(ct, "multipart", "report") && !w->mail->report) {
		const char *type = g_mime_content_type_get_parameter(ct, "report-type");
		w->mail->report = g_new0(struct mail_report, 1);
		w->mail->report->type = g_strdup(type ? type : "");
	}
	if (g_mime_content_type_is_type(ct, "multipart", "alternative")) {
		int best = best_alternative(w, mp);
		for (int i = 0; i < n; i++) {
			GMimeObject *child = g_mime_multipart_get_part(mp, i);
			GMimeContentType *child_ct = g_mime_object_get_content_type(child);
			/* The other renderings of the text (text/enriched, Apple's text/watch-html)
			 * are not files; a related part's images and an invitation are. */
			if (i != best && GMIME_IS_PART(child) &&
			    g_mime_content_type_is_type(child_ct, "text", "*") &&
			    !g_mime_content_type_is_type(child_ct, "text", "calendar"))
				continue;
			walk_object(w, child, depth + 1, attachments_only || i != best);
		}
		g_clear_pointer(&w->checked_text, g_free);
		w->checked = NULL;
		return;
	}
	for (int i = 0; i < n; i++)
		walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, attachments_only);
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth, gboolean attachments_only)
{
	if (depth > MAX_MIME_DEPTH || w->parts >= MAX_MIME_PARTS) {
		if (!w->depth_warned)
			mail_add_warning(w->mail,
					 "MIME structure deeper than %d levels or more than "
					 "%d parts: the rest was not read",
					 MAX_MIME_DEPTH, MAX_MIME_PARTS);
		w->depth_warned = TRUE;
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
			const char *email =
			    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			addr->name = name && *name ? g_strdup(name) : NULL;
			/* Never handed on (a desk's cc list): an address that is none. */
			addr->email = email && address_is_valid(email) ? g_strdup(email) : NULL;
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

/* The sender in one header's value, as a mail client reads it: GMime's reading when the address
 * it found stands in the text as written, else the address the text shows (GMime reads
 * "Big Bug bb@bug.example" as nothing and "Odd <a@b@c.example>" as a@b). Only a valid addr-spec
 * is taken; where there is none, a warning names what was there. */
static void sender_in_header(struct walk *w, const char *name, const char *raw)
{
	InternetAddressList *list = header_parse_addresses(w->options, raw);
	char *text = header_decode_text_in(raw, (const char *const *)w->charsets->pdata);
	char *shown = address_in_text(text);
	struct mail_address first = {0};

	first_mailbox(list, &first);
	if (first.email && address_stands_in(text, first.email) && address_is_valid(first.email)) {
		w->mail->from = first;
		first = (struct mail_address){0};
	} else if (shown && address_is_valid(shown)) {
		const char *at = strstr(text, shown);
		w->mail->from.email = g_steal_pointer(&shown);
		w->mail->from.name =
		    g_strstrip(g_strdelimit(g_strndup(text, at ? at - text : 0), "\"<", ' '));
		if (!*w->mail->from.name)
			g_clear_pointer(&w->mail->from.name, g_free);
	} else if (shown || first.email) {
		mail_add_warning(w->mail, "%s: \"%s\" is not a valid address", name,
				 shown ? shown : first.email);
	}
	g_free(first.name);
	g_free(first.email);
	g_free(shown);
	g_free(text);
	if (list)
		g_object_unref(list);
}

static void read_from(struct walk *w, GMimeHeaderList *headers)
{
	static const char *const sources[] = {"From", "Sender", "Reply-To"};
	int n = g_mime_header_list_get_count(headers);

	for (gsize s = 0; s < G_N_ELEMENTS(sources) && !w->mail->from.email; s++)
		for (int i = 0; i < n && !w->mail->from.email; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
			if (g_ascii_strcasecmp(g_mime_header_get_name(h), sources[s]) == 0)
				sender_in_header(w, sources[s], g_mime_header_get_raw_value(h));
		}
	if (!w->mail->from.email)
		mail_add_warning(w->mail, "no sender address in From, Sender or Reply-To");
}

static void collect_charset(GMimeObject *parent, GMimeObject *part, gpointer user_data)
{
	GPtrArray *charsets = user_data;
	const char *cs = g_mime_object_get_content_type_parameter(part, "charset");

	(void)parent;
	if (!cs || !charset_label_is_valid(cs) || g_ascii_strncasecmp(cs, "utf", 3) == 0 ||
	    g_ascii_strcasecmp(cs, "us-ascii") == 0 || charsets->len >= 4)
		return;
	for (guint i = 0; i < charsets->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(charsets, i), cs) == 0)
			return;
	g_ptr_array_add(charsets, g_strdup(cs));
}

/* 8-bit header text (a Big5 subject sent unencoded) is read in the charsets the message's parts
 * declare before the fallbacks; GMime reads address names with the same list. */
static void use_declared_charsets(struct walk *w, GMimeMessage *msg)
{
	GPtrArray *fallbacks = g_ptr_array_new();

	g_mime_message_foreach(msg, collect_charset, w->charsets);
	g_ptr_array_add(fallbacks, "UTF-8");
	for (guint i = 0; i < w->charsets->len; i++)
		g_ptr_array_add(fallbacks,
				(gpointer)charset_superset(g_ptr_array_index(w->charsets, i)));
	g_ptr_array_add(fallbacks, "windows-1252");
	g_ptr_array_add(fallbacks, NULL);
	g_mime_parser_options_set_fallback_charsets(w->options, (const char **)fallbacks->pdata);
	g_ptr_array_unref(fallbacks);
	g_ptr_array_add(w->charsets, NULL);
}

/* The Message-IDs that tie msg to other mails: its own, In-Reply-To's first, References'. */
static void read_thread_ids(GMimeParserOptions *options, GMimeMessage *msg, char **message_id,
			    char **in_reply_to, GPtrArray *references)
{
	const char *raw = g_mime_message_get_message_id(msg);

	*message_id = raw && *raw ? g_strdup(raw) : NULL;
	raw = g_mime_object_get_header(GMIME_OBJECT(msg), "In-Reply-To");
	if (raw) {
		GMimeReferences *refs = g_mime_references_parse(options, raw);
		if (refs && g_mime_references_length(refs) > 0)
			*in_reply_to = g_strdup(g_mime_references_get_message_id(refs, 0));
		if (refs)
			g_mime_references_free(refs);
	}
	raw = g_mime_object_get_header(GMIME_OBJECT(msg), "References");
	if (raw) {
		GMimeReferences *refs = g_mime_references_parse(options, raw);
		int count = refs ? g_mime_references_length(refs) : 0;
		for (int i = 0; i < count; i++)
			g_ptr_array_add(references,
					g_strdup(g_mime_references_get_message_id(refs, i)));
		if (refs)
			g_mime_references_free(refs);
	}
}

static void read_headers(struct walk *w, GMimeMessage *msg)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = g_mime_header_list_get_count(headers);
	const char *subject = NULL;
	GDateTime *date;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		struct mail_header *hdr = g_new0(struct mail_header, 1);
		hdr->name = g_strdup(g_mime_header_get_name(h));
		hdr->value = header_decode_text_in(g_mime_header_get_raw_value(h),
						   (const char *const *)w->charsets->pdata);
		g_ptr_array_add(w->mail->headers, hdr);
		/* The first Subject, decoded once. */
		if (!subject && g_ascii_strcasecmp(hdr->name, "Subject") == 0)
			subject = hdr->value;
	}
	if (subject) {
		g_free(w->mail->subject);
		w->mail->subject = g_strdup(subject);
	}
	read_from(w, headers);
	read_addresses(w, headers, "To", w->mail->to);
	read_addresses(w, headers, "Cc", w->mail->cc);

	read_thread_ids(w->options, msg, &w->mail->message_id, &w->mail->in_reply_to,
			w->mail->references);
	date = g_mime_message_get_date(msg);
	w->mail->date = date ? g_date_time_ref(date) : NULL;
}

/* What GMime's parser reports, in words; and whether it means parts of the mail may not have been
 * read (then the whole original is attached, so nothing is lost). */
static const char *gmime_warning_text(GMimeParserWarning code, gboolean *lost)
{
	*lost = FALSE;
	switch (code) {
	case GMIME_WARN_DUPLICATED_HEADER:
		return "a header that may appear once appears twice";
	case GMIME_WARN_DUPLICATED_PARAMETER:
		return "a header parameter appears twice";
	case GMIME_WARN_UNENCODED_8BIT_HEADER:
		return "a header holds unencoded 8-bit text";
	case GMIME_WARN_INVALID_CONTENT_TYPE:
		return "invalid Content-Type, read as text/plain (RFC 2045 5.2)";
	case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
		return "invalid RFC 2047 encoded header";
	case GMIME_WARN_INVALID_PARAMETER:
		return "invalid header parameter";
	case GMIME_WARN_INVALID_ADDRESS_LIST:
		return "invalid address list";
	case GMIME_CRIT_CONFLICTING_HEADER:
		return "conflicting headers";
	case GMIME_CRIT_CONFLICTING_PARAMETER:
		return "conflicting header parameters";
	case GMIME_WARN_MALFORMED_MULTIPART:
		*lost = TRUE;
		return "a multipart holds no parts (boundary not found)";
	case GMIME_WARN_TRUNCATED_MESSAGE:
		*lost = TRUE;
		return "the message is truncated";
	case GMIME_WARN_MALFORMED_MESSAGE:
		*lost = TRUE;
		return "the message is malformed";
	case GMIME_CRIT_INVALID_HEADER_NAME:
		*lost = TRUE;
		return "invalid header name";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		*lost = TRUE;
		return "a multipart has no boundary";
	case GMIME_CRIT_NESTING_OVERFLOW:
		*lost = TRUE;
		return "MIME nesting too deep";
	case GMIME_WARN_PART_WITHOUT_CONTENT:
		*lost = TRUE;
		return "a part ends before its content";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		*lost = TRUE;
		return "a part has neither headers nor content";
	}
	*lost = TRUE;
	return "unknown problem";
}

static void collect_gmime_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
				  gpointer user_data)
{
	struct walk *w = user_data;
	gboolean lost;
	const char *what = gmime_warning_text(code, &lost);
	char *line;

	/* A forwarded message that starts with its mbox "From " line loses nothing. */
	if (code == GMIME_CRIT_INVALID_HEADER_NAME && item &&
	    (g_str_has_prefix(item, "From ") || g_str_has_prefix(item, ">From ")))
		lost = FALSE;
	w->cut_short = w->cut_short || lost;
	if (w->mail->warnings->len >= MAX_GMIME_WARNINGS)
		return;
	/* The item is a raw line: its line end is the transport's, not the mail's. */
	line = g_strchomp(g_strdup(item ? item : ""));
	if (offset >= 0)
		mail_add_warning(w->mail, "%s (byte %" G_GINT64_FORMAT "%s%s)", what, offset,
				 item ? ": " : "", line);
	else
		mail_add_warning(w->mail, "%s%s%s", what, item ? ": " : "", line);
	g_free(line);
}

static gboolean is_calendar(const struct mail_attachment *att)
{
	return is_calendar_type(att->content_type);
}

/* Whether two files are the same once CRs are left out. */
static gboolean same_text_file(GBytes *a, GBytes *b)
{
	gsize la, lb, i = 0, j = 0;
	const char *pa = g_bytes_get_data(a, &la), *pb = g_bytes_get_data(b, &lb);

	for (;;) {
		while (i < la && pa[i] == '\r')
			i++;
		while (j < lb && pb[j] == '\r')
			j++;
		if (i == la || j == lb)
			return i == la && j == lb;
		if (pa[i++] != pb[j++])
			return FALSE;
	}
}

/* Google and others send an invitation both as the text/calendar alternative and as an attached
 * invite.ics: the alternative's copy goes. */
static void drop_duplicate_calendars(struct walk *w)
{
	GPtrArray *atts = w->mail->attachments;

	for (guint i = 0; i < atts->len; i++) {
		struct mail_attachment *a = g_ptr_array_index(atts, i);
		for (guint j = i + 1; is_calendar(a) && j < atts->len; j++) {
			struct mail_attachment *b = g_ptr_array_index(atts, j);
			if (!is_calendar(b) || !same_text_file(a->data, b->data))
				continue;
			if (strcmp(a->content_type, "text/calendar") == 0 &&
			    strcmp(b->content_type, "text/calendar") != 0) {
				g_ptr_array_remove_index(atts, i--);
				break;
			}
			g_ptr_array_remove_index(atts, j--);
		}
	}
}

/* Attachments the desk should not get: empty ones, and those over the limits. Each is named in
 * mail->omitted; the ticket text gets a note, so nothing disappears silently. */
static void apply_limits(struct walk *w, const struct parse_options *opts)
{
	GPtrArray *atts = w->mail->attachments;
	gsize total = 0;

	for (guint i = 0; i < atts->len;) {
		const struct mail_attachment *att = g_ptr_array_index(atts, i);
		gsize size = att->size;
		char *shown = g_format_size(size);
		char *why = NULL;

		if (size == 0) {
			why = g_strdup_printf("%s: empty", att->filename);
		} else if (opts->max_attachment_bytes && size > opts->max_attachment_bytes) {
			char *limit = g_format_size(opts->max_attachment_bytes);
			why = g_strdup_printf("%s (%s): over the limit of %s per attachment",
					      att->filename, shown, limit);
			g_free(limit);
		} else if (opts->max_total_bytes && total + size > opts->max_total_bytes) {
			char *limit = g_format_size(opts->max_total_bytes);
			why = g_strdup_printf("%s (%s): over the limit of %s for all attachments",
					      att->filename, shown, limit);
			g_free(limit);
		}
		g_free(shown);
		if (why) {
			g_ptr_array_add(w->mail->omitted, why);
			g_ptr_array_remove_index(atts, i);
		} else {
			total += size;
			i++;
		}
	}
}

static char *omitted_note(const struct mail *mail)
{
	GString *note = g_string_new("[mail2ticket left out attachments of this e-mail:");

	for (guint i = 0; i < mail->omitted->len; i++)
		g_string_append_printf(note, "\n- %s", (char *)g_ptr_array_index(mail->omitted, i));
	g_string_append_c(note, ']');
	return g_string_free(note, FALSE);
}

static void append_extras(GString *text, const char *calendar, const char *note)
{
	if (calendar)
		append_text(text, calendar, "\n\n");
	if (note)
		append_text(text, note, "\n\n");
}

/* text = body (+ invitation summary) (+ note on left-out attachments); the reply text, the same
 * with the quoted history and signature cut from the body, is cut when asked for
 * (mail_reply_text()). */
static void finish_text(struct walk *w, const struct parse_options *opts)
{
	struct mail *m = w->mail;
	char *body;
	GString *text;

	if (w->plain->len) {
		body = lines_drop_controls(g_strdup(w->plain->str));
		m->text_source = MAIL_TEXT_PLAIN;
	} else if (w->html->len) {
		body = lines_drop_controls(html_to_text(w->html->str, w->html->len));
		m->text_source = MAIL_TEXT_HTML;
	} else {
		body = g_strdup("");
		m->text_source = MAIL_TEXT_NONE;
	}
	m->reply_cut = g_new0(struct mail_reply_cut, 1);
	m->reply_cut->body_len = strlen(body);
	m->reply_cut->calendar = g_strdup(w->calendar);
	m->reply_cut->note = m->omitted->len ? omitted_note(m) : NULL;
	m->reply_cut->markers = g_strdupv((char **)opts->reply_markers);
	text = g_string_new(body);
	append_extras(text, m->reply_cut->calendar, m->reply_cut->note);
	g_free(m->text);
	m->text = g_string_free(text, FALSE);
	g_free(body);
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

/* Whether the line at p (up to end) is a header field, "Name: value" (RFC 5322 2.2: printable
 * characters but ':' before the colon). */
static gboolean is_field_line(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && *q > ' ' && *q < 127 && *q != ':')
		q++;
	return q > p && q < end && *q == ':';
}

/* A head damaged as mail clients still read it: a UTF-8 byte order mark or blank lines before the
 * first header, and no empty line where the headers end (a boundary or text right after them).
 * GMime then lost the headers or read the parts as text. The repaired copy, with *what it
 * repaired, or NULL when the head is sound. */
static GByteArray *repaired_head(const char *raw, gsize len, const char **what)
{
	const char *end = raw + len, *p = raw, *start;
	GByteArray *copy;

	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	for (;;) {
		const char *nl = memchr(p, '\n', end - p);
		const char *q = p;
		while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (!nl || q != nl || nl == p || (nl == p + 1 && p[0] == '\r'))
			break;
		p = nl + 1; /* a blank line (not an empty one) before the first header */
	}
	start = p;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;
		if (p == eol || (eol == p + 1 && p[0] == '\r'))
			break; /* the empty line: the head is sound from here */
		if (!(p[0] == ' ' || p[0] == '\t' || is_field_line(p, eol) ||
		      (p == start && (eol - p >= 5 && memcmp(p, "From ", 5) == 0)))) {
			*what = "no empty line after the headers";
			copy = g_byte_array_sized_new(len + 1);
			g_byte_array_append(copy, (const guint8 *)start, p - start);
			g_byte_array_append(copy, (const guint8 *)"\n", 1);
			g_byte_array_append(copy, (const guint8 *)p, end - p);
			return copy;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (start == raw)
		return NULL;
	*what = "a byte order mark or blank lines before the headers";
	copy = g_byte_array_sized_new(len);
	g_byte_array_append(copy, (const guint8 *)start, end - start);
	return copy;
}

static GMimeParserOptions *parser_options_new(void)
{
	static const char *fallback_charsets[] = {"UTF-8", "windows-1252", NULL};
	GMimeParserOptions *options = g_mime_parser_options_new();

	/* Strict: GMime's lenient RFC 2047 mode rescans the rest of a header from every "=?" (a
	 * 400 KB subject took 20 s). Encoded words glued to other text are decoded by
	 * header_decode.c instead, in one pass. */
	g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_STRICT);
	g_mime_parser_options_set_address_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(options, TRUE);
	g_mime_parser_options_set_fallback_charsets(options, fallback_charsets);
	return options;
}

/* Where the head of data ends: at its empty line, or its end. */
static gsize head_length(const char *data, gsize len)
{
	for (const char *line = data; line < data + len;) {
		const char *nl = memchr(line, '\n', data + len - line);
		if (!nl)
			break;
		if (nl == line || (nl == line + 1 && line[0] == '\r'))
			return line - data;
		line = nl + 1;
	}
	return len;
}

void mail_thread_ids(const char *raw, gsize len, struct mail_thread_ids *out)
{
	GByteArray *fixed = without_bare_cr(raw, len);
	const char *damage = NULL;
	GByteArray *head = fixed ? repaired_head((const char *)fixed->data, fixed->len, &damage)
				 : repaired_head(raw, len, &damage);
	const char *data = head ? (const char *)head->data
				: fixed ? (const char *)fixed->data : raw;
	gsize size = head ? head->len : fixed ? fixed->len : len;
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, head_length(data, size));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeParserOptions *options = parser_options_new();
	GMimeMessage *msg;

	*out = (struct mail_thread_ids){.references = g_ptr_array_new_with_free_func(g_free)};
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, options);
	if (msg) {
		read_thread_ids(options, msg, &out->message_id, &out->in_reply_to,
				out->references);
		g_object_unref(msg);
	}
	g_mime_parser_options_free(options);
	g_object_unref(parser);
	g_object_unref(stream);
	if (head)
		g_byte_array_unref(head);
	if (fixed)
		g_byte_array_unref(fixed);
}

void mail_thread_ids_clear(struct mail_thread_ids *ids)
{
	g_free(ids->message_id);
	g_free(ids->in_reply_to);
	if (ids->references)
		g_ptr_array_unref(ids->references);
	*ids = (struct mail_thread_ids){0};
}

/* A stream over raw that does not copy it (g_mime_stream_mem_new_with_buffer() copies every
 * mail whole, attachments and all): GMime only reads it, and the stream does not own the
 * array. Free the array with g_byte_array_free(array, FALSE) after the last unref of the
 * stream: raw stays its owner's. */
static GMimeStream *stream_over(const char *raw, gsize len, GByteArray **array)
{
	GMimeStream *stream;

	*array = g_byte_array_new_take((guint8 *)raw, len);
	stream = g_mime_stream_mem_new_with_byte_array(*array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	return stream;
}

/* The parse of raw; bytes, when not NULL, holds raw for the mail to keep (keys_on_demand). */
static struct mail *parse(const char *raw, gsize len, GBytes *bytes,
			  const struct parse_options *opts)
{
	static const struct parse_options defaults = PARSE_OPTIONS_DEFAULT;
	struct walk w = {.mail = mail_new(),
			 .plain = g_string_new(NULL),
			 .html = g_string_new(NULL),
			 .charsets = g_ptr_array_new_with_free_func(g_free),
			 .sizes_only = opts && opts->attachment_sizes_only};
	GByteArray *fixed = without_bare_cr(raw, len);
	const char *damage = NULL;
	GByteArray *head = fixed ? repaired_head((const char *)fixed->data, fixed->len, &damage)
				 : repaired_head(raw, len, &damage);
	GByteArray *borrowed = NULL;
	GMimeStream *stream;

	if (head) {
		if (fixed)
			g_byte_array_unref(fixed);
		fixed = head;
	}
	stream = fixed ? g_mime_stream_mem_new_with_byte_array(fixed)
		       : stream_over(raw, len, &borrowed);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg;

	if (!opts)
		opts = &defaults;
	w.mail->raw_size = len;
	if (damage)
		mail_add_warning(w.mail, "the head had %s: read as mail clients read it", damage);

	w.options = parser_options_new();
	g_mime_parser_options_set_warning_callback(w.options, collect_gmime_warning, &w);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);

	msg = g_mime_parser_construct_message(parser, w.options);
	if (msg) {
		use_declared_charsets(&w, msg);
		read_headers(&w, msg);
		if (g_mime_message_get_mime_part(msg))
			walk_object(&w, g_mime_message_get_mime_part(msg), 0, FALSE);
		g_object_unref(msg);
		if (w.cut_short) {
			mail_add_warning(w.mail,
					 "parts may not have been read: the whole message is "
					 "attached as original-message.eml");
			add_attachment(&w, "original-message.eml", "message/rfc822", NULL, FALSE,
				       g_bytes_new(raw, len));
		}
	} else if (len == 0) {
		mail_add_warning(w.mail, "empty message");
	} else {
		mail_add_warning(w.mail, "not a readable MIME message: kept whole as message.eml");
		add_attachment(&w, "message.eml", "message/rfc822", NULL, FALSE,
			       g_bytes_new(raw, len));
	}
	if (opts->raw_digest)
		sha256_hex(raw, len, w.mail->raw_sha256);
	if (bytes && opts->keys_on_demand)
		w.mail->key_source = g_bytes_ref(bytes);
	else
		mail_key_digests(w.mail, raw, len);
	drop_duplicate_calendars(&w);
	apply_limits(&w, opts);
	finish_text(&w, opts);

	g_object_unref(parser);
	g_object_unref(stream);
	if (borrowed)
		g_byte_array_free(borrowed, FALSE);
	g_mime_parser_options_free(w.options);
	g_string_free(w.plain, TRUE);
	g_string_free(w.html, TRUE);
	g_ptr_array_unref(w.charsets);
	g_free(w.calendar);
	return w.mail;
}

struct mail *mail_parse(const char *raw, gsize len, const struct parse_options *opts)
{
	return parse(raw, len, NULL, opts);
}

struct mail *mail_parse_bytes(GBytes *raw, const struct parse_options *opts)
{
	gsize len;
	const char *data = g_bytes_get_data(raw, &len);

	return parse(data ? data : "", len, raw, opts);
}

/* The reply cut of a parsed mail, and the search of its text for a forward's sender (only text
 * the cut shortens holds quoted history). The address is read with the parse's GMime options,
 * its warnings kept as the parse's are. */
static void cut_reply(struct mail *m)
{
	struct mail_reply_cut *cut = g_steal_pointer(&m->reply_cut);
	char *body = g_strndup(m->text, cut->body_len);
	char *reply =
	    *body ? reply_text_extract(body, (const char *const *)cut->markers) : g_strdup("");
	GString *reply_text = g_string_new(reply);

	if (*body && strcmp(reply, body) != 0) {
		struct walk w = {.mail = m, .options = parser_options_new()};

		g_mime_parser_options_set_warning_callback(w.options, collect_gmime_warning, &w);
		find_inline_forward(&w, body);
		g_mime_parser_options_free(w.options);
	}
	append_extras(reply_text, cut->calendar, cut->note);
	g_free(m->reply_text);
	m->reply_text = g_string_free(reply_text, FALSE);
	g_free(reply);
	g_free(body);
	mail_reply_cut_free(cut);
}

const char *mail_reply_text(const struct mail *mail)
{
	if (mail->reply_cut)
		cut_reply((struct mail *)mail);
	return mail->reply_text;
}

const struct mail_address *mail_original_sender(const struct mail *mail)
{
	if (mail->reply_cut)
		cut_reply((struct mail *)mail);
	return &mail->original_sender;
}
