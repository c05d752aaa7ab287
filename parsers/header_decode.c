/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 2047 words found in one pass here and decoded by GMime one complete word at a time. */
#include "parsers/header_decode.h"

#include <string.h>

#include "parsers/charset.h"
#include "parsers/lines.h"

struct encoded_word {
	const char *start, *end; /* the whole "=?cs?e?text?=" */
	char *charset;
	char encoding; /* 'B' or 'Q' */
	const char *text;
	gsize text_len;
};

/* A label iconv does not know (RFC 1428's "unknown-8bit" is registered for such text). */
#define UNKNOWN_CHARSET "unknown-8bit"

/* Parse an encoded word starting at p; FALSE if p does not start one. Neither the charset nor the
 * encoded text may hold '?' or white space (RFC 2047 2), so each scan ends at the next '?' and a
 * header full of openers without a closing "?=" is still read in linear time. */
static gboolean encoded_word_scan(const char *p, struct encoded_word *word)
{
	const char *cs, *q, *text, *end;

	if (p[0] != '=' || p[1] != '?')
		return FALSE;
	cs = p + 2;
	q = cs + strcspn(cs, "? \t\r\n");
	if (*q != '?' || q == cs || q[1] == '\0' || q[2] != '?')
		return FALSE;
	if (g_ascii_toupper(q[1]) != 'B' && g_ascii_toupper(q[1]) != 'Q')
		return FALSE;
	text = q + 3;
	end = text + strcspn(text, "? \t\r\n");
	if (end[0] != '?' || end[1] != '=')
		return FALSE;
	word->start = p;
	word->end = end + 2;
	word->charset = g_strndup(cs, q - cs);
	/* RFC 2231 5 lets a language follow the charset: "=?utf-8*de?Q?...?=". */
	word->charset[strcspn(word->charset, "*")] = '\0';
	if (!charset_label_is_valid(word->charset)) {
		/* Read as text of no known charset; the label never reaches iconv. */
		g_free(word->charset);
		word->charset = g_strdup(UNKNOWN_CHARSET);
	}
	word->encoding = g_ascii_toupper(q[1]);
	word->text = text;
	word->text_len = end - text;
	return TRUE;
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
		} else if (c == '=' && i + 2 < word->text_len &&
			   g_ascii_isxdigit(word->text[i + 1]) &&
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
		const char *run_end;
		char *text, *b64;

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
			}
			g_free(next.charset);
			if (!same)
				break;
		}
		/* Decoded here and handed to GMime as UTF-8: GMime reads a word with the label's
		 * own charset (iso-8859-1 words holding windows-1252 quotes gave C1 controls in
		 * names, Microsoft's ISO-2022-JP gave "?"). */
		text = charset_to_utf8((const char *)bytes->data, bytes->len, first.charset, NULL);
		b64 = g_base64_encode((const guchar *)text, strlen(text));
		g_string_append_printf(out, "=?UTF-8?B?%s?=", b64);
		g_free(b64);
		g_free(text);
		g_byte_array_unref(bytes);
		g_free(first.charset);
		p = run_end;
	}
	return g_string_free(out, FALSE);
}

static gboolean only_blanks(const char *start, const char *end)
{
	for (const char *p = start; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return FALSE;
	return TRUE;
}

/* The bytes of a run of encoded words in one charset, as UTF-8, onto out; the run is emptied. */
static void flush_run(GString *out, GByteArray *run, char **charset)
{
	char *text;

	if (!*charset)
		return;
	text = charset_to_utf8((const char *)run->data, run->len, *charset, NULL);
	g_string_append(out, text);
	g_free(text);
	g_byte_array_set_size(run, 0);
	g_clear_pointer(charset, g_free);
}

/* RFC 2047 decoding of valid UTF-8 text, in one pass: blanks between two encoded words are
 * dropped (6.2), and the bytes of adjacent words in one charset are joined before they are
 * converted, so that a character split across two words stays whole. Words glued to other text
 * ("Re:=?utf-8?Q?...?=") are decoded as mail clients do. */
static char *decode_words(const char *value)
{
	GString *out = g_string_sized_new(strlen(value));
	GByteArray *run = g_byte_array_new();
	char *run_charset = NULL;  /* set while the last thing read was an encoded word */
	const char *plain = value; /* text read but not yet copied to out */
	const char *p = value;

	/* Only "=?" can open a word: most header text has none, and is copied once. */
	while ((p = strstr(p, "=?"))) {
		struct encoded_word word;

		if (!encoded_word_scan(p, &word)) {
			p++;
			continue;
		}
		if (p > plain && !(run_charset && only_blanks(plain, p))) {
			flush_run(out, run, &run_charset);
			g_string_append_len(out, plain, p - plain);
		}
		if (run_charset && g_ascii_strcasecmp(run_charset, word.charset) != 0)
			flush_run(out, run, &run_charset);
		if (!run_charset)
			run_charset = g_strdup(word.charset);
		encoded_word_append_bytes(&word, run);
		g_free(word.charset);
		p = plain = word.end;
	}
	flush_run(out, run, &run_charset);
	g_string_append(out, plain);
	g_byte_array_unref(run);
	return g_string_free(out, FALSE);
}

char *header_decode_text(const char *raw)
{
	return header_decode_text_in(raw, NULL);
}

char *header_decode_text_in(const char *raw, const char *const *charsets)
{
	char *text = g_strstrip(g_mime_utils_header_unfold(raw ? raw : ""));
	char *decoded;

	/* Raw 8-bit text is made UTF-8 first: in the first charset the message declares that reads
	 * it whole, else as UTF-8 or windows-1252. Encoded words are ASCII and come through
	 * unchanged. */
	if (!g_utf8_validate(text, -1, NULL)) {
		char *valid = NULL;
		for (const char *const *cs = charsets; cs && *cs && !valid; cs++)
			valid = charset_to_utf8_exact(text, strlen(text), *cs);
		if (!valid)
			valid = charset_to_utf8(text, strlen(text), NULL, NULL);
		g_free(text);
		text = valid;
	}
	decoded = decode_words(text);
	g_free(text);
	/* An encoded word can hold any byte; a header line holds no line end or control. */
	for (char *nl = strchr(decoded, '\n'); nl; nl = strchr(nl + 1, '\n'))
		*nl = ' ';
	return lines_drop_controls(decoded);
}

void header_decode_names(InternetAddressList *list)
{
	int n = list ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		const char *name = internet_address_get_name(ia);

		/* GMime can leave bytes it could not convert in a name. */
		if (name && (strstr(name, "=?") || !g_utf8_validate(name, -1, NULL))) {
			char *valid = g_utf8_make_valid(name, -1);
			char *decoded = decode_words(valid);
			internet_address_set_name(ia, decoded);
			g_free(decoded);
			g_free(valid);
		}
		if (INTERNET_ADDRESS_IS_GROUP(ia))
			header_decode_names(
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)));
	}
}

InternetAddressList *header_parse_addresses(GMimeParserOptions *options, const char *raw)
{
	char *unfolded = g_mime_utils_header_unfold(raw ? raw : "");
	char *merged = header_merge_encoded_words(g_strstrip(unfolded));
	InternetAddressList *list = internet_address_list_parse(options, merged);

	header_decode_names(list);
	g_free(merged);
	g_free(unfolded);
	return list;
}
