/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mailboxes on a server, IMAP (imap.c) and POP3 (pop3.c), with their TLS checks
 * (tls_verify.c): the module mail2ticket-mailbox.so, which holds libetpan and GnuTLS. Their
 * lines of the driver table are in mailbox_remote.c, which loads the module when a mailbox of
 * theirs is made. */
#ifndef M2T_INGEST_MAILBOX_MODULE_H
#define M2T_INGEST_MAILBOX_MODULE_H

#include "ingest/mailbox.h"

/* The constructors of the drivers' mailbox_new. */
struct mailbox_module {
	struct mailbox *(*imap_new)(const struct mailbox_config *config);
	struct mailbox *(*pop3_new)(const struct mailbox_config *config);
};

struct mailbox *imap_mailbox_new(const struct mailbox_config *config);
struct mailbox *pop3_mailbox_new(const struct mailbox_config *config);

/* The module's table (modules/module.h: M2T_MODULE_MAILBOX), in tls_verify.c. */
extern const struct mailbox_module mailbox_etpan_module;

#endif
