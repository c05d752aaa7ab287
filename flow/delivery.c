/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One mail on its way through the flow, and the actions that carry out its decision. */
#include "flow/delivery.h"

#include "cli/log.h"
#include "flow/earlier_attempts.h"
#include "parsers/mail_key.h"
#include "parsers/mail_parse.h"
#include "state/maildir.h"

/* The ticket request for a mail, borrowing from it; the arrays are owned by the struct. */
struct ticket_request {
	struct desk_ticket_request req;
	GArray *cc;	     /* of struct desk_address */
	GArray *attachments; /* of struct desk_attachment */
	GArray *fields;	     /* of struct desk_field */
	char *message;
	char *created;
};

static void ticket_request_init(struct ticket_request *tr, const struct deliver *d,
				const struct mail *mail, const struct action *action)
{
	tr->cc = g_array_new(FALSE, TRUE, sizeof(struct desk_address));
	tr->attachments = g_array_new(FALSE, TRUE, sizeof(struct desk_attachment));
	tr->fields = g_array_new(FALSE, TRUE, sizeof(struct desk_field));
	for (guint i = 0; i < action->fields->len; i++) {
		const struct rule_field_value *f =
		    &g_array_index(action->fields, struct rule_field_value, i);
		struct desk_field df = {.id = f->id, .name = f->name, .value = f->value};
		g_array_append_val(tr->fields, df);
	}
	for (guint i = 0; i < mail->cc->len; i++) {
		const struct mail_address *a = g_ptr_array_index(mail->cc, i);
		struct desk_address da = {.name = a->name, .email = a->email};
		if (a->email)
			g_array_append_val(tr->cc, da);
	}
	for (guint i = 0; i < mail->attachments->len; i++) {
		const struct mail_attachment *att = g_ptr_array_index(mail->attachments, i);
		struct desk_attachment da = {.name = att->filename, .len = att->size};
		/* NULL in a dry run, which shows the size alone. */
		da.data = att->data ? g_bytes_get_data(att->data, NULL) : NULL;
		g_array_append_val(tr->attachments, da);
	}
	/* WHMCS requires a message; a mail of attachments alone still says what it is. */
	tr->message = g_strdup(*mail->text ? mail->text : "(This e-mail has no text.)");
	tr->created = d->original_dates && mail->date ? g_date_time_format_iso8601(mail->date)
						      : NULL;
	tr->req = (struct desk_ticket_request){
	    .deptid = action->deptid,
	    .to = action->mailbox,
	    .subject = *mail->subject ? mail->subject : "(no subject)",
	    .message = tr->message,
	    .name = action->name,
	    .email = action->email,
	    .clientid = action->clientid,
	    .serviceid = action->serviceid,
	    .category = action->category,
	    .status = action->status,
	    .tags = (const char *const *)action->tags,
	    .customer_id = action->customer_id,
	    .markdown = action->markdown,
	    .priority = action->priority,
	    .cc = (const struct desk_address *)tr->cc->data,
	    .n_cc = tr->cc->len,
	    .attachments = (const struct desk_attachment *)tr->attachments->data,
	    .n_attachments = tr->attachments->len,
	    .fields = (const struct desk_field *)tr->fields->data,
	    .n_fields = tr->fields->len,
	    .created = tr->created,
	};
}

/* Files the desk's API cannot carry with this call are named in the text by the backend. */
static void note_files_left_out(const struct deliver *d, const struct mail *mail,
				enum desk_capability call)
{
	if (mail->attachments->len > 0 && !desk_can(d->desk, call))
		log_event(M2T_LOG_INFO,
			  call == DESK_CAN_ATTACH_REPLY
			      ? "this desk's API takes no files with a reply: the attachments are "
				"named in the reply's text instead"
			      : "this desk's API takes no files: the attachments are named in the "
				"ticket text instead",
			  "subject", mail->subject, NULL);
}

