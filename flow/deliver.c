/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One message through the flow (deliver.h): facts, then the decision, then the actions. */
#include "flow/deliver.h"

#include "cli/log.h"
#include "flow/delivery.h"
#include "flow/parse_pool.h"
#include "parsers/mail_key.h"
#include "parsers/mail_parse.h"
#include "rules/loop_guard.h"
#include "rules/route.h"

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

void delivery_result_clear(struct delivery_result *result)
{
	g_free(result->reason);
	g_free(result->ticket);
	*result = (struct delivery_result){0};
}

/* Rule actions the desk's API cannot carry are named once, when the flow starts. */
static void warn_unsupported_actions(const struct deliver *d)
{
	for (guint i = 0; i < d->config->rules->len; i++) {
		const struct rule *r = g_ptr_array_index(d->config->rules, i);
		if (r->priority && !desk_can(d->desk, DESK_CAN_PRIORITY))
			log_event(M2T_LOG_WARN,
				  "this desk's API takes no priority: the rule's is not sent",
				  "rule", r->name, NULL);
		if ((r->category > 0 || r->status > 0 || r->tags || r->customer_id > 0) &&
		    !desk_can(d->desk, DESK_CAN_CATEGORY))
			log_event(M2T_LOG_WARN,
				  "this desk's API has no ticket category, status, tags or "
				  "customer id: the rule's are not sent",
				  "rule", r->name, NULL);
		if ((r->clientid > 0 || r->serviceid > 0) && !desk_can(d->desk, DESK_CAN_CLIENTS))
			log_event(M2T_LOG_WARN,
				  "this desk's API has no client or service ids: the rule's are "
				  "not sent",
				  "rule", r->name, NULL);
	}
}

/* calls: where a dry run prints its calls, or NULL for a run that makes them. */
static gboolean open_printing(struct deliver *d, const struct config *config, FILE *calls,
			      GError **error)
{
	gboolean dry_run = calls != NULL;
	GError *err = NULL;

	*d = (struct deliver){.config = config, .dry_run = dry_run};
	d->desk = desk_new(config, calls, error);
	if (!d->desk)
		return FALSE;
	warn_unsupported_actions(d);
	d->journal = journal_open_from_config(config, dry_run, &err);
	if (d->journal || (dry_run && g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_MISSING))) {
		g_clear_error(&err);
		return TRUE;
	}
	g_propagate_error(error, err);
	return FALSE;
}

gboolean deliver_open(struct deliver *d, const struct config *config, gboolean dry_run,
		      GError **error)
{
	return open_printing(d, config, dry_run ? stdout : NULL, error);
}

gboolean deliver_open_dry_run(struct deliver *d, const struct config *config, FILE *calls,
			      GError **error)
{
	return open_printing(d, config, calls, error);
}

struct journal *journal_open_from_config(const struct config *config, gboolean read_only,
					 GError **error)
{
	const struct journal_settings settings = {
	    .kind = config->state.kind,
	    .path = config->state.path,
	    .url = config->state.url,
	    .password_file = config->state.password_file,
	    .read_only = read_only,
	    .busy_timeout_ms = config->state.busy_timeout_ms,
	};

	return journal_open_with(&settings, error);
}

void deliver_close(struct deliver *d)
{
	journal_close(d->journal);
	desk_free(d->desk);
	d->journal = NULL;
	d->desk = NULL;
}

