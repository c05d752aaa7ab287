/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TNEF ([MS-OXTNEF]) unpacking with libytnef.
 *
 * libytnef 2.0 is not given the sender's bytes. It trusts what it is handed in ways that hurt here:
 * it prints to stdout (our JSON output) on every error, it gives up the whole stream over details
 * no ticket needs (a title over 100 bytes, a body over 100000, a MAPI subject over 100, any MAPI
 * value over 512 KiB, a short date, a zero-length attribute), it reads PT_CURRENCY and PT_APPTIME
 * as 4 bytes where they are 8, it leaks what comes twice or before the first attachment, and its
 * history has CVEs in exactly the length handling it would do on our input. So this file walks the
 * stream first, checking every length and checksum against the buffer, and hands libytnef a
 * rebuilt stream holding only what is read back here: the code page, the body, and per attachment
 * a rendering marker, the title, the data and the few MAPI properties wanted, each within
 * libytnef's limits. What libytnef returns is checked against that rebuilt stream again. */
#include "parsers/tnef.h"

#include <gio/gio.h>
#include <stdarg.h>
#include <stdio.h> /* ytnef.h uses FILE without including it */
#include <stdlib.h>
#include <string.h>

/* ytnef.h #defines BYTE, WORD, DWORD and ULONG, so it comes last. mapitags.h is left out: it
 * defines the library's own MPList array, which would then exist twice. */
#include <ytnef.h>

#define TNEF_SIGNATURE 0x223E9F78u
#define ATTR_HEAD 9 /* level byte, attribute id, length */
#define ATTR_SUM 2
#define MAX_FILES 1000
#define MAX_STREAM_MIB 256
#define MAX_STREAM ((gsize)MAX_STREAM_MIB << 20)

/* libytnef 2.0 gives up the whole stream beyond these; the rebuilt stream stays within them. */
#define YT_MAX_TITLE 100
#define YT_MAX_BODY 100000
#define YT_MAX_VALUE 524288

struct reader {
	const guint8 *p;
	gsize len;
	gsize pos;
};

struct span {
	const guint8 *p;
	gsize len;
};

/* What the rebuilt stream holds for one attachment. */
struct att_plan {
	struct span title;
	struct span data;
	GByteArray *props; /* rebuilt attAttachment property list, NULL when none was kept */
	gsize bin_len;	   /* length of the PR_ATTACH_DATA_BIN kept in props, 0 when none */
	gboolean props_seen;
};

struct plan {
	struct span codepage;
	struct span body;
	GByteArray *msg_props; /* rebuilt attMsgProps holding only PR_BODY, or NULL */
	gboolean msg_props_seen;
	GArray *atts; /* of struct att_plan */
	GString *problem;
	guint problems;
};

static guint32 le32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static void put_le32(GByteArray *out, guint32 v)
{
	guint8 b[4] = {v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF};

	g_byte_array_append(out, b, sizeof(b));
}

static gboolean read_u32(struct reader *r, guint32 *v)
{
	if (r->len - r->pos < 4)
		return FALSE;
	*v = le32(r->p + r->pos);
	r->pos += 4;
	return TRUE;
}

/* Skip n bytes and the padding to a multiple of 4 that MAPI values carry. 64-bit arithmetic:
 * n comes from the sender and may be 0xFFFFFFFF. */
static gboolean skip_padded(struct reader *r, guint32 n)
{
	guint64 padded = ((guint64)n + 3) & ~(guint64)3;

	if (padded > r->len - r->pos)
		return FALSE;
	r->pos += (gsize)padded;
	return TRUE;
}

