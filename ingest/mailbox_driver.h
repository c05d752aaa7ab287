/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kinds of mailbox, one line each in one table (ingest/mailbox_driver.c): the url schemes
 * that name one, its ports, what it can do, what a [mailbox] left out means for it, and its
 * constructor. The config loader finds a [mailbox] url's kind there and mailbox_new() its
 * constructor; neither names a protocol. A new protocol is its own file, defining NAME_driver,
 * plus its line in the table. */
#ifndef M2T_INGEST_MAILBOX_DRIVER_H
#define M2T_INGEST_MAILBOX_DRIVER_H

#include <glib.h>

#include "config/config.h"

struct mailbox;

/* What a kind of mailbox can do: which [mailbox] values it takes, and how a poll pass keeps its
 * place in it and acknowledges its mail. */
enum mailbox_feature {
	MAILBOX_HAS_FOLDERS = 1 << 0, /* the url names a folder; after and failed may move mail */
	MAILBOX_HAS_FLAGS = 1 << 1,   /* a seen flag and keywords: after = flag, start = unseen */
	MAILBOX_HAS_XOAUTH2 = 1 << 2, /* auth = xoauth2 */
	/* Ids that only grow (IMAP UIDs): the journal keeps one mark per folder; without, it keeps
	 * each id it has seen. */
	MAILBOX_HAS_UIDS = 1 << 3,
	MAILBOX_ACKS_AT_CLOSE = 1 << 4, /* acknowledgements count at the session's end (QUIT) */
	MAILBOX_HAS_LOGIN = 1 << 5,	/* a server with a user and a secret */
	/* A folder on this host (the spool): each host's poll reads its own, so poll instances
	 * that share a journal do not share it through a lease. */
	MAILBOX_IS_LOCAL = 1 << 6,
};

struct mailbox_driver {
	const char *name;	/* in messages and for mailbox_driver_lookup(): "IMAP" */
	const char *scheme;	/* a url's scheme with STARTTLS ("imap"); NULL: no url names it */
	const char *tls_scheme; /* a url's scheme with TLS from the start ("imaps") */
	int port;		/* with scheme */
	int tls_port;		/* with tls_scheme */
	const char *item_name;	/* what names one of its mails in logs: "UID" */
	unsigned features;	/* of enum mailbox_feature */
	const char *after;	/* [mailbox] after when the file leaves it out */
	/* Not connected yet; config (borrowed) must outlive it. */
	struct mailbox *(*mailbox_new)(const struct mailbox_config *config);
};

/* The driver a url scheme names (without regard to case), *implicit_tls telling whether it was
 * its tls_scheme; NULL when none does. Borrowed from the table. */
const struct mailbox_driver *mailbox_driver_for_scheme(const char *scheme, gboolean *implicit_tls);
/* The driver named name (without regard to case), or NULL. Borrowed from the table. */
const struct mailbox_driver *mailbox_driver_lookup(const char *name);
/* The url forms of every driver, for a message: "imaps://HOST/FOLDER, imap://, pop3s://HOST or
 * pop3://", or with tls_only "imaps:// or pop3s://". Newly allocated. */
char *mailbox_driver_url_forms(gboolean tls_only);
/* The names of the drivers that have feature, for a message: "IMAP". Newly allocated. */
char *mailbox_driver_names(unsigned feature);

#endif
