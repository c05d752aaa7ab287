/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Maildir as an archive: the messages in cur/ and new/, and those of its Maildir++ subfolders
 * (".Sent", ".Archive"), each a file of its own. */
#include "ingest/archive_kind.h"

static gboolean maildir_detect(const char *dir, gboolean searched)
{
	char *cur = g_build_filename(dir, "cur", NULL);
	char *new = g_build_filename(dir, "new", NULL);
	gboolean yes = g_file_test(cur, G_FILE_TEST_IS_DIR) || g_file_test(new, G_FILE_TEST_IS_DIR);

	(void)searched;
	g_free(cur);
	g_free(new);
	return yes;
}

static gboolean add_files_of(struct archive *a, const char *dir, GError **error)
{
	GPtrArray *entries = archive_sorted_entries(dir, FALSE, error);

	if (!entries)
		return FALSE;
	for (guint i = 0; i < entries->len; i++)
		archive_add_file(a, g_ptr_array_index(entries, i));
	g_ptr_array_unref(entries);
	return TRUE;
}

static gboolean maildir_collect(struct archive *a, const char *path, GError **error)
{
	static const char *const subdirs[] = {"cur", "new"};
	GPtrArray *entries;
	gboolean ok = TRUE;

	for (gsize i = 0; ok && i < G_N_ELEMENTS(subdirs); i++) {
		char *sub = g_build_filename(path, subdirs[i], NULL);
		if (g_file_test(sub, G_FILE_TEST_IS_DIR))
			ok = add_files_of(a, sub, error);
		g_free(sub);
	}
	entries = ok ? archive_sorted_entries(path, TRUE, error) : NULL;
	if (!entries)
		return FALSE;
	for (guint i = 0; ok && i < entries->len; i++) {
		const char *sub = g_ptr_array_index(entries, i);
		char *base = g_path_get_basename(sub);
		if (base[0] == '.' && maildir_detect(sub, TRUE))
			ok = maildir_collect(a, sub, error);
		g_free(base);
	}
	g_ptr_array_unref(entries);
	return ok;
}

const struct archive_kind maildir_kind = {
    .name = "maildir",
    .detect = maildir_detect,
    .collect = maildir_collect,
};
