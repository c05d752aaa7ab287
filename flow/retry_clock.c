/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pause before a mail is tried again at a failing desk, and when a run gives up. */
#include "flow/retry_clock.h"

#include "desk/desk.h"
#include "state/journal.h"

/* The pause before a mail is tried again grows with how long the desk has failed without a
 * success: a desk that fails a call here and there (and answers the others) gets the next try
 * soon, one that is down gets ever fewer, up to one a lane every LONGEST_PAUSE. */
#define SHORTEST_PAUSE_US (250 * 1000)
#define LONGEST_PAUSE_US (30 * G_USEC_PER_SEC)

struct retry_clock {
	GMutex lock;
	gint64 limit_us;
	gint64 failing_since; /* monotonic; 0 while the desk works */
	gboolean gave_up;
};

struct retry_clock *retry_clock_new(int give_up_after)
{
	struct retry_clock *clock = g_new0(struct retry_clock, 1);

	g_mutex_init(&clock->lock);
	clock->limit_us = (gint64)MAX(give_up_after, 0) * G_USEC_PER_SEC;
	return clock;
}

void retry_clock_free(struct retry_clock *clock)
{
	if (!clock)
		return;
	g_mutex_clear(&clock->lock);
	g_free(clock);
}

gboolean retry_clock_may_heal(const GError *error)
{
	return desk_error_is_temporary(error) ||
	       g_error_matches(error, JOURNAL_ERROR, JOURNAL_ERROR_BUSY) ||
	       g_error_matches(error, JOURNAL_ERROR, JOURNAL_ERROR_UNAVAILABLE);
}

void retry_clock_success(struct retry_clock *clock)
{
	g_mutex_lock(&clock->lock);
	clock->failing_since = 0;
	g_mutex_unlock(&clock->lock);
}

gboolean retry_clock_wait(struct retry_clock *clock, gint64 *mail_since)
{
	gint64 now = g_get_monotonic_time();
	gint64 pause, left;

	if (!*mail_since)
		*mail_since = now;
	g_mutex_lock(&clock->lock);
	if (!clock->failing_since)
		clock->failing_since = now;
	left = clock->failing_since + clock->limit_us - now;
	pause = CLAMP((now - clock->failing_since) / 4, SHORTEST_PAUSE_US, LONGEST_PAUSE_US);
	if (left <= 0)
		clock->gave_up = TRUE;
	g_mutex_unlock(&clock->lock);
	/* The desk works for other mail, but not for this one: it waits for the next run. */
	left = MIN(left, *mail_since + clock->limit_us - now);
	if (left <= 0)
		return FALSE;
	g_usleep(MIN(pause, left));
	return TRUE;
}

gboolean retry_clock_gave_up(struct retry_clock *clock)
{
	gboolean gave_up;

	g_mutex_lock(&clock->lock);
	gave_up = clock->gave_up;
	g_mutex_unlock(&clock->lock);
	return gave_up;
}

int retry_clock_limit(const struct retry_clock *clock)
{
	return (int)(clock->limit_us / G_USEC_PER_SEC);
}
