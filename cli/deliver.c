#include "cli/deliver.h"

#include "cli/log.h"
#include "parsers/mail_parse.h"
#include "rules/route.h"
#include "state/quarantine.h"

const char *deliver_outcome_name(enum deliver_outcome outcome)
{
	static const char *const names[] = {
	    [DELIVER_OPENED] = "opened",	   [DELIVER_ADOPTED] = "adopted",
	    [DELIVER_ALREADY] = "already-handled", [DELIVER_DROPPED] = "dropped",
	    [DELIVER_QUARANTINED] = "quarantined", [DELIVER_DRY_RUN] = "dry-run",
	};
	return names[outcome];
}

gboolean deliver_open(struct deliver *d, const struct config *config, gboolean dry_run,
		      GError **error)
{
	*d = (struct deliver){.config = config, .dry_run = dry_run};
	d->desk = desk_new(config, dry_run ? stdout : NULL, error);
	if (!d->desk)
		return FALSE;
	if (dry_run && !g_file_test(config->state.path, G_FILE_TEST_EXISTS))
		return TRUE;
	d->journal = journal_open(config->state.path, dry_run, config->state.busy_timeout_ms, error);
	return d->journal != NULL;
}

void deliver_close(struct deliver *d)
{
	journal_close(d->journal);
	desk_free(d->desk);
	d->journal = NULL;
	d->desk = NULL;
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
	char *message;
};

static void ticket_request_init(struct ticket_request *tr, const struct mail *mail,
				const struct action *action)
{
	tr->cc = g_array_new(FALSE, TRUE, sizeof(struct desk_address));
	tr->attachments = g_array_new(FALSE, TRUE, sizeof(struct desk_attachment));
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
	tr->req = (struct desk_ticket_request){
	    .deptid = action->deptid,
	    .subject = *mail->subject ? mail->subject : "(no subject)",
	    .message = tr->message,
	    .name = action->name,
	    .email = action->email,
	    .priority = action->priority,
	    .cc = (const struct desk_address *)tr->cc->data,
	    .n_cc = tr->cc->len,
	    .attachments = (const struct desk_attachment *)tr->attachments->data,
	    .n_attachments = tr->attachments->len,
	};
}

static void ticket_request_clear(struct ticket_request *tr)
{
	g_array_unref(tr->cc);
	g_array_unref(tr->attachments);
	g_free(tr->message);
}

static gboolean quarantine(struct deliver *d, const char *key, const struct journal_mail_info *info,
			   const char *raw, gsize len, const char *reason, GError **error)
{
	char *where;

	if (d->dry_run) {
		log_event(LOG_WARN, "would quarantine", "key", key, "reason", reason, NULL);
		return TRUE;
	}
	where = quarantine_store(d->config->state.quarantine, raw, len, error);
	if (!where)
		return FALSE;
	if (!journal_mark_quarantined(d->journal, key, info, where, reason, error)) {
		g_free(where);
		return FALSE;
	}
	log_event(LOG_ERROR, "mail quarantined", "key", key, "reason", reason, "file", where, NULL);
	g_free(where);
	return TRUE;
}

/* After an attempt whose answer was lost: the ticket it may have opened. */
static gboolean adopt_earlier_ticket(struct deliver *d, const char *key,
				     const struct desk_ticket_request *req, gboolean *adopted,
				     GError **error)
{
	struct desk_ticket ticket;
	gboolean found;

	*adopted = FALSE;
	if (!desk_find_opened_ticket(d->desk, req, &ticket, &found, error))
		return FALSE;
	if (!found)
		return TRUE;
	if (!journal_mark_delivered(d->journal, key, "adopted", ticket.id, ticket.tid, error)) {
		desk_ticket_clear(&ticket);
		return FALSE;
	}
	log_event(LOG_INFO, "adopted the ticket an earlier attempt opened", "key", key, "ticket",
		  ticket.tid, "id", ticket.id, NULL);
	desk_ticket_clear(&ticket);
	*adopted = TRUE;
	return TRUE;
}

static gboolean open_ticket(struct deliver *d, const char *key, const struct mail *mail,
			    const struct action *action, const struct journal_entry *earlier,
			    const struct journal_mail_info *info, const char *raw, gsize len,
			    enum deliver_outcome *outcome, GError **error)
{
	struct ticket_request tr;
	struct desk_ticket ticket = {0};
	GError *err = NULL;
	gboolean ok = FALSE;
	char deptid[16];

