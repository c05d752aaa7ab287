#include "parsers/uuencode.h"

#include <gmime/gmime.h>
#include <string.h>

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
	n = g_mime_encoding_uudecode_step((const guchar *)block->str, block->len, buf, &state, &save);
	g_string_free(block, TRUE);
	return g_bytes_new_take(buf, n);
}

char *uuencode_extract(const char *text, GPtrArray *files)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_sized_new(strlen(text));

	for (char **l = lines; *l; l++) {
		char *name = begin_line_name(*l);
		char **end = NULL;

		if (name)
			for (char **e = l + 1; *e && !end; e++)
				if (strcmp(g_strchomp(*e), "end") == 0)
					end = e;
		if (name && end) {
			struct uu_file *f = g_new0(struct uu_file, 1);
			f->name = name;
			f->data = decode_block(l + 1, end);
			g_ptr_array_add(files, f);
			l = end;
			continue;
		}
		g_free(name);
		g_string_append(out, *l);
		if (l[1])
			g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}
