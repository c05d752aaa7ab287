/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Several desk calls in flight: deliveries run on a few lanes, each a thread with its own desk
 * connection and journal handle. The mails of one thread (linked by Message-ID, In-Reply-To and
 * References) always share a lane while any of them is in flight, so a reply is delivered only
 * after the mail that opened its ticket, and not at all when that mail could not be. */
#ifndef M2T_FLOW_DELIVER_POOL_H
#define M2T_FLOW_DELIVER_POOL_H

#include "flow/deliver.h"
#include "flow/parse_pool.h"

/* A finished delivery, handed back to the thread that pushed it. */
struct finished_delivery {
	struct parsed_message parsed;
	guint64 seq; /* as pushed */
	gboolean ok;
	/* When !ok: not sent at all, for its thread's earlier mail was not delivered or the run
	 * gave up (the desk was not asked about it). */
	gboolean held_back;
	struct delivery_result result; /* when ok */
	GError *error;		       /* when !ok */
	/* A dry run on several lanes: the calls it printed, for the caller to print in the
	 * order the mails were pushed; else NULL. */
	char *calls;
};
void finished_delivery_clear(struct finished_delivery *done);

struct deliver_pool;

/* lanes deliverers for config (borrowed; it must outlive the pool), each set up as
 * deliver_open() does; original_dates as in struct deliver. A dry run on one lane prints its
 * calls to stdout, on several into each finished delivery's calls. NULL with error set when one
 * cannot be opened. Free with deliver_pool_free(). */
struct deliver_pool *deliver_pool_new(const struct config *config, gboolean dry_run,
				      gboolean original_dates, int lanes, GError **error);
/* The same for a mailbox's passes (lanes deliverers with the desk's refusals left to the caller,
 * as struct deliver's keep_refused): each mail is tried once, since a pass leaves a mail the
 * desk failed on where it is for a later pass, and nothing is dated from the mail. */
struct deliver_pool *deliver_pool_new_for_mailbox(const struct config *config, int lanes,
						  GError **error);
/* Waits for the deliveries in flight (their results are dropped) and frees the pool. */
void deliver_pool_free(struct deliver_pool *pool);

/* Start delivering p (its contents are taken, p is cleared); seq comes back with the result. */
void deliver_pool_push(struct deliver_pool *pool, struct parsed_message *p, guint64 seq);
/* The same with the envelope the mail came with: its strings are borrowed and must outlive the
 * delivery; its item is p's location. */
void deliver_pool_push_envelope(struct deliver_pool *pool, struct parsed_message *p,
				const struct envelope *envelope, guint64 seq);
/* With none in flight: the threads that failed so far are tried again (a mailbox's next pass). */
void deliver_pool_forget_failures(struct deliver_pool *pool);
/* Deliveries pushed and not yet popped. */
guint deliver_pool_in_flight(const struct deliver_pool *pool);
/* A finished delivery (the first to finish, not the first pushed), waiting for one if need be;
 * FALSE when none is in flight. Clear out with finished_delivery_clear(). A delivery the desk
 * failed in a way that may heal was tried again until the desk had failed for [desk]
 * give_up_after in a row; a mail whose thread has a mail that was not delivered in the run is
 * not sent (the reply would open a ticket of its own), and comes back failed. */
gboolean deliver_pool_pop(struct deliver_pool *pool, struct finished_delivery *out);
/* Whether the desk has failed for [desk] give_up_after in a row: the run should stop. */
gboolean deliver_pool_gave_up(const struct deliver_pool *pool);

#endif