static void ticket_request_clear(struct ticket_request *tr)
{
	g_array_unref(tr->cc);
	g_array_unref(tr->attachments);
	g_array_unref(tr->fields);
	g_free(tr->message);
	g_free(tr->created);
}

const char *delivery_key(struct delivery *m)
{
	if (!m->key)
		m->key = mail_key(m->mail);
	return m->key;
}

gboolean delivery_already_handled(const struct deliver *d, const struct journal_entry *entry)
{
	return entry->state == JOURNAL_DELIVERED || entry->state == JOURNAL_DROPPED ||
	       (entry->state == JOURNAL_QUARANTINED && !d->retry_quarantined);
}

void delivery_set_ticket(struct delivery *m, const char *tid)
{
	g_free(m->result->ticket);
	m->result->ticket = g_strdup(tid);
}

static void set_reason(struct delivery *m, const char *reason)
{
	g_free(m->result->reason);
	m->result->reason = g_strdup(reason);
}

gboolean delivery_do_without(GError **error, const char *cost)
{
	if (!g_error_matches(*error, DESK_ERROR, DESK_ERROR_UNSUPPORTED))
		return FALSE;
	log_event(M2T_LOG_WARN, cost, "reason", (*error)->message, NULL);
	g_clear_error(error);
	return TRUE;
}

gboolean delivery_quarantine(struct deliver *d, struct delivery *m, const char *reason,
			     GError **error)
{
	char *where;

	if (d->dry_run) {
		log_event(M2T_LOG_WARN, "would quarantine", "key", delivery_key(m), "reason",
			  reason, NULL);
		return TRUE;
	}
	where = maildir_store(d->config->state.quarantine, m->envelope, m->raw, m->len, error);
	if (!where) {
		g_prefix_error(error, "quarantine: ");
		return FALSE;
	}
	if (!journal_mark_quarantined(d->journal, delivery_key(m), m->info, where, reason, error)) {
		g_free(where);
		return FALSE;
	}
	log_event(M2T_LOG_DEBUG, "mail quarantined", "key", delivery_key(m), "reason", reason,
		  "file", where, NULL);
	g_free(where);
	return TRUE;
}

/* The desk did not do what was asked. A failure that may heal leaves the mail where it is (FALSE,
 * error set); a refusal puts it in the quarantine with the desk's words, unless the caller keeps
 * refused mail itself. Takes err. */
static gboolean desk_failed(struct deliver *d, struct delivery *m, GError *err, GError **error)
{
	gboolean ok;

	if (desk_error_is_temporary(err) || d->dry_run || d->keep_refused) {
		/* A write that timed out stays pending: a retry first waits out the time the desk
		 * may still be working on it (earlier_attempts.c). */
		if (!d->dry_run && g_error_matches(err, DESK_ERROR, DESK_ERROR_TIMED_OUT))
			journal_mark_unanswered(d->journal, delivery_key(m), err->message, NULL);
		else if (!d->dry_run)
			journal_mark_failed(d->journal, delivery_key(m), err->message, NULL);
		g_propagate_error(error, err);
		return FALSE;
	}
	ok = delivery_quarantine(d, m, err->message, error);
	m->result->outcome = DELIVER_QUARANTINED;
	set_reason(m, err->message);
	g_error_free(err);
	return ok;
}

/* Before a write: every earlier attempt of m resolved (one that reached the desk is adopted,
 * and there is nothing to send), then this attempt journalled as begun. *send when the desk is
 * to be called now. */
static gboolean begin_write(struct deliver *d, struct delivery *m, const struct pending_write *now,
			    gboolean *send, GError **error)
{
	gboolean adopted;

	*send = FALSE;
	if (!earlier_attempts_resolve(d, m, now, &adopted, error))
		return FALSE;
	if (adopted) {
		m->result->outcome = DELIVER_ADOPTED;
		return TRUE;
	}
	if (!d->dry_run &&
	    !journal_begin_attempt(d->journal, delivery_key(m), m->info, now->write, error))
		return FALSE;
	*send = TRUE;
	return TRUE;
}

