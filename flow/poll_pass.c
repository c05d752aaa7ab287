/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One pass over one mailbox (poll_pass.h): fetch, parse, deliver, then acknowledge. A backlog
 * is fetched and parsed here, on the thread that owns the connection, and delivered on the desk
 * lanes a few mails ahead; each mail is acknowledged here once its lane has returned. */
#include "flow/poll_pass.h"

#include <string.h>

#include "cli/log.h"
#include "flow/parse_pool.h"
#include "cli/service_notify.h"
#include "desk/desk.h"
#include "ingest/mailbox_driver.h"
#include "parsers/mail.h"
#include "parsers/mail_key.h"

/* After this many temporary desk failures in a row the desk is taken to be down. */
#define DESK_DOWN_AFTER 3
/* On the lanes the UID mark is written when it has moved over this many mails, and at the end
 * of the pass: a write per mail would cost the poll thread a disk sync each. Behind after a
 * crash, it only makes the next pass find those mails in the journal and acknowledge them. */
#define MARK_EVERY 32

enum item_result {
	ITEM_DONE,	 /* acknowledged or set aside: the mail is off the list */
	ITEM_LEFT,	 /* left where it is for a later pass */
	ITEM_CONNECTION, /* the connection failed (error set) */
	ITEM_FATAL,	 /* see POLL_FATAL (error set) */
	ITEM_LEASE_LOST, /* see POLL_LEASE_LOST: the mail was not acknowledged */
	ITEM_READY,	 /* fetched (and parsed): to be delivered */
};

/* What became of each listed mail, for the UID mark. */
enum mail_state {
	MAIL_PENDING,
	MAIL_HANDLED,
	MAIL_LEFT,
};

/* What the desk (or the journal behind a delivery) said of a mail, for telling a desk that is
 * down. */
enum desk_said {
	SAID_NOTHING,  /* not asked, or not yet */
	SAID_FAILED,   /* a failure that may heal */
	SAID_ANSWERED, /* delivered, or refused */
};

struct pass {
	struct deliver *d;
	struct mailbox *mb;
	struct mailbox_lease *lease; /* NULL: the mailbox has none */
	const struct mailbox_config *c;
	struct envelope envelope;
	gboolean write;	     /* not a dry run: acknowledge and journal */
	guint temp_in_row;   /* temporary failures since the last success, as they came back */
	enum desk_said said; /* of the mail settled last */
	GError *waiting;     /* the last failure that left a mail waiting */
	char *where;	     /* "UID 12", "UIDL abc" or "file NAME": for logs */
	struct deliver_pool *lanes; /* NULL: one mail at a time, on this thread */
	struct poll_waiting *held;  /* NULL: every mail is tried */
	guint window;		    /* mails on the lanes at most */
	/* The desk answered in this pass, and has not failed since: until it does, one mail at a
	 * time finds out whether it is down (as many calls as without lanes). */
	gboolean answered;
	/* The connection or the lease is lost: mail on the lanes still finishes (the journal
	 * records it), but nothing more is acknowledged or set aside. */
	gboolean acks_off;
	/* The folder's UIDVALIDITY changed before this pass: the journal's items name its mail
	 * by the old UIDs, so read mail below the mark is looked up by its key (read_before()). */
	gboolean rescan;
};

/* The pass's envelope, with what the message itself carries (the spool keeps pipe's). */
static struct envelope envelope_of(const struct pass *p, const struct mailbox_message *msg)
{
	struct envelope e = p->envelope;

	e.item = p->where;
	if (msg->has_envelope) {
		e.sender = msg->envelope.sender;
		e.recipient = msg->envelope.recipient;
		e.mailbox = msg->envelope.mailbox;
	}
	return e;
}

static void note_waiting(struct pass *p, GError *err)
{
	g_clear_error(&p->waiting);
	p->waiting = err;
}

static gboolean keeps_handled_mail(const struct mailbox_config *c)
{
	return !(c->driver->features & MAILBOX_HAS_UIDS) && c->after == MAILBOX_AFTER_KEEP;
}

/* Whether the mailbox is still this instance's to acknowledge mail in; the lease is renewed here
 * when due, so a long pass keeps it. */
static gboolean lease_kept(struct pass *p)
{
	return !p->lease || mailbox_lease_keep(p->lease, FALSE);
}

