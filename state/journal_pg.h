/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The insides of the PostgreSQL journal (the ops journal_pg), shared by its files and included
 * by no other: journal_pg.c connects, keeps the schema, the mail locks and the helpers that run
 * statements; journal_pg_mails.c records mails and their attempts; journal_pg_sources.c where
 * each source stands (archive checkpoints, mailbox marks and items); journal_pg_stats.c what
 * stats shows; journal_pg_leases.c the leases of poll's mailboxes; journal_pg_work.c the work
 * table of import --worker. Every statement's values are bound parameters, sent as text. */
#ifndef M2T_STATE_JOURNAL_PG_H
#define M2T_STATE_JOURNAL_PG_H

#include <libpq-fe.h>

#include "state/journal.h"

struct pg_journal {
	struct journal base;
	PGconn *conn;
	char *where; /* postgresql://USER@HOST:PORT/DB, no password: base.where points here */
	gboolean read_only;
	int busy_timeout_ms;
	/* The keys whose mail locks this session holds (a set of strings): while it holds any,
	 * a lost connection is not made again, since the locks went with it. */
	GHashTable *locks;
	/* SQL text -> the name it is prepared under on this connection, NULL when it ran once
	 * (execute() in journal_pg.c); emptied when the connection is made again. */
	GHashTable *statements;
	guint prepared; /* statements prepared so far, for their names */
};

/* One statement of a write: its SQL and its n text parameters (NULL binds SQL NULL). */
struct pg_statement {
	const char *sql;
	int n;
	const char *const *params;
};

/* Fill error from the answer res (NULL when none came) to what: UNAVAILABLE when the
 * connection is gone, BUSY for a lock wait past the busy timeout, IO otherwise; FALSE. */
gboolean pg_fail(struct pg_journal *j, const PGresult *res, const char *what, GError **error);
/* A statement that only reads, made again once on a new connection when the old one turned
 * out to be broken and no mail lock went with it. The rows (PQclear them), or NULL with error
 * set. */
PGresult *pg_read(struct pg_journal *j, const char *what, const char *sql, int n,
		  const char *const *params, GError **error);
/* The statements of a write in one transaction: all of them committed (TRUE), or none (FALSE,
 * with error set; UNAVAILABLE when the answer to COMMIT was lost). Refused on a read-only
 * journal. */
gboolean pg_write(struct pg_journal *j, const char *what, const struct pg_statement *steps,
		  int n_steps, GError **error);
/* The parts of a write whose statements need their answers: BEGIN (refused on a read-only
 * journal; sent again on a new connection, as pg_read does), statements in the transaction
 * (never sent again: on failure the transaction is rolled back and NULL returned, with error
 * set; else the rows, PQclear them), and COMMIT (FALSE as pg_write's). pg_roll_back ends a
 * transaction that is not to be committed. */
gboolean pg_begin(struct pg_journal *j, const char *what, GError **error);
PGresult *pg_step(struct pg_journal *j, const char *what, const char *sql, int n,
		  const char *const *params, GError **error);
void pg_roll_back(struct pg_journal *j);
gboolean pg_commit(struct pg_journal *j, const char *what, GError **error);
/* The text of row, col of res; newly allocated, NULL for SQL NULL. */
char *pg_value_dup(const PGresult *res, int row, int col);
/* The number in row, col of res (0 for SQL NULL). */
gint64 pg_value_int(const PGresult *res, int row, int col);
/* The Unix time now, as a parameter's text (in a buffer of PG_NUMBER_SIZE bytes). */
#define PG_NUMBER_SIZE 24
const char *pg_now(char buffer[PG_NUMBER_SIZE]);
/* n as a parameter's text, in buffer. */
const char *pg_number(char buffer[PG_NUMBER_SIZE], gint64 n);

extern const struct journal_ops journal_pg_ops;
/* The module's table (modules/module.h: M2T_MODULE_POSTGRESQL): journal_pg, in journal.c, has
 * the name and opens a journal with its ops. */
extern const struct journal_pg_module journal_pg_module;

/* journal_pg_mails.c */
gboolean pg_journal_lookup(struct journal *journal, const char *key, struct journal_entry *out,
			   gboolean *found, GError **error);
gboolean pg_journal_begin_attempt(struct journal *journal, const char *key,
				  const struct journal_mail_info *info, const char *write,
				  GError **error);
