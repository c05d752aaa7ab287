/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The compact JSON writer (json_write.h). Strings are UTF-8, so no multi-byte sequence needs an
 * escape: only '"', '\\' and the controls below 0x20, which are looked for sixteen bytes at a
 * time, the rest copied in runs. The escapes are jansson's, so the output is byte for byte
 * json_dumps()'s (fuzz_json_write checks it against jansson). */
#include "desk/json_write.h"

#include <stdlib.h>
#include <string.h>

/* The first byte at or after p that needs an escape ('"', '\\', a control), or end. Sixteen
 * bytes at a time, in the vectors GCC and clang build for any target (as base64_size.c): mail
 * text has few of them, and a byte at a time ran at about 1 GB/s. */
static const char *next_to_escape(const char *p, const char *end)
{
	enum { LANES = 16 };

	for (; end - p >= LANES; p += LANES) {
		guint8 __attribute__((vector_size(LANES))) b;
		gint8 __attribute__((vector_size(LANES))) hit;
		guint64 any[2];

		memcpy(&b, p, LANES);
		hit = (b < 0x20) | (b == '"') | (b == '\\');
		memcpy(any, &hit, sizeof(any));
		if (any[0] | any[1])
			break;
	}
	for (; p < end; p++)
		if ((guchar)*p < 0x20 || *p == '"' || *p == '\\')
			break;
	return p;
}

static void append_string(GString *out, const char *s, gsize len)
{
	static const char short_escape[0x20] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n',
						['\r'] = 'r', ['\t'] = 't'};
	const char *end = s + len;
	const char *run = s;

	g_string_append_c(out, '"');
	for (const char *p = next_to_escape(s, end); p < end; p = next_to_escape(run, end)) {
		guchar c = (guchar)*p;

		g_string_append_len(out, run, p - run);
		run = p + 1;
		if (c >= 0x20) {
			g_string_append_c(out, '\\');
			g_string_append_c(out, c);
		} else if (short_escape[c]) {
			g_string_append_c(out, '\\');
			g_string_append_c(out, short_escape[c]);
		} else {
			g_string_append_printf(out, "\\u%04X", c);
		}
	}
	g_string_append_len(out, run, end - run);
	g_string_append_c(out, '"');
}

void json_write_compact(GString *out, const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		g_string_append_c(out, '{');
		/* The keys in the order they were set, as json_dumps() writes them. */
		for (void *it = json_object_iter((json_t *)value), *first = it; it;
		     it = json_object_iter_next((json_t *)value, it)) {
			if (it != first)
				g_string_append_c(out, ',');
			append_string(out, json_object_iter_key(it), json_object_iter_key_len(it));
			g_string_append_c(out, ':');
			json_write_compact(out, json_object_iter_value(it));
		}
		g_string_append_c(out, '}');
		break;
	case JSON_ARRAY:
		g_string_append_c(out, '[');
		for (size_t i = 0; i < json_array_size(value); i++) {
			if (i)
				g_string_append_c(out, ',');
			json_write_compact(out, json_array_get(value, i));
		}
		g_string_append_c(out, ']');
		break;
	case JSON_STRING:
		append_string(out, json_string_value(value), json_string_length(value));
		break;
	case JSON_INTEGER:
		g_string_append_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
		break;
	default: {
		/* Reals, true, false and null are short: jansson writes them (reals its way). */
		char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text)
			g_string_append(out, text);
		free(text);
	}
	}
}
