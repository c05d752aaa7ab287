/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SQLite journal's mails and their attempts: a row in mails per key with its state, and a
 * row in attempts for each attempt and outcome, written in one transaction with it. */
#include "state/journal_sqlite.h"

gboolean sqlite_journal_lookup(struct journal *journal, const char *key, struct journal_entry *out,
			       gboolean *found, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(j,
					    "SELECT state, ticket_id, ticket_tid, attempts, "
					    "last_error, updated FROM mails WHERE key = ?",
					    "lookup", error);
	int rc;

	*found = FALSE;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = TRUE;
		*out = (struct journal_entry){0};
		out->key = g_strdup(key);
		out->state = journal_state_from_name((const char *)sqlite3_column_text(st, 0));
		out->ticket_id = sqlite_column_dup(st, 1);
		out->ticket_tid = sqlite_column_dup(st, 2);
		out->attempts = sqlite3_column_int(st, 3);
		out->last_error = sqlite_column_dup(st, 4);
		out->updated = sqlite3_column_int64(st, 5);
	}
	sqlite_statement_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_fail(j, rc, "lookup", error);
	return TRUE;
}

/* Run one statement with text parameters (NULL binds SQL NULL) and, with_time, a trailing
 * integer: the time now. */
static gboolean run_with(struct sqlite_journal *j, const char *what, const char *sql, int n,
			 const char *const *params, gboolean with_time, GError **error)
{
	sqlite3_stmt *st = sqlite_statement(j, sql, what, error);
	int rc;

	if (!st)
		return FALSE;
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	if (with_time)
		sqlite3_bind_int64(st, n + 1, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		sqlite_fail(j, rc, what, error);
	sqlite_statement_done(st);
	return rc == SQLITE_DONE;
}

static gboolean run(struct sqlite_journal *j, const char *what, const char *sql, int n,
		    const char *const *params, GError **error)
{
	return run_with(j, what, sql, n, params, TRUE, error);
}

static gboolean in_transaction(struct sqlite_journal *j, const char *what, const char *mail_sql,
			       int n, const char *const *params, const char *key,
			       const char *outcome, const char *detail, GError **error)
{
	const char *attempt[] = {key, outcome, detail};
	int rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return sqlite_fail(j, rc, what, error);
	if (!run(j, what, mail_sql, n, params, error) ||
	    !run(j, what, "INSERT INTO attempts (key, outcome, detail, at) VALUES (?, ?, ?, ?)", 3,
		 attempt, error)) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return FALSE;
	}
	rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* The cause first: the ROLLBACK's own message ("no transaction is active", when
		 * SQLite already rolled back after a full disk) would replace it. */
		sqlite_fail(j, rc, what, error);
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return FALSE;
	}
	return TRUE;
}

gboolean sqlite_journal_begin_attempt(struct journal *journal, const char *key,
				      const struct journal_mail_info *info, const char *write,
				      GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	const char *params[] = {key, info->source, info->message_id, info->sender, info->subject};

	return in_transaction(
	    j, "recording an attempt",
	    "INSERT INTO mails (key, state, source, message_id, sender, subject, attempts, "
	    "first_seen, updated) VALUES (?1, 'pending', ?2, ?3, ?4, ?5, 1, ?6, ?6) "
	    "ON CONFLICT(key) DO UPDATE SET state = 'pending', attempts = attempts + 1, "
	    "updated = ?6",
	    5, params, key, "attempt", write, error);
}

/* The rows filed under ?1 or its per-department copies (?1#dept:ID), as a range of the key's
 * index: a substr() of key is not searchable and scanned every row for each mail, which made an
 * import quadratic in the journal's size. ';' is the byte after ':'. */
#define LEGACY_KEYS "(key = ?1 OR (key >= ?1 || '#dept:' AND key < ?1 || '#dept;'))"

