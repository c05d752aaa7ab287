/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One message through the whole flow: the facts (what the journal and the desk know of it), the
 * decision (rules/, pure), the actions (journal and desk writes) and the outcome. Shared by every
 * source; the caller acknowledges the source only when this returns TRUE. */
#ifndef M2T_FLOW_DELIVER_H
#define M2T_FLOW_DELIVER_H

#include <stdio.h>

#include "desk/desk.h"
#include "flow/ticket_memo.h"
#include "ingest/envelope.h"
#include "parsers/mail_parse.h"
#include "rules/route.h"
#include "config/config.h"
#include "state/journal.h"

/* What a run delivers with; what one mail needs lives in the flow's struct delivery. */
struct deliver {
	const struct config *config;
	struct desk *desk;
	struct journal *journal; /* NULL in a dry run without a journal file */
	gboolean dry_run;
	/* Archived mail keeps its own date at the desk (OpenTicket's and AddTicketReply's
	 * "created"); new mail is dated when it arrives. */
	gboolean original_dates;
	/* A desk refusal is left to the caller (FALSE with DESK_ERROR set, journal "failed")
	 * instead of quarantined at once: a mailbox retries a refused mail a few times, since the
	 * cause may be a setting an admin fixes, before it sets the mail aside. */
	gboolean keep_refused;
	/* reprocess: a mail the journal has as quarantined is tried again rather than taken as
	 * handled. */
	gboolean retry_quarantined;
	/* A dry run's look-ups remembered (borrowed; shared by the lanes), or NULL: each mail's
	 * look-ups are asked of the desk. */
	struct ticket_memo *memo;
};

enum deliver_outcome {
	DELIVER_OPENED,	     /* a new ticket */
	DELIVER_REPLIED,     /* a reply on an existing ticket */
	DELIVER_ADOPTED,     /* an unanswered earlier attempt had opened it; recorded now */
	DELIVER_ALREADY,     /* the journal says this mail was handled before */
	DELIVER_DROPPED,     /* deliberately not sent, reason logged */
	DELIVER_QUARANTINED, /* kept in the quarantine Maildir, reason logged */
	DELIVER_DRY_RUN,     /* the call was printed, nothing changed */
};

const char *deliver_outcome_name(enum deliver_outcome outcome);

/* What became of one mail, for the caller's reports. A delivery fills it from scratch; the
 * caller frees it with delivery_result_clear(). */
struct delivery_result {
	enum deliver_outcome outcome; /* when the delivery returned TRUE */
	char *reason;		      /* why it was dropped or quarantined, or NULL */
	char *ticket;		      /* the ticket number (tid) it went to, or NULL */
};
void delivery_result_clear(struct delivery_result *result);

/* Set d up for config (borrowed): its desk, and its journal (opened read-only in a dry run, and
 * then only if something was recorded there). FALSE with error set when either cannot be had.
 * Undo with deliver_close(), also after a failure. */
gboolean deliver_open(struct deliver *d, const struct config *config, gboolean dry_run,
		      GError **error);
/* The same for a dry run that prints its calls to calls (borrowed) instead of stdout. */
gboolean deliver_open_dry_run(struct deliver *d, const struct config *config, FILE *calls,
			      GError **error);
void deliver_close(struct deliver *d);
/* Open the journal [state] names: the one helper that turns the config into
 * journal_settings. read_only: to read what is there (JOURNAL_ERROR_MISSING when nothing was
 * ever recorded). Free with journal_close(). */
struct journal *journal_open_from_config(const struct config *config, gboolean read_only,
					 GError **error);

/* The parser's options from the config (borrowing its strings), for a delivery or, dry_run, for
 * a dry run, which reads attachments' sizes only. */
void parse_options_from_config(const struct config *config, gboolean dry_run,
			       struct parse_options *out);

/* raw through the whole flow, parsed within [parser] parse_timeout (a mail the parser does not
 * finish in time is quarantined). TRUE when the message is safe to acknowledge at its source
 * (*result says what happened).
 * FALSE with error set when it must stay where it is: a temporary desk failure (DESK_ERROR), a
 * journal that cannot record (JOURNAL_ERROR), or a quarantine that cannot be written. */
gboolean deliver_message(struct deliver *d, GBytes *raw, const struct envelope *envelope,
			 struct delivery_result *result, GError **error);

/* The same for a message already parsed (with the config's parse options) from raw. */
gboolean deliver_parsed_message(struct deliver *d, const struct mail *mail, GBytes *raw,
				const struct envelope *envelope, struct delivery_result *result,
				GError **error);

/* Whether delivering mail may wait on the desk before its call (a look-up: GetTicket and the
 * like): a ticket number in its subject, or a journal, whose earlier attempts and Message-IDs
 * may lead to one. A dry run delivers the others at once where it is (flow/deliver_pool.c). */
gboolean deliver_may_look_up(const struct deliver *d, const struct mail *mail);

/* Keep a mail that cannot go through the flow (unreadable, too big, or fatal or too slow for the
 * parser) in the quarantine with reason, journalled under the digest of its bytes; the outcome
 * is DELIVER_ALREADY when the journal has that digest already (and not retry_quarantined). */
gboolean deliver_quarantine_unparsed(struct deliver *d, GBytes *raw,
				     const struct envelope *envelope, const char *reason,
				     struct delivery_result *result, GError **error);

/* "the parser did not finish within parse_timeout = N s". Newly allocated. */
char *deliver_parse_timeout_reason(int seconds);

/* A decision and the facts it rests on (the facts borrow from the rest). */
struct decision {
	struct action *action;
	struct route_facts facts;
	char *loop_guard; /* why the loop guard drops the mail, or NULL */
	char *number;
	char *how;
	struct desk_ticket ticket;
};
void decision_clear(struct decision *dec);

/* Gather what the loop guard, the journal and (unless offline) the desk know, and decide. FALSE
 * with error set when the journal or the desk cannot answer now. */
gboolean deliver_decide(struct deliver *d, const struct mail *mail,
			const struct envelope *envelope, gboolean offline, struct decision *dec,
			GError **error);

#endif
