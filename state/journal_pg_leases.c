/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leases in the PostgreSQL journal: which owner works on a named thing (a mailbox) until when.
 * Expiries are the server's clock_timestamp(), so that hosts whose clocks disagree agree on
 * them. */
#include "state/journal_pg.h"

#include <string.h>

/* Takers of one lease take turns under a transaction's advisory lock in the space of two
 * numbers: "m2l" (apart from the migrations' "m2t") and 32 bits of the name's MD5. Without it
 * two takers of a free lease would both find no row and both write theirs. */
#define LEASE_LOCK                                                                              \
	"SELECT pg_advisory_xact_lock(1832020992, ('x' || left(md5($1), 8))::bit(32)::integer)"

gboolean pg_journal_lease_take(struct journal *journal, const char *name, const char *owner,
			       guint seconds, gboolean *held, char **previous, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *what = "taking a lease";
	char number[PG_NUMBER_SIZE];
	const char *params[] = {name, owner, pg_number(number, seconds)};
	char *had = NULL;
	PGresult *res;

	*held = FALSE;
	if (previous)
		*previous = NULL;
	if (!pg_begin(j, what, error))
		return FALSE;
	if (!(res = pg_step(j, what, LEASE_LOCK, 1, params, error)))
		return FALSE;
	PQclear(res);
	res = pg_step(j, what,
		      "SELECT owner, expires <= clock_timestamp() FROM leases WHERE name = $1", 1,
		      params, error);
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1) {
		had = pg_value_dup(res, 0, 0);
		*held = strcmp(had, owner) == 0 || strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	} else {
		*held = TRUE;
	}
	PQclear(res);
	if (*held) {
		res = pg_step(j, what,
			      "INSERT INTO leases (name, owner, expires) VALUES ($1, $2, "
			      "clock_timestamp() + $3::bigint * interval '1 second') "
			      "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
			      "expires = excluded.expires",
			      3, params, error);
		if (!res)
			goto fail;
		PQclear(res);
	}
	if (!pg_commit(j, what, error))
		goto fail;
	if (previous)
		*previous = had;
	else
		g_free(had);
	return TRUE;
fail:
	*held = FALSE;
	g_free(had);
	return FALSE;
}

gboolean pg_journal_lease_release(struct journal *journal, const char *name, const char *owner,
				  GError **error)
{
	const char *params[] = {name, owner};
	const struct pg_statement release = {"DELETE FROM leases WHERE name = $1 AND owner = $2",
					     2, params};

	return pg_write((struct pg_journal *)journal, "releasing a lease", &release, 1, error);
}
