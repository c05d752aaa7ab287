/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lease by which poll instances that share a journal share its mailboxes: one instance reads
 * a mailbox at a time. The holder renews it every third of its length; an instance that stops
 * renewing (killed, or cut off from the journal) loses it when it runs out, and another one takes
 * the mailbox over and goes on from the journal's marks. Correctness does not rest on it: two
 * instances that both read a mailbox for a moment still deliver each mail once, through the
 * per-mail lock and the journal. */
#ifndef M2T_FLOW_MAILBOX_LEASE_H
#define M2T_FLOW_MAILBOX_LEASE_H

#include <glib.h>

#include "state/journal.h"

struct mailbox_lease;

/* The lease of the mailbox named mailbox in journal (borrowed: it must outlive the lease), for
 * the poll instance named instance, seconds long; not asked for yet, so due at once. Free with
 * mailbox_lease_free(), which releases it when held. */
struct mailbox_lease *mailbox_lease_new(struct journal *journal, const char *mailbox,
					const char *instance, guint seconds);
void mailbox_lease_free(struct mailbox_lease *lease);

/* Take the lease, or renew it, when that is due (every third of its length; at once with
 * right_now), and return whether this instance holds it. Each change is logged: taken, taken
 * over from an instance whose lease ran out, held by another instance, lost. A journal that
 * cannot answer counts as not holding it, since the lease may run out meanwhile: no mail is
 * acknowledged on the strength of it; it is asked again a third of its length later. */
gboolean mailbox_lease_keep(struct mailbox_lease *lease, gboolean right_now);
/* Whether this instance held the lease at the last answer of the journal. */
gboolean mailbox_lease_held(const struct mailbox_lease *lease);
/* The monotonic time (microseconds) at which the lease is next taken or renewed. */
gint64 mailbox_lease_due(const struct mailbox_lease *lease);
/* Give the lease up, when held, so that another instance takes the mailbox over at once. */
void mailbox_lease_release(struct mailbox_lease *lease);

#endif
