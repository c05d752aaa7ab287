/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where each source stands in the PostgreSQL journal: archive checkpoints, IMAP mailbox marks,
 * and the failures and seen flags of single messages. */
#include "state/journal_pg.h"

#include <string.h>

gboolean pg_journal_checkpoint_get(struct journal *journal, const char *path,
				   const char *fingerprint, guint64 *handled, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {path, fingerprint};
	PGresult *res = pg_read(j, "reading a checkpoint",
				"SELECT handled FROM checkpoints WHERE archive = $1 AND "
				"fingerprint = $2",
				2, params, error);

	*handled = 0;
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1)
		*handled = (guint64)pg_value_int(res, 0, 0);
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_checkpoint_set(struct journal *journal, const char *path,
				   const char *fingerprint, guint64 handled, GError **error)
{
	char number[PG_NUMBER_SIZE], now[PG_NUMBER_SIZE];
	const char *params[] = {path, fingerprint, pg_number(number, (gint64)handled), pg_now(now)};
	const struct pg_statement set = {
	    "INSERT INTO checkpoints (archive, fingerprint, handled, updated) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT (archive) DO UPDATE SET "
	    "fingerprint = $2, handled = $3, updated = $4",
	    4, params};

	return pg_write((struct pg_journal *)journal, "writing a checkpoint", &set, 1, error);
}

gboolean pg_journal_mailbox_mark_get(struct journal *journal, const char *mailbox,
				     struct journal_mailbox_mark *out, gboolean *found,
				     GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {mailbox};
	PGresult *res = pg_read(j, "reading a mailbox mark",
				"SELECT uidvalidity, last_uid, unseen_below FROM mailbox_marks "
				"WHERE mailbox = $1",
				1, params, error);

	*found = FALSE;
	memset(out, 0, sizeof(*out));
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1) {
		*found = TRUE;
		out->uidvalidity = (guint32)pg_value_int(res, 0, 0);
		out->last_uid = (guint32)pg_value_int(res, 0, 1);
		out->unseen_below = (guint32)pg_value_int(res, 0, 2);
	}
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_mailbox_mark_set(struct journal *journal, const char *mailbox,
				     const struct journal_mailbox_mark *mark, GError **error)
{
	char uidvalidity[PG_NUMBER_SIZE], last_uid[PG_NUMBER_SIZE], unseen_below[PG_NUMBER_SIZE];
	char now[PG_NUMBER_SIZE];
	const char *params[] = {mailbox, pg_number(uidvalidity, mark->uidvalidity),
				pg_number(last_uid, mark->last_uid),
				pg_number(unseen_below, mark->unseen_below), pg_now(now)};
	const struct pg_statement set = {
	    "INSERT INTO mailbox_marks (mailbox, uidvalidity, last_uid, unseen_below, updated) "
	    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = $2, "
	    "last_uid = $3, unseen_below = $4, updated = $5",
	    5, params};

	return pg_write((struct pg_journal *)journal, "writing a mailbox mark", &set, 1, error);
}

gboolean pg_journal_item_get(struct journal *journal, const char *mailbox, const char *item,
			     int *failures, char **reason, gboolean *seen, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {mailbox, item};
	PGresult *res = pg_read(
	    j, "reading a mailbox item",
	    "SELECT failures, reason, seen FROM mailbox_items WHERE mailbox = $1 AND item = $2", 2,
	    params, error);

	*failures = 0;
	*reason = NULL;
	*seen = FALSE;
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1) {
		*failures = (int)pg_value_int(res, 0, 0);
		*reason = pg_value_dup(res, 0, 1);
		*seen = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	}
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_item_count_failure(struct journal *journal, const char *mailbox,
				       const char *item, int delta, const char *reason,
				       GError **error)
{
	char number[PG_NUMBER_SIZE], now[PG_NUMBER_SIZE];
	const char *params[] = {mailbox, item, pg_number(number, delta), reason, pg_now(now)};
	const struct pg_statement count = {
	    "INSERT INTO mailbox_items (mailbox, item, failures, reason, updated) "
	    "VALUES ($1, $2, greatest($3::integer, 0), $4, $5) ON CONFLICT (mailbox, item) DO "
	    "UPDATE SET failures = greatest(mailbox_items.failures + $3::integer, 0), "
	    "reason = coalesce($4, mailbox_items.reason), updated = $5",
	    5, params};

	return pg_write((struct pg_journal *)journal, "counting a mailbox item's failure", &count,
			1, error);
}

gboolean pg_journal_item_finish(struct journal *journal, const char *mailbox, const char *item,
				gboolean keep_seen, GError **error)
{
	char now[PG_NUMBER_SIZE];
	const char *params[] = {mailbox, item, pg_now(now)};
	const struct pg_statement finish = {
	    keep_seen ? "INSERT INTO mailbox_items (mailbox, item, seen, updated) "
			"VALUES ($1, $2, true, $3) ON CONFLICT (mailbox, item) DO UPDATE SET "
			"seen = true, failures = 0, updated = $3"
		      : "DELETE FROM mailbox_items WHERE mailbox = $1 AND item = $2",
	    keep_seen ? 3 : 2, params};

	return pg_write((struct pg_journal *)journal, "finishing a mailbox item", &finish, 1,
			error);
}

gboolean pg_journal_items_seen(struct journal *journal, const char *mailbox, GHashTable *seen,
			       GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {mailbox};
	PGresult *res = pg_read(j, "reading a mailbox's seen items",
				"SELECT item FROM mailbox_items WHERE mailbox = $1 AND seen", 1,
				params, error);

	if (!res)
		return FALSE;
	for (int i = 0; i < PQntuples(res); i++)
		g_hash_table_add(seen, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	return TRUE;
}

/* The items no longer on the server go in one transaction. */
gboolean pg_journal_items_forget_absent(struct journal *journal, const char *mailbox,
					GHashTable *present, GError **error)
{
	GHashTable *known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GArray *forget = g_array_new(FALSE, FALSE, sizeof(struct pg_statement));
	GPtrArray *params = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer item;
	gboolean ok = pg_journal_items_seen(journal, mailbox, known, error);

	g_hash_table_iter_init(&it, known);
	while (ok && g_hash_table_iter_next(&it, &item, NULL)) {
		const char **pair;
		struct pg_statement step = {
		    "DELETE FROM mailbox_items WHERE mailbox = $1 AND item = $2", 2, NULL};
		if (g_hash_table_contains(present, item))
			continue;
		pair = g_new(const char *, 2);
		pair[0] = mailbox;
		pair[1] = item;
		g_ptr_array_add(params, pair);
		step.params = pair;
		g_array_append_val(forget, step);
	}
	if (ok && forget->len > 0)
		ok = pg_write((struct pg_journal *)journal, "forgetting a mailbox's items",
			      (const struct pg_statement *)forget->data, (int)forget->len, error);
	g_ptr_array_unref(params);
	g_array_unref(forget);
	g_hash_table_unref(known);
	return ok;
}
