/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal: what became of each mail. Write-ahead: an attempt is recorded before the desk is
 * called, its answer after, and only then is the source acknowledged. It also keeps where each
 * source stands (archive checkpoints, mailbox marks and items), what stats shows, the leases
 * by which poll instances sharing it share the mailboxes, and the units of work of an import
 * that several workers share.
 *
 * This header is the interface: struct journal_ops is what an implementation provides, with the
 * contract written on each op, and journal_backends[] lists the implementations by kind. The
 * journal_* functions below call the op of the same name. There are two implementations: a
 * SQLite file (state/journal_sqlite.c), and a PostgreSQL database several hosts share
 * (state/journal_pg.c); the unit tests run against this interface, for each of them. */
#ifndef M2T_STATE_JOURNAL_H
#define M2T_STATE_JOURNAL_H

#include <glib.h>

#define JOURNAL_ERROR (journal_error_quark())
GQuark journal_error_quark(void);
enum journal_error_code {
	JOURNAL_ERROR_BUSY, /* another process holds the lock past the busy timeout: try later */
	JOURNAL_ERROR_IO,   /* cannot open, read or write the journal */
	JOURNAL_ERROR_VERSION,
	JOURNAL_ERROR_KIND, /* no implementation of the kind asked for, or settings it cannot use */
	/* the journal's server cannot be reached, or the connection to it was lost: try later */
	JOURNAL_ERROR_UNAVAILABLE,
	JOURNAL_ERROR_MISSING, /* opened read_only, and nothing was ever recorded there */
	/* import --worker: another worker imports a different file under the archive's path, or
	 * the plan a worker took was replaced by one for a changed archive */
	JOURNAL_ERROR_CONFLICT,
};

enum journal_state {
	JOURNAL_PENDING,     /* an attempt was made and its answer is not known */
	JOURNAL_DELIVERED,   /* the desk has it: ticket opened or reply added */
	JOURNAL_FAILED,	     /* the last attempt failed in a way that may heal */
	JOURNAL_QUARANTINED, /* kept aside with a reason; not retried by itself */
	JOURNAL_DROPPED,     /* deliberately not sent, with a reason */
};

/* The state's name as the journal stores it ("pending", "delivered", ...); static. */
const char *journal_state_name(enum journal_state state);
/* The state a stored name stands for; PENDING for a name it does not know. */
enum journal_state journal_state_from_name(const char *name);

struct journal_entry {
	char *key;
	enum journal_state state;
	char *ticket_id;
	char *ticket_tid;
	int attempts;
	char *last_error;
	gint64 updated; /* Unix time of the last change; for PENDING, when the attempt began */
};
void journal_entry_clear(struct journal_entry *entry);

/* What the journal keeps about a mail besides its key (all borrowed). */
struct journal_mail_info {
	const char *source;
	const char *message_id;
	const char *sender;
	const char *subject;
};

/* Where the reading of an IMAP mailbox stands: every UID up to last_uid is handled; below
 * unseen_below only unseen mail is taken (what was read before the first start stays). */
struct journal_mailbox_mark {
	guint32 uidvalidity;
	guint32 last_uid;
	guint32 unseen_below;
};

/* What stats shows: mails by source and outcome, and mails that had trouble. */
struct journal_count {
	char *source;
	char *outcome; /* "opened", "replied", "adopted", or a state other than delivered */
	guint count;
};
struct journal_problem {
	char *key;
	char *source;
	char *subject;
	enum journal_state state;
	char *error;
	gint64 when; /* Unix time */
};
void journal_count_free(struct journal_count *count);
void journal_problem_free(struct journal_problem *problem);

/* Which journal to open and how (all borrowed). */
struct journal_settings {
	const char *kind;    /* the name of one of journal_backends[]; NULL: "sqlite" */
	const char *path;    /* the file of a journal kept in one (sqlite); NULL for a server's */
	const char *url;     /* where a server keeps the journal; NULL for sqlite (refused there) */
	/* A file whose first line is the password for url, read at each open; NULL: the
	 * server's client library finds one (PGPASSWORD, ~/.pgpass) or none is needed */
	const char *password_file;
	gboolean read_only;  /* open an existing journal to read, without creating or changing it */
	int busy_timeout_ms; /* how long to wait for another process's lock before BUSY */
};

