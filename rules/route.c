/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* route_decide and its facts (route.h): threading, the sender check, departments, rules. */
#include "rules/route.h"

#include <string.h>

#include "parsers/mail_parse.h"
#include "rules/auth.h"
#include "rules/loop_guard.h"
#include "rules/rules.h"

void action_free(struct action *action)
{
	if (!action)
		return;
	g_free(action->priority);
	g_free(action->name);
	g_free(action->email);
	g_free(action->ticket_id);
	g_free(action->ticket_tid);
	for (guint i = 0; i < action->fields->len; i++)
		g_free(g_array_index(action->fields, struct rule_field_value, i).value);
	g_array_unref(action->fields);
	g_ptr_array_unref(action->rules);
	g_ptr_array_unref(action->departments);
	g_ptr_array_unref(action->why);
	g_free(action);
}

char *action_explain(const struct action *action)
{
	GString *text = g_string_new(NULL);

	for (guint i = 0; i < action->why->len; i++)
		g_string_append_printf(text, "%s%s", i ? "; " : "",
				       (char *)g_ptr_array_index(action->why, i));
	return g_string_free(text, FALSE);
}

const char *action_kind_name(enum action_kind kind)
{
	static const char *const names[] = {[ACTION_OPEN] = "open", [ACTION_REPLY] = "reply",
					    [ACTION_DROP] = "drop",
					    [ACTION_QUARANTINE] = "quarantine"};
	return names[kind];
}