static enum item_result connection_lost(GError *err, GError **error)
{
	g_propagate_error(error, err);
	return ITEM_CONNECTION;
}

/* The journal forgets the mail's failures: it is off the server, or remembered as handled. */
static void finish_item(struct pass *p, const struct mailbox_message *msg)
{
	GError *err = NULL;

	if (p->write && !journal_item_finish(p->d->journal, p->c->name, msg->id,
					     keeps_handled_mail(p->c), &err)) {
		log_event(M2T_LOG_WARN, err->message, "mailbox", p->c->name, NULL);
		g_error_free(err);
	}
}

/* The mail failed for good: into the failed folder, else into the local quarantine and then
 * acknowledged like any handled mail. raw may be NULL when it was not fetched. */
static enum item_result set_aside(struct pass *p, struct mailbox_message *msg, GBytes *raw,
				  const char *reason, GError **error)
{
	GError *err = NULL;
	GBytes *fetched = NULL;
	struct envelope envelope;
	struct delivery_result result;
	gboolean kept;

	if (!p->write) {
		log_event(M2T_LOG_WARN, "would set the mail aside", "mailbox", p->c->name, "mail",
			  p->where, "reason", reason, NULL);
		return ITEM_DONE;
	}
	if (p->acks_off)
		return ITEM_LEFT;
	if (!lease_kept(p))
		return ITEM_LEASE_LOST;
	if (p->c->failed_folder) {
		if (!p->mb->ops->move_to(p->mb, msg, p->c->failed_folder, &err))
			return err->code == MAILBOX_ERROR_CONNECT
				   ? connection_lost(err, error)
				   : (note_waiting(p, err), ITEM_LEFT);
		log_event(M2T_LOG_ERROR, "mail set aside", "mailbox", p->c->name, "mail", p->where,
			  "folder", p->c->failed_folder, "reason", reason, NULL);
		finish_item(p, msg);
		return ITEM_DONE;
	}
	if (!raw) {
		if (!p->mb->ops->fetch(p->mb, msg, &fetched, &err))
			return err->code == MAILBOX_ERROR_CONNECT
				   ? connection_lost(err, error)
				   : (note_waiting(p, err), ITEM_LEFT);
		raw = fetched;
	}
	envelope = envelope_of(p, msg);
	kept = deliver_quarantine_unparsed(p->d, raw, &envelope, reason, &result, &err);
	delivery_result_clear(&result);
	if (fetched)
		g_bytes_unref(fetched);
	if (!kept) {
		note_waiting(p, err);
		return ITEM_LEFT;
	}
	if (!lease_kept(p))
		return ITEM_LEASE_LOST;
	if (!p->mb->ops->acknowledge(p->mb, msg, &err))
		return err->code == MAILBOX_ERROR_CONNECT ? connection_lost(err, error)
							  : (note_waiting(p, err), ITEM_LEFT);
	finish_item(p, msg);
	return ITEM_DONE;
}

/* The desk or the journal failed on this mail. */
static enum item_result delivery_failed(struct pass *p, struct mailbox_message *msg,
					GBytes *raw, GError *err, GError **error)
{
	int failures = 0;
	char *reason = NULL;
	gboolean seen;
	enum item_result r;
	GError *journal_err = NULL;

	if (err->domain != DESK_ERROR || desk_error_is_temporary(err)) {
		log_event(M2T_LOG_WARN, "mail left on the server for now", "mailbox", p->c->name,
			  "mail", p->where, "error", err->message, NULL);
		p->temp_in_row++;
		p->said = SAID_FAILED;
		note_waiting(p, err);
		return ITEM_LEFT;
	}
	p->temp_in_row = 0;
	p->answered = TRUE;
	p->said = SAID_ANSWERED;
	if (p->write &&
	    (!journal_item_count_failure(p->d->journal, p->c->name, msg->id, 1, err->message,
					 &journal_err) ||
	     !journal_item_get(p->d->journal, p->c->name, msg->id, &failures, &reason, &seen,
			       &journal_err))) {
		g_error_free(err);
		g_free(reason);
		note_waiting(p, journal_err);
		return ITEM_LEFT;
	}
	g_free(reason);
	if (failures >= p->c->max_failures) {
		r = set_aside(p, msg, raw, err->message, error);
		g_error_free(err);
		return r;
	}
	log_event(M2T_LOG_WARN, "the desk refused the mail; it is tried again", "mailbox",
		  p->c->name, "mail", p->where, "error", err->message, NULL);
	note_waiting(p, err);
	return ITEM_LEFT;
}