/* One unit of work of an import shared by workers (import --worker), as claimed. */
struct journal_work_unit {
	guint number;	     /* its place in the plan: 0, 1, ... */
	char *mails;	     /* which mails it holds, as the planner wrote them */
	guint claims;	     /* how often it was claimed, this claim included */
	char *former_owner;  /* who claimed it last before (and did not finish it), or NULL */
};
void journal_work_unit_clear(struct journal_work_unit *unit);

struct journal;

/* One implementation of the journal. Every op but open and close fails with a GError in
 * JOURNAL_ERROR: BUSY when another process kept the journal past the busy timeout (the mail is
 * tried again later), UNAVAILABLE when a journal kept by a server cannot reach it (the same),
 * IO for anything else. A write that returns TRUE is durable (the source is acknowledged on
 * the strength of it); one that returns FALSE changed nothing (but items_forget_absent may
 * have forgotten some of the items), except that a write whose answer was lost with the
 * connection (UNAVAILABLE) may have been recorded: as after a crash, the next attempt's
 * lookup finds out. A journal kept by a server whose connection broke reconnects once at the
 * next op, never in the middle of a write, and not while it holds a mail lock (which went with
 * the connection): its ops fail with UNAVAILABLE until that lock is unlocked. One struct
 * journal is used by one thread at a time: threads open a journal each. On a journal opened
 * read_only every write fails with JOURNAL_ERROR_IO and changes nothing, and the mail locks are
 * no-ops. Strings returned are newly allocated. */
struct journal_ops {
	const char *name; /* the kind, as journal_settings names it */

	/* Open (and create, unless read_only) the journal, and bring its schema to the version
	 * this mail2ticket knows, running in one transaction the migration steps it has not seen
	 * (a released step never changes). A journal of a newer version is refused with
	 * JOURNAL_ERROR_VERSION; read_only only checks the version, and fails with
	 * JOURNAL_ERROR_MISSING where no journal was ever made. NULL on failure, with
	 * JOURNAL_ERROR_IO, BUSY, UNAVAILABLE, VERSION, MISSING or KIND (settings this kind cannot
	 * use). */
	struct journal *(*open)(const struct journal_settings *settings, GError **error);
	/* Release everything the journal holds, its mail locks too. */
	void (*close)(struct journal *journal);

	/* One mail is delivered by one process at a time: an MTA may hand the copies of one mail
	 * (one per recipient) to several processes at once, and each must see what the other
	 * recorded. The lock of key is held from the journal lookup to the last write of a
	 * delivery; it excludes other processes (other hosts too, for a journal they share), and
	 * lock_mail waits while another one holds it (or fails with BUSY after the busy timeout,
	 * where the implementation cannot wait longer). It is dropped when the holder dies (a
	 * server drops it with the holder's connection: when the holder's host vanishes, once the
	 * connection is found dead), and then no op of the holder's journal succeeds until it
	 * unlocks the key. Locking a key held already does nothing. Two keys may share a lock
	 * (then one waits for nothing worse than the other's delivery). Two journals of one
	 * process (two lanes) exclude each other too: a lane holds one lock at a time. */
	gboolean (*lock_mail)(struct journal *journal, const char *key, GError **error);
	void (*unlock_mail)(struct journal *journal, const char *key);

