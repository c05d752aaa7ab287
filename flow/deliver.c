#include "flow/deliver.h"

#include "cli/log.h"
#include "flow/parse_pool.h"
#include "parsers/mail_parse.h"
#include "rules/loop_guard.h"
#include "rules/route.h"
#include "state/maildir.h"

const char *deliver_outcome_name(enum deliver_outcome outcome)
{
	static const char *const names[] = {
	    [DELIVER_OPENED] = "opened",	   [DELIVER_REPLIED] = "replied",
	    [DELIVER_ADOPTED] = "adopted",
	    [DELIVER_ALREADY] = "already-handled", [DELIVER_DROPPED] = "dropped",
	    [DELIVER_QUARANTINED] = "quarantined", [DELIVER_DRY_RUN] = "dry-run",
	};
	return names[outcome];
}

/* Rule actions the desk's API cannot carry are named once, when the flow starts. */
static void warn_unsupported_actions(const struct deliver *d)
{
	for (guint i = 0; i < d->config->rules->len; i++) {
		const struct rule *r = g_ptr_array_index(d->config->rules, i);
		if (r->priority && !desk_can(d->desk, DESK_CAN_PRIORITY))
			log_event(LOG_WARN, "this desk's API takes no priority: the rule's is not sent",
				  "rule", r->name, NULL);
		if ((r->category > 0 || r->status > 0 || r->tags || r->customer_id > 0) &&
		    !desk_can(d->desk, DESK_CAN_CATEGORY))
			log_event(LOG_WARN,
				  "this desk's API has no ticket category, status, tags or customer "
				  "id: the rule's are not sent",
				  "rule", r->name, NULL);
		if ((r->clientid > 0 || r->serviceid > 0) && !desk_can(d->desk, DESK_CAN_CLIENTS))
			log_event(LOG_WARN,
				  "this desk's API has no client or service ids: the rule's are not "
				  "sent",
				  "rule", r->name, NULL);
	}
}

gboolean deliver_open(struct deliver *d, const struct config *config, gboolean dry_run,
		      GError **error)
{
	*d = (struct deliver){.config = config, .dry_run = dry_run};
	d->desk = desk_new(config, dry_run ? stdout : NULL, error);
	if (!d->desk)
		return FALSE;
	warn_unsupported_actions(d);
	if (dry_run && !g_file_test(config->state.path, G_FILE_TEST_EXISTS))
		return TRUE;
	d->journal = journal_open(config->state.path, dry_run, config->state.busy_timeout_ms, error);
	return d->journal != NULL;
}

void deliver_close(struct deliver *d)
{
	journal_close(d->journal);
	desk_free(d->desk);
	g_free(d->last_reason);
	g_free(d->last_ticket);
	d->journal = NULL;
	d->desk = NULL;
	d->last_reason = NULL;
	d->last_ticket = NULL;
}