static void damage(struct plan *plan, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Only the first problem is told in full: later ones are often its consequences. */
static void damage(struct plan *plan, const char *fmt, ...)
{
	va_list ap;

	if (plan->problems++ > 0)
		return;
	va_start(ap, fmt);
	g_string_vprintf(plan->problem, fmt, ap);
	va_end(ap);
}

/* Bytes in the stream of one value of a fixed-size MAPI type, 0 for a variable-size type, -1 for
 * a type that has no place in TNEF. 16-bit values are padded to 4 bytes. */
static int fixed_size(guint32 type)
{
	switch (type) {
	case PT_I2:
	case PT_LONG:
	case PT_R4:
	case PT_ERROR:
	case PT_BOOLEAN:
		return 4;
	case PT_DOUBLE:
	case PT_CURRENCY:
	case PT_APPTIME:
	case PT_I8:
	case PT_SYSTIME:
		return 8;
	case PT_CLSID:
		return 16;
	case PT_STRING8:
	case PT_UNICODE:
	case PT_BINARY:
	case PT_OBJECT:
		return 0;
	default:
		return -1;
	}
}

static gboolean is_wanted(guint32 tag, const guint32 *wanted, gsize n_wanted)
{
	for (gsize i = 0; i < n_wanted; i++)
		if (wanted[i] == tag)
			return TRUE;
	return FALSE;
}

/* Walk one MAPI property list ([MS-OXTNEF] 2.1.3.4) to its exact end and copy the wanted
 * properties (single-valued, not named, 1 byte to 512 KiB) into a list of their own, *out, NULL
 * when none. *bin_len gets the size of a kept PR_ATTACH_DATA_BIN. FALSE with *why when the list
 * does not hold together; nothing is kept from such a list, its lengths cannot be trusted. */
static gboolean filter_props(struct span in, const guint32 *wanted, gsize n_wanted,
			     GByteArray **out, gsize *bin_len, const char **why)
{
	struct reader r = {in.p, in.len, 0};
	GByteArray *kept = g_byte_array_new();
	guint32 count, n_kept = 0;

	*out = NULL;
	*bin_len = 0;
	*why = "truncated";
	if (!read_u32(&r, &count))
		goto fail;
	/* Each property takes at least 4 bytes, so count cannot make this loop outlast the data. */
	for (guint32 i = 0; i < count; i++) {
		guint32 tag, type, values = 1, n;
		gboolean named, multi;
		int size;

		if (!read_u32(&r, &tag))
			goto fail;
		type = PROP_TYPE(tag);
		named = PROP_ID(tag) >= 0x8000;
		multi = (type & MV_FLAG) != 0;
		if (named) {
			guint32 kind, id;

			/* Property set GUID, then the name: kind 0 a number, kind 1 a string. */
			if (r.len - r.pos < 16)
				goto fail;
			r.pos += 16;
			if (!read_u32(&r, &kind) || !read_u32(&r, &id))
				goto fail;
			if (kind == 1 && !skip_padded(&r, id))
				goto fail;
			if (kind > 1) {
				*why = "a named property of unknown kind";
				goto fail;
			}
		}
		type &= ~(guint32)MV_FLAG;
		size = fixed_size(type);
		if (size < 0) {
			*why = "a property of unknown type";
			goto fail;
		}
		/* Variable-size values carry a count even when single-valued; it must be 1. */
		if ((multi || size == 0) && !read_u32(&r, &values))
			goto fail;
		if (!multi && values != 1) {
			*why = "a single-valued property with several values";
			goto fail;
		}
		if (size > 0) {
			if (values > (r.len - r.pos) / (gsize)size)
				goto fail;
			r.pos += (gsize)values * (gsize)size;
			continue;
		}
		for (guint32 v = 0; v < values; v++) {
			const guint8 *value;

			if (!read_u32(&r, &n))
				goto fail;
			value = r.p + r.pos;
			if (!skip_padded(&r, n))
				goto fail;
			if (multi || named || n == 0 || n > YT_MAX_VALUE ||
			    !is_wanted(tag, wanted, n_wanted) || n_kept == G_MAXUINT32)
				continue;
			put_le32(kept, tag);
			put_le32(kept, 1);
			put_le32(kept, n);
			g_byte_array_append(kept, value, n);
			g_byte_array_append(kept, (const guint8 *)"\0\0\0", (-n) & 3);
			if (tag == PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ) && *bin_len == 0)
				*bin_len = n;
			n_kept++;
		}
	}
	if (r.pos != r.len) {
		*why = "bytes after the last property";
		goto fail;
	}
	if (n_kept == 0) {
		/* libytnef rejects an empty property list. */
		g_byte_array_unref(kept);
		return TRUE;
	}
	*out = g_byte_array_new();
	put_le32(*out, n_kept);
	g_byte_array_append(*out, kept->data, kept->len);
	g_byte_array_unref(kept);
	return TRUE;
fail:
	g_byte_array_unref(kept);
	*bin_len = 0;
	return FALSE;
}

