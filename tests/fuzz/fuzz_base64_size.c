/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the base64 counter (parsers/base64_size.c), given the input in two pieces
 * (split where its first byte says, as a stream hands content over in blocks), must count as a
 * plain byte-at-a-time loop does; whenever it gives a size, GMime's decoder must give that many
 * bytes, in one piece and in the two; and the input encoded as a mailer encodes it (lines of up
 * to 76, CRLF) must be counted, to its length. */
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/base64_size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes GMime decodes content to, given in pieces at split. */
static gsize decoded_length(const guchar *content, gsize len, gsize split)
{
	guchar *out = g_malloc(len + 3);
	int state = 0;
	guint32 save = 0;
	gsize n = g_mime_encoding_base64_decode_step(content, split, out, &state, &save);

	n += g_mime_encoding_base64_decode_step(content + split, len - split, out + n, &state,
						&save);
	g_free(out);
	return n;
}

/* The count made the plain way, a byte at a time: the counter's must be the same, field for
 * field, whatever the input (it takes sixteen bytes at a time). */
static void count_plainly(struct base64_size *count, const guchar *data, gsize len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (gsize i = 0; i < len; i++) {
		if (data[i] == '=')
			count->padding++;
		else if (data[i] && strchr(alphabet, data[i]) && !count->padding)
			count->chars++;
		else if (!data[i] || !strchr(" \t\r\n", data[i]))
			count->irregular = TRUE;
	}
}

/* data encoded in lines of width (1 to 76) characters. */
static void check_encoded(const guchar *data, gsize len, gsize width)
{
	char *encoded = g_base64_encode(data, len);
	gsize encoded_len = strlen(encoded);
	GString *lines = g_string_new(NULL);
	struct base64_size count = {0};
	guint64 counted;

	for (gsize i = 0; i < encoded_len; i += width)
		g_string_append_printf(lines, "%.*s\r\n", (int)width, encoded + i);
	base64_size_add(&count, (const guchar *)lines->str, lines->len);
	if (!base64_size_get(&count, &counted) || counted != len)
		abort();
	g_string_free(lines, TRUE);
	g_free(encoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct base64_size count = {0}, plain = {0};
	const guchar *content = data + 1;
	gsize len, split;
	guint64 counted;

	if (size == 0)
		return 0;
	len = size - 1;
	split = len ? data[0] % (len + 1) : 0;
	check_encoded(content, len, 1 + data[0] % 76);
	base64_size_add(&count, content, split);
	base64_size_add(&count, content + split, len - split);
	count_plainly(&plain, content, len);
	if (count.chars != plain.chars || count.padding != plain.padding ||
	    count.irregular != plain.irregular)
		abort();
	if (!base64_size_get(&count, &counted))
		return 0;
	if (counted != decoded_length(content, len, len) ||
	    counted != decoded_length(content, len, split))
		abort();
	return 0;
}
