/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SQLite journal's work table: the plans of imports shared by workers (import --worker) and
 * their units, each claimed by one worker at a time. A unit's claim is its owner and an expiry
 * (0: given back, or never claimed); every write is one BEGIN IMMEDIATE transaction, so two
 * workers claiming at once take turns and get two units. */
#include "state/journal_sqlite.h"

static gint64 now_seconds(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* BEGIN IMMEDIATE succeeds on a read-only connection, and a claim that finds nothing writes
 * nothing: the refusal the contract asks for is made here. */
static gboolean begin(struct sqlite_journal *j, const char *what, GError **error)
{
	int rc;

	if (sqlite3_db_readonly(j->db, "main") == 1) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO,
			    "journal %s: %s: it was opened read-only", j->path, what);
		return FALSE;
	}
	rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	return rc == SQLITE_OK ? TRUE : sqlite_fail(j, rc, what, error);
}

/* Commit when ok, else roll back; whether it was committed. */
static gboolean end(struct sqlite_journal *j, gboolean ok, const char *what, GError **error)
{
	int rc;

	if (ok) {
		rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return TRUE;
		sqlite_fail(j, rc, what, error);
	}
	sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	return FALSE;
}

/* Step st, a write, to its end and end its use; FALSE with error set when it failed. */
static gboolean step_write(struct sqlite_journal *j, sqlite3_stmt *st, const char *what,
			   GError **error)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		sqlite_fail(j, rc, what, error);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE;
}

/* The end of a statement read row by row: FALSE with error set unless it ran to its end. */
static gboolean step_read_end(struct sqlite_journal *j, sqlite3_stmt *st, int rc,
			      const char *what, GError **error)
{
	if (rc != SQLITE_DONE)
		sqlite_fail(j, rc, what, error);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE;
}

static gboolean in_skip(const GArray *skip, guint unit)
{
	for (guint i = 0; skip && i < skip->len; i++)
		if (g_array_index(skip, guint, i) == unit)
			return TRUE;
	return FALSE;
}

/* The id of the plan of archive and fingerprint; 0 when there is none. */
static gboolean find_plan(struct sqlite_journal *j, const char *archive, const char *fingerprint,
			  gint64 *plan, GError **error)
{
	const char *what = "reading an import's plan";
	sqlite3_stmt *st = sqlite_statement(
	    j, "SELECT id FROM work_plans WHERE archive = ? AND fingerprint = ?", what, error);
	int rc;

	*plan = 0;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, archive, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*plan = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	return step_read_end(j, st, rc, what, error);
}

/* A plan of archive under another fingerprint with a unit claimed now: another worker imports
 * a different file under the same path. */
static gboolean refuse_other_file(struct sqlite_journal *j, const char *archive,
				  const char *fingerprint, GError **error)
{
	const char *what = "reading an import's plan";
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "SELECT count(*) FROM work_units u JOIN work_plans p ON "
			     "u.plan = p.id WHERE p.archive = ? AND p.fingerprint != ? AND "
			     "u.finished IS NULL AND u.expires > ?",
			     what, error);
	gint64 claimed = 0;
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, archive, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_seconds());
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		claimed = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	if (!step_read_end(j, st, rc, what, error))
		return FALSE;
	if (claimed == 0)
		return TRUE;
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_CONFLICT,
		    "another worker imports a different file as %s now (its size, time or "
		    "messages differ): every worker must read the same archive",
		    archive);
	return FALSE;
}

