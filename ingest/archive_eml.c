/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A file holding one message: an .eml file, a Maildir's message, possibly gzipped. In a folder
 * being searched only a name ending in .eml or .eml.gz says it is mail; a file named by the user
 * that is of no other kind is read as one message. */
#include "ingest/archive_kind.h"

static gboolean eml_detect(const char *path, gboolean searched)
{
	char *lower;
	gboolean eml;

	if (!searched)
		return TRUE;
	lower = g_ascii_strdown(path, -1);
	eml = g_str_has_suffix(lower, ".eml") || g_str_has_suffix(lower, ".eml.gz");
	g_free(lower);
	return eml;
}

/* Its date is read from the headers at its start. */
static gboolean eml_index(struct archive *a, guint file, const char *path, gint64 *last,
			  GError **error)
{
	FILE *f = archive_open_uncompressed(path);
	char head[64 * 1024];
	size_t n;

	if (!f)
		return archive_io_error(error, "cannot open", path);
	n = fread(head, 1, sizeof(head), f);
	fclose(f);
	archive_index_message(a, file, -1, 0, archive_header_date(head, n), last);
	return TRUE;
}

const struct archive_kind eml_kind = {
    .name = "eml",
    .detect = eml_detect,
    .index = eml_index,
};
