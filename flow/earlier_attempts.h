/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An attempt that got no answer (the process died, the connection broke, the desk timed out)
 * may have reached the desk all the same. Before any write the flow looks at the desk for what
 * each earlier attempt of the mail did, and records that instead of writing again: a mail opens
 * its ticket or adds its reply once. */
#ifndef M2T_FLOW_EARLIER_ATTEMPTS_H
#define M2T_FLOW_EARLIER_ATTEMPTS_H

#include "flow/delivery.h"

/* What a write about to be sent is, for the journal and for finding it at the desk later. */
struct pending_write {
	/* "open DEPTID", "open DEPTID MAILBOX", or "reply ID TID [SAME]", SAME: how many of the
	 * ticket's messages had the reply's text before it was sent (journals of older releases
	 * lack it: then none had) */
	const char *write;
	const struct desk_ticket_request *open;	 /* the ticket it opens, or the mail as a ticket */
	const char *reply_message;		 /* the text a reply adds */
};

/* Resolve every earlier attempt of m before now is sent: an OpenTicket whose answer was lost may
 * have opened a ticket even when the mail now goes as a reply (its thread's ticket appeared
 * meanwhile), and the other way round. *adopted when one did: the journal then has it, m's
 * result has its ticket, and nothing is to be sent. FALSE with error set when the journal or the
 * desk cannot answer now. */
gboolean earlier_attempts_resolve(struct deliver *d, struct delivery *m,
				  const struct pending_write *now, gboolean *adopted,
				  GError **error);

#endif