/* Properties read back from libytnef. 0x3701 is PR_ATTACH_DATA_BIN when binary, _OBJ when an
 * object (an embedded message, which is not a file and is left out). */
static const guint32 attach_tags[] = {
	PROP_TAG(PT_UNICODE, PR_ATTACH_LONG_FILENAME),
	PROP_TAG(PT_STRING8, PR_ATTACH_LONG_FILENAME),
	PROP_TAG(PT_UNICODE, PR_ATTACH_MIME_TAG),
	PROP_TAG(PT_STRING8, PR_ATTACH_MIME_TAG),
	PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ),
};
static const guint32 message_tags[] = {
	PROP_TAG(PT_UNICODE, PR_BODY),
	PROP_TAG(PT_STRING8, PR_BODY),
};

static void plan_clear(struct plan *plan)
{
	for (guint i = 0; i < plan->atts->len; i++) {
		struct att_plan *att = &g_array_index(plan->atts, struct att_plan, i);
		if (att->props)
			g_byte_array_unref(att->props);
	}
	g_array_free(plan->atts, TRUE);
	if (plan->msg_props)
		g_byte_array_unref(plan->msg_props);
	g_string_free(plan->problem, TRUE);
}

static struct att_plan *current_att(struct plan *plan)
{
	if (plan->atts->len == 0)
		return NULL;
	return &g_array_index(plan->atts, struct att_plan, plan->atts->len - 1);
}

/* Sort one attribute into the plan. Attachment attributes before the first attAttachRendData
 * belong to no attachment; the second of anything is dropped (libytnef would leak the first). */
static void plan_attribute(struct plan *plan, guint32 id, struct span val, gsize at,
			   gboolean *too_many)
{
	struct att_plan *att = current_att(plan);
	const char *why;
	gsize unused;

	switch (id) {
	case attOemCodepage:
		if (!plan->codepage.p && val.len >= 4)
			plan->codepage = val;
		break;
	case attBody:
		if (!plan->body.p && val.len > 0 && val.len <= YT_MAX_BODY)
			plan->body = val;
		break;
	case attAttachRenddata:
		if (plan->atts->len >= MAX_FILES) {
			*too_many = TRUE;
			break;
		}
		g_array_set_size(plan->atts, plan->atts->len + 1);
		break;
	case attAttachTitle:
		if (att && !*too_many && !att->title.p && val.len > 0 && val.len <= YT_MAX_TITLE)
			att->title = val;
		break;
	case attAttachData:
		if (att && !*too_many && !att->data.p && val.len > 0)
			att->data = val;
		break;
	case attAttachment:
		if (!att || *too_many || att->props_seen)
			break;
		att->props_seen = TRUE;
		if (!filter_props(val, attach_tags, G_N_ELEMENTS(attach_tags), &att->props,
				  &att->bin_len, &why))
			damage(plan,
			       "attachment %u: MAPI properties at byte %" G_GSIZE_FORMAT ": %s",
			       plan->atts->len, at, why);
		break;
	case attMAPIProps:
		if (plan->msg_props_seen)
			break;
		plan->msg_props_seen = TRUE;
		if (!filter_props(val, message_tags, G_N_ELEMENTS(message_tags), &plan->msg_props,
				  &unused, &why))
			damage(plan, "message MAPI properties at byte %" G_GSIZE_FORMAT ": %s", at,
			       why);
		break;
	default:
		break;
	}
}