	/* *found is FALSE when the key is unknown; else out is filled (clear it after). */
	gboolean (*lookup)(struct journal *journal, const char *key, struct journal_entry *out,
			   gboolean *found, GError **error);
	/* Record that an attempt starts now (state PENDING, attempts + 1; a new key starts with
	 * the info), and which write it is: "open DEPTID" for a ticket opened in department
	 * DEPTID, "reply ID TID" for a reply to the ticket with internal id ID and number TID. */
	gboolean (*begin_attempt)(struct journal *journal, const char *key,
				  const struct journal_mail_info *info, const char *write,
				  GError **error);
	/* A journal written before keys of mail with a Message-ID had a digest of the mail in
	 * them knows the mail as legacy ("mid:ID", and "mid:ID#dept:N" for its per-department
	 * copies). When the row filed there has the sender (any case) and subject of info, it is
	 * this mail, and its rows and attempts are filed under key from now on, the suffixes
	 * kept (*claimed); otherwise it is another mail that carried the same Message-ID, and
	 * nothing changes. */
	gboolean (*claim_legacy_key)(struct journal *journal, const char *legacy, const char *key,
				     const struct journal_mail_info *info, gboolean *claimed,
				     GError **error);
	/* The writes the attempts of key were (distinct, oldest first), as begin_attempt got
	 * them, or "" for an attempt recorded by a mail2ticket that did not say. *writes is new
	 * (g_ptr_array_unref). */
	gboolean (*earlier_writes)(struct journal *journal, const char *key, GPtrArray **writes,
				   GError **error);
	/* The desk has the mail whose attempt begin_attempt recorded: state DELIVERED with the
	 * action ("opened", "replied", "adopted") and the ticket, last_error cleared. why (may be
	 * NULL) is the decision in words, kept with the attempt: a stranger's mail that opened a
	 * ticket of its own says so there. */
	gboolean (*mark_delivered)(struct journal *journal, const char *key, const char *action,
				   const char *ticket_id, const char *ticket_tid, const char *why,
				   GError **error);
	/* The attempt failed in a way that may heal: state FAILED, last_error reason. */
	gboolean (*mark_failed)(struct journal *journal, const char *key, const char *reason,
				GError **error);
	/* The attempt's write timed out: the desk may have done it, or may still be doing it, so
	 * the state stays PENDING, as of now, with last_error reason. */
	gboolean (*mark_unanswered)(struct journal *journal, const char *key, const char *reason,
				    GError **error);
	/* Final states, recorded for known and unknown keys alike (a new key starts with the
	 * info): QUARANTINED with where the mail was put, DROPPED; last_error is the reason. */
	gboolean (*mark_quarantined)(struct journal *journal, const char *key,
				     const struct journal_mail_info *info, const char *where,
				     const char *reason, GError **error);
	gboolean (*mark_dropped)(struct journal *journal, const char *key,
				 const struct journal_mail_info *info, const char *reason,
				 GError **error);

	/* The ticket (public number and internal id) that the mail with message_id opened or was
	 * added to, the earliest delivered; *tid NULL when the journal knows of none. */
	gboolean (*ticket_of_message)(struct journal *journal, const char *message_id, char **tid,
				      char **id, GError **error);
	/* Whether a mail other than key opened the ticket with the internal id ticket_id, or
	 * adopted it: a ticket that matches a lost attempt's mail is not that mail's then. */
	gboolean (*ticket_opened_by_another)(struct journal *journal, const char *ticket_id,
					     const char *key, gboolean *yes, GError **error);
	/* How many tickets mail from sender (any case) opened or adopted since the Unix time
	 * since. */
	gboolean (*count_opened_since)(struct journal *journal, const char *sender, gint64 since,
				       guint *count, GError **error);

	/* How many messages of the archive at path, as it was when fingerprint was taken, were
	 * handled in order; 0 when the journal has no checkpoint for it or the archive has
	 * changed since. set replaces the archive's checkpoint. */
	gboolean (*checkpoint_get)(struct journal *journal, const char *path,
				   const char *fingerprint, guint64 *handled, GError **error);
	gboolean (*checkpoint_set)(struct journal *journal, const char *path,
				   const char *fingerprint, guint64 handled, GError **error);

	/* The mailbox's mark; *found FALSE (and out zero) when it has none. set replaces it. */
	gboolean (*mailbox_mark_get)(struct journal *journal, const char *mailbox,
				     struct journal_mailbox_mark *out, gboolean *found,
				     GError **error);
	gboolean (*mailbox_mark_set)(struct journal *journal, const char *mailbox,
				     const struct journal_mailbox_mark *mark, GError **error);

