/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where each source stands in the SQLite journal: archive checkpoints, IMAP mailbox marks, and
 * the failures and seen flags of single messages. */
#include "state/journal_sqlite.h"

#include <string.h>

gboolean sqlite_journal_checkpoint_get(struct journal *journal, const char *path,
				       const char *fingerprint, guint64 *handled, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(j,
					    "SELECT handled FROM checkpoints WHERE archive = ? AND "
					    "fingerprint = ?",
					    "reading a checkpoint", error);
	int rc;

	*handled = 0;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*handled = (guint64)sqlite3_column_int64(st, 0);
	sqlite_statement_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? TRUE
		   : sqlite_fail(j, rc, "reading a checkpoint", error);
}

gboolean sqlite_journal_checkpoint_set(struct journal *journal, const char *path,
				       const char *fingerprint, guint64 handled, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "INSERT INTO checkpoints (archive, fingerprint, handled, updated) "
			     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(archive) DO UPDATE SET "
			     "fingerprint = ?2, handled = ?3, updated = ?4",
			     "writing a checkpoint", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)handled);
	sqlite3_bind_int64(st, 4, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE : sqlite_fail(j, rc, "writing a checkpoint", error);
}

gboolean sqlite_journal_mailbox_mark_get(struct journal *journal, const char *mailbox,
					 struct journal_mailbox_mark *out, gboolean *found,
					 GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "SELECT uidvalidity, last_uid, unseen_below FROM mailbox_marks "
			     "WHERE mailbox = ?",
			     "reading a mailbox mark", error);
	int rc;

	*found = FALSE;
	memset(out, 0, sizeof(*out));
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = TRUE;
		out->uidvalidity = (guint32)sqlite3_column_int64(st, 0);
		out->last_uid = (guint32)sqlite3_column_int64(st, 1);
		out->unseen_below = (guint32)sqlite3_column_int64(st, 2);
	}
	sqlite_statement_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? TRUE
		   : sqlite_fail(j, rc, "reading a mailbox mark", error);
}

gboolean sqlite_journal_mailbox_mark_set(struct journal *journal, const char *mailbox,
					 const struct journal_mailbox_mark *mark, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(
	    j,
	    "INSERT INTO mailbox_marks (mailbox, uidvalidity, last_uid, unseen_below, updated) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = ?2, "
	    "last_uid = ?3, unseen_below = ?4, updated = ?5",
	    "writing a mailbox mark", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, mark->uidvalidity);
	sqlite3_bind_int64(st, 3, mark->last_uid);
	sqlite3_bind_int64(st, 4, mark->unseen_below);
	sqlite3_bind_int64(st, 5, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE : sqlite_fail(j, rc, "writing a mailbox mark", error);
}

gboolean sqlite_journal_item_get(struct journal *journal, const char *mailbox, const char *item,
				 int *failures, char **reason, gboolean *seen, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(
	    j, "SELECT failures, reason, seen FROM mailbox_items WHERE mailbox = ? AND item = ?",
	    "reading a mailbox item", error);
	int rc;

	*failures = 0;
	*reason = NULL;
	*seen = FALSE;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*failures = sqlite3_column_int(st, 0);
		*reason = sqlite_column_dup(st, 1);
		*seen = sqlite3_column_int(st, 2) != 0;
	}
	sqlite_statement_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? TRUE
		   : sqlite_fail(j, rc, "reading a mailbox item", error);
}

gboolean sqlite_journal_item_count_failure(struct journal *journal, const char *mailbox,
					   const char *item, int delta, const char *reason,
					   GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(
	    j,
	    "INSERT INTO mailbox_items (mailbox, item, failures, reason, updated) "
	    "VALUES (?1, ?2, max(?3, 0), ?4, ?5) ON CONFLICT(mailbox, item) DO UPDATE SET "
	    "failures = max(failures + ?3, 0), reason = coalesce(?4, reason), updated = ?5",
	    "counting a mailbox item's failure", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, delta);
	if (reason)
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE
				 : sqlite_fail(j, rc, "counting a mailbox item's failure", error);
}

gboolean sqlite_journal_item_finish(struct journal *journal, const char *mailbox, const char *item,
				    gboolean keep_seen, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(
	    j,
	    keep_seen ? "INSERT INTO mailbox_items (mailbox, item, seen, updated) "
			"VALUES (?1, ?2, 1, ?3) ON CONFLICT(mailbox, item) DO UPDATE SET "
			"seen = 1, failures = 0, updated = ?3"
		      : "DELETE FROM mailbox_items WHERE mailbox = ?1 AND item = ?2",
	    "finishing a mailbox item", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	if (keep_seen)
		sqlite3_bind_int64(st, 3, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE : sqlite_fail(j, rc, "finishing a mailbox item", error);
}

gboolean sqlite_journal_items_seen(struct journal *journal, const char *mailbox, GHashTable *seen,
				   GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st =
	    sqlite_statement(j, "SELECT item FROM mailbox_items WHERE mailbox = ? AND seen = 1",
			     "reading a mailbox's seen items", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_hash_table_add(seen, sqlite_column_dup(st, 0));
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE
				 : sqlite_fail(j, rc, "reading a mailbox's seen items", error);
}

gboolean sqlite_journal_items_forget_absent(struct journal *journal, const char *mailbox,
					    GHashTable *present, GError **error)
{
	GHashTable *known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTableIter it;
	gpointer item;
	gboolean ok = TRUE;

	if (!sqlite_journal_items_seen(journal, mailbox, known, error)) {
		g_hash_table_unref(known);
		return FALSE;
	}
	g_hash_table_iter_init(&it, known);
	while (ok && g_hash_table_iter_next(&it, &item, NULL))
		if (!g_hash_table_contains(present, item))
			ok = sqlite_journal_item_finish(journal, mailbox, item, FALSE, error);
	g_hash_table_unref(known);
	return ok;
}

