/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What stats reads from the SQLite journal. */
#include "state/journal_sqlite.h"

static gboolean stats_counts(struct sqlite_journal *j, gint64 since, GPtrArray *out, GError **error)
{
	sqlite3_stmt *st = sqlite_statement(
	    j,
	    "SELECT coalesce(source, ''), "
	    "CASE WHEN state = 'delivered' THEN coalesce(action, state) ELSE state END AS outcome, "
	    "count(*) FROM mails WHERE updated >= ? "
	    "GROUP BY 1, 2 ORDER BY 1, 2",
	    "counting outcomes", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_count *c = g_new0(struct journal_count, 1);
		c->source = sqlite_column_dup(st, 0);
		c->outcome = sqlite_column_dup(st, 1);
		c->count = (guint)sqlite3_column_int(st, 2);
		g_ptr_array_add(out, c);
	}
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE : sqlite_fail(j, rc, "counting outcomes", error);
}

static gboolean stats_problems(struct sqlite_journal *j, gint64 since, guint max, GPtrArray *out,
			       GError **error)
{
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "SELECT key, source, subject, state, last_error, updated "
			     "FROM mails WHERE updated >= ? AND last_error IS NOT NULL AND "
			     "state IN ('failed', 'pending', 'quarantined') "
			     "ORDER BY updated DESC, rowid DESC LIMIT ?",
			     "listing errors", error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int(st, 2, (int)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_problem *p = g_new0(struct journal_problem, 1);
		p->key = sqlite_column_dup(st, 0);
		p->source = sqlite_column_dup(st, 1);
		p->subject = sqlite_column_dup(st, 2);
		p->state = journal_state_from_name((const char *)sqlite3_column_text(st, 3));
		p->error = sqlite_column_dup(st, 4);
		p->when = sqlite3_column_int64(st, 5);
		g_ptr_array_add(out, p);
	}
	sqlite_statement_done(st);
	return rc == SQLITE_DONE ? TRUE : sqlite_fail(j, rc, "listing errors", error);
}

gboolean sqlite_journal_stats(struct journal *journal, gint64 since, guint max_problems,
			      GPtrArray **counts, GPtrArray **problems, guint *waiting,
			      GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st;
	int rc;

	*counts = g_ptr_array_new_with_free_func((GDestroyNotify)journal_count_free);
	*problems = g_ptr_array_new_with_free_func((GDestroyNotify)journal_problem_free);
	*waiting = 0;
	if (!stats_counts(j, since, *counts, error) ||
	    !stats_problems(j, since, max_problems, *problems, error))
		return FALSE;
	st = sqlite_statement(j, "SELECT count(*) FROM mails WHERE state IN ('failed', 'pending')",
			      "counting waiting mail", error);
	if (!st)
		return FALSE;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*waiting = (guint)sqlite3_column_int(st, 0);
	sqlite_statement_done(st);
	return rc == SQLITE_ROW ? TRUE : sqlite_fail(j, rc, "counting waiting mail", error);
}
