/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an unanswered earlier attempt did at the desk, found before any new write. */
#include "flow/earlier_attempts.h"

#include <string.h>

#include "cli/log.h"

/* Whether an earlier attempt may have opened a ticket or added the reply: not when the desk
 * refused it (the mail was then quarantined), so a reprocess costs no look-up. */
static gboolean may_have_reached_desk(const struct journal_entry *earlier)
{
	return earlier->attempts > 0 && earlier->state != JOURNAL_QUARANTINED;
}

/* An attempt that died without an answer may still be running at the desk until its own timeout
 * has passed (a desk finishes a request whose client went away), and one that timed out may run
 * as long again after that (the journal's time of a pending attempt is when it began, or when
 * its write timed out). Only after that does "not at the desk" mean
 * the desk never took it, so this waits out the rest of that time; TRUE when it waited and the
 * desk is worth asking again. */
static gboolean wait_out_lost_attempt(const struct deliver *d, struct delivery *m)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gint64 until = m->earlier->updated + d->config->desk.timeout;
	char seconds[32];

	if (m->earlier->state != JOURNAL_PENDING || until <= now)
		return FALSE;
	g_snprintf(seconds, sizeof(seconds), "%" G_GINT64_FORMAT, until - now);
	log_event(M2T_LOG_INFO,
		  "an attempt without an answer may still be running at the desk; "
		  "looking again after its timeout",
		  "key", delivery_key(m), "wait", seconds, NULL);
	g_usleep((until - now) * G_USEC_PER_SEC);
	return TRUE;
}

/* After an AddTicketReply whose answer was lost: whether the reply is on the ticket already,
 * that is whether more of its messages have the reply's text than the seen_before that had it
 * when the reply was sent. */
static gboolean reply_already_added(struct deliver *d, const char *tid, const char *message,
				    guint64 seen_before, gboolean *found, GError **error)
{
	struct desk_ticket ticket;

	*found = FALSE;
	if (!desk_get_ticket(d->desk, tid, &ticket, error))
		return FALSE;
	*found = desk_ticket_count_text(&ticket, message) > seen_before;
	desk_ticket_clear(&ticket);
	return TRUE;
}

/* The tickets the journal has as other mails' than the one under key: a customer who writes the
 * same thing again, or a monitor sending the same alert, gets a ticket of their own rather than
 * be adopted into the first one. */
struct others_in_journal {
	struct desk_ticket_filter base;
	struct journal *journal;
	const char *key;
};

static gboolean journal_names(const struct desk_ticket_filter *filter, const char *id,
			      gboolean *yes, GError **error)
{
	const struct others_in_journal *o = (const struct others_in_journal *)filter;

	if (!journal_ticket_opened_by_another(o->journal, id, o->key, yes, error))
		return FALSE;
	if (*yes)
		log_event(M2T_LOG_DEBUG, "a ticket that matches is another mail's", "key", o->key,
			  "id", id, NULL);
	return TRUE;
}

/* The ticket an earlier write left at the desk (both newly allocated; NULL: none found). */
struct found_ticket {
	char *id;
	char *tid;
};

/* Whether one earlier write of the mail under key reached the desk: a ticket opened from it, or
 * its reply on the ticket; *found says which ticket. An attempt recorded without saying which
 * write it was is taken to be this one. */
static gboolean find_earlier_write(struct deliver *d, const char *key, const char *earlier,
				   const struct pending_write *now, struct found_ticket *found,
				   GError **error)
{
	const char *write = *earlier ? earlier : now->write;
	char **words = g_strsplit(write, " ", 4);
	gboolean ok = TRUE, there = FALSE;

	if (strcmp(words[0], "open") == 0) {
		/* As it was sent: a reply's request has no department. */
		struct desk_ticket_request req = *now->open;
		struct others_in_journal others = {{journal_names}, d->journal, key};
		struct desk_ticket ticket;
		if (words[1]) {
			req.deptid = (int)g_ascii_strtoll(words[1], NULL, 10);
			req.to = words[2];
		}
		ok = desk_find_opened_ticket(d->desk, &req, &others.base, &ticket, &there, error);
		if (!ok && delivery_do_without(error, "the ticket an unanswered attempt may have "
						      "opened cannot be looked for; the mail goes "
						      "again"))
			ok = TRUE;
		if (ok && there) {
			found->id = g_strdup(ticket.id);
			found->tid = g_strdup(ticket.tid);
			desk_ticket_clear(&ticket);
		}
	} else if (g_strv_length(words) >= 3) {
		/* The count of this attempt's own write was taken after the earlier one. */
		guint64 seen_before =
		    *earlier && words[3] ? g_ascii_strtoull(words[3], NULL, 10) : 0;
		ok = reply_already_added(
		    d, words[2], now->reply_message ? now->reply_message : now->open->message,
		    seen_before, &there, error);
		if (ok && there) {
			found->id = g_strdup(words[1]);
			found->tid = g_strdup(words[2]);
		}
	}
	g_strfreev(words);
	return ok;
}

gboolean earlier_attempts_resolve(struct deliver *d, struct delivery *m,
				  const struct pending_write *now, gboolean *adopted,
				  GError **error)
{
	GPtrArray *writes = NULL;
	struct found_ticket found = {0};
	gboolean ok;

	*adopted = FALSE;
	if (!m->earlier || !may_have_reached_desk(m->earlier) || d->dry_run)
		return TRUE;
	ok = journal_earlier_writes(d->journal, delivery_key(m), &writes, error);
	for (int round = 0; ok && !found.tid && round < 2; round++) {
		/* Not at the desk: an attempt still running there shows up after its timeout. */
		if (round == 1 && !wait_out_lost_attempt(d, m))
			break;
		for (guint i = 0; ok && !found.tid && i < writes->len; i++) {
			const char *write = g_ptr_array_index(writes, i);
			g_clear_pointer(&found.id, g_free);
			ok = find_earlier_write(d, delivery_key(m), write, now, &found, error);
		}
	}
	if (ok && found.tid) {
		ok = journal_mark_delivered(d->journal, delivery_key(m), "adopted", found.id,
					    found.tid, NULL, error);
		log_event(M2T_LOG_DEBUG, "adopted what an earlier attempt did at the desk", "key",
			  delivery_key(m), "ticket", found.tid, NULL);
		delivery_set_ticket(m, found.tid);
		*adopted = ok;
	}
	if (writes)
		g_ptr_array_unref(writes);
	g_free(found.id);
	g_free(found.tid);
	return ok;
}
