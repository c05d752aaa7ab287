/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the backends make alike of a desk's answer, whatever its API: which HTTP statuses refuse a
 * mail for good and which may heal, and the desk's own text made safe to quote in an error. */
#ifndef M2T_DESK_DESK_ANSWER_H
#define M2T_DESK_DESK_ANSWER_H

#include <glib.h>

/* Whether status refuses this request as it is, whenever it is sent, before the desk did
 * anything with it: 413 (the body is larger than the server takes) and 414 (the URI is, as
 * an attachment's name in Thulium's upload). The mail is then quarantined, not retried. */
gboolean desk_status_refuses_request(long status);

/* Whether status says "not now" of a request the desk may take later: 408, 421, 423, 425, 429
 * and every 5xx. */
gboolean desk_status_may_heal(long status);

/* The DESK_ERROR_REFUSED error of desk (its title) for call answered with a status that
 * desk_status_refuses_request() names, saying what may be done about it. */
void desk_set_refused_request(GError **error, const char *call, const char *desk, long status);

/* At most max bytes of text (len bytes), blanks at the ends left out, fit to be quoted in an
 * error, which reaches logs, the journal and stats: each of the n secrets (NULL or empty ones
 * skipped) is REDACTED, as given or percent-encoded as in a form, and so is a tail of the quote
 * that is the start of one (3 bytes or more), which a cut at max may leave. Newly allocated. */
char *desk_quote(const char *text, gsize len, gsize max, const char *const *secrets, gsize n);

#endif
