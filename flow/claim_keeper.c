/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The claim of a worker's unit renewed on a thread of its own (claim_keeper.h). */
#include "flow/claim_keeper.h"

#include "cli/log.h"

struct claim_keeper {
	struct journal *journal; /* the keeper thread's */
	char *owner;
	int lease_seconds;
	GThread *thread;
	GMutex lock; /* guards what follows */
	GCond changed;
	gboolean holding;
	gint64 plan;
	guint unit;
	gboolean lost;
	gboolean stopping;
};

/* One renewal of the claim held, outside the lock. */
static void renew(struct claim_keeper *k)
{
	gint64 plan = k->plan;
	guint unit = k->unit;
	GError *err = NULL;
	gboolean held = TRUE;
	gboolean ok;

	g_mutex_unlock(&k->lock);
	ok = journal_work_renew(k->journal, plan, unit, k->owner, k->lease_seconds, &held, &err);
	if (!ok) {
		char number[16];
		g_snprintf(number, sizeof(number), "%u", unit);
		/* The next renewal tries again; should the claim expire meanwhile, another
		 * worker does the unit too, and the journal still decides each mail. */
		log_event(M2T_LOG_WARN, "cannot renew the claim of a unit", "unit", number,
			  "error", err->message, NULL);
		g_error_free(err);
	}
	g_mutex_lock(&k->lock);
	if (!held && k->holding && k->plan == plan && k->unit == unit)
		k->lost = TRUE;
}

static gpointer keeper_run(gpointer data)
{
	struct claim_keeper *k = data;
	/* A third of the lease, so that two renewals may fail before the claim expires. */
	gint64 every = MAX((gint64)k->lease_seconds * G_USEC_PER_SEC / 3, G_USEC_PER_SEC / 5);
	gint64 next = g_get_monotonic_time() + every;

	g_mutex_lock(&k->lock);
	while (!k->stopping) {
		if (!g_cond_wait_until(&k->changed, &k->lock, next)) {
			if (k->holding && !k->lost)
				renew(k);
			next = g_get_monotonic_time() + every;
		}
	}
	g_mutex_unlock(&k->lock);
	return NULL;
}

struct claim_keeper *claim_keeper_new(struct journal *journal, const char *owner,
				      int lease_seconds)
{
	struct claim_keeper *k = g_new0(struct claim_keeper, 1);

	k->journal = journal;
	k->owner = g_strdup(owner);
	k->lease_seconds = lease_seconds;
	g_mutex_init(&k->lock);
	g_cond_init(&k->changed);
	k->thread = g_thread_new("claim keeper", keeper_run, k);
	return k;
}

void claim_keeper_free(struct claim_keeper *k)
{
	if (!k)
		return;
	g_mutex_lock(&k->lock);
	k->stopping = TRUE;
	g_cond_signal(&k->changed);
	g_mutex_unlock(&k->lock);
	g_thread_join(k->thread);
	g_mutex_clear(&k->lock);
	g_cond_clear(&k->changed);
	journal_close(k->journal);
	g_free(k->owner);
	g_free(k);
}

void claim_keeper_hold(struct claim_keeper *k, gint64 plan, guint unit)
{
	g_mutex_lock(&k->lock);
	k->holding = TRUE;
	k->plan = plan;
	k->unit = unit;
	k->lost = FALSE;
	g_mutex_unlock(&k->lock);
}

void claim_keeper_drop(struct claim_keeper *k)
{
	g_mutex_lock(&k->lock);
	k->holding = FALSE;
	g_mutex_unlock(&k->lock);
}

gboolean claim_keeper_lost(struct claim_keeper *k)
{
	gboolean lost;

	g_mutex_lock(&k->lock);
	lost = k->lost;
	g_mutex_unlock(&k->lock);
	return lost;
}
