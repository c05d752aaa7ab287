/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [rule NAME] conditions matched against one mail, and what they set (rules.h). */
#include "rules/rules.h"

#include <string.h>

static gboolean is_address_field(enum rule_field field)
{
	return field == RULE_FROM || field == RULE_TO || field == RULE_CC ||
	       field == RULE_RECIPIENT;
}

static gboolean value_matches(const struct rule_condition *c, const char *value)
{
	char *lower;
	gboolean match = FALSE;

	if (!value)
		return FALSE;
	if (c->regex)
		return g_regex_match(c->regex, value, 0, NULL);
	lower = g_utf8_strdown(value, -1);
	for (char **v = c->values; *v && !match; v++) {
		if (!is_address_field(c->field))
			match = strstr(lower, *v) != NULL; /* text: contains, any case */
		else if ((*v)[0] == '@')
			match = g_str_has_suffix(lower, *v); /* @domain */
		else
			match = strcmp(lower, *v) == 0; /* an address: equal, any case */
	}
	g_free(lower);
	return match;
}

static void add_addresses(GPtrArray *values, const GPtrArray *addresses)
{
	for (guint i = 0; i < addresses->len; i++)
		g_ptr_array_add(
		    values, ((const struct mail_address *)g_ptr_array_index(addresses, i))->email);
}

static void add_headers(GPtrArray *values, const struct mail *mail, const char *name)
{
	for (guint i = 0; i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);
		if (g_ascii_strcasecmp(h->name, name) == 0)
			g_ptr_array_add(values, h->value);
	}
}

/* The mail's values for a field (borrowed). */
static GPtrArray *field_values(const struct rule_condition *c, const struct mail *mail,
			       const struct envelope *envelope)
{
	GPtrArray *values = g_ptr_array_new();

	switch (c->field) {
	case RULE_FROM:
		g_ptr_array_add(values, mail->from.email);
		break;
	case RULE_TO:
		add_addresses(values, mail->to);
		break;
	case RULE_CC:
		add_addresses(values, mail->cc);
		break;
	case RULE_RECIPIENT:
		if (envelope && envelope->recipient)
			g_ptr_array_add(values, (char *)envelope->recipient);
		add_headers(values, mail, "Delivered-To");
		break;
	case RULE_SUBJECT:
		g_ptr_array_add(values, mail->subject);
		break;
	case RULE_BODY:
		g_ptr_array_add(values, mail->text);
		break;
	case RULE_HEADER:
		add_headers(values, mail, c->header);
		break;
	case RULE_ATTACHMENT:
	case RULE_ATTACHMENT_TYPE:
		for (guint i = 0; i < mail->attachments->len; i++) {
			const struct mail_attachment *a = g_ptr_array_index(mail->attachments, i);
			g_ptr_array_add(values, c->field == RULE_ATTACHMENT ? a->filename
									    : a->content_type);
		}
		break;
	case RULE_MAILBOX:
		if (envelope && envelope->mailbox)
			g_ptr_array_add(values, (char *)envelope->mailbox);
		break;
	case RULE_SIZE:
		break;
	}
	return values;
}

static gboolean condition_holds(const struct rule_condition *c, const struct mail *mail,
				const struct envelope *envelope)
{
	gboolean any = FALSE;
	GPtrArray *values;

	if (c->field == RULE_SIZE) {
		any = c->greater ? mail->raw_size > c->size : mail->raw_size < c->size;
		return c->negate ? !any : any;
	}
	values = field_values(c, mail, envelope);
	for (guint i = 0; i < values->len && !any; i++)
		any = value_matches(c, g_ptr_array_index(values, i));
	g_ptr_array_unref(values);
	return c->negate ? !any : any;
}

/* All conditions (or, with match = any, one of them); a rule without any matches every mail. */
static gboolean rule_matches(const struct rule *rule, const struct mail *mail,
			     const struct envelope *envelope)
{
	if (rule->conditions->len == 0)
		return TRUE;
	for (guint i = 0; i < rule->conditions->len; i++) {
		gboolean holds = condition_holds(g_ptr_array_index(rule->conditions, i), mail,
						 envelope);
		if (rule->any && holds)
			return TRUE;
		if (!rule->any && !holds)
			return FALSE;
	}
	return !rule->any;
}

static void take_actions(const struct rule *rule, struct rules_outcome *out)
{
	g_ptr_array_add(out->matched, (gpointer)rule);
	if (rule->department)
		out->department = rule->department;
	if (rule->priority)
		out->priority = rule->priority;
	if (rule->clientid)
		out->clientid = rule->clientid;
	if (rule->serviceid)
		out->serviceid = rule->serviceid;
	if (rule->category)
		out->category = rule->category;
	if (rule->status)
		out->status = rule->status;
	if (rule->tags)
		out->tags = rule->tags;
	if (rule->customer_id)
		out->customer_id = rule->customer_id;
	if (rule->markdown >= 0)
		out->markdown = rule->markdown;
	for (guint i = 0; i < rule->fields->len; i++)
		g_array_append_val(out->fields,
				   g_array_index(rule->fields, struct rule_field_value, i));
	if (rule->drop)
		out->drop = rule;
	if (rule->reply_only)
		out->reply_only = rule;
}

void rules_apply(const struct config *config, const struct mail *mail,
		 const struct envelope *envelope, struct rules_outcome *out)
{
	*out = (struct rules_outcome){
	    .matched = g_ptr_array_new(),
	    .fields = g_array_new(FALSE, TRUE, sizeof(struct rule_field_value)),
	    .markdown = -1,
	};
	for (guint i = 0; i < config->rules->len; i++) {
		const struct rule *rule = g_ptr_array_index(config->rules, i);
		if (!rule_matches(rule, mail, envelope))
			continue;
		take_actions(rule, out);
		if (!rule->next)
			break;
	}
}

void rules_outcome_clear(struct rules_outcome *out)
{
	if (out->matched)
		g_ptr_array_unref(out->matched);
	if (out->fields)
		g_array_unref(out->fields);
	*out = (struct rules_outcome){0};
}