/* raw parsed into *mail (ITEM_READY), or set aside when the parser hung on it. */
static enum item_result parse_fetched(struct pass *p, struct mailbox_message *msg, GBytes *raw,
				      struct mail **mail, GError **error)
{
	static const char parser_died[] = "the parser crashed or was stopped while reading it";
	struct parse_options options;
	GError *err = NULL;

	/* Counted as a failure until the parser returns, so that a mail that kills the process
	 * each time is set aside after max_failures restarts instead of blocking the mailbox. */
	if (p->write &&
	    !journal_item_count_failure(p->d->journal, p->c->name, msg->id, 1, parser_died, &err)) {
		note_waiting(p, err);
		return ITEM_LEFT;
	}
	parse_options_from_config(p->d->config, p->d->dry_run, &options);
	*mail = parse_within(raw, &options, p->c->parse_timeout);
	if (!*mail) {
		char *reason = deliver_parse_timeout_reason(p->c->parse_timeout);
		enum item_result r = set_aside(p, msg, raw, reason, error);
		if (r != ITEM_CONNECTION)
			g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_REFUSED,
				    "mailbox %s: %s: %s", p->c->name, p->where, reason);
		g_free(reason);
		return ITEM_FATAL;
	}
	if (p->write &&
	    !journal_item_count_failure(p->d->journal, p->c->name, msg->id, -1, NULL, &err)) {
		mail_free(*mail);
		*mail = NULL;
		note_waiting(p, err);
		return ITEM_LEFT;
	}
	return ITEM_READY;
}

/* After msg's delivery: acknowledged when it went through (ok), else left or set aside
 * (delivery_failed(), which takes err). */
static enum item_result delivered(struct pass *p, struct mailbox_message *msg, GBytes *raw,
				  gboolean ok, GError *err, GError **error)
{
	if (!ok)
		return delivery_failed(p, msg, raw, err, error);
	p->temp_in_row = 0;
	p->answered = TRUE;
	p->said = SAID_ANSWERED;
	/* Delivered and journalled: the next pass, or the mailbox's new holder, finds it in the
	 * journal and only acknowledges it. */
	if (p->acks_off)
		return ITEM_LEFT;
	if (p->write && !lease_kept(p))
		return ITEM_LEASE_LOST;
	if (p->write && !p->mb->ops->acknowledge(p->mb, msg, &err))
		return err->code == MAILBOX_ERROR_CONNECT ? connection_lost(err, error)
							  : (note_waiting(p, err), ITEM_LEFT);
	finish_item(p, msg);
	return ITEM_DONE;
}

/* Deliver mail (taken) on this thread. */
static enum item_result deliver_here(struct pass *p, struct mailbox_message *msg, GBytes *raw,
				     struct mail *mail, gint64 started, GError **error)
{
	struct envelope envelope = envelope_of(p, msg);
	struct delivery_result result;
	GError *err = NULL;
	gboolean ok;

	envelope.started = started;
	ok = deliver_parsed_message(p->d, mail, raw, &envelope, &result, &err);
	delivery_result_clear(&result);
	mail_free(mail);
	return delivered(p, msg, raw, ok, err, error);
}

/* Whether msg is to be delivered (ITEM_READY: *raw fetched, a new reference), or done with here:
 * handled before, set aside, or gone. *read_before: msg was read (\Seen) below the mark's
 * unseen_below, which start = unseen leaves alone unless the journal knows it as unfinished;
 * cleared when the journal's item says so, left set when only its key can tell (p->rescan). */