/* Record units as the plan of archive and fingerprint, in place of the archive's older plans. */
static gboolean record_plan(struct sqlite_journal *j, const char *archive, const char *fingerprint,
			    const GPtrArray *units, gint64 *plan, GError **error)
{
	const char *what = "recording an import's plan";
	sqlite3_stmt *st = sqlite_statement(j,
					    "DELETE FROM work_units WHERE plan IN (SELECT id FROM "
					    "work_plans WHERE archive = ?)",
					    what, error);

	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, archive, -1, SQLITE_STATIC);
	if (!step_write(j, st, what, error))
		return FALSE;
	st = sqlite_statement(j, "DELETE FROM work_plans WHERE archive = ?", what, error);
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, archive, -1, SQLITE_STATIC);
	if (!step_write(j, st, what, error))
		return FALSE;
	st = sqlite_statement(
	    j, "INSERT INTO work_plans (archive, fingerprint, created) VALUES (?, ?, ?)", what,
	    error);
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, archive, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_seconds());
	if (!step_write(j, st, what, error))
		return FALSE;
	*plan = sqlite3_last_insert_rowid(j->db);
	for (guint i = 0; i < units->len; i++) {
		st = sqlite_statement(
		    j, "INSERT INTO work_units (plan, unit, mails) VALUES (?, ?, ?)", what, error);
		if (!st)
			return FALSE;
		sqlite3_bind_int64(st, 1, *plan);
		sqlite3_bind_int64(st, 2, i);
		sqlite3_bind_text(st, 3, g_ptr_array_index(units, i), -1, SQLITE_STATIC);
		if (!step_write(j, st, what, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sqlite_journal_work_plan(struct journal *journal, const char *archive,
				  const char *fingerprint, const GPtrArray *units, gint64 *plan,
				  gboolean *recorded, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	const char *what = "recording an import's plan";
	gboolean ok;

	*recorded = FALSE;
	if (!units)
		return find_plan(j, archive, fingerprint, plan, error);
	if (!begin(j, what, error))
		return FALSE;
	ok = find_plan(j, archive, fingerprint, plan, error);
	if (ok && *plan == 0) {
		ok = refuse_other_file(j, archive, fingerprint, error) &&
		     record_plan(j, archive, fingerprint, units, plan, error);
		*recorded = ok;
	}
	if (end(j, ok, what, error))
		return TRUE;
	*plan = 0;
	*recorded = FALSE;
	return FALSE;
}

static gboolean plan_exists(struct sqlite_journal *j, gint64 plan, GError **error)
{
	const char *what = "reading an import's plan";
	sqlite3_stmt *st =
	    sqlite_statement(j, "SELECT 1 FROM work_plans WHERE id = ?", what, error);
	gboolean found;
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, plan);
	rc = sqlite3_step(st);
	found = rc == SQLITE_ROW;
	if (!step_read_end(j, st, found ? SQLITE_DONE : rc, what, error))
		return FALSE;
	if (found)
		return TRUE;
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_CONFLICT,
		    "journal %s: the plan of this import was replaced by a worker that found the "
		    "archive changed",
		    j->path);
	return FALSE;
}

/* The first claimable unit not in skip into out (*found), else *held counted. */
static gboolean take_unit(struct sqlite_journal *j, gint64 plan, const GArray *skip,
			  struct journal_work_unit *out, gboolean *found, guint *held,
			  GError **error)
{
	const char *what = "claiming a unit of an import";
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "SELECT unit, mails, owner, claims, expires > ?2 FROM "
			     "work_units WHERE plan = ?1 AND finished IS NULL ORDER BY unit",
			     what, error);
	int rc;

	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, plan);
	sqlite3_bind_int64(st, 2, now_seconds());
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		guint unit = (guint)sqlite3_column_int64(st, 0);
		if (in_skip(skip, unit))
			continue;
		if (sqlite3_column_int(st, 4)) {
			(*held)++;
			continue;
		}
		out->number = unit;
		out->mails = sqlite_column_dup(st, 1);
		out->former_owner = sqlite_column_dup(st, 2);
		out->claims = (guint)sqlite3_column_int64(st, 3) + 1;
		*found = TRUE;
		rc = SQLITE_DONE;
		break;
	}
	return step_read_end(j, st, rc, what, error);
}

