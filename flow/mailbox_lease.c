/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A mailbox's lease among poll instances (mailbox_lease.h): taken and renewed in the journal,
 * and every change of hands logged. */
#include "flow/mailbox_lease.h"

#include "cli/log.h"

struct mailbox_lease {
	struct journal *journal; /* borrowed */
	char *mailbox;
	char *name; /* in the journal: "mailbox:NAME" */
	char *instance;
	guint seconds;
	gboolean held;
	/* The journal may have it as this instance's: held, or its renewal failed. */
	gboolean maybe_ours;
	gint64 due;	    /* monotonic */
	char *waiting_for; /* the holder last logged as holding it, not to repeat that line */
};

struct mailbox_lease *mailbox_lease_new(struct journal *journal, const char *mailbox,
					const char *instance, guint seconds)
{
	struct mailbox_lease *lease = g_new0(struct mailbox_lease, 1);

	lease->journal = journal;
	lease->mailbox = g_strdup(mailbox);
	lease->name = g_strconcat("mailbox:", mailbox, NULL);
	lease->instance = g_strdup(instance);
	lease->seconds = seconds;
	return lease;
}

void mailbox_lease_free(struct mailbox_lease *lease)
{
	if (!lease)
		return;
	mailbox_lease_release(lease);
	g_free(lease->mailbox);
	g_free(lease->name);
	g_free(lease->instance);
	g_free(lease->waiting_for);
	g_free(lease);
}

/* The journal said another instance, holder, has the lease. */
static void held_by_another(struct mailbox_lease *lease, const char *holder)
{
	if (lease->held)
		log_event(M2T_LOG_WARN,
			  "lost the mailbox to another instance: its lease ran out here; the "
			  "connection is closed",
			  "mailbox", lease->mailbox, "instance", lease->instance, "holder", holder,
			  NULL);
	else if (g_strcmp0(lease->waiting_for, holder) != 0)
		log_event(M2T_LOG_INFO, "the mailbox is held by another instance; waiting for it",
			  "mailbox", lease->mailbox, "instance", lease->instance, "holder", holder,
			  NULL);
	g_free(lease->waiting_for);
	lease->waiting_for = g_strdup(holder);
}

/* The lease is this instance's now; previous held it before (NULL: nobody). Taken from another
 * instance is said also when this one thought it held the lease all along: its renewal came so
 * late that the lease ran out and another instance had it meanwhile. */
static void taken(struct mailbox_lease *lease, const char *previous)
{
	if (previous && g_strcmp0(previous, lease->instance) != 0)
		log_event(M2T_LOG_INFO, "took the mailbox over: its holder's lease ran out",
			  "mailbox", lease->mailbox, "instance", lease->instance, "from", previous,
			  NULL);
	else if (!lease->held)
		log_event(M2T_LOG_INFO, "holding the mailbox", "mailbox", lease->mailbox,
			  "instance", lease->instance, NULL);
	g_clear_pointer(&lease->waiting_for, g_free);
}

gboolean mailbox_lease_keep(struct mailbox_lease *lease, gboolean right_now)
{
	gint64 now = g_get_monotonic_time();
	char *previous = NULL;
	gboolean held = FALSE;
	GError *err = NULL;

	if (!right_now && now < lease->due)
		return lease->held;
	/* Due again a third of the length after this asking began: the journal counts the
	 * length from a moment after it. */
	lease->due = now + (gint64)lease->seconds * G_USEC_PER_SEC / 3;
	if (!journal_lease_take(lease->journal, lease->name, lease->instance, lease->seconds,
				&held, &previous, &err)) {
		static const char renew[] =
		    "cannot renew the mailbox's lease: the connection is closed until it can be";
		static const char take[] = "cannot take the mailbox's lease; it is tried again";
		log_event(M2T_LOG_WARN, lease->held ? renew : take, "mailbox", lease->mailbox,
			  "instance", lease->instance, "error", err->message, NULL);
		g_error_free(err);
		lease->maybe_ours = lease->maybe_ours || lease->held;
		lease->held = FALSE;
		return FALSE;
	}
	if (held)
		taken(lease, previous);
	else
		held_by_another(lease, previous);
	g_free(previous);
	lease->held = lease->maybe_ours = held;
	return held;
}

gboolean mailbox_lease_held(const struct mailbox_lease *lease)
{
	return lease->held;
}

gint64 mailbox_lease_due(const struct mailbox_lease *lease)
{
	return lease->due;
}

void mailbox_lease_release(struct mailbox_lease *lease)
{
	GError *err = NULL;

	if (!lease->maybe_ours)
		return;
	lease->held = lease->maybe_ours = FALSE;
	lease->due = 0;
	if (journal_lease_release(lease->journal, lease->name, lease->instance, &err)) {
		log_event(M2T_LOG_INFO, "released the mailbox", "mailbox", lease->mailbox,
			  "instance", lease->instance, NULL);
		return;
	}
	log_event(M2T_LOG_WARN,
		  "cannot release the mailbox's lease: another instance takes the mailbox over "
		  "when it runs out",
		  "mailbox", lease->mailbox, "instance", lease->instance, "error", err->message,
		  NULL);
	g_error_free(err);
}