	/* One message of a mailbox (IMAP "UIDVALIDITY:UID", POP3 UIDL): how often handling it
	 * failed without healing (a parser that crashed counts too, since the count is raised
	 * before parsing), and whether it was handled and left on the server. *reason is NULL
	 * when none was given; an unknown item has no failures and is not seen. */
	gboolean (*item_get)(struct journal *journal, const char *mailbox, const char *item,
			     int *failures, char **reason, gboolean *seen, GError **error);
	/* Add delta (which may be negative; the count stays at 0 or above) to the failures; a
	 * NULL reason keeps the last one. */
	gboolean (*item_count_failure)(struct journal *journal, const char *mailbox,
				       const char *item, int delta, const char *reason,
				       GError **error);
	/* The message is acknowledged: forgotten, or with keep_seen remembered as handled (and
	 * its failures reset). */
	gboolean (*item_finish)(struct journal *journal, const char *mailbox, const char *item,
				gboolean keep_seen, GError **error);
	/* Add the items remembered as handled to seen (a set of newly allocated strings). */
	gboolean (*items_seen)(struct journal *journal, const char *mailbox, GHashTable *seen,
			       GError **error);
	/* Forget handled items that are no longer on the server (present: a set of strings). */
	gboolean (*items_forget_absent)(struct journal *journal, const char *mailbox,
					GHashTable *present, GError **error);

	/* The mails changed since the Unix time since: *counts (struct journal_count, by source
	 * and outcome, ordered by both) and *problems (struct journal_problem, the newest at most
	 * max_problems failed, pending or quarantined with an error); *waiting counts the mails,
	 * of any time, waiting for another attempt (failed or pending). The arrays are new, even
	 * on failure; free with g_ptr_array_unref(). */
	gboolean (*stats)(struct journal *journal, gint64 since, guint max_problems,
			  GPtrArray **counts, GPtrArray **problems, guint *waiting, GError **error);

	/* Leases: a named thing (a mailbox, "mailbox:NAME") is worked on by one owner at a time
	 * among the processes and hosts that share the journal. lease_take takes the lease name
	 * for owner until seconds from now, or renews it when owner holds it already. *held is
	 * TRUE when owner holds it now: it was free, or had run out (its holder died or stopped
	 * renewing: taking it over is what the expiry is for), or was owner's; FALSE, and nothing
	 * changes, while another owner holds it. Taking is atomic: of owners racing for a lease,
	 * exactly one holds it. *previous (NULL: not asked) is the owner the journal had for the
	 * lease before this call, run out or not, or NULL when it had none; newly allocated. The
	 * expiry is measured on the journal's clock where it has one (a database server's now()),
	 * so that hosts whose clocks disagree still agree on it; a journal without one (a SQLite
	 * file, which one host keeps) uses the local clock. A lease of 0 seconds has run out at
	 * once. */
	gboolean (*lease_take)(struct journal *journal, const char *name, const char *owner,
			       guint seconds, gboolean *held, char **previous, GError **error);
	/* Give the lease up, so that another owner takes it at once instead of after its expiry;
	 * nothing changes when another owner holds it (owner's ran out and was taken). */
	gboolean (*lease_release)(struct journal *journal, const char *name, const char *owner,
				  GError **error);
	/* One import shared by workers (import --worker, on one host or several): a plan of
	 * units of work, which the workers claim one at a time. A claim is a lease: it has an
	 * owner (a name unique among the workers) and an expiry in the journal's clock, the owner
	 * renews it while it works, and once it expires (its owner died or hangs) another worker
	 * may claim the unit. A claim never decides a mail: a unit done twice finds its mails in
	 * the journal.
	 *
	 * The plan of archive (its canonical path) as fingerprint identifies it, recorded by the
	 * first worker to come: when the journal has that plan, *plan is its id and units is not
	 * looked at (NULL asks only whether there is one: *plan 0 when not); else units (of
	 * char *, each one unit's mails in words the planner and the workers agree on) is recorded
	 * as the plan, numbered 0, 1, ... in its order (*recorded TRUE, else FALSE), under an id
	 * no other plan had or will have. A plan of archive with another fingerprint is that of
	 * a changed archive: it is replaced, unless one of its units is claimed (the claim not
	 * expired), when another worker imports a different file under the same path
	 * (JOURNAL_ERROR_CONFLICT). */
	gboolean (*work_plan)(struct journal *journal, const char *archive, const char *fingerprint,
			      const GPtrArray *units, gint64 *plan, gboolean *recorded,
			      GError **error);
	/* Claim for owner the first unit of plan, in plan order, that is not finished, not in
	 * skip (guint unit numbers; NULL: none) and claimed by nobody (or the claim expired),
	 * until lease_seconds from now; out is filled (clear it after). Two workers claiming at
	 * once get two units. *found FALSE when there is none: then *held counts the units not
	 * finished nor in skip whose claim has not expired (0: nothing is left to wait for). A
	 * plan that is no longer there was replaced (JOURNAL_ERROR_CONFLICT). */
	gboolean (*work_claim)(struct journal *journal, gint64 plan, const char *owner,
			       int lease_seconds, const GArray *skip, struct journal_work_unit *out,
			       gboolean *found, guint *held, GError **error);
	/* Extend owner's claim of unit to lease_seconds from now; *held FALSE (and nothing
	 * changed) when owner no longer has it: another worker claimed it, or it was released. An
	 * expired claim nobody took since is still owner's. */
	gboolean (*work_renew)(struct journal *journal, gint64 plan, guint unit, const char *owner,
			       int lease_seconds, gboolean *held, GError **error);
	/* owner is done with its claim of unit: finished, the unit is done for good; else it is
	 * given back unfinished, for any worker to claim at once. *held FALSE (and nothing
	 * changed) when owner no longer had the claim. */
	gboolean (*work_release)(struct journal *journal, gint64 plan, guint unit,
				 const char *owner, gboolean finished, gboolean *held,
				 GError **error);
	/* How many units plan has, and how many of them are not finished. */
	gboolean (*work_left)(struct journal *journal, gint64 plan, guint *units, guint *left,
			      GError **error);
};