/* Walk the attribute stream: level byte, id, length, data, checksum (the sum of the data bytes).
 * A length past the end stops the walk, the framing is lost; a bad checksum or level only drops
 * that attribute. */
static void plan_stream(struct plan *plan, const guint8 *p, gsize len)
{
	gsize pos = 6;
	gboolean too_many = FALSE;

	while (pos < len) {
		guint8 level;
		guint32 id, size;
		guint32 sum = 0;
		guint16 want;
		struct span val;

		if (len - pos < ATTR_HEAD) {
			damage(plan, "truncated attribute header at byte %" G_GSIZE_FORMAT, pos);
			break;
		}
		level = p[pos];
		id = le32(p + pos + 1);
		size = le32(p + pos + 5);
		if (size > len - pos - ATTR_HEAD || len - pos - ATTR_HEAD - size < ATTR_SUM) {
			damage(plan,
			       "attribute 0x%08x at byte %" G_GSIZE_FORMAT " claims %u bytes, "
			       "only %" G_GSIZE_FORMAT " are left",
			       id, pos, size, len - pos - ATTR_HEAD);
			break;
		}
		val.p = p + pos + ATTR_HEAD;
		val.len = size;
		for (gsize i = 0; i < val.len; i++)
			sum += val.p[i];
		want = (guint16)(val.p[val.len] | val.p[val.len + 1] << 8);
		if (level != LVL_MESSAGE && level != LVL_ATTACHMENT)
			damage(plan, "attribute 0x%08x at byte %" G_GSIZE_FORMAT " has level %u",
			       id, pos, level);
		else if ((guint16)sum != want)
			damage(plan, "attribute 0x%08x at byte %" G_GSIZE_FORMAT ": bad checksum",
			       id, pos);
		else
			plan_attribute(plan, id, val, pos, &too_many);
		pos += ATTR_HEAD + val.len + ATTR_SUM;
	}
	if (too_many)
		damage(plan, "more than %d attachments; the rest were left out", MAX_FILES);
}

static void emit(GByteArray *out, guint8 level, guint32 id, const guint8 *data, gsize len)
{
	guint32 sum = 0;
	guint8 tail[2];

	for (gsize i = 0; i < len; i++)
		sum += data[i];
	g_byte_array_append(out, &level, 1);
	put_le32(out, id);
	put_le32(out, (guint32)len);
	g_byte_array_append(out, data, (guint)len);
	tail[0] = sum & 0xFF;
	tail[1] = (sum >> 8) & 0xFF;
	g_byte_array_append(out, tail, 2);
}

/* The stream libytnef reads. The message properties go last: should libytnef still refuse
 * them, every attachment has been read by then. */
static GByteArray *rebuild(const struct plan *plan)
{
	/* attAttachRendData only starts an attachment for libytnef: a file, no position. */
	static const guint8 rend[14] = {1, 0, 0xFF, 0xFF, 0xFF, 0xFF};
	GByteArray *out = g_byte_array_new();

	put_le32(out, TNEF_SIGNATURE);
	g_byte_array_append(out, (const guint8 *)"\0", 2); /* the legacy key, unused */
	if (plan->codepage.p)
		emit(out, LVL_MESSAGE, attOemCodepage, plan->codepage.p, plan->codepage.len);
	if (plan->body.p)
		emit(out, LVL_MESSAGE, attBody, plan->body.p, plan->body.len);
	for (guint i = 0; i < plan->atts->len; i++) {
		const struct att_plan *att = &g_array_index(plan->atts, struct att_plan, i);

		emit(out, LVL_ATTACHMENT, attAttachRenddata, rend, sizeof(rend));
		if (att->title.p)
			emit(out, LVL_ATTACHMENT, attAttachTitle, att->title.p, att->title.len);
		if (att->data.p)
			emit(out, LVL_ATTACHMENT, attAttachData, att->data.p, att->data.len);
		if (att->props)
			emit(out, LVL_ATTACHMENT, attAttachment, att->props->data, att->props->len);
	}
	if (plan->msg_props)
		emit(out, LVL_MESSAGE, attMAPIProps, plan->msg_props->data, plan->msg_props->len);
	return out;
}