static enum item_result take_in(struct pass *p, struct mailbox_message *msg, GBytes **raw,
				gboolean *read_before, GError **error)
{
	int failures = 0;
	char *reason = NULL;
	gboolean seen = FALSE;
	enum item_result r;
	GError *err = NULL;

	if (p->d->journal && !journal_item_get(p->d->journal, p->c->name, msg->id, &failures,
					       &reason, &seen, &err)) {
		note_waiting(p, err);
		return ITEM_LEFT;
	}
	if (seen && keeps_handled_mail(p->c)) {
		g_free(reason);
		return ITEM_DONE;
	}
	/* Every mail a pass started has an item, with a reason, from parse_fetched() until it is
	 * acknowledged: one the desk failed on, that someone then read, is still waiting. */
	if (*read_before && (failures > 0 || reason))
		*read_before = FALSE;
	if (*read_before && !p->rescan) {
		g_free(reason);
		return ITEM_DONE;
	}
	if (failures >= p->c->max_failures) {
		char *why = g_strdup_printf("failed %d times, last: %s", failures,
					    reason ? reason : "unknown");
		r = set_aside(p, msg, NULL, why, error);
		g_free(why);
		g_free(reason);
		return r;
	}
	g_free(reason);
	if (p->c->max_message_bytes && msg->size > p->c->max_message_bytes) {
		char *why = g_strdup_printf("%" G_GSIZE_FORMAT " bytes, over max_message_bytes = %"
					    G_GSIZE_FORMAT, msg->size, p->c->max_message_bytes);
		r = set_aside(p, msg, NULL, why, error);
		g_free(why);
		return r;
	}
	if (!p->mb->ops->fetch(p->mb, msg, raw, &err)) {
		if (err->code == MAILBOX_ERROR_CONNECT)
			return connection_lost(err, error);
		/* Gone from the folder since it was listed: someone else took it. */
		log_event(M2T_LOG_WARN, err->message, "mailbox", p->c->name, NULL);
		g_error_free(err);
		return ITEM_DONE;
	}
	return ITEM_READY;
}

/* After a UIDVALIDITY change, whether a read mail below the mark waits in the journal under its
 * key (an attempt that did not end): else start = unseen left it, and the journal forgets the
 * item parse_fetched() made. ITEM_READY to go on with it. */
static enum item_result read_before(struct pass *p, struct mailbox_message *msg,
				    const struct mail *mail)
{
	struct journal_entry entry;
	gboolean found = FALSE;
	char *key = mail_key(mail);
	GError *err = NULL;
	gboolean waits;

	if (!journal_lookup(p->d->journal, key, &entry, &found, &err)) {
		g_free(key);
		note_waiting(p, err);
		return ITEM_LEFT;
	}
	g_free(key);
	waits = found && (entry.state == JOURNAL_PENDING || entry.state == JOURNAL_FAILED);
	if (found)
		journal_entry_clear(&entry);
	if (waits)
		return ITEM_READY;
	finish_item(p, msg);
	return ITEM_DONE;
}

/* Start on msg, the list's mail i: done with here (delivered on this thread when there are no
 * lanes), or handed to the lanes (ITEM_READY). read: msg was read below the mark (take_in()). */
static enum item_result start(struct pass *p, struct mailbox_message *msg, guint i, gboolean read,
			      GError **error)
{
	gint64 started = g_get_monotonic_time();
	struct mail *mail = NULL;
	GBytes *raw = NULL;
	enum item_result r = take_in(p, msg, &raw, &read, error);

	if (r == ITEM_READY)
		r = parse_fetched(p, msg, raw, &mail, error);
	if (r == ITEM_READY && read && (r = read_before(p, msg, mail)) != ITEM_READY)
		mail_free(mail);
	if (r == ITEM_READY && !p->lanes) {
		r = deliver_here(p, msg, raw, mail, started, error);
	} else if (r == ITEM_READY) {
		struct parsed_message parsed = {
		    .msg = {.raw = g_bytes_ref(raw), .location = g_strdup(p->where)},
		    .mail = mail};
		struct envelope envelope = envelope_of(p, msg);
		deliver_pool_push_envelope(p->lanes, &parsed, &envelope, i);
	}
	if (raw)
		g_bytes_unref(raw);
	return r;
}

static void set_where(struct pass *p, const struct mailbox_message *msg)
{
	g_free(p->where);
	p->where = p->c->driver->features & MAILBOX_HAS_UIDS
		       ? g_strdup_printf("%s %u", p->c->driver->item_name, msg->uid)
		       : g_strdup_printf("%s %s", p->c->driver->item_name, msg->id);
}