void parse_options_from_config(const struct config *config, gboolean dry_run,
			       struct parse_options *out)
{
	*out = (struct parse_options){
	    .max_attachment_bytes = config->parser.max_attachment_bytes,
	    .max_total_bytes = config->parser.max_total_bytes,
	    .reply_markers = (const char *const *)config->parser.reply_markers,
	    .attachment_sizes_only = dry_run,
	};
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

/* The desk's answer on ticket tid (desk_get_ticket()), or the one it gave this dry run before. */
static gboolean get_ticket(struct deliver *d, const char *tid, struct desk_ticket *out,
			   GError **error)
{
	GError *err = NULL;

	if (!d->memo)
		return desk_get_ticket(d->desk, tid, out, error);
	if (!ticket_memo_recall(d->memo, tid, out, &err)) {
		if (desk_get_ticket(d->desk, tid, out, &err))
			ticket_memo_keep(d->memo, tid, out, NULL);
		else if (g_error_matches(err, DESK_ERROR, DESK_ERROR_NOT_FOUND))
			ticket_memo_keep(d->memo, tid, NULL, err);
	}
	if (!err)
		return TRUE;
	g_propagate_error(error, err);
	return FALSE;
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
	if (!get_ticket(d, dec->number, &dec->ticket, &err)) {
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
		return delivery_do_without(error, "the client's contacts cannot be read; the "
						  "sender counts as a stranger");
	return TRUE;
}

/* The facts of the journal and the desk: the ticket the mail points at and what the desk says
 * of it, and how many tickets its sender opened lately. */
static gboolean gather_facts(struct deliver *d, const struct mail *mail,
			     const struct envelope *envelope, gboolean offline,
			     struct decision *dec, GError **error)
{
	const char *sender = route_requester(d->config, mail, envelope, NULL);

	if (!find_ticket_number(d, mail, dec, error))
		return FALSE;
	if (dec->number && offline) {
		dec->facts.ticket.number = dec->number;
		dec->facts.ticket.how = dec->how;
	} else if (dec->number && !check_ticket(d, sender, dec, error)) {
		return FALSE;
	}
	if (d->journal && sender && *sender) {
		gint64 since =
		    g_get_real_time() / G_USEC_PER_SEC - 60 * d->config->loop.rate_window;
		if (!journal_count_opened_since(d->journal, sender, since,
						&dec->facts.recent_tickets, error))
			return FALSE;
	}
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
	*dec = (struct decision){0};
	/* The loop guard first, once: mail it drops needs no look-up (no robot's mail makes the
	 * desk work), and its verdict is a fact of the decision. */
	dec->loop_guard = loop_guard_reason(d->config, mail, envelope);
	dec->facts.loop_guard = dec->loop_guard;
	if (!dec->loop_guard && !gather_facts(d, mail, envelope, offline, dec, error))
		return FALSE;
	dec->action = route_decide(d->config, mail, envelope, &dec->facts);
	return TRUE;
}

/* What the journal knows of the mail, also when an older mail2ticket filed it under the key
 * without its digest (then the rows move to the new key; a dry run, which writes nothing, just
 * reads them there). m->earlier points at entry when it knows the mail. */
static gboolean look_up_journal(struct deliver *d, struct delivery *m,
				struct journal_entry *entry, GError **error)
{
	char *legacy;
	gboolean claimed = FALSE, known = FALSE, ok;

	if (!journal_lookup(d->journal, delivery_key(m), entry, &known, error))
		return FALSE;
	legacy = known ? NULL : mail_legacy_key(m->mail);
	ok = TRUE;
	if (legacy && d->dry_run) {
		ok = journal_lookup(d->journal, legacy, entry, &known, error);
	} else if (legacy) {
		ok = journal_claim_legacy_key(d->journal, legacy, delivery_key(m), m->info,
					      &claimed, error);
		if (ok && claimed)
			ok = journal_lookup(d->journal, delivery_key(m), entry, &known, error);
	}
	g_free(legacy);
	m->earlier = ok && known ? entry : NULL;
	return ok;
}

/* The mail's warnings from index from on; returns how many it has. A warning quotes mail text:
 * as a field, quoted, so that it cannot pass for other fields of the line either. */
static guint log_warnings(struct delivery *m, guint from)
{
	/* The key may be still to be made (delivery_key()), and not worth making for nothing. */
	if (!log_writes(M2T_LOG_WARN))
		return m->mail->warnings->len;
	for (guint i = from; i < m->mail->warnings->len; i++)
		log_event(M2T_LOG_WARN, "mail read with a warning", "key", delivery_key(m),
			  "warning", (const char *)g_ptr_array_index(m->mail->warnings, i), NULL);
	return m->mail->warnings->len;
}

/* The one line each mail gets: where it came from, what became of it, and how long it took. */
static void log_mail_line(struct delivery *m, gboolean ok, const GError *error)
{
	const struct envelope *envelope = m->envelope;
	enum log_level level =
	    ok && m->result->outcome != DELIVER_QUARANTINED ? M2T_LOG_INFO : M2T_LOG_WARN;
	char ms[32];

	/* As for the warnings. */
	if (!log_writes(level))
		return;
	g_snprintf(ms, sizeof(ms), "%" G_GINT64_FORMAT,
		   (g_get_monotonic_time() - m->started) / 1000);
	if (ok)
		log_event(level, "mail handled", "source", envelope->source, "mail", envelope->item,
			  "key", delivery_key(m), "action",
			  deliver_outcome_name(m->result->outcome), "ticket", m->result->ticket,
			  "why", m->why, "reason", m->result->reason, "ms", ms, NULL);
	else
		log_event(level, "mail not handled", "source", envelope->source, "mail",
			  envelope->item, "key", delivery_key(m), "error",
			  error ? error->message : NULL, "ms", ms, NULL);
}

/* The delivery of raw under key (owned by the caller; NULL: the mail's, made when first asked
 * for), with nothing known of it yet; result is cleared. */
static struct delivery delivery_start(char *key, const struct mail *mail, GBytes *raw,
				      const struct envelope *envelope,
				      const struct journal_mail_info *info,
				      struct delivery_result *result)
{
	struct delivery m = {.key = key, .mail = mail, .envelope = envelope, .info = info,
			     .result = result};

	m.raw = g_bytes_get_data(raw, &m.len);
	if (!m.raw)
		m.raw = "";
	m.started = envelope->started ? envelope->started : g_get_monotonic_time();
	*result = (struct delivery_result){0};
	return m;
}

gboolean deliver_parsed_message(struct deliver *d, const struct mail *mail, GBytes *raw,
				const struct envelope *envelope, struct delivery_result *result,
				GError **error)
{
	struct journal_mail_info info = {
	    .source = envelope->source,
	    .message_id = mail->message_id,
	    .sender = mail->from.email ? mail->from.email : envelope->sender,
	    .subject = mail->subject,
	};
	struct delivery m = delivery_start(NULL, mail, raw, envelope, &info, result);
	struct journal_entry entry = {0};
	struct decision dec = {0};
	char *why = NULL;
	gboolean locked, ok;
	guint warned = log_warnings(&m, 0);

	/* The facts of the journal, under the mail's lock until the last write: a mail handled
	 * before is done with. */
	ok = !d->journal || journal_lock_mail(d->journal, delivery_key(&m), error);
	locked = ok && d->journal != NULL;
	if (ok && d->journal)
		ok = look_up_journal(d, &m, &entry, error);
	if (ok && m.earlier && delivery_already_handled(d, m.earlier)) {
		delivery_set_ticket(&m, m.earlier->ticket_tid);
		log_event(M2T_LOG_DEBUG, "already handled, not sent again", "key", delivery_key(&m),
			  "state", journal_state_name(m.earlier->state), "ticket",
			  m.earlier->ticket_tid, NULL);
		result->outcome = DELIVER_ALREADY;
	} else if (ok) {
		/* The facts of the desk, and the decision on them. */
		ok = deliver_decide(d, mail, envelope, FALSE, &dec, error);
		if (ok) {
			m.action = dec.action;
			m.ticket = dec.ticket.id ? &dec.ticket : NULL;
			m.why = why = action_explain(dec.action);
			/* The actions: journal, desk, journal. */
			ok = delivery_act(d, &m, error);
		}
	}
	/* The outcome. */
	if (locked)
		journal_unlock_mail(d->journal, delivery_key(&m));
	/* The decision may have read a forward's sender from the text only now (and warned). */
	log_warnings(&m, warned);
	log_mail_line(&m, ok, error ? *error : NULL);
	g_free(why);
	decision_clear(&dec);
	journal_entry_clear(&entry);
	g_free(m.key);
	return ok;
}

gboolean deliver_may_look_up(const struct deliver *d, const struct mail *mail)
{
	char *number;

	if (d->journal)
		return TRUE;
	number = route_ticket_number(d->config, mail);
	g_free(number);
	return number != NULL;
}

gboolean deliver_quarantine_unparsed(struct deliver *d, GBytes *raw,
				     const struct envelope *envelope, const char *reason,
				     struct delivery_result *result, GError **error)
{
	gsize len;
	const guchar *data = g_bytes_get_data(raw, &len);
	char *digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
	char *key = g_strconcat("sha256:", digest, NULL);
	struct journal_mail_info info = {.source = envelope->source, .sender = envelope->sender};
	struct delivery m = delivery_start(key, NULL, raw, envelope, &info, result);
	struct journal_entry earlier = {0};
	gboolean known = FALSE;
	gboolean ok;

	result->reason = g_strdup(reason);
	result->outcome = DELIVER_QUARANTINED;
	/* The same bytes set aside before (a re-run import, a second copy) are in the quarantine
	 * already; reprocess, which retries the quarantine, keeps its file only when a new one
	 * is written. */
	ok = !d->journal || d->retry_quarantined ||
	     journal_lookup(d->journal, key, &earlier, &known, error);
	if (ok && known)
		result->outcome = DELIVER_ALREADY;
	else if (ok)
		ok = delivery_quarantine(d, &m, reason, error);
	log_mail_line(&m, ok, error ? *error : NULL);
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
			 struct delivery_result *result, GError **error)
{
	struct parse_options options;
	struct mail *mail;
	gboolean ok;

	parse_options_from_config(d->config, d->dry_run, &options);
	mail = parse_within(raw, &options, d->config->parser.parse_timeout);
	if (!mail) {
		char *reason = deliver_parse_timeout_reason(d->config->parser.parse_timeout);
		ok = deliver_quarantine_unparsed(d, raw, envelope, reason, result, error);
		g_free(reason);
		return ok;
	}
	ok = deliver_parsed_message(d, mail, raw, envelope, result, error);
	mail_free(mail);
	return ok;
}
