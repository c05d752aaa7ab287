/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A mail server's mailbox (IMAP or POP3, or pipe's local spool): list what is there, fetch a
 * message whole, and acknowledge it once the caller has recorded the desk's answer. The poll
 * command sees only these operations, never which protocol it reads. */
#ifndef M2T_INGEST_MAILBOX_H
#define M2T_INGEST_MAILBOX_H

#include <glib.h>

#include "ingest/envelope.h"
#include "config/config.h"

#define MAILBOX_ERROR (mailbox_error_quark())
GQuark mailbox_error_quark(void);
enum mailbox_error_code {
	MAILBOX_ERROR_CONNECT,	/* unreachable, dropped, timed out: reconnect later */
	MAILBOX_ERROR_TLS,	/* not trusted, or no TLS where it is required */
	MAILBOX_ERROR_AUTH,	/* the login was refused */
	MAILBOX_ERROR_REFUSED,	/* the server said no to a command (the connection stays) */
	MAILBOX_ERROR_CONFIG,	/* the token command failed: an admin must look */
};

/* One message on the server. */
struct mailbox_message {
	char *id;      /* the journal's handle: "UIDVALIDITY:UID" (IMAP) or the UIDL (POP3) */
	guint32 uid;   /* IMAP */
	guint index;   /* POP3 message number in this session */
	gsize size;    /* as the server counts it */
	gboolean seen; /* IMAP \Seen */
	/* The spool: the envelope pipe kept with the mail (all NULL when it had none), set by
	 * fetch. */
	gboolean has_envelope;
	struct envelope_kept envelope;
};

struct mailbox;

struct mailbox_ops {
	/* Connect, check the certificate, log in, and select the folder. */
	gboolean (*open)(struct mailbox *mb, GError **error);
	/* The messages there (IMAP: with a UID above above_uid), oldest first, appended to out (a
	 * GArray of struct mailbox_message with mailbox_message_clear as its clear function). */
	gboolean (*list)(struct mailbox *mb, guint32 above_uid, GArray *out, GError **error);
	/* The whole message, without marking it read. *raw is a new reference. The spool also sets
	 * msg's envelope. */
	gboolean (*fetch)(struct mailbox *mb, struct mailbox_message *msg, GBytes **raw,
			  GError **error);
	/* The config's "after": moved, flagged or deleted (POP3: at the end of the session). */
	gboolean (*acknowledge)(struct mailbox *mb, const struct mailbox_message *msg,
				GError **error);
	/* Moved to folder (IMAP only; NULL for POP3). */
	gboolean (*move_to)(struct mailbox *mb, const struct mailbox_message *msg,
			    const char *folder, GError **error);
	/* Start waiting for new mail: *fd is the socket to watch, or -1 where the server cannot
	 * tell (poll at the configured interval); *ready when news arrived with the server's
	 * answer and is already read into a buffer, where watching fd would miss it. NULL for
	 * POP3. */
	gboolean (*idle_start)(struct mailbox *mb, int *fd, gboolean *ready, GError **error);
	gboolean (*idle_done)(struct mailbox *mb, GError **error);
	/* Log out (POP3: this commits the deletions) and disconnect; safe when not open. */
	gboolean (*close)(struct mailbox *mb, GError **error);
	void (*free)(struct mailbox *mb);
};

struct mailbox {
	const struct mailbox_ops *ops;
	const struct mailbox_config *config; /* borrowed */
	gboolean connected;
	/* IMAP, after open: the folder's UIDVALIDITY and UIDNEXT. */
	guint32 uidvalidity;
	guint32 uidnext;
};

/* A mailbox for config (borrowed; it must outlive the mailbox), not yet connected, made by its
 * driver (ingest/mailbox_driver.h). Free with mailbox_free(). */
struct mailbox *mailbox_new(const struct mailbox_config *config);
void mailbox_free(struct mailbox *mb);

void mailbox_message_clear(struct mailbox_message *msg);
/* An empty GArray for mailbox_ops.list; free with g_array_unref(). */
GArray *mailbox_message_array_new(void);

/* The password or, for XOAUTH2, the access token printed by the configured command. Newly
 * allocated; wipe and free with mailbox_secret_free(). */
char *mailbox_login_secret(const struct mailbox_config *config, GError **error);
void mailbox_secret_free(char *secret);

#endif