/* The next mail the lanes are done with, acknowledged or left; *i: its place in list. */
static enum item_result finish_next(struct pass *p, GArray *list, guint *i, GError **error)
{
	struct finished_delivery done;
	struct mailbox_message *msg;
	enum item_result r;

	deliver_pool_pop(p->lanes, &done);
	*i = (guint)done.seq;
	msg = &g_array_index(list, struct mailbox_message, *i);
	set_where(p, msg);
	if (done.held_back) {
		/* Not a desk failure: its thread waits for the mail before it. */
		log_event(M2T_LOG_WARN, "mail left on the server for now", "mailbox", p->c->name,
			  "mail", p->where, "error", done.error->message, NULL);
		note_waiting(p, g_steal_pointer(&done.error));
		r = ITEM_LEFT;
	} else {
		r = delivered(p, msg, done.parsed.msg.raw, done.ok, g_steal_pointer(&done.error),
			      error);
	}
	finished_delivery_clear(&done);
	return r;
}

/* Where this pass starts: the journal's mark, set from the config's "start" on the first pass
 * and again when the folder's UIDVALIDITY changed (the journal's message keys then keep mail
 * that was handled before from being sent again). */
static gboolean load_mark(struct pass *p, struct journal_mailbox_mark *mark, GError **error)
{
	struct mailbox *mb = p->mb;
	gboolean found = FALSE;

	if (p->d->journal &&
	    !journal_mailbox_mark_get(p->d->journal, p->c->name, mark, &found, error))
		return FALSE;
	if (found && mark->uidvalidity == mb->uidvalidity)
		return TRUE;
	p->rescan = found;
	if (found)
		log_event(M2T_LOG_WARN,
			  "the folder's UIDVALIDITY changed: its mail is read again and matched "
			  "against the journal by Message-ID",
			  "mailbox", p->c->name, NULL);
	*mark = (struct journal_mailbox_mark){.uidvalidity = mb->uidvalidity};
	if (p->c->start == MAILBOX_START_UNSEEN)
		mark->unseen_below = mb->uidnext;
	else if (p->c->start == MAILBOX_START_NEW && !found && mb->uidnext > 0)
		mark->last_uid = mb->uidnext - 1;
	return !p->write || journal_mailbox_mark_set(p->d->journal, p->c->name, mark, error);
}

/* POP3 with start = new: what is there at the first pass counts as handled. */
static gboolean skip_existing(struct pass *p, GArray *list, GError **error)
{
	struct journal_mailbox_mark mark;
	gboolean found;

	if (p->c->start != MAILBOX_START_NEW || !p->write)
		return TRUE;
	if (!journal_mailbox_mark_get(p->d->journal, p->c->name, &mark, &found, error))
		return FALSE;
	if (found)
		return TRUE;
	for (guint i = 0; i < list->len; i++) {
		struct mailbox_message *msg = &g_array_index(list, struct mailbox_message, i);
		if (!journal_item_finish(p->d->journal, p->c->name, msg->id, TRUE, error))
			return FALSE;
	}
	g_array_set_size(list, 0);
	return journal_mailbox_mark_set(p->d->journal, p->c->name, &mark, error);
}

/* POP3 with after = keep: mail deleted on the server by someone else is forgotten. */
static gboolean forget_deleted(struct pass *p, GArray *list, GError **error)
{
	GHashTable *present;
	gboolean ok;

	if (!keeps_handled_mail(p->c) || !p->write)
		return TRUE;
	present = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < list->len; i++)
		g_hash_table_add(present, g_array_index(list, struct mailbox_message, i).id);
	ok = journal_items_forget_absent(p->d->journal, p->c->name, present, error);
	g_hash_table_unref(present);
	return ok;
}

/* What became of the listed mails. The UID mark moves over those handled without a gap from
 * the first: one the lanes finished early waits for those before it, and one left stops it for
 * the pass. */
struct listed {
	struct journal_mailbox_mark mark;
	guint8 *state;	  /* enum mail_state of each listed mail */
	guint8 *said;	  /* enum desk_said of each */
	guint prefix;	  /* the mails before this one are all handled */
	guint written;	  /* the prefix the journal has */
	gboolean stuck;	  /* the journal could not record it: it stays for the pass */
};

/* Move the mark over the handled prefix; without lanes it is written at once, on them every
 * MARK_EVERY mails or when flushing. */
