/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail that must never become a ticket or a reply: auto-replies, bounces, list mail, our own mail,
 * banned senders. Checked before any rule, so that two robots cannot mail each other forever. */
#ifndef M2T_RULES_LOOP_GUARD_H
#define M2T_RULES_LOOP_GUARD_H

#include "ingest/envelope.h"
#include "parsers/mail.h"
#include "config/config.h"

/* Why mail must be dropped, or NULL. Newly allocated. The flow asks once per mail, before any
 * look-up, and hands the answer to route_decide() as a fact. */
char *loop_guard_reason(const struct config *config, const struct mail *mail,
			const struct envelope *envelope);

/* Whether a sender who opened recent tickets within the window may open another. */
gboolean loop_guard_rate_allows(const struct config *config, guint recent);

/* Whether address (any case) is in list, as an address or by an "@domain" entry. */
gboolean address_listed(char *const *list, const char *address);

#endif
