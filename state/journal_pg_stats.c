/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What stats reads from the PostgreSQL journal: the mails of every host that shares it. */
#include "state/journal_pg.h"

static gboolean stats_counts(struct pg_journal *j, const char *since, GPtrArray *out,
			     GError **error)
{
	const char *params[] = {since};
	/* Ordered byte by byte, as the SQLite journal orders them, whatever the collation. */
	PGresult *res = pg_read(
	    j, "counting outcomes",
	    "SELECT source, outcome, n FROM (SELECT coalesce(source, '') AS source, "
	    "CASE WHEN state = 'delivered' THEN coalesce(action, state) ELSE state END AS outcome, "
	    "count(*) AS n FROM mails WHERE updated >= $1 GROUP BY 1, 2) c "
	    "ORDER BY source COLLATE \"C\", outcome COLLATE \"C\"",
	    1, params, error);

	if (!res)
		return FALSE;
	for (int i = 0; i < PQntuples(res); i++) {
		struct journal_count *c = g_new0(struct journal_count, 1);
		c->source = pg_value_dup(res, i, 0);
		c->outcome = pg_value_dup(res, i, 1);
		c->count = (guint)pg_value_int(res, i, 2);
		g_ptr_array_add(out, c);
	}
	PQclear(res);
	return TRUE;
}

static gboolean stats_problems(struct pg_journal *j, const char *since, guint max,
			       GPtrArray *out, GError **error)
{
	char limit[PG_NUMBER_SIZE];
	const char *params[] = {since, pg_number(limit, max)};
	PGresult *res = pg_read(j, "listing errors",
				"SELECT key, source, subject, state, last_error, updated "
				"FROM mails WHERE updated >= $1 AND last_error IS NOT NULL AND "
				"state IN ('failed', 'pending', 'quarantined') "
				"ORDER BY updated DESC, id DESC LIMIT $2",
				2, params, error);

	if (!res)
		return FALSE;
	for (int i = 0; i < PQntuples(res); i++) {
		struct journal_problem *p = g_new0(struct journal_problem, 1);
		p->key = pg_value_dup(res, i, 0);
		p->source = pg_value_dup(res, i, 1);
		p->subject = pg_value_dup(res, i, 2);
		p->state = journal_state_from_name(PQgetvalue(res, i, 3));
		p->error = pg_value_dup(res, i, 4);
		p->when = pg_value_int(res, i, 5);
		g_ptr_array_add(out, p);
	}
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_stats(struct journal *journal, gint64 since, guint max_problems,
			  GPtrArray **counts, GPtrArray **problems, guint *waiting, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	char number[PG_NUMBER_SIZE];
	const char *from = pg_number(number, since);
	PGresult *res;

	*counts = g_ptr_array_new_with_free_func((GDestroyNotify)journal_count_free);
	*problems = g_ptr_array_new_with_free_func((GDestroyNotify)journal_problem_free);
	*waiting = 0;
	if (!stats_counts(j, from, *counts, error) ||
	    !stats_problems(j, from, max_problems, *problems, error))
		return FALSE;
	res = pg_read(j, "counting waiting mail",
		      "SELECT count(*) FROM mails WHERE state IN ('failed', 'pending')", 0, NULL,
		      error);
	if (!res)
		return FALSE;
	*waiting = (guint)pg_value_int(res, 0, 0);
	PQclear(res);
	return TRUE;
}