	ticket_request_init(&tr, mail, action);
	g_snprintf(deptid, sizeof(deptid), "%d", action->deptid);
	if (earlier && earlier->attempts > 0 && !d->dry_run) {
		gboolean adopted;
		if (!adopt_earlier_ticket(d, key, &tr.req, &adopted, error))
			goto out;
		if (adopted) {
			*outcome = DELIVER_ADOPTED;
			ok = TRUE;
			goto out;
		}
	}
	if (!d->dry_run && !journal_begin_attempt(d->journal, key, info, error))
		goto out;
	if (!desk_open_ticket(d->desk, &tr.req, &ticket, &err)) {
		if (desk_error_is_temporary(err) || d->dry_run) {
			if (!d->dry_run)
				journal_mark_failed(d->journal, key, err->message, NULL);
			g_propagate_error(error, err);
			goto out;
		}
		ok = quarantine(d, key, info, raw, len, err->message, error);
		*outcome = DELIVER_QUARANTINED;
		g_error_free(err);
		goto out;
	}
	if (d->dry_run) {
		*outcome = DELIVER_DRY_RUN;
		ok = TRUE;
		goto out;
	}
	if (!journal_mark_delivered(d->journal, key, "opened", ticket.id, ticket.tid, error))
		goto out;
	log_event(LOG_INFO, "ticket opened", "key", key, "ticket", ticket.tid, "id", ticket.id,
		  "department", deptid, "priority", action->priority, "from", action->email, NULL);
	*outcome = DELIVER_OPENED;
	ok = TRUE;
out:
	desk_ticket_clear(&ticket);
	ticket_request_clear(&tr);
	return ok;
}

static gboolean already_handled(const struct journal_entry *e)
{
	return e->state == JOURNAL_DELIVERED || e->state == JOURNAL_DROPPED ||
	       e->state == JOURNAL_QUARANTINED;
}

gboolean deliver_parsed_message(struct deliver *d, const struct mail *mail, const char *raw,
				gsize len, const struct envelope *envelope,
				enum deliver_outcome *outcome, GError **error)
{
	char *key = mail_key(mail);
	struct action *action = route_decide(d->config, mail, envelope);
	struct journal_mail_info info = {
	    .source = envelope->source,
	    .message_id = mail->message_id,
	    .sender = action->email ? action->email : mail->from.email,
	    .subject = mail->subject,
	};
	struct journal_entry earlier = {0};
	gboolean known = FALSE;
	gboolean ok = FALSE;

	for (guint i = 0; i < mail->warnings->len; i++)
		log_event(LOG_WARN, g_ptr_array_index(mail->warnings, i), "key", key, NULL);
	if (d->journal && !journal_lookup(d->journal, key, &earlier, &known, error))
		goto out;
	if (known && already_handled(&earlier)) {
		log_event(LOG_INFO, "already handled, not sent again", "key", key, "state",
			  journal_state_name(earlier.state), "ticket", earlier.ticket_tid, NULL);
		*outcome = DELIVER_ALREADY;
		ok = TRUE;
		goto out;
	}
	switch (action->kind) {
	case ACTION_DROP:
		if (!d->dry_run && !journal_mark_dropped(d->journal, key, &info, action->reason, error))
			goto out;
		log_event(LOG_INFO, "mail dropped", "key", key, "reason", action->reason, NULL);
		*outcome = DELIVER_DROPPED;
		ok = TRUE;
		break;
	case ACTION_QUARANTINE:
		ok = quarantine(d, key, &info, raw, len, action->reason, error);
		*outcome = DELIVER_QUARANTINED;
		break;
	case ACTION_OPEN:
		log_event(LOG_DEBUG, "routing", "key", key, "why", action->reason, NULL);
		ok = open_ticket(d, key, mail, action, known ? &earlier : NULL, &info, raw, len,
				 outcome, error);
		break;
	}
out:
	journal_entry_clear(&earlier);
	action_free(action);
	g_free(key);
	return ok;
}

gboolean deliver_message(struct deliver *d, const char *raw, gsize len,
			 const struct envelope *envelope, enum deliver_outcome *outcome,
			 GError **error)
{
	struct parse_options options;
	struct mail *mail;
	gboolean ok;

	parse_options_from_config(d->config, &options);
	mail = mail_parse(raw, len, &options);
	ok = deliver_parsed_message(d, mail, raw, len, envelope, outcome, error);
	mail_free(mail);
	return ok;
}
