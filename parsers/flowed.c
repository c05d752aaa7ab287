/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* format=flowed (RFC 3676) paragraphs joined in one pass over the lines. */
#include "parsers/flowed.h"

#include <string.h>

#include "parsers/lines.h"

char *flowed_decode(const char *text, gboolean delsp)
{
	char **lines = lines_split(text);
	GString *out = g_string_sized_new(strlen(text));
	gboolean in_paragraph = FALSE; /* the previous line was soft-broken */
	int paragraph_depth = 0;

	for (char **l = lines; *l; l++) {
		const char *line = *l;
		int depth = 0;
		gsize len;
		gboolean soft;

		while (line[depth] == '>')
			depth++;
		line += depth;
		if (*line == ' ')
			line++; /* space stuffing, or the space after the quote marks */
		len = strlen(line);
		/* The signature separator "-- " is never a soft break (RFC 3676 4.3). */
		soft = len > 0 && line[len - 1] == ' ' && strcmp(line, "-- ") != 0;

		if (in_paragraph && depth != paragraph_depth)
			/* a flowed line must not join another depth */
			g_string_append_c(out, '\n');
		if (!in_paragraph || depth != paragraph_depth) {
			if (out->len && out->str[out->len - 1] != '\n')
				g_string_append_c(out, '\n');
			for (int i = 0; i < depth; i++)
				g_string_append_c(out, '>');
			if (depth)
				g_string_append_c(out, ' ');
		}
		g_string_append_len(out, line, soft && delsp ? len - 1 : len);
		if (!soft && l[1])
			g_string_append_c(out, '\n');
		in_paragraph = soft;
		paragraph_depth = depth;
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}