/* The OpenTicket call, and the ticket it opened recorded in the journal. */
static gboolean send_ticket(struct deliver *d, struct delivery *m,
			    const struct desk_ticket_request *req, GError **error)
{
	const struct action *action = m->action;
	struct desk_ticket ticket = {0};
	GError *err = NULL;
	char deptid[16];
	gboolean ok = FALSE;

	if (!desk_open_ticket(d->desk, req, &ticket, &err)) {
		ok = desk_failed(d, m, err, error);
		goto out;
	}
	if (d->dry_run) {
		m->result->outcome = DELIVER_DRY_RUN;
		ok = TRUE;
		goto out;
	}
	if (!journal_mark_delivered(d->journal, delivery_key(m), "opened", ticket.id, ticket.tid,
				    m->why, error))
		goto out;
	if (!ticket.tid)
		log_event(M2T_LOG_WARN,
			  "the desk opened the ticket without saying its number, and has no call "
			  "to find it by: replies to it thread by their own numbers",
			  "key", delivery_key(m), NULL);
	delivery_set_ticket(m, ticket.tid);
	g_snprintf(deptid, sizeof(deptid), "%d", action->deptid);
	log_event(M2T_LOG_DEBUG, "ticket opened", "key", delivery_key(m), "ticket", ticket.tid,
		  "id", ticket.id, "department", deptid, "priority", action->priority, "from",
		  action->email, "why", m->why, NULL);
	m->result->outcome = DELIVER_OPENED;
	ok = TRUE;
out:
	desk_ticket_clear(&ticket);
	return ok;
}

static gboolean open_ticket(struct deliver *d, struct delivery *m, GError **error)
{
	const struct action *action = m->action;
	struct ticket_request tr;
	struct pending_write now;
	gboolean ok, send;
	char *write;

	ticket_request_init(&tr, d, m->mail, action);
	note_files_left_out(d, m->mail, DESK_CAN_ATTACH);
	write = action->mailbox ? g_strdup_printf("open %d %s", action->deptid, action->mailbox)
				: g_strdup_printf("open %d", action->deptid);
	now = (struct pending_write){.write = write, .open = &tr.req};
	ok = begin_write(d, m, &now, &send, error);
	if (ok && send)
		ok = send_ticket(d, m, &tr.req, error);
	g_free(write);
	ticket_request_clear(&tr);
	return ok;
}

/* The AddTicketReply call, and the reply recorded in the journal. */
static gboolean send_reply(struct deliver *d, struct delivery *m,
			   const struct desk_reply_request *req, GError **error)
{
	const struct action *action = m->action;
	GError *err = NULL;

	if (!desk_add_reply(d->desk, req, &err))
		return desk_failed(d, m, err, error);
	if (d->dry_run) {
		m->result->outcome = DELIVER_DRY_RUN;
		return TRUE;
	}
	if (!journal_mark_delivered(d->journal, delivery_key(m), "replied", action->ticket_id,
				    action->ticket_tid, m->why, error))
		return FALSE;
	delivery_set_ticket(m, action->ticket_tid);
	log_event(M2T_LOG_DEBUG, "reply added", "key", delivery_key(m), "ticket",
		  action->ticket_tid, "id", action->ticket_id, "from", action->email, "why", m->why,
		  NULL);
	m->result->outcome = DELIVER_REPLIED;
	return TRUE;
}

/* The reply as the journal records it: "reply ID TID", and how many of the ticket's messages
 * had its text before it was sent. A customer writes "Any update?" twice: only a message beyond
 * those shows that this mail's unanswered attempt reached the desk. Newly allocated. */
static char *reply_write(const struct delivery *m, const struct action *action, const char *message)
{
	if (!m->ticket || !m->ticket->messages)
		return g_strdup_printf("reply %s %s", action->ticket_id, action->ticket_tid);
	return g_strdup_printf("reply %s %s %u", action->ticket_id, action->ticket_tid,
			       desk_ticket_count_text(m->ticket, message));
}