gboolean sqlite_journal_work_claim(struct journal *journal, gint64 plan, const char *owner,
				   int lease_seconds, const GArray *skip,
				   struct journal_work_unit *out, gboolean *found, guint *held,
				   GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	const char *what = "claiming a unit of an import";
	sqlite3_stmt *st;
	gboolean ok;

	*out = (struct journal_work_unit){0};
	*found = FALSE;
	*held = 0;
	if (!begin(j, what, error))
		return FALSE;
	ok = plan_exists(j, plan, error) && take_unit(j, plan, skip, out, found, held, error);
	if (ok && *found) {
		*held = 0;
		st = sqlite_statement(
		    j,
		    "UPDATE work_units SET owner = ?, expires = ?, claims = claims + 1 "
		    "WHERE plan = ? AND unit = ?",
		    what, error);
		ok = st != NULL;
		if (ok) {
			sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, now_seconds() + lease_seconds);
			sqlite3_bind_int64(st, 3, plan);
			sqlite3_bind_int64(st, 4, out->number);
			ok = step_write(j, st, what, error);
		}
	}
	if (end(j, ok, what, error))
		return TRUE;
	journal_work_unit_clear(out);
	*found = FALSE;
	return FALSE;
}

/* Run an UPDATE of owner's claim of unit whose first parameters are plan, unit and owner and
 * whose fourth is value; *held says whether it changed the row. */
static gboolean update_claim(struct sqlite_journal *j, const char *sql, gint64 plan, guint unit,
			     const char *owner, gint64 value, gboolean *held, const char *what,
			     GError **error)
{
	sqlite3_stmt *st;
	gboolean ok;

	*held = FALSE;
	if (!begin(j, what, error))
		return FALSE;
	st = sqlite_statement(j, sql, what, error);
	ok = st != NULL;
	if (ok) {
		sqlite3_bind_int64(st, 1, plan);
		sqlite3_bind_int64(st, 2, unit);
		sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, value);
		ok = step_write(j, st, what, error);
	}
	*held = ok && sqlite3_changes(j->db) == 1;
	if (end(j, ok, what, error))
		return TRUE;
	*held = FALSE;
	return FALSE;
}

#define OWNERS_CLAIM "plan = ?1 AND unit = ?2 AND owner = ?3 AND finished IS NULL AND expires > 0"

gboolean sqlite_journal_work_renew(struct journal *journal, gint64 plan, guint unit,
				   const char *owner, int lease_seconds, gboolean *held,
				   GError **error)
{
	return update_claim((struct sqlite_journal *)journal,
			    "UPDATE work_units SET expires = ?4 WHERE " OWNERS_CLAIM, plan, unit,
			    owner, now_seconds() + lease_seconds, held,
			    "renewing the claim of a unit of an import", error);
}

gboolean sqlite_journal_work_release(struct journal *journal, gint64 plan, guint unit,
				     const char *owner, gboolean finished, gboolean *held,
				     GError **error)
{
	/* finished is the time it was finished; NULL gives the unit back. */
	return update_claim((struct sqlite_journal *)journal,
			    "UPDATE work_units SET expires = 0, finished = nullif(?4, 0) WHERE "
			    OWNERS_CLAIM,
			    plan, unit, owner, finished ? now_seconds() : 0, held,
			    finished ? "finishing a unit of an import"
				     : "giving back a unit of an import",
			    error);
}

gboolean sqlite_journal_work_left(struct journal *journal, gint64 plan, guint *units,
				  guint *left, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	const char *what = "counting the units of an import";
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "SELECT count(*), coalesce(sum(finished IS NULL), 0) FROM "
			     "work_units WHERE plan = ?",
			     what, error);
	int rc;

	*units = *left = 0;
	if (!st)
		return FALSE;
	sqlite3_bind_int64(st, 1, plan);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*units = (guint)sqlite3_column_int64(st, 0);
		*left = (guint)sqlite3_column_int64(st, 1);
		rc = SQLITE_DONE;
	}
	return step_read_end(j, st, rc, what, error);
}
