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

/* *found is FALSE when the key is unknown; else out is filled (clear it after). */
gboolean journal_lookup(struct journal *journal, const char *key, struct journal_entry *out,
			gboolean *found, GError **error);
/* Record that an attempt starts now (state PENDING, attempts + 1). */
gboolean journal_begin_attempt(struct journal *journal, const char *key,
			       const struct journal_mail_info *info, GError **error);
gboolean journal_mark_delivered(struct journal *journal, const char *key, const char *action,
				const char *ticket_id, const char *ticket_tid, GError **error);
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

const char *journal_state_name(enum journal_state state);

#endif
