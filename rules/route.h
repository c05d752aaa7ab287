/* The decision for one mail: what to do at the desk, and why. Pure: no I/O. */
#ifndef M2T_RULES_ROUTE_H
#define M2T_RULES_ROUTE_H

#include "ingest/envelope.h"
#include "parsers/mail.h"
#include "rules/config.h"

/* QUARANTINE: the mail cannot become a ticket as it is; it is kept aside, never dropped. */
enum action_kind { ACTION_OPEN, ACTION_DROP, ACTION_QUARANTINE };

struct action {
	enum action_kind kind;
	int deptid;
	char *priority;
	char *name;  /* requester shown on the ticket */
	char *email; /* requester address */
	char *reason; /* why: department source, drop reason */
};

/* Decide what to do with mail. Newly allocated; free with action_free(). */
struct action *route_decide(const struct config *config, const struct mail *mail,
			    const struct envelope *envelope);
void action_free(struct action *action);

#endif
