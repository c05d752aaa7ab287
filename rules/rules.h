/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [rule NAME] sections applied to one mail: which rules match, and what they set. Pure. */
#ifndef M2T_RULES_RULES_H
#define M2T_RULES_RULES_H

#include "ingest/envelope.h"
#include "parsers/mail.h"
#include "config/config.h"

/* What the matching rules set; everything borrowed from the config. A later matching rule (after
 * one with continue = true) overrides what an earlier one set. */
struct rules_outcome {
	GPtrArray *matched; /* of const struct rule *, in file order */
	int department;	    /* 0: not set */
	const char *priority;
	int clientid;
	int serviceid;
	int category;
	int status;
	char *const *tags; /* borrowed; NULL: not set */
	int customer_id;
	GArray *fields; /* of struct rule_field_value, values borrowed */
	int markdown;	/* -1: not set */
	const struct rule *drop; /* the rule that drops the mail, or NULL */
	const struct rule *reply_only;
};

void rules_apply(const struct config *config, const struct mail *mail,
		 const struct envelope *envelope, struct rules_outcome *out);
void rules_outcome_clear(struct rules_outcome *out);

#endif
