/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decision for one mail: what to do at the desk, and why. Pure: what the loop guard, the
 * journal and the desk say comes in as facts, gathered by the caller. */
#ifndef M2T_RULES_ROUTE_H
#define M2T_RULES_ROUTE_H

#include "ingest/envelope.h"
#include "parsers/mail.h"
#include "config/config.h"

/* QUARANTINE: the mail cannot become a ticket as it is; it is kept aside, never dropped. */
enum action_kind { ACTION_OPEN, ACTION_REPLY, ACTION_DROP, ACTION_QUARANTINE };

/* The ticket a mail points at, as the desk describes it (all borrowed). */
struct ticket_facts {
	const char *number; /* public number (tid) the mail carries or the journal knows */
	const char *how;    /* "subject", "In-Reply-To <id>", "References <id>" */
	gboolean checked;   /* the desk was asked (not so for route --offline) */
	gboolean exists;    /* the desk has it; the fields below are set */
	const char *id;	    /* internal id */
	const char *status;
	const char *owner_email;
	const char *cc; /* comma- or space-separated */
	gboolean sender_is_contact; /* a contact of the ticket's client */
};

struct route_facts {
	const char *loop_guard; /* why the loop guard drops the mail (loop_guard_reason()), or
				 * NULL: it lets the mail through */
	guint recent_tickets;	/* tickets the sender opened within [loop] rate_window */
	struct ticket_facts ticket;
};

struct action {
	enum action_kind kind;
	int deptid;
	const char *mailbox; /* Thulium: the mailbox sent as `to`, borrowed from the config; NULL:
			      * [desk] mailbox */
	char *priority;
	char *name;	  /* requester shown on the ticket */
	char *email;	  /* requester address */
	char *ticket_id;  /* ACTION_REPLY: the desk's internal id */
	char *ticket_tid; /* ACTION_REPLY: the public number */
	int clientid;	  /* 0: a guest ticket by name and email */
	int serviceid;	  /* 0: none */
	int category;	  /* 0: none (Thulium) */
	int status;	  /* 0: the desk's default (Thulium) */
	char *const *tags; /* Thulium, borrowed from the config; NULL: none */
	int customer_id;  /* 0: none (Thulium) */
	GArray *fields;	  /* of struct rule_field_value, values owned: custom fields */
	int markdown;	  /* -1: as the config says */
	GPtrArray *rules; /* of char *: the names of the rules that matched */
	GPtrArray *departments; /* of const struct department_route *, borrowed from the config:
				 * with [threading] per_department, every one the mail was sent
				 * to (a ticket in each); else empty */
	GPtrArray *why;	  /* of char *: each step of the decision, in order */
};

/* Whom the ticket is for: the sender (else the envelope sender), or, for a mail an agent
 * forwarded, the original sender. Borrowed from mail or envelope; NULL when nobody is known.
 * unproven (may be NULL) gets why an agent's forward did not count (newly allocated), else
 * NULL. */
const char *route_requester(const struct config *config, const struct mail *mail,
			    const struct envelope *envelope, char **unproven);

/* The ticket number in the mail's subject (newly allocated), or NULL. */
char *route_ticket_number(const struct config *config, const struct mail *mail);

/* Decide what to do with mail. Newly allocated; free with action_free(). */
struct action *route_decide(const struct config *config, const struct mail *mail,
			    const struct envelope *envelope, const struct route_facts *facts);
void action_free(struct action *action);

/* Every step of the decision joined with "; ", for a one-line log. Newly allocated. */
char *action_explain(const struct action *action);
const char *action_kind_name(enum action_kind kind);

#endif