static gboolean add_reply(struct deliver *d, struct delivery *m, GError **error)
{
	const struct action *action = m->action;
	struct ticket_request tr;
	struct desk_reply_request req;
	struct pending_write now;
	gboolean ok, send;
	char *write;
	/* A reply carries what the sender wrote now, not the thread the ticket already holds. */
	const char *reply = mail_reply_text(m->mail);
	const char *message = *reply ? reply : NULL;

	ticket_request_init(&tr, d, m->mail, action);
	note_files_left_out(d, m->mail, DESK_CAN_ATTACH_REPLY);
	req = (struct desk_reply_request){
	    .ticket_id = action->ticket_id,
	    .message = message ? message : tr.message,
	    .name = action->name,
	    .email = action->email,
	    .clientid = action->clientid,
	    .attachments = tr.req.attachments,
	    .n_attachments = tr.req.n_attachments,
	    .created = tr.created,
	};
	write = reply_write(m, action, req.message);
	now = (struct pending_write){.write = write, .open = &tr.req, .reply_message = req.message};
	ok = begin_write(d, m, &now, &send, error);
	if (ok && send)
		ok = send_reply(d, m, &req, error);
	g_free(write);
	ticket_request_clear(&tr);
	return ok;
}

/* With [threading] per_department, one ticket in each department, each under its own journal key
 * ("KEY#dept:ID", or "KEY#to:MAILBOX" for a Thulium mailbox), so a retry, or another
 * recipient's copy of the mail, opens only the ones missing. */
static gboolean open_per_department(struct deliver *d, struct delivery *m, GError **error)
{
	gboolean ok = TRUE;

	m->result->outcome = DELIVER_ALREADY;
	for (guint i = 0; ok && i < m->action->departments->len; i++) {
		const struct department_route *r = g_ptr_array_index(m->action->departments, i);
		char *key = r->mailbox ? g_strdup_printf("%s#to:%s", delivery_key(m), r->mailbox)
				       : g_strdup_printf("%s#dept:%d", delivery_key(m), r->deptid);
		struct journal_entry earlier = {0};
		gboolean known = FALSE;
		/* The same mail, under the department's own journal row. */
		struct delivery one = *m;

		ok = !d->journal || journal_lookup(d->journal, key, &earlier, &known, error);
		if (ok && !(known && delivery_already_handled(d, &earlier))) {
			m->action->deptid = r->deptid;
			m->action->mailbox = r->mailbox;
			one.key = key;
			one.earlier = known ? &earlier : NULL;
			ok = open_ticket(d, &one, error);
		}
		journal_entry_clear(&earlier);
		g_free(key);
	}
	return ok;
}

static gboolean drop(struct deliver *d, struct delivery *m, GError **error)
{
	if (!d->dry_run &&
	    !journal_mark_dropped(d->journal, delivery_key(m), m->info, m->why, error))
		return FALSE;
	log_event(M2T_LOG_DEBUG, "mail dropped", "key", delivery_key(m), "reason", m->why, NULL);
	m->result->outcome = DELIVER_DROPPED;
	return TRUE;
}

gboolean delivery_act(struct deliver *d, struct delivery *m, GError **error)
{
	gboolean ok = FALSE;

	switch (m->action->kind) {
	case ACTION_DROP:
		set_reason(m, m->why);
		ok = drop(d, m, error);
		break;
	case ACTION_QUARANTINE:
		set_reason(m, m->why);
		m->result->outcome = DELIVER_QUARANTINED;
		ok = delivery_quarantine(d, m, m->why, error);
		break;
	case ACTION_OPEN:
		/* Also for one department: the copy of the mail that reaches another
		 * department's address (its own MTA delivery) then finds this one's ticket under
		 * the same key. */
		if (m->action->departments->len > 0)
			ok = open_per_department(d, m, error);
		else
			ok = open_ticket(d, m, error);
		break;
	case ACTION_REPLY:
		ok = add_reply(d, m, error);
		break;
	}
	return ok;
}
