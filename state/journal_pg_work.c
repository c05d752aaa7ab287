/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PostgreSQL journal's work table: the plans of imports shared by workers on several hosts
 * (import --worker) and their units, each claimed by one worker at a time. A unit's claim is
 * its owner and an expiry in the server's clock (NULL: given back, or never claimed). Workers
 * claiming at once skip each other's locked rows (FOR UPDATE SKIP LOCKED) and get two units;
 * a claim holds its plan's row FOR SHARE, which the worker replacing the plan waits for. */
#include "state/journal_pg.h"

#include <string.h>

/* The workers that come first to an archive take turns under a transaction's advisory lock in
 * the space of two numbers: "m2w" (apart from the migrations' "m2t" and the leases' "m2l") and
 * 32 bits of the archive's MD5; the second finds the first one's plan instead of recording
 * another. */
#define PLAN_LOCK                                                                               \
	"SELECT pg_advisory_xact_lock(1832023808, ('x' || left(md5($1), 8))::bit(32)::integer)"

/* An owner's claim of a unit, by plan $1, unit $2 and owner $3: not finished nor given back. */
#define OWNERS_CLAIM                                                                            \
	"plan = $1 AND unit = $2 AND owner = $3 AND finished IS NULL AND expires IS NOT NULL"

/* The id of the plan of archive and fingerprint; 0 when there is none. */
static gboolean find_plan(struct pg_journal *j, gboolean in_transaction, const char *archive,
			  const char *fingerprint, gint64 *plan, GError **error)
{
	const char *what = "reading an import's plan";
	const char *sql = "SELECT id FROM work_plans WHERE archive = $1 AND fingerprint = $2";
	const char *params[] = {archive, fingerprint};
	PGresult *res = in_transaction ? pg_step(j, what, sql, 2, params, error)
				       : pg_read(j, what, sql, 2, params, error);

	*plan = 0;
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1)
		*plan = pg_value_int(res, 0, 0);
	PQclear(res);
	return TRUE;
}

/* A plan of archive (under another fingerprint: the caller found none under its own) with a
 * unit claimed now: another worker imports a different file under the same path. The plans'
 * rows are locked first, so that a claim being made on one of them is seen once it is made,
 * and no claim is made after the count. */
static gboolean refuse_other_file(struct pg_journal *j, const char *archive, GError **error)
{
	const char *what = "reading an import's plan";
	const char *params[] = {archive};
	gint64 claimed;
	PGresult *res = pg_step(j, what, "SELECT id FROM work_plans WHERE archive = $1 FOR UPDATE",
				1, params, error);

	if (!res)
		return FALSE;
	PQclear(res);
	res = pg_step(j, what,
		      "SELECT count(*) FROM work_units u JOIN work_plans p ON u.plan = p.id "
		      "WHERE p.archive = $1 AND u.finished IS NULL AND "
		      "u.expires > clock_timestamp()",
		      1, params, error);
	if (!res)
		return FALSE;
	claimed = pg_value_int(res, 0, 0);
	PQclear(res);
	if (claimed == 0)
		return TRUE;
	pg_roll_back(j);
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_CONFLICT,
		    "another worker imports a different file as %s now (its size, time or "
		    "messages differ): every worker must read the same archive",
		    archive);
	return FALSE;
}

/* units as an array literal of text: every element quoted, its quotes and backslashes escaped.
 * Newly allocated. */
static char *text_array(const GPtrArray *units)
{
	GString *literal = g_string_new("{");

	for (guint i = 0; i < units->len; i++) {
		g_string_append(literal, i ? ",\"" : "\"");
		for (const char *c = g_ptr_array_index(units, i); *c; c++) {
			if (*c == '"' || *c == '\\')
				g_string_append_c(literal, '\\');
			g_string_append_c(literal, *c);
		}
		g_string_append_c(literal, '"');
	}
	g_string_append_c(literal, '}');
	return g_string_free(literal, FALSE);
}

