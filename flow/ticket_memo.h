/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A dry run's answers to ticket look-ups, shared by its lanes: nothing a dry run does changes
 * the desk, so each ticket is asked about once (an archive's replies name the same tickets again
 * and again: 725 look-ups became 565 in the dry-run bench). Safe to use from several threads. */
#ifndef M2T_FLOW_TICKET_MEMO_H
#define M2T_FLOW_TICKET_MEMO_H

#include "desk/desk.h"

struct ticket_memo;

struct ticket_memo *ticket_memo_new(void); /* free with ticket_memo_free() */
void ticket_memo_free(struct ticket_memo *memo);

/* What the desk answered on ticket tid, when it was asked before: TRUE, and then either *out
 * filled (a copy, cleared by the caller) or *not_found set (a copy of the desk's error). FALSE
 * when it was not asked yet. */
gboolean ticket_memo_recall(struct ticket_memo *memo, const char *tid, struct desk_ticket *out,
			    GError **not_found);
/* Keep the desk's answer on tid: the ticket (copied), or NULL with not_found (copied). The
 * memo holds a few thousand answers; past that it forgets the oldest. */
void ticket_memo_keep(struct ticket_memo *memo, const char *tid, const struct desk_ticket *ticket,
		      const GError *not_found);

#endif