void parse_options_from_config(const struct config *config, struct parse_options *out)
{
	*out = (struct parse_options){
	    .max_attachment_bytes = config->parser.max_attachment_bytes,
	    .max_total_bytes = config->parser.max_total_bytes,
	    .reply_markers = (const char *const *)config->parser.reply_markers,
	};
}

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
		struct desk_attachment da = {.name = att->filename};
		da.data = g_bytes_get_data(att->data, &da.len);
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
		log_event(LOG_INFO,
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

static gboolean quarantine(struct deliver *d, const char *key, const struct journal_mail_info *info,
			   const char *raw, gsize len, const char *reason, GError **error)
{
	char *where;

	if (d->dry_run) {
		log_event(LOG_WARN, "would quarantine", "key", key, "reason", reason, NULL);
		return TRUE;
	}
	where = maildir_store(d->config->state.quarantine, d->envelope, raw, len, error);
	if (!where) {
		g_prefix_error(error, "quarantine: ");
		return FALSE;
	}
	if (!journal_mark_quarantined(d->journal, key, info, where, reason, error)) {
		g_free(where);
		return FALSE;
	}
	log_event(LOG_DEBUG, "mail quarantined", "key", key, "reason", reason, "file", where, NULL);
	g_free(where);
	return TRUE;
}

/* The desk did not do what was asked. A failure that may heal leaves the mail where it is (FALSE,
 * error set); a refusal puts it in the quarantine with the desk's words, unless the caller keeps
 * refused mail itself. Takes err. */
static gboolean desk_failed(struct deliver *d, const char *key, const struct journal_mail_info *info,
			    const char *raw, gsize len, GError *err, enum deliver_outcome *outcome,
			    GError **error)
{
	gboolean ok;

	if (desk_error_is_temporary(err) || d->dry_run || d->keep_refused) {
		if (!d->dry_run)
			journal_mark_failed(d->journal, key, err->message, NULL);
		g_propagate_error(error, err);
		return FALSE;
	}
	ok = quarantine(d, key, info, raw, len, err->message, error);
	*outcome = DELIVER_QUARANTINED;
	g_free(d->last_reason);
	d->last_reason = g_strdup(err->message);
	g_error_free(err);
	return ok;
}

static void set_last_ticket(struct deliver *d, const char *tid)
{
	g_free(d->last_ticket);
	d->last_ticket = g_strdup(tid);
}

/* Whether an earlier attempt may have opened a ticket or added the reply: not when the desk
 * refused it (the mail was then quarantined), so a reprocess costs no look-up. */
static gboolean may_have_reached_desk(const struct journal_entry *earlier)
{
	return earlier->attempts > 0 && earlier->state != JOURNAL_QUARANTINED;
}

/* An attempt that died without an answer may still be running at the desk until its own timeout
 * has passed (a desk finishes a request whose client went away). Only after that does "not at
 * the desk" mean the desk never took it, so this waits out the rest of that time; TRUE when it
 * waited and the desk is worth asking again. */
static gboolean wait_out_lost_attempt(const struct deliver *d, const char *key,
				      const struct journal_entry *earlier)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gint64 until = earlier->updated + d->config->desk.timeout;
	char seconds[32];

	if (earlier->state != JOURNAL_PENDING || until <= now)
		return FALSE;
	g_snprintf(seconds, sizeof(seconds), "%" G_GINT64_FORMAT, until - now);
	log_event(LOG_INFO, "an attempt without an answer may still be running at the desk; "
			    "looking again after its timeout",
		  "key", key, "wait", seconds, NULL);
	g_usleep((until - now) * G_USEC_PER_SEC);
	return TRUE;
}

/* After an AddTicketReply whose answer was lost: whether the reply is on the ticket already. */
static gboolean reply_already_added(struct deliver *d, const char *tid, const char *message,
				    gboolean *found, GError **error)
{
	struct desk_ticket ticket;

	*found = FALSE;
	if (!desk_get_ticket(d->desk, tid, &ticket, error))
		return FALSE;
	for (guint i = 0; ticket.messages && i < ticket.messages->len; i++)
		if (desk_same_text(g_ptr_array_index(ticket.messages, i), message))
			*found = TRUE;
	desk_ticket_clear(&ticket);
	return TRUE;
}

/* A call the desk's server lacks (DESK_ERROR_UNSUPPORTED): the flow goes on without it, saying
 * what that costs. TRUE, and *error cleared, when that is the error. */
static gboolean do_without(GError **error, const char *cost)
{
	if (!g_error_matches(*error, DESK_ERROR, DESK_ERROR_UNSUPPORTED))
		return FALSE;
	log_event(LOG_WARN, cost, "reason", (*error)->message, NULL);
	g_clear_error(error);
	return TRUE;
}

/* What a write about to be sent is, for the journal and for finding it at the desk later. */
struct pending_write {
	const char *write; /* "open DEPTID", "open DEPTID MAILBOX" or "reply ID TID" */
	const struct desk_ticket_request *open;	 /* the ticket it opens, or the mail as a ticket */
	const char *reply_message;		 /* the text a reply adds */
};

/* Whether one earlier write of the mail reached the desk: a ticket opened from it, or its
 * reply on the ticket. The ticket found, if any, goes into *id and *tid (newly allocated). An
 * attempt recorded without saying which write it was is taken to be this one. */