gboolean pg_journal_claim_legacy_key(struct journal *journal, const char *legacy,
				     const char *key, const struct journal_mail_info *info,
				     gboolean *claimed, GError **error);
gboolean pg_journal_earlier_writes(struct journal *journal, const char *key, GPtrArray **writes,
				   GError **error);
gboolean pg_journal_mark_delivered(struct journal *journal, const char *key, const char *action,
				   const char *ticket_id, const char *ticket_tid, const char *why,
				   GError **error);
gboolean pg_journal_mark_unanswered(struct journal *journal, const char *key, const char *reason,
				    GError **error);
gboolean pg_journal_mark_failed(struct journal *journal, const char *key, const char *reason,
				GError **error);
gboolean pg_journal_mark_quarantined(struct journal *journal, const char *key,
				     const struct journal_mail_info *info, const char *where,
				     const char *reason, GError **error);
gboolean pg_journal_mark_dropped(struct journal *journal, const char *key,
				 const struct journal_mail_info *info, const char *reason,
				 GError **error);
gboolean pg_journal_ticket_opened_by_another(struct journal *journal, const char *ticket_id,
					     const char *key, gboolean *yes, GError **error);
gboolean pg_journal_ticket_of_message(struct journal *journal, const char *message_id,
				      char **tid, char **id, GError **error);
gboolean pg_journal_count_opened_since(struct journal *journal, const char *sender,
				       gint64 since, guint *count, GError **error);

/* journal_pg_sources.c */
gboolean pg_journal_checkpoint_get(struct journal *journal, const char *path,
				   const char *fingerprint, guint64 *handled, GError **error);
gboolean pg_journal_checkpoint_set(struct journal *journal, const char *path,
				   const char *fingerprint, guint64 handled, GError **error);
gboolean pg_journal_mailbox_mark_get(struct journal *journal, const char *mailbox,
				     struct journal_mailbox_mark *out, gboolean *found,
				     GError **error);
gboolean pg_journal_mailbox_mark_set(struct journal *journal, const char *mailbox,
				     const struct journal_mailbox_mark *mark, GError **error);
gboolean pg_journal_item_get(struct journal *journal, const char *mailbox, const char *item,
			     int *failures, char **reason, gboolean *seen, GError **error);
gboolean pg_journal_item_count_failure(struct journal *journal, const char *mailbox,
				       const char *item, int delta, const char *reason,
				       GError **error);
gboolean pg_journal_item_finish(struct journal *journal, const char *mailbox, const char *item,
				gboolean keep_seen, GError **error);
gboolean pg_journal_items_seen(struct journal *journal, const char *mailbox, GHashTable *seen,
			       GError **error);
gboolean pg_journal_items_forget_absent(struct journal *journal, const char *mailbox,
					GHashTable *present, GError **error);

/* journal_pg_stats.c */
gboolean pg_journal_stats(struct journal *journal, gint64 since, guint max_problems,
			  GPtrArray **counts, GPtrArray **problems, guint *waiting,
			  GError **error);

/* journal_pg_leases.c */
gboolean pg_journal_lease_take(struct journal *journal, const char *name, const char *owner,
			       guint seconds, gboolean *held, char **previous, GError **error);
gboolean pg_journal_lease_release(struct journal *journal, const char *name, const char *owner,
				  GError **error);

/* journal_pg_work.c */
gboolean pg_journal_work_plan(struct journal *journal, const char *archive,
			      const char *fingerprint, const GPtrArray *units, gint64 *plan,
			      gboolean *recorded, GError **error);
gboolean pg_journal_work_claim(struct journal *journal, gint64 plan, const char *owner,
			       int lease_seconds, const GArray *skip,
			       struct journal_work_unit *out, gboolean *found, guint *held,
			       GError **error);
gboolean pg_journal_work_renew(struct journal *journal, gint64 plan, guint unit,
			       const char *owner, int lease_seconds, gboolean *held,
			       GError **error);
gboolean pg_journal_work_release(struct journal *journal, gint64 plan, guint unit,
				 const char *owner, gboolean finished, gboolean *held,
				 GError **error);
gboolean pg_journal_work_left(struct journal *journal, gint64 plan, guint *units, guint *left,
			      GError **error);

#endif