/* Record units as the plan of archive and fingerprint, in place of the archive's older plans. */
static gboolean record_plan(struct pg_journal *j, const char *archive, const char *fingerprint,
			   const GPtrArray *units, gint64 *plan, GError **error)
{
	const char *what = "recording an import's plan";
	const char *params[] = {archive, fingerprint};
	char number[PG_NUMBER_SIZE];
	char *mails = text_array(units);
	const char *unit_params[] = {number, mails};
	PGresult *res;

	res = pg_step(j, what,
		      "DELETE FROM work_units WHERE plan IN "
		      "(SELECT id FROM work_plans WHERE archive = $1)",
		      1, params, error);
	if (res) {
		PQclear(res);
		res = pg_step(j, what, "DELETE FROM work_plans WHERE archive = $1", 1, params,
			      error);
	}
	if (res) {
		PQclear(res);
		res = pg_step(j, what,
			      "INSERT INTO work_plans (archive, fingerprint) VALUES ($1, $2) "
			      "RETURNING id",
			      2, params, error);
	}
	if (res) {
		*plan = pg_value_int(res, 0, 0);
		PQclear(res);
		pg_number(number, *plan);
		res = pg_step(j, what,
			      "INSERT INTO work_units (plan, unit, mails) SELECT $1, n - 1, m "
			      "FROM unnest($2::text[]) WITH ORDINALITY AS u(m, n)",
			      2, unit_params, error);
	}
	g_free(mails);
	if (!res)
		return FALSE;
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_work_plan(struct journal *journal, const char *archive,
			      const char *fingerprint, const GPtrArray *units, gint64 *plan,
			      gboolean *recorded, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *what = "recording an import's plan";
	const char *params[] = {archive};
	PGresult *res;

	*recorded = FALSE;
	*plan = 0;
	if (!units)
		return find_plan(j, FALSE, archive, fingerprint, plan, error);
	if (!pg_begin(j, what, error))
		return FALSE;
	if (!(res = pg_step(j, what, PLAN_LOCK, 1, params, error)))
		return FALSE;
	PQclear(res);
	if (!find_plan(j, TRUE, archive, fingerprint, plan, error))
		return FALSE;
	if (*plan == 0) {
		if (!refuse_other_file(j, archive, error) ||
		    !record_plan(j, archive, fingerprint, units, plan, error)) {
			*plan = 0;
			return FALSE;
		}
		*recorded = TRUE;
	}
	if (pg_commit(j, what, error))
		return TRUE;
	*plan = 0;
	*recorded = FALSE;
	return FALSE;
}

/* skip as an array literal of integers. Newly allocated. */
static char *integer_array(const GArray *skip)
{
	GString *literal = g_string_new("{");

	for (guint i = 0; skip && i < skip->len; i++)
		g_string_append_printf(literal, "%s%u", i ? "," : "",
				       g_array_index(skip, guint, i));
	g_string_append_c(literal, '}');
	return g_string_free(literal, FALSE);
}

/* The first claimable unit of plan $1 not in skip $3 is locked, skipping those other workers
 * have locked, and claimed for owner $2 until $4 seconds from now; its former owner is the
 * row's before the update. */
#define CLAIM_FIRST                                                                             \
	"WITH next AS (SELECT unit, owner FROM work_units WHERE plan = $1 AND finished IS NULL " \
	"AND (expires IS NULL OR expires <= clock_timestamp()) "                                 \
	"AND unit <> ALL ($3::integer[]) ORDER BY unit LIMIT 1 FOR UPDATE SKIP LOCKED) "         \
	"UPDATE work_units w SET owner = $2, "                                                   \
	"expires = clock_timestamp() + $4::bigint * interval '1 second', "                       \
	"claims = w.claims + 1 FROM next WHERE w.plan = $1 AND w.unit = next.unit "              \
	"RETURNING w.unit, w.mails, w.claims, next.owner"

/* When no unit was claimable, every unit of plan $1 not finished nor in skip $2 is held:
 * claimed, or being claimed, renewed or released by another worker now (counted too: the
 * caller waits for it and asks again). */
#define COUNT_HELD                                                                              \
	"SELECT count(*) FROM work_units WHERE plan = $1 AND finished IS NULL "                   \
	"AND unit <> ALL ($2::integer[])"

/* The rest of a claim, in the transaction that holds plan's row: the unit into out, or held. */
static gboolean claim_first(struct pg_journal *j, const char *const *params,
			    struct journal_work_unit *out, gboolean *found, guint *held,
			    GError **error)
{
	const char *what = "claiming a unit of an import";
	PGresult *res = pg_step(j, what, CLAIM_FIRST, 4, params, error);

	if (!res)
		return FALSE;
	if (PQntuples(res) == 1) {
		out->number = (guint)pg_value_int(res, 0, 0);
		out->mails = pg_value_dup(res, 0, 1);
		out->claims = (guint)pg_value_int(res, 0, 2);
		out->former_owner = pg_value_dup(res, 0, 3);
		*found = TRUE;
		PQclear(res);
		return TRUE;
	}
	PQclear(res);
	if (!(res = pg_step(j, what, COUNT_HELD, 2, (const char *const[]){params[0], params[2]},
			    error)))
		return FALSE;
	*held = (guint)pg_value_int(res, 0, 0);
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_work_claim(struct journal *journal, gint64 plan, const char *owner,
			       int lease_seconds, const GArray *skip,
			       struct journal_work_unit *out, gboolean *found, guint *held,
			       GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *what = "claiming a unit of an import";
	char plan_number[PG_NUMBER_SIZE], seconds[PG_NUMBER_SIZE];
	char *skipped = integer_array(skip);
	const char *params[] = {pg_number(plan_number, plan), owner, skipped,
				pg_number(seconds, lease_seconds)};
	gboolean ok = FALSE;
	PGresult *res;

	*out = (struct journal_work_unit){0};
	*found = FALSE;
	*held = 0;
	if (!pg_begin(j, what, error))
		goto out;
	res = pg_step(j, what, "SELECT 1 FROM work_plans WHERE id = $1 FOR SHARE", 1, params,
		      error);
	if (!res)
		goto out;
	if (PQntuples(res) == 0) {
		PQclear(res);
		pg_roll_back(j);
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_CONFLICT,
			    "journal %s: the plan of this import was replaced by a worker that "
			    "found the archive changed",
			    j->where);
		goto out;
	}
	PQclear(res);
	ok = claim_first(j, params, out, found, held, error) && pg_commit(j, what, error);
out:
	g_free(skipped);
	if (ok)
		return TRUE;
	journal_work_unit_clear(out);
	*found = FALSE;
	*held = 0;
	return FALSE;
}

/* Run an UPDATE of owner's claim of unit whose parameters are plan, unit, owner and value;
 * *held says whether it changed the row. */
static gboolean update_claim(struct pg_journal *j, const char *sql, gint64 plan, guint unit,
			     const char *owner, const char *value, gboolean *held,
			     const char *what, GError **error)
{
	char plan_number[PG_NUMBER_SIZE], unit_number[PG_NUMBER_SIZE];
	const char *params[] = {pg_number(plan_number, plan), pg_number(unit_number, unit), owner,
				value};
	PGresult *res;
	gboolean changed;

	*held = FALSE;
	if (!pg_begin(j, what, error))
		return FALSE;
	if (!(res = pg_step(j, what, sql, 4, params, error)))
		return FALSE;
	changed = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!pg_commit(j, what, error))
		return FALSE;
	*held = changed;
	return TRUE;
}

