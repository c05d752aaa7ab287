/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PostgreSQL journal's mails and their attempts: a row in mails per key with its state, and
 * a row in attempts for each attempt and outcome, written in one transaction with it. */
#include "state/journal_pg.h"

#define INSERT_ATTEMPT "INSERT INTO attempts (key, outcome, detail, at) VALUES ($1, $2, $3, $4)"

gboolean pg_journal_lookup(struct journal *journal, const char *key, struct journal_entry *out,
			   gboolean *found, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {key};
	PGresult *res = pg_read(j, "lookup",
				"SELECT state, ticket_id, ticket_tid, attempts, last_error, "
				"updated FROM mails WHERE key = $1",
				1, params, error);

	*found = FALSE;
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1) {
		*found = TRUE;
		*out = (struct journal_entry){0};
		out->key = g_strdup(key);
		out->state = journal_state_from_name(PQgetvalue(res, 0, 0));
		out->ticket_id = pg_value_dup(res, 0, 1);
		out->ticket_tid = pg_value_dup(res, 0, 2);
		out->attempts = (int)pg_value_int(res, 0, 3);
		out->last_error = pg_value_dup(res, 0, 4);
		out->updated = pg_value_int(res, 0, 5);
	}
	PQclear(res);
	return TRUE;
}

/* One change of a mail's row and the attempt it records, in one transaction; the mail's
 * statement gets the time now as its parameter n + 1. */
static gboolean with_attempt(struct pg_journal *j, const char *what, const char *mail_sql, int n,
			     const char *const *params, const char *key, const char *outcome,
			     const char *detail, GError **error)
{
	char now[PG_NUMBER_SIZE];
	const char **mail_params = g_new(const char *, n + 1);
	const char *attempt[] = {key, outcome, detail, pg_now(now)};
	const struct pg_statement steps[] = {
	    {mail_sql, n + 1, mail_params},
	    {INSERT_ATTEMPT, 4, attempt},
	};
	gboolean ok;

	for (int i = 0; i < n; i++)
		mail_params[i] = params[i];
	mail_params[n] = now;
	ok = pg_write(j, what, steps, G_N_ELEMENTS(steps), error);
	g_free(mail_params);
	return ok;
}

gboolean pg_journal_begin_attempt(struct journal *journal, const char *key,
				  const struct journal_mail_info *info, const char *write,
				  GError **error)
{
	const char *params[] = {key, info->source, info->message_id, info->sender, info->subject};

	return with_attempt(
	    (struct pg_journal *)journal, "recording an attempt",
	    "INSERT INTO mails (key, state, source, message_id, sender, subject, attempts, "
	    "first_seen, updated) VALUES ($1, 'pending', $2, $3, $4, $5, 1, $6, $6) "
	    "ON CONFLICT (key) DO UPDATE SET state = 'pending', attempts = mails.attempts + 1, "
	    "updated = $6",
	    5, params, key, "attempt", write, error);
}

/* The rows filed under $1 or its per-department copies ($1#dept:ID), as a range of the key's
 * index (keys compare byte by byte). ';' is the byte after ':'. */
#define LEGACY_KEYS                                                                            \
	"(key = $1::text OR (key >= $1::text || '#dept:' AND key < $1::text || '#dept;'))"

gboolean pg_journal_claim_legacy_key(struct journal *journal, const char *legacy,
				     const char *key, const struct journal_mail_info *info,
				     gboolean *claimed, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {legacy, key};
	const struct pg_statement renames[] = {
	    {"UPDATE mails SET key = $2::text || substr(key, length($1) + 1) WHERE " LEGACY_KEYS,
	     2, params},
	    {"UPDATE attempts SET key = $2::text || substr(key, length($1) + 1) WHERE "
	     LEGACY_KEYS,
	     2, params},
	};
	PGresult *res = pg_read(j, "looking up an older key",
				"SELECT sender, subject FROM mails WHERE " LEGACY_KEYS " LIMIT 1",
				1, params, error);
	char *sender, *subject;
	gboolean same;

	*claimed = FALSE;
	if (!res)
		return FALSE;
	same = PQntuples(res) == 1;
	sender = same ? pg_value_dup(res, 0, 0) : NULL;
	subject = same ? pg_value_dup(res, 0, 1) : NULL;
	PQclear(res);
	/* Another mail with the same Message-ID is not this one. */
	same = same &&
	       g_ascii_strcasecmp(sender ? sender : "", info->sender ? info->sender : "") == 0 &&
	       g_strcmp0(subject, info->subject) == 0;
	g_free(sender);
	g_free(subject);
	if (!same)
		return TRUE;
	*claimed = pg_write(j, "renaming an older key", renames, G_N_ELEMENTS(renames), error);
	return *claimed;
}