static void advance_mark(struct pass *p, struct listed *m, GArray *list, gboolean flush)
{
	GError *err = NULL;

	while (!m->stuck && m->prefix < list->len && m->state[m->prefix] == MAIL_HANDLED)
		m->prefix++;
	if (m->prefix == m->written || (p->lanes && !flush && m->prefix - m->written < MARK_EVERY))
		return;
	m->written = m->prefix;
	m->mark.last_uid = g_array_index(list, struct mailbox_message, m->prefix - 1).uid;
	if (p->write && !journal_mailbox_mark_set(p->d->journal, p->c->name, &m->mark, &err)) {
		note_waiting(p, err);
		m->stuck = TRUE;
	}
}

/* What ends the pass at once: no more mail is started, and what the lanes still carry is only
 * journalled. */
static enum poll_result halting(enum item_result r)
{
	switch (r) {
	case ITEM_CONNECTION:
		return POLL_CONNECTION;
	case ITEM_LEASE_LOST:
		return POLL_LEASE_LOST;
	case ITEM_FATAL:
		return POLL_FATAL;
	default:
		return POLL_OK;
	}
}

/* Whether mail i's failure makes DESK_DOWN_AFTER failures in a row in the list's order, as one
 * mail at a time meets them: mails the desk said nothing of are passed over, one still on the
 * lanes (or not started) ends the row. Lanes finish out of order, so the order they come back in
 * would count a row where a mail between did go through. */
static gboolean desk_down(const struct listed *m, guint len, guint i)
{
	guint row = 1;

	for (guint j = i; j > 0 && m->said[j - 1] != SAID_ANSWERED; j--) {
		if (m->said[j - 1] == SAID_NOTHING && m->state[j - 1] == MAIL_PENDING)
			break;
		row += m->said[j - 1] == SAID_FAILED;
	}
	for (guint j = i + 1; j < len && m->said[j] != SAID_ANSWERED; j++) {
		if (m->said[j] == SAID_NOTHING && m->state[j] == MAIL_PENDING)
			break;
		row += m->said[j] == SAID_FAILED;
	}
	return row >= DESK_DOWN_AFTER;
}

static guint window_now(const struct pass *p)
{
	return p->answered && p->temp_in_row == 0 ? p->window : 1;
}

/* Keep held up to date with what became of msg: held back when a failure that may heal left it,
 * forgotten once it is off the list. */
static void hold(struct poll_waiting *held, const struct mailbox_message *msg,
		 enum item_result r, enum desk_said said)
{
	if (r == ITEM_LEFT && said == SAID_FAILED)
		g_hash_table_add(held->ids, g_strdup(msg->id));
	else if (r == ITEM_DONE)
		g_hash_table_remove(held->ids, msg->id);
}

/* Every listed mail in order: started while fewer than the window are on the lanes (one at a
 * time without lanes), and settled as each comes back. */
static enum poll_result run_list(struct pass *p, GArray *list, struct listed *m,
				 const volatile sig_atomic_t *stop, GError **error)
{
	const gboolean uids = p->c->driver->features & MAILBOX_HAS_UIDS;
	enum poll_result result = POLL_OK;
	guint next = 0;

	for (;;) {
		GError *err = NULL;
		enum item_result r;
		guint i;
		p->said = SAID_NOTHING;
		if (result == POLL_OK && !*stop && next < list->len &&
		    (!p->lanes || deliver_pool_in_flight(p->lanes) < window_now(p))) {
			struct mailbox_message *msg =
			    &g_array_index(list, struct mailbox_message, next);
			i = next++;
			/* A long pass is not a hang. */
			service_watchdog_ping();
			set_where(p, msg);
			if (!lease_kept(p)) {
				r = ITEM_LEASE_LOST;
			} else if (p->held && !p->held->due &&
				   g_hash_table_contains(p->held->ids, msg->id)) {
				p->held->skipped++;
				r = ITEM_LEFT;
			} else
				r = start(p, msg, i,
					  uids && msg->uid < m->mark.unseen_below && msg->seen,
					  &err);
			if (r == ITEM_READY)
				continue;
		} else if (p->lanes && deliver_pool_in_flight(p->lanes) > 0) {
			r = finish_next(p, list, &i, &err);
		} else {
			break;
		}
		if (halting(r) != POLL_OK) {
			p->acks_off = TRUE;
			if (result == POLL_OK || result == POLL_DESK_DOWN) {
				result = halting(r);
				/* A lost lease is logged where it is found: no error. */
				if (err)
					g_propagate_error(error, err);
				err = NULL;
			}
		}
		g_clear_error(&err);
		if (r == ITEM_DONE || r == ITEM_LEFT)
			m->state[i] = r == ITEM_DONE ? MAIL_HANDLED : MAIL_LEFT;
		if (p->held)
			hold(p->held, &g_array_index(list, struct mailbox_message, i), r, p->said);
		m->said[i] = p->said;
		if (uids && result != POLL_LEASE_LOST)
			advance_mark(p, m, list, FALSE);
		if (result == POLL_OK && p->said == SAID_FAILED && desk_down(m, list->len, i))
			result = POLL_DESK_DOWN;
	}
	if (uids && result != POLL_LEASE_LOST)
		advance_mark(p, m, list, TRUE);
	return result;
}