/* The iconv name of a Windows code page. Unknown ones get "CP<n>", which iconv may not know
 * either; the caller falls back then. */
static void codepage_charset(guint32 cp, char *buf, gsize size)
{
	if (cp == 65001)
		g_strlcpy(buf, "UTF-8", size);
	else if (cp == 20127)
		g_strlcpy(buf, "ASCII", size);
	else if (cp >= 28591 && cp <= 28606)
		g_snprintf(buf, size, "ISO-8859-%u", cp - 28590);
	else if (cp == 20866)
		g_strlcpy(buf, "KOI8-R", size);
	else if (cp == 21866)
		g_strlcpy(buf, "KOI8-U", size);
	else if (cp >= 50220 && cp <= 50222)
		g_strlcpy(buf, "ISO-2022-JP", size);
	else if (cp == 51932)
		g_strlcpy(buf, "EUC-JP", size);
	else if (cp == 51949)
		g_strlcpy(buf, "EUC-KR", size);
	else if (cp == 54936)
		g_strlcpy(buf, "GB18030", size);
	else
		g_snprintf(buf, size, "CP%u", cp);
}

static gboolean has_8bit(const guint8 *s, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if (s[i] >= 0x80)
			return TRUE;
	return FALSE;
}

/* 8-bit text in the sender's code page, up to its first NUL, as UTF-8; NULL when empty. Text that
 * is valid UTF-8 despite 8-bit bytes is UTF-8 (a single-byte code page almost never forms it by
 * chance, and non-Outlook encoders write UTF-8 whatever they declare). Bytes the code page does
 * not define fall back to windows-1252, then to Latin-1, which takes every byte. */
static char *ansi_to_utf8(const guint8 *s, gsize max, const char *charset)
{
	static const char *const fallbacks[] = {"WINDOWS-1252", "ISO-8859-1"};
	gsize len = 0;
	char *out;

	while (len < max && s[len])
		len++;
	if (len == 0)
		return NULL;
	if (!has_8bit(s, len) || g_utf8_validate_len((const char *)s, len, NULL))
		return g_strndup((const char *)s, len);
	out = g_convert((const char *)s, len, "UTF-8", charset, NULL, NULL, NULL);
	for (gsize i = 0; !out && i < G_N_ELEMENTS(fallbacks); i++)
		out = g_convert((const char *)s, len, "UTF-8", fallbacks[i], NULL, NULL, NULL);
	return out;
}

/* libytnef's to_utf8() writes each UTF-16 unit on its own: a character beyond U+FFFF becomes two
 * 3-byte surrogate encodings (not UTF-8) and U+07FF an overlong 3-byte one. Read the units back,
 * join surrogate pairs and replace lone ones. s ends at the NUL libytnef writes, within max. */