gboolean pg_journal_earlier_writes(struct journal *journal, const char *key, GPtrArray **writes,
				   GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {key};
	PGresult *res = pg_read(j, "reading earlier attempts",
				"SELECT write FROM (SELECT coalesce(detail, '') AS write, "
				"min(id) AS first FROM attempts WHERE key = $1 AND "
				"outcome = 'attempt' GROUP BY 1) w ORDER BY first",
				1, params, error);

	*writes = NULL;
	if (!res)
		return FALSE;
	*writes = g_ptr_array_new_with_free_func(g_free);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(*writes, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_mark_delivered(struct journal *journal, const char *key, const char *action,
				   const char *ticket_id, const char *ticket_tid, const char *why,
				   GError **error)
{
	const char *params[] = {key, action, ticket_id, ticket_tid};
	char *detail = g_strdup_printf("%s ticket %s (#%s)%s%s", action,
				       ticket_id ? ticket_id : "?", ticket_tid ? ticket_tid : "?",
				       why ? ": " : "", why ? why : "");
	gboolean ok = with_attempt((struct pg_journal *)journal, "recording a delivery",
				   "UPDATE mails SET state = 'delivered', action = $2, "
				   "ticket_id = $3, ticket_tid = $4, last_error = NULL, "
				   "updated = $5 WHERE key = $1",
				   4, params, key, "delivered", detail, error);

	g_free(detail);
	return ok;
}

gboolean pg_journal_mark_failed(struct journal *journal, const char *key, const char *reason,
				GError **error)
{
	const char *params[] = {key, reason};

	return with_attempt((struct pg_journal *)journal, "recording a failure",
			    "UPDATE mails SET state = 'failed', last_error = $2, updated = $3 "
			    "WHERE key = $1",
			    2, params, key, "failed", reason, error);
}

gboolean pg_journal_mark_unanswered(struct journal *journal, const char *key, const char *reason,
				    GError **error)
{
	const char *params[] = {key, reason};

	return with_attempt((struct pg_journal *)journal, "recording an attempt without an answer",
			    "UPDATE mails SET last_error = $2, updated = $3 WHERE key = $1", 2,
			    params, key, "no answer", reason, error);
}

static gboolean mark_final(struct pg_journal *j, const char *key, const char *state,
			   const struct journal_mail_info *info, const char *where,
			   const char *reason, GError **error)
{
	const char *params[] = {key,	      state,	    info->source, info->message_id,
				info->sender, info->subject, reason,	  where};

	return with_attempt(
	    j, state,
	    "INSERT INTO mails (key, state, source, message_id, sender, subject, last_error, "
	    "quarantine_path, first_seen, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) "
	    "ON CONFLICT (key) DO UPDATE SET state = $2, last_error = $7, quarantine_path = $8, "
	    "updated = $9",
	    8, params, key, state, reason, error);
}

gboolean pg_journal_mark_quarantined(struct journal *journal, const char *key,
				     const struct journal_mail_info *info, const char *where,
				     const char *reason, GError **error)
{
	return mark_final((struct pg_journal *)journal, key, "quarantined", info, where, reason,
			  error);
}

gboolean pg_journal_mark_dropped(struct journal *journal, const char *key,
				 const struct journal_mail_info *info, const char *reason,
				 GError **error)
{
	return mark_final((struct pg_journal *)journal, key, "dropped", info, NULL, reason, error);
}

gboolean pg_journal_ticket_of_message(struct journal *journal, const char *message_id,
				      char **tid, char **id, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {message_id};
	PGresult *res = pg_read(j, "thread lookup",
				"SELECT ticket_tid, ticket_id FROM mails WHERE message_id = $1 "
				"AND state = 'delivered' AND ticket_tid IS NOT NULL "
				"ORDER BY updated, id LIMIT 1",
				1, params, error);

	*tid = *id = NULL;
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1) {
		*tid = pg_value_dup(res, 0, 0);
		*id = pg_value_dup(res, 0, 1);
	}
	PQclear(res);
	return TRUE;
}

/* Not indexed by ticket: asked only after an attempt that got no answer, when a ticket matched. */
gboolean pg_journal_ticket_opened_by_another(struct journal *journal, const char *ticket_id,
					     const char *key, gboolean *yes, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	const char *params[] = {ticket_id, key};
	PGresult *res = pg_read(j, "looking for the mail of a ticket",
				"SELECT 1 FROM mails WHERE ticket_id = $1 AND key <> $2 "
				"AND state = 'delivered' AND action IN ('opened', 'adopted') "
				"LIMIT 1",
				2, params, error);

	*yes = FALSE;
	if (!res)
		return FALSE;
	*yes = PQntuples(res) == 1;
	PQclear(res);
	return TRUE;
}

gboolean pg_journal_count_opened_since(struct journal *journal, const char *sender,
				       gint64 since, guint *count, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	char number[PG_NUMBER_SIZE];
	const char *params[] = {sender, pg_number(number, since)};
	PGresult *res = pg_read(j, "counting a sender's tickets",
				"SELECT count(*) FROM mails WHERE lower(sender) = lower($1) "
				"AND state = 'delivered' AND action IN ('opened', 'adopted') "
				"AND updated >= $2",
				2, params, error);

	*count = 0;
	if (!res)
		return FALSE;
	*count = (guint)pg_value_int(res, 0, 0);
	PQclear(res);
	return TRUE;
}