static enum poll_result run(struct pass *p, const volatile sig_atomic_t *stop, GError **error)
{
	const gboolean uids = p->c->driver->features & MAILBOX_HAS_UIDS;
	struct listed m = {0};
	GArray *list = mailbox_message_array_new();
	enum poll_result result = POLL_OK;
	GError *err = NULL;

	if (!p->mb->connected && !p->mb->ops->open(p->mb, &err))
		goto connection;
	if (uids && !load_mark(p, &m.mark, &err)) {
		note_waiting(p, err);
		result = POLL_RETRY;
		goto out;
	}
	if (!p->mb->ops->list(p->mb, m.mark.last_uid, list, &err))
		goto connection;
	if (!uids && (!skip_existing(p, list, &err) || !forget_deleted(p, list, &err))) {
		note_waiting(p, err);
		result = POLL_RETRY;
		goto out;
	}
	/* A single new mail (what IDLE mostly brings) goes without the lanes' hand-over. */
	if (list->len < 2)
		p->lanes = NULL;
	m.state = g_new0(guint8, list->len);
	m.said = g_new0(guint8, list->len);
	result = run_list(p, list, &m, stop, &err);
	g_free(m.state);
	g_free(m.said);
	if (result == POLL_CONNECTION)
		goto connection;
	if (result == POLL_FATAL) {
		g_propagate_error(error, err);
		goto out;
	}
	if (result == POLL_LEASE_LOST)
		goto out;
	if (result == POLL_OK && p->waiting)
		result = POLL_RETRY;
	/* POP3 deletes at QUIT; the spool stays open for its inotify watch. */
	if ((p->c->driver->features & MAILBOX_ACKS_AT_CLOSE) && !p->mb->ops->close(p->mb, &err))
		goto connection;
	goto out;
connection:
	g_propagate_error(error, err);
	result = POLL_CONNECTION;
	g_array_unref(list);
	return result;
out:
	if (result == POLL_RETRY || result == POLL_DESK_DOWN)
		g_propagate_error(error, g_error_copy(p->waiting));
	g_array_unref(list);
	return result;
}

enum poll_result poll_pass(struct deliver *d, struct deliver_pool *lanes, struct mailbox *mb,
			   struct mailbox_lease *lease, struct poll_waiting *waiting,
			   const volatile sig_atomic_t *stop, GError **error)
{
	const struct mailbox_config *c = mb->config;
	char *source = g_strconcat("mailbox ", c->name, NULL);
	struct pass p = {
	    .d = d,
	    .mb = mb,
	    .lease = lease,
	    .c = c,
	    .envelope = {.source = source,
			 .mailbox = c->name,
			 .recipient = strchr(c->user, '@') ? c->user : NULL},
	    .write = !d->dry_run,
	    .lanes = lanes,
	    .held = waiting,
	    .window = 2 * (guint)MAX(d->config->desk.concurrency, 1),
	};
	enum poll_result result;

	if (lanes)
		deliver_pool_forget_failures(lanes);
	if (waiting)
		waiting->skipped = 0;
	result = run(&p, stop, error);

	g_clear_error(&p.waiting);
	g_free(p.where);
	g_free(source);
	return result;
}