gboolean pg_journal_work_renew(struct journal *journal, gint64 plan, guint unit,
			       const char *owner, int lease_seconds, gboolean *held,
			       GError **error)
{
	char seconds[PG_NUMBER_SIZE];

	return update_claim((struct pg_journal *)journal,
			    "UPDATE work_units SET expires = clock_timestamp() + "
			    "$4::bigint * interval '1 second' WHERE " OWNERS_CLAIM,
			    plan, unit, owner, pg_number(seconds, lease_seconds), held,
			    "renewing the claim of a unit of an import", error);
}

gboolean pg_journal_work_release(struct journal *journal, gint64 plan, guint unit,
				 const char *owner, gboolean finished, gboolean *held,
				 GError **error)
{
	/* finished is the time it was finished; NULL gives the unit back. */
	return update_claim((struct pg_journal *)journal,
			    "UPDATE work_units SET expires = NULL, finished = CASE WHEN "
			    "$4::boolean THEN clock_timestamp() END WHERE " OWNERS_CLAIM,
			    plan, unit, owner, finished ? "true" : "false", held,
			    finished ? "finishing a unit of an import"
				     : "giving back a unit of an import",
			    error);
}

gboolean pg_journal_work_left(struct journal *journal, gint64 plan, guint *units, guint *left,
			      GError **error)
{
	char number[PG_NUMBER_SIZE];
	const char *params[] = {pg_number(number, plan)};
	PGresult *res = pg_read((struct pg_journal *)journal, "counting the units of an import",
				"SELECT count(*), count(*) FILTER (WHERE finished IS NULL) FROM "
				"work_units WHERE plan = $1",
				1, params, error);

	*units = *left = 0;
	if (!res)
		return FALSE;
	*units = (guint)pg_value_int(res, 0, 0);
	*left = (guint)pg_value_int(res, 0, 1);
	PQclear(res);
	return TRUE;
}
