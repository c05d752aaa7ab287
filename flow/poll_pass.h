/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One pass over one mailbox: each new mail is fetched, parsed, delivered and then acknowledged
 * on the server; mail that keeps failing is set aside. */
#ifndef M2T_FLOW_POLL_PASS_H
#define M2T_FLOW_POLL_PASS_H

#include <signal.h>

#include "flow/deliver.h"
#include "flow/deliver_pool.h"
#include "flow/mailbox_lease.h"
#include "ingest/mailbox.h"

enum poll_result {
	POLL_OK,	 /* everything there was handled or set aside */
	POLL_RETRY,	 /* some mail waits for a failure that may heal (error set) */
	POLL_DESK_DOWN,	 /* the desk failed on several mails in a row (error set): pause */
	POLL_CONNECTION, /* the server or the connection failed (error set) */
	POLL_FATAL,	 /* the parser hung on a mail, now set aside (error set): the process
			  * must end, for the parser's thread cannot be stopped */
	POLL_LEASE_LOST, /* the mailbox's lease is no longer this instance's (logged): the pass
			  * stopped, and nothing more may be acknowledged on this connection */
};

/* Mail a pass left for a failure that may heal, kept by the caller from pass to pass: ids is a
 * set of message ids (newly allocated strings) that a pass adds such mail to and drops handled
 * mail from. While due is FALSE a pass leaves that mail alone without asking the desk, so that a
 * backoff holds for it while mail arriving meanwhile goes through; skipped counts the mails it
 * left so. */
struct poll_waiting {
	GHashTable *ids;
	gboolean due;
	guint skipped;
};

/* Run a pass over mb (opening it when it is not connected) for d. lanes (NULL: none) deliver a
 * backlog, up to twice [desk] concurrency mails ahead, each acknowledged (and the UID mark moved
 * over those handled without a gap) only after its lane returned; a single new mail is
 * delivered by d. lease (NULL: the mailbox has none) is renewed as it falls due and checked
 * before each mail and each acknowledgement, so that a long pass keeps it and a lost one ends
 * the pass. waiting (NULL: none) holds back mail a failure left, as its comment says. stop is
 * read between mails: once set, the pass ends after the mails in hand. */
enum poll_result poll_pass(struct deliver *d, struct deliver_pool *lanes, struct mailbox *mb,
			   struct mailbox_lease *lease, struct poll_waiting *waiting,
			   const volatile sig_atomic_t *stop, GError **error);

#endif
