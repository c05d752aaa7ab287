/* The journal: what became of each mail, in SQLite. Write-ahead: an attempt is recorded before the
 * desk is called, its answer after, and only then is the source acknowledged. */
#ifndef M2T_STATE_JOURNAL_H
#define M2T_STATE_JOURNAL_H

#include <glib.h>

#define JOURNAL_ERROR (journal_error_quark())
GQuark journal_error_quark(void);
enum journal_error_code {
	JOURNAL_ERROR_BUSY, /* another process holds the lock past the busy timeout: try later */
	JOURNAL_ERROR_IO,   /* cannot open, read or write the file */
	JOURNAL_ERROR_VERSION,
};

enum journal_state {
	JOURNAL_PENDING,     /* an attempt was made and its answer is not known */
	JOURNAL_DELIVERED,   /* the desk has it: ticket opened or reply added */
	JOURNAL_FAILED,	     /* the last attempt failed in a way that may heal */
	JOURNAL_QUARANTINED, /* kept aside with a reason; not retried by itself */
	JOURNAL_DROPPED,     /* deliberately not sent, with a reason */
};

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

struct journal;

/* Open (and create) the journal at path. read_only opens an existing file without creating or
 * changing it. Free with journal_close(). */
struct journal *journal_open(const char *path, gboolean read_only, int busy_timeout_ms,
			     GError **error);
void journal_close(struct journal *journal);

/* One mail is delivered by one process at a time: an MTA may hand the copies of one mail (one
 * per recipient) to several processes at once, and each must see what the other recorded. Held
 * from the journal lookup to the last write of a delivery; waits while another process holds
 * it. A record lock on <path>.lock, which the kernel drops when the process dies. Threads of
 * one process do not exclude each other (import keeps a mail's thread on one lane). No-ops on
 * a read-only journal. */
gboolean journal_lock_mail(struct journal *journal, const char *key, GError **error);
void journal_unlock_mail(struct journal *journal, const char *key);

/* *found is FALSE when the key is unknown; else out is filled (clear it after). */
gboolean journal_lookup(struct journal *journal, const char *key, struct journal_entry *out,
			gboolean *found, GError **error);
/* Record that an attempt starts now (state PENDING, attempts + 1), and which write it is:
 * "open DEPTID" for a ticket opened in department DEPTID, "reply ID TID" for a reply to the
 * ticket with internal id ID and number TID. */
gboolean journal_begin_attempt(struct journal *journal, const char *key,
			       const struct journal_mail_info *info, const char *write,
			       GError **error);
/* A journal written before keys of mail with a Message-ID had a digest of the mail in them
 * knows the mail as legacy ("mid:ID", and "mid:ID#dept:N" for its per-department copies). When
 * the row filed there has the sender and subject of info, it is this mail, and its rows are
 * filed under key from now on (*claimed); otherwise it is another mail that carried the same
 * Message-ID, and nothing changes. */
gboolean journal_claim_legacy_key(struct journal *journal, const char *legacy, const char *key,
				  const struct journal_mail_info *info, gboolean *claimed,
				  GError **error);

/* The writes the attempts of key were (distinct, oldest first), as journal_begin_attempt() got
 * them, or "" for an attempt recorded by a mail2ticket that did not say. *writes is new. */
gboolean journal_earlier_writes(struct journal *journal, const char *key, GPtrArray **writes,
				GError **error);
/* why (may be NULL) is the decision in words, kept with the attempt: a stranger's mail that
 * opened a ticket of its own says so there. */
gboolean journal_mark_delivered(struct journal *journal, const char *key, const char *action,
				const char *ticket_id, const char *ticket_tid, const char *why,
				GError **error);
gboolean journal_mark_failed(struct journal *journal, const char *key, const char *reason,
			     GError **error);
gboolean journal_mark_quarantined(struct journal *journal, const char *key,
				  const struct journal_mail_info *info, const char *where,
				  const char *reason, GError **error);
gboolean journal_mark_dropped(struct journal *journal, const char *key,
			      const struct journal_mail_info *info, const char *reason,
			      GError **error);

/* The ticket (public number and internal id, newly allocated) that the mail with message_id
 * opened or was added to; *tid NULL when the journal knows of none. */
gboolean journal_ticket_of_message(struct journal *journal, const char *message_id, char **tid,
				   char **id, GError **error);

/* How many tickets mail from sender (any case) opened since the Unix time since. */
gboolean journal_count_opened_since(struct journal *journal, const char *sender, gint64 since,
				    guint *count, GError **error);

/* How many messages of the archive at path, as it was when fingerprint was taken, were handled in
 * order; 0 when the journal has no checkpoint for it or the archive has changed since. */
gboolean journal_checkpoint_get(struct journal *journal, const char *path, const char *fingerprint,
				guint64 *handled, GError **error);
gboolean journal_checkpoint_set(struct journal *journal, const char *path, const char *fingerprint,
				guint64 handled, GError **error);

/* Where the reading of an IMAP mailbox stands: every UID up to last_uid is handled; below
 * unseen_below only unseen mail is taken (what was read before the first start stays). */
struct journal_mailbox_mark {
	guint32 uidvalidity;
	guint32 last_uid;
	guint32 unseen_below;
};
gboolean journal_mailbox_mark_get(struct journal *journal, const char *mailbox,
				  struct journal_mailbox_mark *out, gboolean *found, GError **error);
gboolean journal_mailbox_mark_set(struct journal *journal, const char *mailbox,
				  const struct journal_mailbox_mark *mark, GError **error);

/* One message of a mailbox (IMAP "UIDVALIDITY:UID", POP3 UIDL): how often handling it failed
 * without healing (a parser that crashed counts too, since the count is raised before parsing),
 * and whether it was handled and left on the server. *reason is newly allocated or NULL. */
gboolean journal_item_get(struct journal *journal, const char *mailbox, const char *item,
			  int *failures, char **reason, gboolean *seen, GError **error);
/* Add delta (which may be negative) to the failures; a NULL reason keeps the last one. */
gboolean journal_item_count_failure(struct journal *journal, const char *mailbox, const char *item,
				    int delta, const char *reason, GError **error);
/* The message is acknowledged: forgotten, or with keep_seen remembered as handled. */
gboolean journal_item_finish(struct journal *journal, const char *mailbox, const char *item,
			     gboolean keep_seen, GError **error);
/* Add the items remembered as handled to seen (a set of newly allocated strings). */
gboolean journal_items_seen(struct journal *journal, const char *mailbox, GHashTable *seen,
			    GError **error);
/* Forget handled items that are no longer on the server (present: a set of strings). */
gboolean journal_items_forget_absent(struct journal *journal, const char *mailbox,
				     GHashTable *present, GError **error);

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

/* The mails changed since the Unix time since: *counts (struct journal_count, by source and
 * outcome) and *problems (struct journal_problem, the newest at most max_problems that failed
 * or were quarantined, with the error); *waiting counts the mails, of any time, waiting for another attempt (failed or
 * pending). The arrays are new; free with g_ptr_array_unref(). */
gboolean journal_stats(struct journal *journal, gint64 since, guint max_problems,
		       GPtrArray **counts, GPtrArray **problems, guint *waiting, GError **error);

const char *journal_state_name(enum journal_state state);

#endif