static gboolean find_earlier_write(struct deliver *d, const char *earlier,
				   const struct pending_write *now, char **id, char **tid,
				   GError **error)
{
	const char *write = *earlier ? earlier : now->write;
	char **words = g_strsplit(write, " ", 3);
	gboolean ok = TRUE, found = FALSE;

	*id = *tid = NULL;
	if (strcmp(words[0], "open") == 0) {
		/* As it was sent: a reply's request has no department. */
		struct desk_ticket_request req = *now->open;
		struct desk_ticket ticket;
		if (words[1]) {
			req.deptid = atoi(words[1]);
			req.to = words[2];
		}
		ok = desk_find_opened_ticket(d->desk, &req, &ticket, &found, error);
		if (!ok && do_without(error, "the ticket an unanswered attempt may have opened "
					     "cannot be looked for; the mail goes again"))
			ok = TRUE;
		if (ok && found) {
			*id = g_strdup(ticket.id);
			*tid = g_strdup(ticket.tid);
			desk_ticket_clear(&ticket);
		}
	} else if (g_strv_length(words) == 3) {
		ok = reply_already_added(d, words[2], now->reply_message ? now->reply_message
									 : now->open->message,
					 &found, error);
		if (ok && found) {
			*id = g_strdup(words[1]);
			*tid = g_strdup(words[2]);
		}
	}
	g_strfreev(words);
	return ok;
}

/* Before any write, every earlier attempt of the mail is resolved: an OpenTicket whose answer
 * was lost may have opened a ticket even when the mail now goes as a reply (its thread's ticket
 * appeared meanwhile), and the other way round. *adopted when one did: the journal then has it,
 * and nothing is sent. */
static gboolean resolve_earlier_attempts(struct deliver *d, const char *key,
					 const struct journal_entry *earlier,
					 const struct pending_write *now, gboolean *adopted,
					 GError **error)
{
	GPtrArray *writes = NULL;
	char *id = NULL, *tid = NULL;
	gboolean ok;

	*adopted = FALSE;
	if (!earlier || !may_have_reached_desk(earlier) || d->dry_run)
		return TRUE;
	ok = journal_earlier_writes(d->journal, key, &writes, error);
	for (int round = 0; ok && !tid && round < 2; round++) {
		/* Not at the desk: an attempt still running there shows up after its timeout. */
		if (round == 1 && !wait_out_lost_attempt(d, key, earlier))
			break;
		for (guint i = 0; ok && !tid && i < writes->len; i++)
			ok = find_earlier_write(d, g_ptr_array_index(writes, i), now, &id, &tid, error);
	}
	if (ok && tid) {
		ok = journal_mark_delivered(d->journal, key, "adopted", id, tid, NULL, error);
		log_event(LOG_DEBUG, "adopted what an earlier attempt did at the desk", "key", key,
			  "ticket", tid, NULL);
		set_last_ticket(d, tid);
		*adopted = ok;
	}
	if (writes)
		g_ptr_array_unref(writes);
	g_free(id);
	g_free(tid);
	return ok;
}

static gboolean open_ticket(struct deliver *d, const char *key, const struct mail *mail,
			    const struct action *action, const struct journal_entry *earlier,
			    const struct journal_mail_info *info, const char *raw, gsize len,
			    enum deliver_outcome *outcome, GError **error)
{
	struct ticket_request tr;
	struct desk_ticket ticket = {0};
	struct pending_write now;
	GError *err = NULL;
	gboolean ok = FALSE, adopted;
	char deptid[16];
	char *write;
	char *why = NULL;

	ticket_request_init(&tr, d, mail, action);
	note_files_left_out(d, mail, DESK_CAN_ATTACH);
	g_snprintf(deptid, sizeof(deptid), "%d", action->deptid);
	write = action->mailbox ? g_strdup_printf("open %d %s", action->deptid, action->mailbox)
				: g_strdup_printf("open %d", action->deptid);
	now = (struct pending_write){.write = write, .open = &tr.req};
	if (!resolve_earlier_attempts(d, key, earlier, &now, &adopted, error))
		goto out;
	if (adopted) {
		*outcome = DELIVER_ADOPTED;
		ok = TRUE;
		goto out;
	}
	if (!d->dry_run && !journal_begin_attempt(d->journal, key, info, write, error))
		goto out;
	if (!desk_open_ticket(d->desk, &tr.req, &ticket, &err)) {
		ok = desk_failed(d, key, info, raw, len, err, outcome, error);
		goto out;
	}
	if (d->dry_run) {
		*outcome = DELIVER_DRY_RUN;
		ok = TRUE;
		goto out;
	}
	why = action_explain(action);
	if (!journal_mark_delivered(d->journal, key, "opened", ticket.id, ticket.tid, why, error))
		goto out;
	if (!ticket.tid)
		log_event(LOG_WARN, "the desk opened the ticket without saying its number, and has "
				    "no call to find it by: replies to it thread by their own numbers",
			  "key", key, NULL);
	set_last_ticket(d, ticket.tid);
	log_event(LOG_DEBUG, "ticket opened", "key", key, "ticket", ticket.tid, "id", ticket.id,
		  "department", deptid, "priority", action->priority, "from", action->email, "why",
		  why, NULL);
	*outcome = DELIVER_OPENED;
	ok = TRUE;
out:
	g_free(why);
	g_free(write);
	desk_ticket_clear(&ticket);
	ticket_request_clear(&tr);
	return ok;
}