static void because(struct action *action, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void because(struct action *action, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(action->why, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

const char *route_requester(const struct config *config, const struct mail *mail,
			    const struct envelope *envelope, char **unproven)
{
	const char *email = mail->from.email;
	char *why = NULL;

	if (!email && envelope && envelope->sender && *envelope->sender)
		email = envelope->sender;
	/* An agent forwarding a customer's mail means the customer's ticket, when the forward is
	 * proven to be the agent's. */
	if (email && address_listed(config->threading.agents, email)) {
		const char *original = mail_original_sender(mail)->email;

		if (original && !(why = auth_agent_unproven(config, mail, envelope)))
			email = original;
	}
	if (unproven)
		*unproven = why;
	else
		g_free(why);
	return email;
}

char *route_ticket_number(const struct config *config, const struct mail *mail)
{
	for (guint i = 0; i < config->threading.ticket_patterns->len; i++) {
		GRegex *re = g_ptr_array_index(config->threading.ticket_patterns, i);
		GMatchInfo *match = NULL;
		char *number = NULL;
		if (g_regex_match(re, mail->subject, 0, &match))
			number = g_match_info_fetch(match, 1);
		g_match_info_free(match);
		if (number && *number)
			return number;
		g_free(number);
	}
	return NULL;
}

/* "department N" or "Thulium mailbox ADDRESS", for the decision's explanation. */
static const char *route_target(const struct department_route *r, char *buf, gsize size)
{
	if (r->mailbox)
		g_snprintf(buf, size, "mailbox %s", r->mailbox);
	else
		g_snprintf(buf, size, "department %d", r->deptid);
	return buf;
}

/* Department from the address the mail was sent to, the way WHMCS's own piping routes: envelope
 * recipient first (the MTA knows it for sure), then Delivered-To, To and Cc. NULL: the default. */
static const struct department_route *department_by_recipient(const struct config *config,
								const struct mail *mail,
								const struct envelope *envelope,
								struct action *action)
{
	const struct department_route *r;
	char target[320];

	if (envelope && envelope->recipient &&
	    (r = config_department_for_address(config, envelope->recipient))) {
		because(action, "%s from envelope recipient %s",
			route_target(r, target, sizeof(target)), envelope->recipient);
		return r;
	}
	for (guint i = 0; i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);
		if (g_ascii_strcasecmp(h->name, "Delivered-To") == 0 &&
		    (r = config_department_for_address(config, g_strstrip(h->value)))) {
			because(action, "%s from Delivered-To %s",
				route_target(r, target, sizeof(target)), h->value);
			return r;
		}
	}
	for (int list = 0; list < 2; list++) {
		const GPtrArray *addrs = list == 0 ? mail->to : mail->cc;
		for (guint i = 0; i < addrs->len; i++) {
			const struct mail_address *a = g_ptr_array_index(addrs, i);
			if ((r = config_department_for_address(config, a->email))) {
				because(action, "%s from %s %s",
					route_target(r, target, sizeof(target)),
					list == 0 ? "To" : "Cc", a->email);
				return r;
			}
		}
	}
	because(action, "department %d: the default, no recipient is in [departments]",
		config->desk.default_department);
	return NULL;
}

/* Two entries that lead to the same place (an address and its domain) give one ticket. */
static void add_department(GPtrArray *routes, const struct department_route *r)
{
	if (!r)
		return;
	for (guint i = 0; i < routes->len; i++) {
		const struct department_route *known = g_ptr_array_index(routes, i);
		if (known->deptid == r->deptid && g_strcmp0(known->mailbox, r->mailbox) == 0)
			return;
	}
	g_ptr_array_add(routes, (gpointer)r);
}

/* Every department a recipient maps to, in the order department_by_recipient() looks. */
static void all_departments(const struct config *config, const struct mail *mail,
			    const struct envelope *envelope, GPtrArray *routes)
{
	if (envelope && envelope->recipient)
		add_department(routes, config_department_for_address(config, envelope->recipient));
	for (guint i = 0; i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);
		if (g_ascii_strcasecmp(h->name, "Delivered-To") == 0)
			add_department(routes, config_department_for_address(config, h->value));
	}
	for (int list = 0; list < 2; list++) {
		const GPtrArray *addrs = list == 0 ? mail->to : mail->cc;
		for (guint i = 0; i < addrs->len; i++) {
			const struct mail_address *a = g_ptr_array_index(addrs, i);
			add_department(routes, config_department_for_address(config, a->email));
		}
	}
}

static gboolean in_address_text(const char *text, const char *address)
{
	char **parts = g_strsplit_set(text ? text : "", ",; \t", -1);
	gboolean found = FALSE;

	for (char **p = parts; *p && !found; p++)
		found = **p && g_ascii_strcasecmp(*p, address) == 0;
	g_strfreev(parts);
	return found;
}

enum reply_verdict { REPLY_OK, REPLY_NO_TICKET, REPLY_STRANGER, REPLY_CLOSED };

/* Whether the mail may be added to the ticket it points at; says why not in action. Knowing a
 * ticket number must not let a stranger write into someone else's ticket. */
static enum reply_verdict may_reply(const struct config *config, const struct mail *mail,
				    const struct ticket_facts *t, const char *sender,
				    gboolean agent_forward, struct action *action)
{
	char *unproven;

	if (!t->checked) {
		because(action, "ticket %s from the %s (not checked at the desk: offline)",
			t->number, t->how);
		return REPLY_OK;
	}
	if (!t->exists) {
		because(action, "ticket %s (from the %s) does not exist at the desk", t->number,
			t->how);
		return REPLY_NO_TICKET;
	}
	if (g_ascii_strcasecmp(sender, t->owner_email ? t->owner_email : "") != 0 &&
	    !in_address_text(t->cc, sender) && !t->sender_is_contact) {
		because(action, "%s is neither the owner, in the cc list, nor a contact of the "
				"client of ticket %s",
			sender, t->number);
		return REPLY_STRANGER;
	}
	/* Knowing a ticket number or a Message-ID proves nothing, nor does a From header: the
	 * receiving server must vouch for it (an agent's forward was proven on its own terms). */
	unproven = !agent_forward && config->auth.replies_aligned
			   ? auth_from_unproven(config, mail)
			   : NULL;
	if (unproven) {
		because(action, "%s: not the owner's proven mail", unproven);
		g_free(unproven);
		return REPLY_STRANGER;
	}
	if (t->status && g_ascii_strcasecmp(t->status, "Closed") == 0 &&
	    !config->threading.closed_reopens) {
		because(action, "ticket %s is closed and [threading] closed = open_new", t->number);
		return REPLY_CLOSED;
	}
	because(action, "reply to ticket %s from the %s", t->number, t->how);
	return REPLY_OK;
}

/* X-Priority 1 or 2, Importance: high, Priority: urgent and Outlook's X-MSMail-Priority: High
 * raise the priority; nothing in a mail lowers it. */
static gboolean urgent_by_headers(const struct mail *mail)
{
	const char *v;

	if ((v = mail_header_value(mail, "X-Priority"))) {
		while (*v == ' ')
			v++;
		if (*v == '1' || *v == '2')
			return TRUE;
	}
	if ((v = mail_header_value(mail, "Importance")) && strcasestr(v, "high"))
		return TRUE;
	if ((v = mail_header_value(mail, "Priority")) && strcasestr(v, "urgent"))
		return TRUE;
	return (v = mail_header_value(mail, "X-MSMail-Priority")) && strcasestr(v, "high");
}

/* The actions of the matching rules onto action. */
static void take_rules(struct action *action, const struct rules_outcome *r)
{
	for (guint i = 0; i < r->matched->len; i++) {
		const struct rule *rule = g_ptr_array_index(r->matched, i);
		g_ptr_array_add(action->rules, g_strdup(rule->name));
		because(action, "rule %s matched", rule->name);
	}
	action->clientid = r->clientid;
	action->serviceid = r->serviceid;
	action->category = r->category;
	action->status = r->status;
	action->tags = r->tags;
	action->customer_id = r->customer_id;
	action->markdown = r->markdown;
	for (guint i = 0; i < r->fields->len; i++) {
		struct rule_field_value f = g_array_index(r->fields, struct rule_field_value, i);
		f.value = g_strdup(f.value);
		g_array_append_val(action->fields, f);
	}
}

static void set_priority(const struct config *config, const struct mail *mail,
			 const struct rules_outcome *r, struct action *action)
{
	g_free(action->priority);
	if (r->priority) {
		action->priority = g_strdup(r->priority);
		because(action, "priority %s from a rule", r->priority);
	} else if (config->desk.priority_from_headers && urgent_by_headers(mail)) {
		action->priority = g_strdup("High");
		because(action, "priority High: the mail is marked urgent");
	} else {
		action->priority = g_strdup(config->desk.priority);
	}
}

struct action *route_decide(const struct config *config, const struct mail *mail,
			    const struct envelope *envelope, const struct route_facts *facts)
{
	struct action *action = g_new0(struct action, 1);
	const char *email = mail->from.email;
	struct rules_outcome rules;
	char *unproven = NULL;

	action->why = g_ptr_array_new_with_free_func(g_free);
	action->rules = g_ptr_array_new_with_free_func(g_free);
	action->departments = g_ptr_array_new();
	action->fields = g_array_new(FALSE, TRUE, sizeof(struct rule_field_value));
	action->markdown = -1;
	action->priority = g_strdup(config->desk.priority);
	if (facts->loop_guard) {
		action->kind = ACTION_DROP;
		because(action, "loop guard: %s", facts->loop_guard);
		return action;
	}
	/* Empty input, or text piped in by a script: no From, no Subject, not a mail. */
	if (mail->headers->len == 0) {
		action->kind = ACTION_QUARANTINE;
		because(action, "not a mail: it has no header at all");
		return action;
	}
	email = route_requester(config, mail, envelope, &unproven);
	if (!email) {
		action->kind = ACTION_QUARANTINE;
		because(action, "no sender address: nobody to open a ticket for");
		return action;
	}
	if (unproven) {
		because(action, "a forward from agent %s, but %s: the ticket is the forwarder's",
			email, unproven);
		g_free(unproven);
	}
	/* The original sender's own string when the ticket is theirs: route_requester() has read
	 * it then (mail_original_sender()), and the field is not asked for otherwise. */
	if (email == mail->original_sender.email) {
		because(action, "forwarded by agent %s: the ticket is for the original sender %s",
			mail->from.email, email);
		action->name = g_strdup(mail->original_sender.name ? mail->original_sender.name
								   : email);
	} else {
		action->name =
		    g_strdup(mail->from.name && *mail->from.name ? mail->from.name : email);
	}
	action->email = g_strdup(email);
	rules_apply(config, mail, envelope, &rules);
	take_rules(action, &rules);
	if (rules.drop) {
		action->kind = ACTION_DROP;
		because(action, "rule %s: drop: %s", rules.drop->name, rules.drop->drop);
		rules_outcome_clear(&rules);
		return action;
	}
	set_priority(config, mail, &rules, action);
	if (facts->ticket.number) {
		enum reply_verdict verdict =
		    may_reply(config, mail, &facts->ticket, email,
			      email == mail->original_sender.email, action);
		if (verdict == REPLY_OK) {
			action->kind = ACTION_REPLY;
			action->ticket_id = g_strdup(facts->ticket.id);
			action->ticket_tid = g_strdup(facts->ticket.number);
			rules_outcome_clear(&rules);
			return action;
		}
		if (verdict == REPLY_STRANGER && !config->threading.stranger_opens) {
			action->kind = ACTION_DROP;
			because(action, "dropped: [threading] stranger = drop");
			rules_outcome_clear(&rules);
			return action;
		}
	}
	if (rules.reply_only) {
		action->kind = ACTION_DROP;
		because(action, "rule %s: reply_only, and the mail adds to no ticket",
			rules.reply_only->name);
		rules_outcome_clear(&rules);
		return action;
	}
	/* Kept, not dropped: a customer's mail held back during an outage comes in a burst, and
	 * reprocess sends it once the window has passed. */
	if (!loop_guard_rate_allows(config, facts->recent_tickets)) {
		action->kind = ACTION_QUARANTINE;
		because(action,
			"loop guard: %s opened %u tickets in the last %d minutes (limit %d)", email,
			facts->recent_tickets, config->loop.rate_window, config->loop.rate_limit);
		rules_outcome_clear(&rules);
		return action;
	}
	action->kind = ACTION_OPEN;
	if (rules.department) {
		action->deptid = rules.department;
		because(action, "department %d from a rule", action->deptid);
	} else if (config->desk.department_auto) {
		const struct department_route *r =
		    department_by_recipient(config, mail, envelope, action);
		action->deptid = r ? r->deptid : config->desk.default_department;
		action->mailbox = r ? r->mailbox : NULL;
		if (config->threading.per_department) {
			all_departments(config, mail, envelope, action->departments);
			if (action->departments->len > 1)
				because(action, "a ticket in each of %u departments "
						"([threading] per_department)",
					action->departments->len);
		}
	} else {
		action->deptid = config->desk.department;
		because(action, "department %d from [desk] department", action->deptid);
	}
	rules_outcome_clear(&rules);
	return action;
}