/* Every implementation embeds this first, and its ops point back at its own table. */
struct journal {
	const struct journal_ops *ops;
	/* What the journal is, for messages: its file, or its server and database without a
	 * password (owned by the implementation). */
	const char *where;
	int schema_version; /* what open found, or brought the journal to */
};

/* The implementations, by kind: a new one is its own file and one line in journal_backends[]
 * (state/journal.c). The first is the default. */
extern const struct journal_ops journal_sqlite;
extern const struct journal_ops journal_pg;
extern const struct journal_ops *const journal_backends[]; /* NULL-terminated */

/* PostgreSQL's code is the module mail2ticket-postgresql.so (modules/module.h), loaded when
 * the config names it; journal_pg opens a journal with the module's ops. */
struct journal_pg_module {
	const struct journal_ops *ops;
	/* Whether url is a libpq connection string or URI, and one that holds a password. */
	gboolean (*parse_url)(const char *url, gboolean *has_password);
};
/* As parse_url, the module loaded first: FALSE with error set when it cannot be, else with
 * *parsed set. */
gboolean journal_pg_parse_url(const char *url, gboolean *parsed, gboolean *has_password,
			      GError **error);
/* The implementation of kind (NULL: the default), or NULL when there is none. */
const struct journal_ops *journal_backend_find(const char *kind);

/* Open the journal settings describe; free with journal_close(). */
struct journal *journal_open_with(const struct journal_settings *settings, GError **error);
/* Open (and create) the SQLite journal at path. read_only opens an existing file without
 * creating or changing it. Free with journal_close(). */
struct journal *journal_open(const char *path, gboolean read_only, int busy_timeout_ms,
			     GError **error);
void journal_close(struct journal *journal);

/* Each of these calls the op of the same name: its contract is written on the op above. */
gboolean journal_lock_mail(struct journal *journal, const char *key, GError **error);
void journal_unlock_mail(struct journal *journal, const char *key);
gboolean journal_lookup(struct journal *journal, const char *key, struct journal_entry *out,
			gboolean *found, GError **error);