static gboolean add_reply(struct deliver *d, const char *key, const struct mail *mail,
			  const struct action *action, const struct journal_entry *earlier,
			  const struct journal_mail_info *info, const char *raw, gsize len,
			  enum deliver_outcome *outcome, GError **error)
{
	struct ticket_request tr;
	struct desk_reply_request req;
	struct pending_write now;
	GError *err = NULL;
	gboolean ok = FALSE, adopted;
	char *write;
	char *why = NULL;
	/* A reply carries what the sender wrote now, not the thread the ticket already holds. */
	const char *message = *mail->reply_text ? mail->reply_text : NULL;

	ticket_request_init(&tr, d, mail, action);
	note_files_left_out(d, mail, DESK_CAN_ATTACH_REPLY);
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
	write = g_strdup_printf("reply %s %s", action->ticket_id, action->ticket_tid);
	now = (struct pending_write){.write = write, .open = &tr.req, .reply_message = req.message};
	if (!resolve_earlier_attempts(d, key, earlier, &now, &adopted, error))
		goto out;
	if (adopted) {
		*outcome = DELIVER_ADOPTED;
		ok = TRUE;
		goto out;
	}
	if (!d->dry_run && !journal_begin_attempt(d->journal, key, info, write, error))
		goto out;
	if (!desk_add_reply(d->desk, &req, &err)) {
		ok = desk_failed(d, key, info, raw, len, err, outcome, error);
		goto out;
	}
	if (d->dry_run) {
		*outcome = DELIVER_DRY_RUN;
		ok = TRUE;
		goto out;
	}
	why = action_explain(action);
	if (!journal_mark_delivered(d->journal, key, "replied", action->ticket_id,
				    action->ticket_tid, why, error))
		goto out;
	set_last_ticket(d, action->ticket_tid);
	log_event(LOG_DEBUG, "reply added", "key", key, "ticket", action->ticket_tid, "id",
		  action->ticket_id, "from", action->email, "why", why, NULL);
	*outcome = DELIVER_REPLIED;
	ok = TRUE;
out:
	g_free(why);
	g_free(write);
	ticket_request_clear(&tr);
	return ok;
}

/* The ticket the mail points at: by the number in its subject, else by a Message-ID it answers
 * that the journal has filed under a ticket. */
static gboolean find_ticket_number(struct deliver *d, const struct mail *mail,
				   struct decision *dec, GError **error)
{
	GPtrArray *ids = g_ptr_array_new();
	gboolean ok = TRUE;

	dec->number = route_ticket_number(d->config, mail);
	if (dec->number) {
		dec->how = g_strdup("subject");
		g_ptr_array_unref(ids);
		return TRUE;
	}
	if (mail->in_reply_to)
		g_ptr_array_add(ids, mail->in_reply_to);
	for (guint i = mail->references->len; i > 0; i--)
		g_ptr_array_add(ids, g_ptr_array_index(mail->references, i - 1));
	for (guint i = 0; ok && d->journal && i < ids->len && !dec->number; i++) {
		char *id = NULL;
		ok = journal_ticket_of_message(d->journal, g_ptr_array_index(ids, i), &dec->number,
					       &id, error);
		g_free(id);
		if (dec->number)
			dec->how = g_strdup_printf("%s <%s>",
						   mail->in_reply_to && i == 0 ? "In-Reply-To"
									       : "References",
						   (char *)g_ptr_array_index(ids, i));
	}
	g_ptr_array_unref(ids);
	return ok;
}

