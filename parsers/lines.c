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

char *lines_drop_controls(char *text)
{
	char *w = text;

	for (const char *r = text; *r; r++)
		if ((guchar)*r >= 0x20 || *r == '\t' || *r == '\n')
			*w++ = *r;
	*w = '\0';
	return text;
}
