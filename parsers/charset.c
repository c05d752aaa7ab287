/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Declared charsets to valid UTF-8 through iconv, labels checked before iconv sees them. */
#include "parsers/charset.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD"

gboolean charset_label_is_valid(const char *label)
{
	gsize n =
	    strspn(label, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");

	return n > 0 && n <= 64 && label[n] == '\0';
}

static gboolean is_utf8_label(const char *charset)
{
	return g_ascii_strcasecmp(charset, "utf-8") == 0 ||
	       g_ascii_strcasecmp(charset, "utf8") == 0;
}

static gboolean is_ascii_label(const char *charset)
{
	return g_ascii_strcasecmp(charset, "us-ascii") == 0 ||
	       g_ascii_strcasecmp(charset, "ascii") == 0 ||
	       g_ascii_strcasecmp(charset, "ansi_x3.4-1968") == 0;
}

/* iconv from charset to UTF-8, replacing each byte it rejects with U+FFFD. FALSE when iconv does
 * not know the charset at all. */
static gboolean convert_replacing(const char *data, gsize len, const char *charset, GString *out,
				  guint *replaced)
{
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);
	char buf[4096];
	char *in = (char *)data;
	size_t inleft = len;

	if (cd == (iconv_t)-1)
		return FALSE;
	*replaced = 0;
	while (inleft > 0) {
		char *outp = buf;
		size_t outleft = sizeof(buf);
		size_t rc = iconv(cd, &in, &inleft, &outp, &outleft);

		g_string_append_len(out, buf, outp - buf);
		if (rc != (size_t)-1)
			continue;
		if (errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL (truncated sequence at the end): replace one byte, go on. */
		g_string_append(out, REPLACEMENT);
		(*replaced)++;
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* Flush shift states (ISO-2022-JP ends in ASCII mode). */
	{
		char *outp = buf;
		size_t outleft = sizeof(buf);
		iconv(cd, NULL, NULL, &outp, &outleft);
		g_string_append_len(out, buf, outp - buf);
	}
	g_mime_iconv_close(cd);
	return TRUE;
}

/* Mailers label text with a charset its bytes outgrew: windows-1252 as iso-8859-1 (the C1 range
 * is never text in Latin-1), GBK or GB18030 as GB2312, Microsoft's CP932 as Shift_JIS, HKSCS as
 * Big5, CP949 as EUC-KR. Each superset decodes the labelled charset unchanged, so decoding with it
 * loses nothing and saves the characters the label does not cover. */
const char *charset_superset(const char *charset)
{
	static const struct {
		const char *label, *superset;
	} map[] = {
	    {"iso-8859-1", "windows-1252"}, {"latin1", "windows-1252"},
	    {"iso_8859-1", "windows-1252"}, {"gb2312", "GB18030"},
	    {"gbk", "GB18030"},		    {"x-gbk", "GB18030"},
	    {"euc-cn", "GB18030"},	    {"cp936", "GB18030"},
	    {"big5", "BIG5-HKSCS"},	    {"shift_jis", "CP932"},
	    {"shift-jis", "CP932"},	    {"sjis", "CP932"},
	    {"x-sjis", "CP932"},	    {"ms_kanji", "CP932"},
	    {"euc-kr", "CP949"},	    {"ks_c_5601-1987", "CP949"},
	    {"iso-8859-9", "windows-1254"}, {"tis-620", "CP874"},
	    {"iso-8859-11", "CP874"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(map); i++)
		if (g_ascii_strcasecmp(charset, map[i].label) == 0)
			return map[i].superset;
	return charset;
}

static gboolean is_iso2022jp_label(const char *charset)
{
	return g_ascii_strcasecmp(charset, "iso-2022-jp") == 0 ||
	       g_ascii_strcasecmp(charset, "csISO2022JP") == 0;
}

/* ISO-2022-JP as Microsoft writes it (CP50220/50221): NEC and IBM characters (①, ㈱, 髙) as JIS
 * X 0208 codes under ESC $ B, and half-width katakana under ESC ( I, which glibc's ISO-2022-JP,
 * -2 and -3 reject (they came out as "??"). Each two-byte code is rewritten as its Shift_JIS
 * bytes and the whole read as CP932, which holds those characters; plain ISO-2022-JP reads the
 * same. One pass; an escape sequence it does not know is kept as bytes. */
static void iso2022jp_to_cp932(const char *data, gsize len, GString *out)
{
	enum { ROMAN, KANJI, KATAKANA } mode = ROMAN;

	for (gsize i = 0; i < len; i++) {
		guchar c = data[i];
		if (c == 0x1B && i + 2 < len) {
			const char *seq = data + i + 1;
			if (seq[0] == '$' && (seq[1] == 'B' || seq[1] == '@'))
				mode = KANJI;
			else if (seq[0] == '(' && (seq[1] == 'B' || seq[1] == 'J'))
				mode = ROMAN;
			else if (seq[0] == '(' && seq[1] == 'I')
				mode = KATAKANA;
			else {
				g_string_append_c(out, c);
				continue;
			}
			i += 2;
		} else if (c == '\n' || c == '\r') {
			g_string_append_c(out, c);
		} else if (mode == KANJI && c >= 0x21 && c <= 0x7E && i + 1 < len &&
			   (guchar)data[i + 1] >= 0x21 && (guchar)data[i + 1] <= 0x7E) {
			guchar j2 = data[++i];
			g_string_append_c(out, ((c + 1) >> 1) + (c <= 0x5E ? 0x70 : 0xB0));
			g_string_append_c(out, j2 + ((c & 1) ? (j2 < 0x60 ? 0x1F : 0x20) : 0x7E));
		} else if (mode == KATAKANA && c >= 0x21 && c <= 0x5F) {
			g_string_append_c(out, c + 0x80);
		} else {
			g_string_append_c(out, c);
		}
	}
}

static gboolean is_wide_label(const char *charset)
{
	return g_ascii_strncasecmp(charset, "utf-16", 6) == 0 ||
	       g_ascii_strncasecmp(charset, "utf-32", 6) == 0 ||
	       g_ascii_strncasecmp(charset, "ucs", 3) == 0;
}

static gboolean has_8bit(const char *data, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if ((guchar)data[i] >= 0x80)
			return TRUE;
	return FALSE;
}

static char *strip_nuls(GString *s)
{
	/* A NUL inside text would cut it short for every C consumer downstream. */
	const char *nul = memchr(s->str, '\0', s->len);
	gsize w = nul ? (gsize)(nul - s->str) : s->len;

	for (gsize r = w; r < s->len; r++)
		if (s->str[r] != '\0')
			s->str[w++] = s->str[r];
	g_string_truncate(s, w);
	return g_string_free(s, FALSE);
}

/* Text with no usable label: UTF-8 if it is valid, else the usual Western mail charset, byte by
 * byte (the five bytes windows-1252 leaves undefined become U+FFFD, the rest stays readable). */
static char *guess_to_utf8(const char *data, gsize len)
{
	GString *out = g_string_sized_new(len + 16);
	guint replaced = 0;

	if (g_utf8_validate_len(data, len, NULL)) {
		g_string_append_len(out, data, len);
		return strip_nuls(out);
	}
	convert_replacing(data, len, "windows-1252", out, &replaced);
	return strip_nuls(out);
}

char *charset_to_utf8_exact(const char *data, gsize len, const char *charset)
{
	GString *out = g_string_sized_new(len + 16);
	guint replaced = 0;

	if (!charset_label_is_valid(charset) ||
	    !convert_replacing(data, len, charset_superset(charset), out, &replaced) ||
	    replaced > 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return strip_nuls(out);
}

char *charset_to_utf8(const char *data, gsize len, const char *charset, gboolean *lossy)
{
	GString *out;
	guint replaced = 0;

	if (lossy)
		*lossy = FALSE;
	if (!charset || !charset_label_is_valid(charset) || is_ascii_label(charset))
		return guess_to_utf8(data, len);
	if (is_utf8_label(charset)) {
		/* NULs are stripped first: g_utf8_make_valid() would stop at one. */
		GString *copy = g_string_new_len(data, len);
		char *clean = strip_nuls(copy);
		char *valid;

		if (g_utf8_validate(clean, -1, NULL))
			return clean;
		valid = g_utf8_make_valid(clean, -1);
		g_free(clean);
		if (lossy)
			*lossy = TRUE;
		return valid;
	}
	if (is_iso2022jp_label(charset)) {
		GString *sjis = g_string_sized_new(len);
		iso2022jp_to_cp932(data, len, sjis);
		out = g_string_sized_new(len * 2 + 16);
		convert_replacing(sjis->str, sjis->len, "CP932", out, &replaced);
		g_string_free(sjis, TRUE);
		if (lossy)
			*lossy = replaced > 0;
		return strip_nuls(out);
	}
	charset = charset_superset(charset);
	/* Their lower half is ASCII: text without 8-bit bytes is already UTF-8 (most mail labelled
	 * Latin-1 or windows-1252 is), and iconv would only copy it. */
	if ((g_ascii_strncasecmp(charset, "windows-125", 11) == 0 ||
	     g_ascii_strncasecmp(charset, "iso-8859-", 9) == 0) &&
	    !has_8bit(data, len))
		return strip_nuls(g_string_new_len(data, len));

	/* 8-bit text in a single-byte charset almost never forms valid multi-byte UTF-8 by chance;
	 * when it does, the label is wrong (a common mailer bug). */
	if (has_8bit(data, len) && g_utf8_validate_len(data, len, NULL) &&
	    !is_wide_label(charset)) {
		out = g_string_new_len(data, len);
		return strip_nuls(out);
	}
	out = g_string_sized_new(len + 16);
	if (!convert_replacing(data, len, charset, out, &replaced)) {
		g_string_free(out, TRUE);
		return guess_to_utf8(data, len);
	}
	if (replaced > 0 && g_utf8_validate_len(data, len, NULL)) {
		/* Declared wrongly but valid UTF-8: the sender's mailer lied about the label. */
		g_string_truncate(out, 0);
		g_string_append_len(out, data, len);
		replaced = 0;
	}
	if (lossy)
		*lossy = replaced > 0;
	return strip_nuls(out);
}
