/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Maildir as an archive: the messages in cur/ and new/, and those of its Maildir++ subfolders
 * (".Sent", ".Archive"), each a file of its own, found again when a mail client renames one
 * while the archive is read. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

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

/* A message file is named by its unique name, and in cur/ by ":2," and its flags after it (the
 * Maildir convention): a mail client moves a message from new/ to cur/ once it is seen, and
 * renames it there when its flags change. The message's key: its Maildir and unique name. */
static char *message_key(const char *path)
{
	char *dir = g_path_get_dirname(path);
	char *maildir = g_path_get_dirname(dir);
	char *name = g_path_get_basename(path);
	char *key;

	name[strcspn(name, ":")] = '\0';
	key = g_build_filename(maildir, name, NULL);
	g_free(name);
	g_free(maildir);
	g_free(dir);
	return key;
}

/* Where each message of maildir is now, into notes (key -> path). */
static void note_messages(GHashTable *notes, const char *maildir)
{
	static const char *const subdirs[] = {"cur", "new"};

	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *sub = g_build_filename(maildir, subdirs[i], NULL);
		GPtrArray *files = archive_sorted_entries(sub, FALSE, NULL);
		for (guint j = 0; files && j < files->len; j++) {
			const char *file = g_ptr_array_index(files, j);
			g_hash_table_replace(notes, message_key(file), g_strdup(file));
		}
		if (files)
			g_ptr_array_unref(files);
		g_free(sub);
	}
}

/* The folder is listed again only when the notes do not know where the message went: a mail
 * client that marks all mail seen moves every file, and one listing finds them all. */
static char *maildir_find_moved(GHashTable **notes, const char *path)
{
	char *key = message_key(path);
	const char *now;

	if (!*notes)
		*notes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	now = g_hash_table_lookup(*notes, key);
	if (!now || g_access(now, F_OK) != 0) {
		char *maildir = g_path_get_dirname(key);
		note_messages(*notes, maildir);
		g_free(maildir);
		now = g_hash_table_lookup(*notes, key);
	}
	g_free(key);
	return now && strcmp(now, path) != 0 ? g_strdup(now) : NULL;
}

const struct archive_kind maildir_kind = {
    .name = "maildir",
    .detect = maildir_detect,
    .collect = maildir_collect,
    .find_moved = maildir_find_moved,
};
