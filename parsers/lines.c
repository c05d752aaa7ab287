/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail text cut into lines and cleared of control characters (lines.h). */
#include "parsers/lines.h"

#include <string.h>

char **lines_split(const char *text)
{
	GPtrArray *lines = g_ptr_array_new();
	gsize left = strlen(text);
	const char *p = text;
	const char *nl;

	while ((nl = memchr(p, '\n', left))) {
		g_ptr_array_add(lines, g_strndup(p, nl - p));
		left -= nl + 1 - p;
		p = nl + 1;
	}
	g_ptr_array_add(lines, g_strndup(p, left));
	g_ptr_array_add(lines, NULL);
	return (char **)g_ptr_array_free(lines, FALSE);
}

static gboolean is_dropped(char c)
{
	return (guchar)c < 0x20 && c != '\t' && c != '\n';
}

/* The first control other than tab and line end among the len bytes at p, else NULL. Sixteen
 * bytes at a time (as desk/json_write.c): most text has none, and is then left as it is. */
static char *first_dropped(char *p, gsize len)
{
	enum { LANES = 16 };
	char *end = p + len;

	for (; end - p >= LANES; p += LANES) {
		guint8 __attribute__((vector_size(LANES))) b;
		gint8 __attribute__((vector_size(LANES))) hit;
		guint64 any[2];

		memcpy(&b, p, LANES);
		hit = (b < 0x20) & (b != '\t') & (b != '\n');
		memcpy(any, &hit, sizeof(any));
		if (any[0] | any[1])
			break;
	}
	for (; p < end; p++)
		if (is_dropped(*p))
			return p;
	return NULL;
}

char *lines_drop_controls(char *text)
{
	char *w = first_dropped(text, strlen(text));

	if (!w)
		return text;
	for (const char *r = w; *r; r++)
		if (!is_dropped(*r))
			*w++ = *r;
	*w = '\0';
	return text;
}