static char *ytnef_unicode_to_utf8(const guint8 *s, gsize max)
{
	GString *out = g_string_new(NULL);
	gunichar high = 0;
	gsize i = 0;

	while (i < max && s[i]) {
		gunichar u = 0xFFFD;
		gsize n = 1;

		if (s[i] < 0x80) {
			u = s[i];
		} else if ((s[i] & 0xE0) == 0xC0 && i + 1 < max && (s[i + 1] & 0xC0) == 0x80) {
			u = (gunichar)(s[i] & 0x1F) << 6 | (s[i + 1] & 0x3F);
			n = 2;
		} else if ((s[i] & 0xF0) == 0xE0 && i + 2 < max && (s[i + 1] & 0xC0) == 0x80 &&
			   (s[i + 2] & 0xC0) == 0x80) {
			u = (gunichar)(s[i] & 0x0F) << 12 | (gunichar)(s[i + 1] & 0x3F) << 6 |
			    (s[i + 2] & 0x3F);
			n = 3;
		}
		i += n;
		if (high && u >= 0xDC00 && u <= 0xDFFF) {
			g_string_append_unichar(out,
						0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00));
			high = 0;
			continue;
		}
		if (high)
			g_string_append_unichar(out, 0xFFFD);
		high = 0;
		if (u >= 0xD800 && u <= 0xDBFF)
			high = u;
		else if (u >= 0xDC00 && u <= 0xDFFF)
			g_string_append_unichar(out, 0xFFFD);
		else
			g_string_append_unichar(out, u);
	}
	if (high)
		g_string_append_unichar(out, 0xFFFD);
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* A string property as UTF-8, PT_UNICODE preferred; NULL when absent or empty. Every size comes
 * from libytnef and is checked before use: it must be positive and, for PT_STRING8, data holds
 * exactly size bytes. For PT_UNICODE size is the UTF-16 length, and libytnef's conversion wrote
 * at most 3 bytes per unit plus its NUL. */
static char *string_prop(MAPIProps *props, guint32 id, const char *charset)
{
	variableLength *v = MAPIFindProperty(props, PROP_TAG(PT_UNICODE, id));
	char *s;

	if (v != MAPI_UNDEFINED && v && v->data && v->size > 0 && v->size <= YT_MAX_VALUE) {
		s = ytnef_unicode_to_utf8(v->data, (gsize)v->size / 2 * 3 + 1);
		if (s)
			return s;
	}
	v = MAPIFindProperty(props, PROP_TAG(PT_STRING8, id));
	if (v != MAPI_UNDEFINED && v && v->data && v->size > 0 && v->size <= YT_MAX_VALUE)
		return ansi_to_utf8(v->data, (gsize)v->size, charset);
	return NULL;
}

/* "type/subtype" in lower case, parameters dropped; NULL when the tag is not of that form. */
static char *clean_mime_type(char *tag)
{
	static const char token[] = "!#$%&'*+-.^_`|~";
	char *semi, *slash;

	if (!tag)
		return NULL;
	semi = strchr(tag, ';');
	if (semi)
		*semi = '\0';
	g_strstrip(tag);
	slash = strchr(tag, '/');
	if (!slash || slash == tag || !slash[1] || strchr(slash + 1, '/'))
		goto bad;
	for (char *p = tag; *p; p++)
		if (*p != '/' && !g_ascii_isalnum(*p) && !strchr(token, *p))
			goto bad;
	for (char *p = tag; *p; p++)
		*p = g_ascii_tolower(*p);
	return tag;
bad:
	g_free(tag);
	return NULL;
}