/* The sender and subject of the first row filed under legacy (or its per-department copies). */
static gboolean legacy_row(struct sqlite_journal *j, const char *legacy, char **sender,
			   char **subject, gboolean *found, GError **error)
{
	sqlite3_stmt *st =
	    sqlite_statement(j, "SELECT sender, subject FROM mails WHERE " LEGACY_KEYS " LIMIT 1",
			     "looking up an older key", error);
	int rc;

	*found = FALSE;
	*sender = *subject = NULL;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, legacy, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = TRUE;
		*sender = sqlite_column_dup(st, 0);
		*subject = sqlite_column_dup(st, 1);
	}
	sqlite_statement_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_fail(j, rc, "looking up an older key", error);
	return TRUE;
}

gboolean sqlite_journal_claim_legacy_key(struct journal *journal, const char *legacy,
					 const char *key, const struct journal_mail_info *info,
					 gboolean *claimed, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	static const char *const renames[] = {
	    "UPDATE mails SET key = ?2 || substr(key, length(?1) + 1) WHERE " LEGACY_KEYS,
	    "UPDATE attempts SET key = ?2 || substr(key, length(?1) + 1) WHERE " LEGACY_KEYS,
	};
	char *sender = NULL, *subject = NULL;
	gboolean found, ok;

	*claimed = FALSE;
	if (!legacy_row(j, legacy, &sender, &subject, &found, error))
		return FALSE;
	/* Another mail with the same Message-ID is not this one. */
	ok = TRUE;
	if (found &&
	    g_ascii_strcasecmp(sender ? sender : "", info->sender ? info->sender : "") == 0 &&
	    g_strcmp0(subject, info->subject) == 0) {
		const char *params[] = {legacy, key};
		int rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		ok = rc == SQLITE_OK ? TRUE : sqlite_fail(j, rc, "renaming an older key", error);
		for (gsize i = 0; ok && i < G_N_ELEMENTS(renames); i++)
			ok = run_with(j, "renaming an older key", renames[i], 2, params, FALSE,
				      error);
		if (ok && (rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
			ok = sqlite_fail(j, rc, "renaming an older key", error);
		if (!ok)
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		*claimed = ok;
	}
	g_free(sender);
	g_free(subject);
	return ok;
}

gboolean sqlite_journal_earlier_writes(struct journal *journal, const char *key, GPtrArray **writes,
				       GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(j,
					    "SELECT DISTINCT coalesce(detail, '') FROM attempts "
					    "WHERE key = ? AND outcome = 'attempt' ORDER BY id",
					    "reading earlier attempts", error);
	int rc;

	*writes = NULL;
	if (!st)
		return FALSE;
	*writes = g_ptr_array_new_with_free_func(g_free);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(*writes, g_strdup((const char *)sqlite3_column_text(st, 0)));
	sqlite_statement_done(st);
	if (rc != SQLITE_DONE) {
		g_clear_pointer(writes, g_ptr_array_unref);
		return sqlite_fail(j, rc, "reading earlier attempts", error);
	}
	return TRUE;
}

gboolean sqlite_journal_mark_delivered(struct journal *journal, const char *key, const char *action,
				       const char *ticket_id, const char *ticket_tid,
				       const char *why, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	const char *params[] = {key, action, ticket_id, ticket_tid};
	char *detail = g_strdup_printf("%s ticket %s (#%s)%s%s", action,
				       ticket_id ? ticket_id : "?", ticket_tid ? ticket_tid : "?",
				       why ? ": " : "", why ? why : "");
	gboolean ok = in_transaction(j, "recording a delivery",
				     "UPDATE mails SET state = 'delivered', action = ?2, "
				     "ticket_id = ?3, ticket_tid = ?4, last_error = NULL, "
				     "updated = ?5 WHERE key = ?1",
				     4, params, key, "delivered", detail, error);

	g_free(detail);
	return ok;
}

gboolean sqlite_journal_mark_failed(struct journal *journal, const char *key, const char *reason,
				    GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	const char *params[] = {key, reason};

	return in_transaction(j, "recording a failure",
			      "UPDATE mails SET state = 'failed', last_error = ?2, updated = ?3 "
			      "WHERE key = ?1",
			      2, params, key, "failed", reason, error);
}

gboolean sqlite_journal_mark_unanswered(struct journal *journal, const char *key,
					const char *reason, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	const char *params[] = {key, reason};

	return in_transaction(j, "recording an attempt without an answer",
			      "UPDATE mails SET last_error = ?2, updated = ?3 WHERE key = ?1", 2,
			      params, key, "no answer", reason, error);
}

static gboolean mark_final(struct sqlite_journal *j, const char *key, const char *state,
			   const struct journal_mail_info *info, const char *where,
			   const char *reason, GError **error)
{
	const char *params[] = {key,	       state,	     info->source, info->message_id,
				info->sender, info->subject, reason,	   where};

	return in_transaction(
	    j, state,
	    "INSERT INTO mails (key, state, source, message_id, sender, subject, last_error, "
	    "quarantine_path, first_seen, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) "
	    "ON CONFLICT(key) DO UPDATE SET state = ?2, last_error = ?7, quarantine_path = ?8, "
	    "updated = ?9",
	    8, params, key, state, reason, error);
}

gboolean sqlite_journal_mark_quarantined(struct journal *journal, const char *key,
					 const struct journal_mail_info *info, const char *where,
					 const char *reason, GError **error)
{
	return mark_final((struct sqlite_journal *)journal, key, "quarantined", info, where, reason,
			  error);
}

gboolean sqlite_journal_mark_dropped(struct journal *journal, const char *key,
				     const struct journal_mail_info *info, const char *reason,
				     GError **error)
{
	return mark_final((struct sqlite_journal *)journal, key, "dropped", info, NULL, reason,
			  error);
}

gboolean sqlite_journal_ticket_of_message(struct journal *journal, const char *message_id,
					  char **tid, char **id, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(j,
					    "SELECT ticket_tid, ticket_id FROM mails WHERE "
					    "message_id = ? AND state = 'delivered' AND ticket_tid "
					    "IS NOT NULL ORDER BY updated LIMIT 1",
					    "thread lookup", error);
	int rc;

	*tid = *id = NULL;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*tid = sqlite_column_dup(st, 0);
		*id = sqlite_column_dup(st, 1);
	}
	sqlite_statement_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TRUE
						     : sqlite_fail(j, rc, "thread lookup", error);
}

/* Not indexed by ticket: asked only after an attempt that got no answer, when a ticket matched. */
gboolean sqlite_journal_ticket_opened_by_another(struct journal *journal, const char *ticket_id,
						 const char *key, gboolean *yes, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st = sqlite_statement(j,
					    "SELECT 1 FROM mails WHERE ticket_id = ? AND key <> ? "
					    "AND state = 'delivered' AND action IN ('opened', "
					    "'adopted') LIMIT 1",
					    "looking for the mail of a ticket", error);
	int rc;

	*yes = FALSE;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, ticket_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	sqlite_statement_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? TRUE
		   : sqlite_fail(j, rc, "looking for the mail of a ticket", error);
}

gboolean sqlite_journal_count_opened_since(struct journal *journal, const char *sender,
					   gint64 since, guint *count, GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;
	sqlite3_stmt *st =
	    sqlite_statement(j,
			     "SELECT count(*) FROM mails WHERE sender = ? COLLATE "
			     "NOCASE AND state = 'delivered' AND action IN ('opened', "
			     "'adopted') AND updated >= ?",
			     "counting a sender's tickets", error);
	int rc;

	*count = 0;
	if (!st)
		return FALSE;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = (guint)sqlite3_column_int(st, 0);
	sqlite_statement_done(st);
	return rc == SQLITE_ROW ? TRUE : sqlite_fail(j, rc, "counting a sender's tickets", error);
}