/* What the desk says of the ticket: whether it exists, its owner, cc and status, and whether the
 * sender is a contact of its client. */
static gboolean check_ticket(struct deliver *d, const char *sender, struct decision *dec,
			     GError **error)
{
	struct ticket_facts *t = &dec->facts.ticket;
	GError *err = NULL;

	t->number = dec->number;
	t->how = dec->how;
	t->checked = TRUE;
	if (!desk_get_ticket(d->desk, dec->number, &dec->ticket, &err)) {
		if (!g_error_matches(err, DESK_ERROR, DESK_ERROR_NOT_FOUND)) {
			g_propagate_error(error, err);
			return FALSE;
		}
		g_error_free(err);
		return TRUE;
	}
	t->exists = TRUE;
	t->id = dec->ticket.id;
	t->status = dec->ticket.status;
	t->owner_email = dec->ticket.email;
	t->cc = dec->ticket.cc;
	if (sender && g_ascii_strcasecmp(sender, t->owner_email ? t->owner_email : "") != 0 &&
	    !desk_is_client_contact(d->desk, dec->ticket.userid, sender, &t->sender_is_contact,
				    error))
		return do_without(error, "the client's contacts cannot be read; the sender counts "
					 "as a stranger");
	return TRUE;
}

void decision_clear(struct decision *dec)
{
	action_free(dec->action);
	g_free(dec->loop_guard);
	g_free(dec->number);
	g_free(dec->how);
	desk_ticket_clear(&dec->ticket);
	*dec = (struct decision){0};
}

gboolean deliver_decide(struct deliver *d, const struct mail *mail,
			const struct envelope *envelope, gboolean offline, struct decision *dec,
			GError **error)
{
	const char *sender = route_requester(d->config, mail, envelope, NULL);

	*dec = (struct decision){0};
	/* The loop guard first, once: mail it drops needs no look-up (no robot's mail makes the
	 * desk work), and its verdict is a fact of the decision. */
	dec->loop_guard = loop_guard_reason(d->config, mail, envelope);
	dec->facts.loop_guard = dec->loop_guard;
	if (dec->loop_guard) {
		dec->action = route_decide(d->config, mail, envelope, &dec->facts);
		return TRUE;
	}
	if (!find_ticket_number(d, mail, dec, error))
		return FALSE;
	if (dec->number && offline) {
		dec->facts.ticket.number = dec->number;
		dec->facts.ticket.how = dec->how;
	} else if (dec->number && !check_ticket(d, sender, dec, error)) {
		return FALSE;
	}
	if (d->journal && sender && *sender) {
		gint64 since = g_get_real_time() / G_USEC_PER_SEC - 60 * d->config->loop.rate_window;
		if (!journal_count_opened_since(d->journal, sender, since,
						&dec->facts.recent_tickets, error))
			return FALSE;
	}
	dec->action = route_decide(d->config, mail, envelope, &dec->facts);
	return TRUE;
}

static gboolean already_handled(const struct deliver *d, const struct journal_entry *e)
{
	return e->state == JOURNAL_DELIVERED || e->state == JOURNAL_DROPPED ||
	       (e->state == JOURNAL_QUARANTINED && !d->retry_quarantined);
}

/* With [threading] per_department, one ticket in each department, each under its own journal key
 * ("KEY#dept:ID", or "KEY#to:MAILBOX" for a Thulium mailbox), so a retry, or another
 * recipient's copy of the mail, opens only the ones missing. */
static gboolean open_per_department(struct deliver *d, const char *key, const struct mail *mail,
				    struct action *action, const struct journal_mail_info *info,
				    const char *raw, gsize len, enum deliver_outcome *outcome,
				    GError **error)
{
	gboolean ok = TRUE;

	*outcome = DELIVER_ALREADY;
	for (guint i = 0; ok && i < action->departments->len; i++) {
		const struct department_route *r = g_ptr_array_index(action->departments, i);
		char *sub = r->mailbox ? g_strdup_printf("%s#to:%s", key, r->mailbox)
				       : g_strdup_printf("%s#dept:%d", key, r->deptid);
		struct journal_entry earlier = {0};
		gboolean known = FALSE;
		enum deliver_outcome one;

		ok = !d->journal || journal_lookup(d->journal, sub, &earlier, &known, error);
		if (ok && !(known && already_handled(d, &earlier))) {
			action->deptid = r->deptid;
			action->mailbox = r->mailbox;
			ok = open_ticket(d, sub, mail, action, known ? &earlier : NULL, info, raw,
					 len, &one, error);
			if (ok)
				*outcome = one;
		}
		journal_entry_clear(&earlier);
		g_free(sub);
	}
	return ok;
}

