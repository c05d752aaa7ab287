/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One mail on its way through the flow (inside flow/ only): the mail and its bytes, the facts
 * gathered on it, the decision, and what became of it; and the actions that carry a decision out
 * (the journal and desk writes, in that order, so that no write goes twice). Everything in a
 * struct delivery is borrowed from the delivery that made it (deliver_parsed_message(),
 * deliver_quarantine_unparsed()), which owns it and outlives it, the key made on first use
 * included: a department's ticket goes under its own journal row from a plain copy. */
#ifndef M2T_FLOW_DELIVERY_H
#define M2T_FLOW_DELIVERY_H

#include "flow/deliver.h"

struct delivery {
	/* The journal row its writes go under: read it with delivery_key(), which makes it on
	 * first use (a dry run without a journal asks for it only for a line it logs). */
	char *key;
	const struct mail *mail;	      /* NULL: a mail the parser could not read */
	const char *raw;		      /* the bytes as received */
	gsize len;			      /* of raw */
	const struct envelope *envelope;      /* kept with it in the quarantine */
	const struct journal_mail_info *info; /* what the journal keeps beside the key */
	const struct journal_entry *earlier;  /* the row as the journal had it; NULL: a new one */
	struct action *action;		      /* the decision; NULL until decided */
	/* A reply's ticket as the desk showed it for the decision, before any write; NULL when
	 * not looked up. */
	const struct desk_ticket *ticket;
	const char *why;		      /* the decision's steps joined, or NULL */
	gint64 started;			      /* g_get_monotonic_time() when it began */
	struct delivery_result *result;	      /* filled as it goes */
};

/* m->key, made from the mail when first asked for; borrowed from m. */
const char *delivery_key(struct delivery *m);

/* Whether the journal's entry for a mail means it is done with: delivered, dropped, or
 * quarantined (unless d retries the quarantine). */
gboolean delivery_already_handled(const struct deliver *d, const struct journal_entry *entry);

/* The ticket number m went to (copied into its result; NULL: none). */
void delivery_set_ticket(struct delivery *m, const char *tid);

/* Carry m->action out: drop or quarantine the mail, open its ticket (one in each department with
 * [threading] per_department) or add its reply, each journalled before and after the desk call.
 * TRUE when the mail is safe to acknowledge; FALSE with error set as deliver_message() says. */
gboolean delivery_act(struct deliver *d, struct delivery *m, GError **error);

/* Keep m in the quarantine with reason, journalled under m->key (a dry run only says so). FALSE
 * with error set when the file or the journal row cannot be written. */
gboolean delivery_quarantine(struct deliver *d, struct delivery *m, const char *reason,
			     GError **error);

/* A call the desk's server lacks (DESK_ERROR_UNSUPPORTED): the flow goes on without it, saying
 * what that costs. TRUE, and *error cleared, when that is the error. */
gboolean delivery_do_without(GError **error, const char *cost);

#endif