gboolean journal_begin_attempt(struct journal *journal, const char *key,
			       const struct journal_mail_info *info, const char *write,
			       GError **error);
gboolean journal_claim_legacy_key(struct journal *journal, const char *legacy, const char *key,
				  const struct journal_mail_info *info, gboolean *claimed,
				  GError **error);
gboolean journal_earlier_writes(struct journal *journal, const char *key, GPtrArray **writes,
				GError **error);
gboolean journal_mark_delivered(struct journal *journal, const char *key, const char *action,
				const char *ticket_id, const char *ticket_tid, const char *why,
				GError **error);
gboolean journal_mark_failed(struct journal *journal, const char *key, const char *reason,
			     GError **error);
gboolean journal_mark_unanswered(struct journal *journal, const char *key, const char *reason,
				 GError **error);
gboolean journal_mark_quarantined(struct journal *journal, const char *key,
				  const struct journal_mail_info *info, const char *where,
				  const char *reason, GError **error);
gboolean journal_mark_dropped(struct journal *journal, const char *key,
			      const struct journal_mail_info *info, const char *reason,
			      GError **error);
gboolean journal_ticket_of_message(struct journal *journal, const char *message_id, char **tid,
				   char **id, GError **error);
gboolean journal_ticket_opened_by_another(struct journal *journal, const char *ticket_id,
					  const char *key, gboolean *yes, GError **error);
gboolean journal_count_opened_since(struct journal *journal, const char *sender, gint64 since,
				    guint *count, GError **error);
gboolean journal_checkpoint_get(struct journal *journal, const char *path, const char *fingerprint,
				guint64 *handled, GError **error);
gboolean journal_checkpoint_set(struct journal *journal, const char *path, const char *fingerprint,
				guint64 handled, GError **error);
gboolean journal_mailbox_mark_get(struct journal *journal, const char *mailbox,
				  struct journal_mailbox_mark *out, gboolean *found,
				  GError **error);
gboolean journal_mailbox_mark_set(struct journal *journal, const char *mailbox,
				  const struct journal_mailbox_mark *mark, GError **error);
gboolean journal_item_get(struct journal *journal, const char *mailbox, const char *item,
			  int *failures, char **reason, gboolean *seen, GError **error);
gboolean journal_item_count_failure(struct journal *journal, const char *mailbox, const char *item,
				    int delta, const char *reason, GError **error);
gboolean journal_item_finish(struct journal *journal, const char *mailbox, const char *item,
			     gboolean keep_seen, GError **error);
gboolean journal_items_seen(struct journal *journal, const char *mailbox, GHashTable *seen,
			    GError **error);
gboolean journal_items_forget_absent(struct journal *journal, const char *mailbox,
				     GHashTable *present, GError **error);
gboolean journal_stats(struct journal *journal, gint64 since, guint max_problems,
		       GPtrArray **counts, GPtrArray **problems, guint *waiting, GError **error);
gboolean journal_lease_take(struct journal *journal, const char *name, const char *owner,
			    guint seconds, gboolean *held, char **previous, GError **error);
gboolean journal_lease_release(struct journal *journal, const char *name, const char *owner,
			       GError **error);
gboolean journal_work_plan(struct journal *journal, const char *archive, const char *fingerprint,
			   const GPtrArray *units, gint64 *plan, gboolean *recorded,
			   GError **error);
gboolean journal_work_claim(struct journal *journal, gint64 plan, const char *owner,
			    int lease_seconds, const GArray *skip, struct journal_work_unit *out,
			    gboolean *found, guint *held, GError **error);
gboolean journal_work_renew(struct journal *journal, gint64 plan, guint unit, const char *owner,
			    int lease_seconds, gboolean *held, GError **error);
gboolean journal_work_release(struct journal *journal, gint64 plan, guint unit,
			      const char *owner, gboolean finished, gboolean *held,
			      GError **error);
gboolean journal_work_left(struct journal *journal, gint64 plan, guint *units, guint *left,
			   GError **error);

#endif
