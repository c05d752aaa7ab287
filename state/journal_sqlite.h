/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The insides of the SQLite journal (the ops journal_sqlite), shared by its files and included by
 * no other: journal_sqlite.c opens the file, keeps its schema and the mail locks;
 * journal_sqlite_mails.c records mails and their attempts; journal_sqlite_sources.c where each
 * source stands (archive checkpoints, mailbox marks and items); journal_sqlite_stats.c what
 * stats shows; journal_sqlite_leases.c the leases; journal_sqlite_work.c the units of work of
 * imports shared by workers. */
#ifndef M2T_STATE_JOURNAL_SQLITE_H
#define M2T_STATE_JOURNAL_SQLITE_H

#include <sqlite3.h>

#include "state/journal.h"

struct sqlite_journal {
	struct journal base;
	sqlite3 *db;
	char *path;
	int lock_fd; /* <path>.lock, for the mail locks; -1 when read-only */
	GHashTable *statements; /* SQL text -> its statement, prepared once (sqlite_statement()) */
};

/* Fill error from SQLite's answer rc to what; FALSE. */
gboolean sqlite_fail(struct sqlite_journal *j, int rc, const char *what, GError **error);
/* The statement for sql, prepared the first time this connection runs it: preparing cost more
 * than running most of the journal's queries (a sixth of an import's CPU). Each use ends with
 * sqlite_statement_done(). Owned by the journal; NULL with error set (what names the step). */
sqlite3_stmt *sqlite_statement(struct sqlite_journal *j, const char *sql, const char *what,
			       GError **error);
/* Ends a use of a statement of sqlite_statement(): its read or write is over (a statement left
 * stepping keeps its transaction open) and its parameters, which may point to the caller's
 * strings, are unbound. */
void sqlite_statement_done(sqlite3_stmt *st);
/* The text in column col of the row st stands on; newly allocated, NULL for SQL NULL. */
char *sqlite_column_dup(sqlite3_stmt *st, int col);

/* journal_sqlite_mails.c */
gboolean sqlite_journal_lookup(struct journal *journal, const char *key,
			       struct journal_entry *out, gboolean *found, GError **error);
gboolean sqlite_journal_begin_attempt(struct journal *journal, const char *key,
				      const struct journal_mail_info *info, const char *write,
				      GError **error);
gboolean sqlite_journal_claim_legacy_key(struct journal *journal, const char *legacy,
					 const char *key, const struct journal_mail_info *info,
					 gboolean *claimed, GError **error);
gboolean sqlite_journal_earlier_writes(struct journal *journal, const char *key,
				       GPtrArray **writes, GError **error);
gboolean sqlite_journal_mark_delivered(struct journal *journal, const char *key,
				       const char *action, const char *ticket_id,
				       const char *ticket_tid, const char *why, GError **error);
gboolean sqlite_journal_mark_unanswered(struct journal *journal, const char *key,
					const char *reason, GError **error);
gboolean sqlite_journal_mark_failed(struct journal *journal, const char *key, const char *reason,
				    GError **error);
gboolean sqlite_journal_mark_quarantined(struct journal *journal, const char *key,
					 const struct journal_mail_info *info, const char *where,
					 const char *reason, GError **error);
gboolean sqlite_journal_mark_dropped(struct journal *journal, const char *key,
				     const struct journal_mail_info *info, const char *reason,
				     GError **error);
gboolean sqlite_journal_ticket_opened_by_another(struct journal *journal, const char *ticket_id,
						 const char *key, gboolean *yes, GError **error);
gboolean sqlite_journal_ticket_of_message(struct journal *journal, const char *message_id,
					  char **tid, char **id, GError **error);
gboolean sqlite_journal_count_opened_since(struct journal *journal, const char *sender,
					   gint64 since, guint *count, GError **error);

/* journal_sqlite_sources.c */
gboolean sqlite_journal_checkpoint_get(struct journal *journal, const char *path,
				       const char *fingerprint, guint64 *handled, GError **error);
gboolean sqlite_journal_checkpoint_set(struct journal *journal, const char *path,
				       const char *fingerprint, guint64 handled, GError **error);
gboolean sqlite_journal_mailbox_mark_get(struct journal *journal, const char *mailbox,
					 struct journal_mailbox_mark *out, gboolean *found,
					 GError **error);
gboolean sqlite_journal_mailbox_mark_set(struct journal *journal, const char *mailbox,
					 const struct journal_mailbox_mark *mark, GError **error);
gboolean sqlite_journal_item_get(struct journal *journal, const char *mailbox, const char *item,
				 int *failures, char **reason, gboolean *seen, GError **error);
gboolean sqlite_journal_item_count_failure(struct journal *journal, const char *mailbox,
					   const char *item, int delta, const char *reason,
					   GError **error);
gboolean sqlite_journal_item_finish(struct journal *journal, const char *mailbox,
				    const char *item, gboolean keep_seen, GError **error);
gboolean sqlite_journal_items_seen(struct journal *journal, const char *mailbox,
				   GHashTable *seen, GError **error);
gboolean sqlite_journal_items_forget_absent(struct journal *journal, const char *mailbox,
					    GHashTable *present, GError **error);

/* journal_sqlite_stats.c */
gboolean sqlite_journal_stats(struct journal *journal, gint64 since, guint max_problems,
			      GPtrArray **counts, GPtrArray **problems, guint *waiting,
			      GError **error);

/* journal_sqlite_leases.c */
gboolean sqlite_journal_lease_take(struct journal *journal, const char *name, const char *owner,
				   guint seconds, gboolean *held, char **previous, GError **error);
gboolean sqlite_journal_lease_release(struct journal *journal, const char *name,
				      const char *owner, GError **error);
/* journal_sqlite_work.c */
gboolean sqlite_journal_work_plan(struct journal *journal, const char *archive,
				  const char *fingerprint, const GPtrArray *units, gint64 *plan,
				  gboolean *recorded, GError **error);
gboolean sqlite_journal_work_claim(struct journal *journal, gint64 plan, const char *owner,
				   int lease_seconds, const GArray *skip,
				   struct journal_work_unit *out, gboolean *found, guint *held,
				   GError **error);
gboolean sqlite_journal_work_renew(struct journal *journal, gint64 plan, guint unit,
				   const char *owner, int lease_seconds, gboolean *held,
				   GError **error);
gboolean sqlite_journal_work_release(struct journal *journal, gint64 plan, guint unit,
				     const char *owner, gboolean finished, gboolean *held,
				     GError **error);
gboolean sqlite_journal_work_left(struct journal *journal, gint64 plan, guint *units,
				  guint *left, GError **error);

#endif