/* What the journal knows of the mail, also when an older mail2ticket filed it under the key
 * without its digest (then the rows move to the new key; a dry run, which writes nothing, just
 * reads them there). */
static gboolean lookup_key(struct deliver *d, const struct mail *mail, const char *key,
			   const struct journal_mail_info *info, struct journal_entry *out,
			   gboolean *known, GError **error)
{
	char *legacy;
	gboolean claimed = FALSE, ok;

	if (!journal_lookup(d->journal, key, out, known, error))
		return FALSE;
	legacy = *known ? NULL : mail_legacy_key(mail);
	if (!legacy)
		return TRUE;
	if (d->dry_run) {
		ok = journal_lookup(d->journal, legacy, out, known, error);
	} else {
		ok = journal_claim_legacy_key(d->journal, legacy, key, info, &claimed, error);
		if (ok && claimed)
			ok = journal_lookup(d->journal, key, out, known, error);
	}
	g_free(legacy);
	return ok;
}

/* The one line each mail gets: where it came from, what became of it, and how long it took. */
static void log_mail_line(const struct deliver *d, const struct envelope *envelope, const char *key,
			  gboolean ok, const enum deliver_outcome *outcome, const char *why,
			  const GError *error, gint64 started)
{
	char ms[32];

	g_snprintf(ms, sizeof(ms), "%" G_GINT64_FORMAT,
		   (g_get_monotonic_time() - (envelope->started ? envelope->started : started)) /
		       1000);
	if (ok)
		log_event(*outcome == DELIVER_QUARANTINED ? LOG_WARN : LOG_INFO, "mail handled",
			  "source", envelope->source, "mail", envelope->item, "key", key, "action",
			  deliver_outcome_name(*outcome), "ticket", d->last_ticket, "why", why,
			  "reason", d->last_reason, "ms", ms, NULL);
	else
		log_event(LOG_WARN, "mail not handled", "source", envelope->source, "mail",
			  envelope->item, "key", key, "error", error ? error->message : NULL, "ms",
			  ms, NULL);
}

gboolean deliver_parsed_message(struct deliver *d, const struct mail *mail, const char *raw,
				gsize len, const struct envelope *envelope,
				enum deliver_outcome *outcome, GError **error)
{
	gint64 started = g_get_monotonic_time();
	char *key = mail_key(mail);
	struct decision dec = {0};
	struct journal_mail_info info = {
	    .source = envelope->source,
	    .message_id = mail->message_id,
	    .sender = mail->from.email ? mail->from.email : envelope->sender,
	    .subject = mail->subject,
	};
	struct journal_entry earlier = {0};
	gboolean known = FALSE;
	gboolean locked = FALSE;
	gboolean ok = FALSE;
	const struct action *action;
	char *why = NULL;

