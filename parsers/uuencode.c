/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uuencoded blocks in plain text found and decoded in one pass (uuencode.h). */
#include "parsers/uuencode.h"

#include <gmime/gmime.h>
#include <string.h>

#include "parsers/lines.h"

void uu_file_free(struct uu_file *file)
{
	g_free(file->name);
	g_bytes_unref(file->data);
	g_free(file);
}

/* "begin 644 name": mode of three or four octal digits, then the file name. */
static char *begin_line_name(const char *line)
{
	const char *p;
	int digits = 0;

	if (!g_str_has_prefix(line, "begin "))
		return NULL;
	for (p = line + 6; *p >= '0' && *p <= '7'; p++)
		digits++;
	if (digits < 3 || digits > 4 || *p != ' ' || !p[1])
		return NULL;
	return g_strchomp(g_strdup(p + 1));
}

static GBytes *decode_block(char **first, char **end)
{
	GString *block = g_string_new(NULL);
	guchar *buf;
	int state = GMIME_UUDECODE_STATE_BEGIN;
	guint32 save = 0;
	gsize n;

	for (char **l = first; l < end; l++) {
		g_string_append(block, *l);
		g_string_append_c(block, '\n');
	}
	buf = g_malloc(block->len + 3);
	n = g_mime_encoding_uudecode_step((const guchar *)block->str, block->len, buf, &state,
					  &save);
	g_string_free(block, TRUE);
	return g_bytes_new_take(buf, n);
}

/* "end", maybe with trailing blanks. */
static gboolean is_end_line(const char *line)
{
	const char *p = line;

	if (!g_str_has_prefix(p, "end"))
		return FALSE;
	for (p += 3; *p; p++)
		if (!g_ascii_isspace(*p))
			return FALSE;
	return TRUE;
}

char *uuencode_extract(const char *text, GPtrArray *files)
{
	char **lines;
	guint n;

	/* Most text has no "begin" line: it comes back as it is, not cut into lines and joined. */
	if (!g_str_has_prefix(text, "begin ") && !strstr(text, "\nbegin "))
		return g_strdup(text);
	lines = lines_split(text);
	n = g_strv_length(lines);
	/* next_end[i]: the first "end" line at or after line i (n: none). Found in one pass from
	 * the back, so that many "begin" lines without an "end" do not each search the rest. */
	guint *next_end = g_new(guint, n + 1);
	GString *out = g_string_sized_new(strlen(text));

	next_end[n] = n;
	for (guint i = n; i > 0; i--)
		next_end[i - 1] = is_end_line(lines[i - 1]) ? i - 1 : next_end[i];
	for (guint i = 0; i < n; i++) {
		char *name = begin_line_name(lines[i]);
		guint end = i + 1 < n ? next_end[i + 1] : n;

		if (name && end < n) {
			struct uu_file *f = g_new0(struct uu_file, 1);
			f->name = name;
			f->data = decode_block(lines + i + 1, lines + end);
			g_ptr_array_add(files, f);
			i = end;
			continue;
		}
		g_free(name);
		g_string_append(out, lines[i]);
		if (i + 1 < n)
			g_string_append_c(out, '\n');
	}
	g_free(next_end);
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}
