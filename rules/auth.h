/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether a mail's sender is proven, not just named by its From header: the receiving server's
 * verdict (Authentication-Results added by [auth] authserv_id) with DMARC, or DKIM or SPF aligned
 * with the From domain; or, for an agent's forward, the recipient it arrived on. Pure: the
 * decision reads the mail, the envelope and the config only. */
#ifndef M2T_RULES_AUTH_H
#define M2T_RULES_AUTH_H

#include "ingest/envelope.h"
#include "parsers/mail.h"
#include "config/config.h"

/* NULL when the configured receiving server vouched for the From domain: dmarc=pass for it, or a
 * dkim=pass or spf=pass for an aligned domain (the same, or one a subdomain of the other), in the
 * topmost Authentication-Results header with an [auth] authserv_id. Else why not, in words ("From
 * is a@x.example, but DMARC failed at mx.example.com"). Newly allocated. */
char *auth_from_unproven(const struct config *config, const struct mail *mail);

/* NULL when a forward from an [threading] agents address counts as the agent's: proven as
 * above ([auth] agents = aligned), or arrived on an [auth] agent_recipients address (agents =
 * route). Else why not. Newly allocated. */
char *auth_agent_unproven(const struct config *config, const struct mail *mail,
			  const struct envelope *envelope);

#endif
