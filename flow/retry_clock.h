/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Riding out a flaky desk: a mail the desk failed on is tried again after a pause that grows
 * while the desk keeps failing, and the run gives up only when the desk has failed, with no
 * success in between, for a set time. Shared by the lanes of a run: one success anywhere shows
 * the desk works. */
#ifndef M2T_FLOW_RETRY_CLOCK_H
#define M2T_FLOW_RETRY_CLOCK_H

#include <glib.h>

struct retry_clock;

/* give_up_after seconds of failure in a row (0: give up at the first). Free with
 * retry_clock_free(). */
struct retry_clock *retry_clock_new(int give_up_after);
void retry_clock_free(struct retry_clock *clock);

/* Whether error is one that a later try may not meet: the desk unreachable, slow, failing or
 * refusing the credentials, or the journal busy or its server out of reach. */
gboolean retry_clock_may_heal(const GError *error);

/* The desk answered a call. */
void retry_clock_success(struct retry_clock *clock);
/* The desk failed a try of a mail: sleep before the next one (the longer the desk has failed
 * without a success, the longer) and return TRUE; or return FALSE when the desk has failed for
 * give_up_after in a row (the run gives up), or has failed this mail for that long (*mail_since:
 * when it first did, 0 before; the mail waits for another run). */
gboolean retry_clock_wait(struct retry_clock *clock, gint64 *mail_since);
/* Whether the run has given up: then mail still waiting is not tried at all. */
gboolean retry_clock_gave_up(struct retry_clock *clock);
/* The time given up after, for messages. */
int retry_clock_limit(const struct retry_clock *clock);

#endif
