#include "parsers/header_decode.h"

#include <string.h>

struct encoded_word {
	const char *start, *end; /* the whole "=?cs?e?text?=" */
	char *charset;
	char encoding; /* 'B' or 'Q' */
	const char *text;
	gsize text_len;
};

/* Parse an encoded word starting at p; FALSE if p does not start one. */
static gboolean encoded_word_scan(const char *p, struct encoded_word *word)
{
	const char *cs, *q, *text;

	if (p[0] != '=' || p[1] != '?')
		return FALSE;
	cs = p + 2;
	q = strchr(cs, '?');
	if (!q || q == cs || q[1] == '\0' || q[2] != '?')
		return FALSE;
	for (const char *c = cs; c < q; c++)
		if (g_ascii_isspace(*c))
			return FALSE;
	if (g_ascii_toupper(q[1]) != 'B' && g_ascii_toupper(q[1]) != 'Q')
		return FALSE;
	text = q + 3;
	for (const char *c = text; *c; c++) {
		if (g_ascii_isspace(*c))
			return FALSE;
		if (c[0] == '?' && c[1] == '=') {
			word->start = p;
			word->end = c + 2;
			word->charset = g_strndup(cs, q - cs);
			word->encoding = g_ascii_toupper(q[1]);
			word->text = text;
			word->text_len = c - text;
			return TRUE;
		}
	}
	return FALSE;
}

static void encoded_word_append_bytes(const struct encoded_word *word, GByteArray *out)
{
	if (word->encoding == 'B') {
		guchar *buf = g_malloc(word->text_len + 3);
		int state = 0;
		guint32 save = 0;
		gsize n = g_mime_encoding_base64_decode_step((const guchar *)word->text,
							     word->text_len, buf, &state, &save);
		g_byte_array_append(out, buf, n);
		g_free(buf);
		return;
	}
	for (gsize i = 0; i < word->text_len; i++) {
		char c = word->text[i];
		if (c == '_') {
			g_byte_array_append(out, (const guint8 *)" ", 1);
		} else if (c == '=' && i + 2 < word->text_len && g_ascii_isxdigit(word->text[i + 1]) &&
			   g_ascii_isxdigit(word->text[i + 2])) {
			guint8 b = g_ascii_xdigit_value(word->text[i + 1]) << 4 |
				   g_ascii_xdigit_value(word->text[i + 2]);
			g_byte_array_append(out, &b, 1);
			i += 2;
		} else {
			g_byte_array_append(out, (const guint8 *)&c, 1);
		}
	}
}

/* Where the next encoded word after end starts, if only white space lies between. */
static const char *next_adjacent(const char *end)
{
	const char *p = end;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return (p > end && p[0] == '=' && p[1] == '?') ? p : NULL;
}

char *header_merge_encoded_words(const char *value)
{
	GString *out = g_string_sized_new(strlen(value));
	const char *p = value;

	while (*p) {
		struct encoded_word first, next;
		const char *adj;
		GByteArray *bytes;
		int n_words = 1;
		const char *run_end;

		if (!encoded_word_scan(p, &first)) {
			g_string_append_c(out, *p++);
			continue;
		}
		bytes = g_byte_array_new();
		encoded_word_append_bytes(&first, bytes);
		run_end = first.end;
		while ((adj = next_adjacent(run_end)) && encoded_word_scan(adj, &next)) {
			gboolean same = g_ascii_strcasecmp(next.charset, first.charset) == 0;
			if (same) {
				encoded_word_append_bytes(&next, bytes);
				run_end = next.end;
				n_words++;
			}
			g_free(next.charset);
			if (!same)
				break;
		}
		if (n_words == 1) {
			g_string_append_len(out, first.start, first.end - first.start);
		} else {
			char *b64 = g_base64_encode(bytes->data, bytes->len);
			g_string_append_printf(out, "=?%s?B?%s?=", first.charset, b64);
			g_free(b64);
		}
		g_byte_array_unref(bytes);
		g_free(first.charset);
		p = run_end;
	}
	return g_string_free(out, FALSE);
}

static char *unfold_and_merge(const char *raw)
{
	char *unfolded = g_mime_utils_header_unfold(raw ? raw : "");
	char *merged = header_merge_encoded_words(g_strstrip(unfolded));

	g_free(unfolded);
	return merged;
}

char *header_decode_text(GMimeParserOptions *options, const char *raw)
{
	char *merged = unfold_and_merge(raw);
	char *text = g_mime_utils_header_decode_text(options, merged);

	g_free(merged);
	if (!g_utf8_validate(text, -1, NULL)) {
		char *valid = g_utf8_make_valid(text, -1);
		g_free(text);
		text = valid;
	}
	return text;
}

InternetAddressList *header_parse_addresses(GMimeParserOptions *options, const char *raw)
{
	char *merged = unfold_and_merge(raw);
	InternetAddressList *list = internet_address_list_parse(options, merged);

	g_free(merged);
	return list;
}