/* CRLF and bare CR as LF, as the rest of the parser gives text. */
static char *unix_line_ends(char *text)
{
	char *w = text;

	if (!text)
		return NULL;
	for (const char *r = text; *r; r++) {
		if (*r == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return text;
}

static GBytes *file_data(Attachment *a, const struct att_plan *att)
{
	variableLength *v;
	GBytes *bytes;

	/* Sizes must match what the rebuilt stream gave libytnef for this attachment. The data is
	 * taken over rather than copied (it may be hundreds of MiB); TNEFFree() skips a field whose
	 * size is 0. libytnef allocated it with calloc(). */
	if (att->data.p && a->FileData.data && a->FileData.size > 0 &&
	    (gsize)a->FileData.size == att->data.len) {
		bytes = g_bytes_new_with_free_func(a->FileData.data, att->data.len, free,
						   a->FileData.data);
		a->FileData.data = NULL;
		a->FileData.size = 0;
		return bytes;
	}
	if (att->bin_len == 0)
		return NULL;
	v = MAPIFindProperty(&a->MAPI, PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ));
	if (v != MAPI_UNDEFINED && v && v->data && v->size > 0 && (gsize)v->size == att->bin_len)
		return g_bytes_new(v->data, att->bin_len);
	return NULL;
}

static void collect(TNEFStruct *tnef, const struct plan *plan, GPtrArray *files, char **body)
{
	char charset[24] = "WINDOWS-1252";
	guint i = 0;

	if (plan->codepage.p && tnef->CodePage.data &&
	    (gsize)tnef->CodePage.size == plan->codepage.len)
		codepage_charset(le32(tnef->CodePage.data), charset, sizeof(charset));

	for (Attachment *a = tnef->starting_attach.next; a && i < plan->atts->len;
	     a = a->next, i++) {
		const struct att_plan *att = &g_array_index(plan->atts, struct att_plan, i);
		GBytes *data = file_data(a, att);
		struct tnef_file *file;

		if (!data)
			continue;
		file = g_new0(struct tnef_file, 1);
		file->data = data;
		file->name = string_prop(&a->MAPI, PR_ATTACH_LONG_FILENAME, charset);
		if (!file->name && att->title.p && a->Title.data &&
		    (gsize)a->Title.size == att->title.len)
			file->name = ansi_to_utf8(a->Title.data, att->title.len, charset);
		file->content_type =
			clean_mime_type(string_prop(&a->MAPI, PR_ATTACH_MIME_TAG, charset));
		g_ptr_array_add(files, file);
	}

	if (!body)
		return;
	if (plan->body.p && tnef->body.data && (gsize)tnef->body.size == plan->body.len)
		*body = ansi_to_utf8(tnef->body.data, plan->body.len, charset);
	if (!*body)
		*body = string_prop(&tnef->MapiProperties, PR_BODY, charset);
	*body = unix_line_ends(*body);
}

gboolean tnef_unpack(const void *data, gsize len, GPtrArray *files, char **body, GError **error)
{
	const guint8 *p = data;
	struct plan plan = {0};
	GByteArray *stream;
	TNEFStruct tnef;
	int rc;
	gboolean ok;

	g_return_val_if_fail(data || len == 0, FALSE);
	g_return_val_if_fail(files, FALSE);
	if (body)
		*body = NULL;
	if (len < 4 || le32(p) != TNEF_SIGNATURE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "not a TNEF stream: %s", len < 4 ? "too short" : "no TNEF signature");
		return FALSE;
	}
	if (len > MAX_STREAM) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
			    "TNEF stream of %" G_GSIZE_FORMAT " bytes is over the %d MiB limit",
			    len, MAX_STREAM_MIB);
		return FALSE;
	}

	plan.atts = g_array_new(FALSE, TRUE, sizeof(struct att_plan));
	plan.problem = g_string_new(NULL);
	if (len < 6)
		damage(&plan, "TNEF stream ends inside its key");
	else
		plan_stream(&plan, p, len);
	stream = rebuild(&plan);

	/* TNEFInitialize() does not set Debug, and any value but 0 prints. attachmentSize (MiB)
	 * caps one attribute; the default 50 would refuse files the stream limit allows. */
	memset(&tnef, 0, sizeof(tnef));
	TNEFInitialize(&tnef);
	tnef.Debug = 0;
	tnef.attachmentSize = MAX_STREAM_MIB;
	rc = TNEFParseMemory(stream->data, (long)stream->len, &tnef);
	g_byte_array_unref(stream); /* libytnef keeps copies of what it read */
	if (rc < 0)
		damage(&plan, "libytnef refused the checked stream (error %d)", rc);
	collect(&tnef, &plan, files, body);
	TNEFFree(&tnef);

	ok = plan.problems == 0;
	if (!ok) {
		if (plan.problems > 1)
			g_string_append_printf(plan.problem, " (and %u more)",
					       plan.problems - 1);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "damaged TNEF stream: %s",
			    plan.problem->str);
	}
	plan_clear(&plan);
	return ok;
}

void tnef_file_free(struct tnef_file *file)
{
	if (!file)
		return;
	g_free(file->name);
	g_free(file->content_type);
	if (file->data)
		g_bytes_unref(file->data);
	g_free(file);
}
