/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leases in the SQLite journal: which owner works on a named thing (a mailbox) until when. The
 * file has no clock of its own, so expiry is this host's clock; every process that shares the
 * file is on this host. */
#include "state/journal_sqlite.h"

#include <string.h>

/* Milliseconds, so that a lease of a few seconds does not lose up to one to rounding. */
static gint64 now_ms(void)
{
	return g_get_real_time() / 1000;
}

/* The lease's row as it stands: *owner NULL when there is none. */
static gboolean read_lease(struct sqlite_journal *j, const char *name, char **owner,
			   gint64 *expires_ms, GError **error)
{
	sqlite3_stmt *st = sqlite_statement(
	    j, "SELECT owner, expires_ms FROM leases WHERE name = ?", "reading a lease", error);
	int rc;

	*owner = NULL;
	*expires_ms = 0;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*owner = sqlite_column_dup(st, 0);
		*expires_ms = sqlite3_column_int64(st, 1);
	}
	sqlite_statement_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TRUE
						     : sqlite_fail(j, rc, "reading a lease", error);
}

static gboolean write_lease(struct sqlite_journal *j, const char *name, const char *owner,
			    gint64 expires_ms, GError **error)
{
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "INSERT INTO leases (name, owner, expires_ms) VALUES (?1, ?2, ?3) "
			     "ON CONFLICT(name) DO UPDATE SET owner = ?2, expires_ms = ?3",
			     "taking a lease", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires_ms);
	rc = sqlite3_step(st);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE : sqlite_fail(j, rc, "taking a lease", error);
}

/* The row is read and written under the file's write lock (BEGIN IMMEDIATE), so two processes
 * racing for a lease take turns and the second sees the first's owner. */
gboolean sqlite_journal_lease_take(struct journal *journal, const char *name, const char *owner,
				   guint seconds, gboolean *held, char **previous, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	gint64 now = now_ms();
	char *had = NULL;
	gint64 expires_ms;
	int rc;

	*held = FALSE;
	if (previous)
		*previous = NULL;
	rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sqlite_fail(j, rc, "taking a lease", error);
	if (!read_lease(j, name, &had, &expires_ms, error))
		goto fail;
	*held = !had || strcmp(had, owner) == 0 || expires_ms <= now;
	if (*held && !write_lease(j, name, owner, now + (gint64)seconds * 1000, error))
		goto fail;
	rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite_fail(j, rc, "taking a lease", error);
		goto fail;
	}
	if (previous)
		*previous = had;
	else
		g_free(had);
	return TRUE;
fail:
	sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	*held = FALSE;
	g_free(had);
	return FALSE;
}

gboolean sqlite_journal_lease_release(struct journal *journal, const char *name,
				      const char *owner, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(j, "DELETE FROM leases WHERE name = ? AND owner = ?",
					    "releasing a lease", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE : sqlite_fail(j, rc, "releasing a lease", error);
}