	d->envelope = envelope;
	/* A warning quotes mail text: as a field, quoted, so that it cannot pass for other
	 * fields of the line either. */
	for (guint i = 0; i < mail->warnings->len; i++)
		log_event(LOG_WARN, "mail read with a warning", "key", key, "warning",
			  (const char *)g_ptr_array_index(mail->warnings, i), NULL);
	if (d->journal && !journal_lock_mail(d->journal, key, error))
		goto out;
	locked = d->journal != NULL;
	if (d->journal && !lookup_key(d, mail, key, &info, &earlier, &known, error))
		goto out;
	g_clear_pointer(&d->last_ticket, g_free);
	g_clear_pointer(&d->last_reason, g_free);
	if (known && already_handled(d, &earlier)) {
		set_last_ticket(d, earlier.ticket_tid);
		log_event(LOG_DEBUG, "already handled, not sent again", "key", key, "state",
			  journal_state_name(earlier.state), "ticket", earlier.ticket_tid, NULL);
		*outcome = DELIVER_ALREADY;
		ok = TRUE;
		goto out;
	}
	if (!deliver_decide(d, mail, envelope, FALSE, &dec, error))
		goto out;
	action = dec.action;
	why = action_explain(action);
	g_free(d->last_reason);
	d->last_reason = action->kind == ACTION_DROP || action->kind == ACTION_QUARANTINE
			     ? g_strdup(why)
			     : NULL;
	switch (action->kind) {
	case ACTION_DROP:
		if (!d->dry_run && !journal_mark_dropped(d->journal, key, &info, why, error))
			goto out;
		log_event(LOG_DEBUG, "mail dropped", "key", key, "reason", why, NULL);
		*outcome = DELIVER_DROPPED;
		ok = TRUE;
		break;
	case ACTION_QUARANTINE:
		ok = quarantine(d, key, &info, raw, len, why, error);
		*outcome = DELIVER_QUARANTINED;
		break;
	case ACTION_OPEN:
		/* Also for one department: the copy of the mail that reaches another department's
		 * address (its own MTA delivery) then finds this one's ticket under the same key. */
		if (action->departments->len > 0)
			ok = open_per_department(d, key, mail, dec.action, &info, raw, len, outcome,
						 error);
		else
			ok = open_ticket(d, key, mail, action, known ? &earlier : NULL, &info, raw,
					 len, outcome, error);
		break;
	case ACTION_REPLY:
		ok = add_reply(d, key, mail, action, known ? &earlier : NULL, &info, raw, len,
			       outcome, error);
		break;
	}
out:
	if (locked)
		journal_unlock_mail(d->journal, key);
	log_mail_line(d, envelope, key, ok, outcome, why, error ? *error : NULL, started);
	d->envelope = NULL;
	g_free(why);
	journal_entry_clear(&earlier);
	decision_clear(&dec);
	g_free(key);
	return ok;
}

gboolean deliver_quarantine_unparsed(struct deliver *d, const char *raw, gsize len,
				     const struct envelope *envelope, const char *reason,
				     enum deliver_outcome *outcome, GError **error)
{
	char *digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)raw, len);
	char *key = g_strconcat("sha256:", digest, NULL);
	struct journal_mail_info info = {.source = envelope->source, .sender = envelope->sender};
	struct journal_entry earlier = {0};
	gint64 started = g_get_monotonic_time();
	gboolean known = FALSE;
	gboolean ok;

	d->envelope = envelope;
	g_clear_pointer(&d->last_ticket, g_free);
	g_free(d->last_reason);
	d->last_reason = g_strdup(reason);
	*outcome = DELIVER_QUARANTINED;
	/* The same bytes set aside before (a re-run import, a second copy) are in the quarantine
	 * already; reprocess, which retries the quarantine, keeps its file only when a new one
	 * is written. */
	ok = !d->journal || d->retry_quarantined ||
	     journal_lookup(d->journal, key, &earlier, &known, error);
	if (ok && known)
		*outcome = DELIVER_ALREADY;
	else if (ok)
		ok = quarantine(d, key, &info, raw, len, reason, error);
	log_mail_line(d, envelope, key, ok, outcome, NULL, error ? *error : NULL, started);
	d->envelope = NULL;
	journal_entry_clear(&earlier);
	g_free(key);
	g_free(digest);
	return ok;
}

char *deliver_parse_timeout_reason(int seconds)
{
	return g_strdup_printf("the parser did not finish within parse_timeout = %d s", seconds);
}

gboolean deliver_message(struct deliver *d, GBytes *raw, const struct envelope *envelope,
			 enum deliver_outcome *outcome, GError **error)
{
	struct parse_options options;
	struct mail *mail;
	gsize len;
	const char *data = g_bytes_get_data(raw, &len);
	gboolean ok;

	parse_options_from_config(d->config, &options);
	mail = parse_within(raw, &options, d->config->parser.parse_timeout);
	if (!mail) {
		char *reason = deliver_parse_timeout_reason(d->config->parser.parse_timeout);
		ok = deliver_quarantine_unparsed(d, data ? data : "", len, envelope, reason, outcome,
						 error);
		g_free(reason);
		return ok;
	}
	ok = deliver_parsed_message(d, mail, data ? data : "", len, envelope, outcome, error);
	mail_free(mail);
	return ok;
}
