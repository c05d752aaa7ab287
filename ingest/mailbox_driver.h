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

/* What a kind of mailbox can do, which decides the [mailbox] values it takes. */
enum mailbox_feature {
	MAILBOX_HAS_FOLDERS = 1 << 0, /* the url names a folder; after and failed may move mail */
	MAILBOX_HAS_FLAGS = 1 << 1,   /* a seen flag and keywords: after = flag, start = unseen */
	MAILBOX_HAS_XOAUTH2 = 1 << 2, /* auth = xoauth2 */
};

struct mailbox_driver {
	const char *name;	/* in messages and for mailbox_driver_lookup(): "IMAP" */
	const char *scheme;	/* a url's scheme with STARTTLS ("imap"); NULL: no url names it */
	const char *tls_scheme; /* a url's scheme with TLS from the start ("imaps") */
	int port;		/* with scheme */
	int tls_port;		/* with tls_scheme */
	enum mailbox_protocol protocol; /* what the poll pass tells apart */
	unsigned features;		/* of enum mailbox_feature */
	const char *after;		/* [mailbox] after when the file leaves it out */
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
