/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [rule NAME] sections: conditions on a mail and the actions they take, in file order, into
 * config->rules (rules/rules.c evaluates them). */
#include <stdlib.h>
#include <string.h>

#include "config/loader.h"
#include "config/sections.h"
#include "desk/desk_backend.h"

static void rule_condition_free(struct rule_condition *cond)
{
	g_free(cond->header);
	if (cond->regex)
		g_regex_unref(cond->regex);
	g_strfreev(cond->values);
	g_free(cond);
}

static void rule_free(struct rule *rule)
{
	g_free(rule->name);
	g_ptr_array_unref(rule->conditions);
	g_free(rule->priority);
	for (guint i = 0; i < rule->fields->len; i++) {
		g_free(g_array_index(rule->fields, struct rule_field_value, i).name);
		g_free(g_array_index(rule->fields, struct rule_field_value, i).value);
	}
	g_array_unref(rule->fields);
	g_strfreev(rule->tags);
	g_free(rule->drop);
	g_free(rule);
}

/* A condition key: "FIELD", "FIELD !", "FIELD ~" or "FIELD !~"; FIELD may be header.NAME.
 * FALSE when the key is not a condition (it may still be an action); *regex tells "~". */
static gboolean parse_condition_key(const char *key, struct rule_condition *cond, gboolean *regex)
{
	static const struct {
		const char *name;
		enum rule_field field;
	} fields[] = {
	    {"from", RULE_FROM},
	    {"to", RULE_TO},
	    {"cc", RULE_CC},
	    {"recipient", RULE_RECIPIENT},
	    {"subject", RULE_SUBJECT},
	    {"body", RULE_BODY},
	    {"attachment", RULE_ATTACHMENT},
	    {"attachment_type", RULE_ATTACHMENT_TYPE},
	    {"size", RULE_SIZE},
	    {"mailbox", RULE_MAILBOX},
	};
	char **words = g_strsplit(key, " ", 2);
	const char *name = words[0];
	const char *op = words[1] ? g_strstrip(words[1]) : "";
	gboolean known = FALSE;

	if (g_str_has_prefix(name, "header.") && name[7]) {
		cond->field = RULE_HEADER;
		cond->header = g_strdup(name + 7);
		known = TRUE;
	}
	for (gsize i = 0; !known && i < G_N_ELEMENTS(fields); i++) {
		if (strcmp(name, fields[i].name) == 0) {
			cond->field = fields[i].field;
			known = TRUE;
		}
	}
	if (known && strcmp(op, "") != 0 && strcmp(op, "!") != 0 && strcmp(op, "~") != 0 &&
	    strcmp(op, "!~") != 0)
		known = FALSE;
	cond->negate = known && op[0] == '!';
	*regex = known && strchr(op, '~');
	g_strfreev(words);
	if (!known) {
		g_free(cond->header);
		cond->header = NULL;
	}
	return known;
}

/* Address fields take a list ("a@x, @y.example"); text fields one phrase. */
static char **address_list_or_words(const char *value, enum rule_field field)
{
	if (field == RULE_FROM || field == RULE_TO || field == RULE_CC || field == RULE_RECIPIENT)
		return loader_address_list(value);
	{
		char **one = g_new0(char *, 2);
		one[0] = g_strdup(value);
		return one;
	}
}

/* "> 5M" or "< 100K" for the size condition. */
static gboolean parse_size_condition(const char *value, struct rule_condition *cond)
{
	guint64 n;

	while (*value == ' ')
		value++;
	if ((*value != '>' && *value != '<') || !loader_parse_size(value + 1, &n) || n > G_MAXSIZE)
		return FALSE;
	cond->greater = *value == '>';
	cond->size = n;
	return TRUE;
}

static gboolean load_condition(struct loader *ld, const char *group, const char *key,
			       struct rule *rule, gboolean *is_condition)
{
	struct rule_condition *cond = g_new0(struct rule_condition, 1);
	char *value;
	GError *err = NULL;
	gboolean regex;

	*is_condition = parse_condition_key(key, cond, &regex);
	if (!*is_condition) {
		g_free(cond);
		return TRUE;
	}
	value = loader_get_raw(ld, group, key);
	if (!*value) {
		/* "subject =" would contain "" and so match every mail. */
		loader_fail(ld, group, key, "empty value");
		goto fail;
	}
	if (regex) {
		cond->regex = g_regex_new(value, G_REGEX_CASELESS, 0, &err);
		if (!cond->regex) {
			loader_fail(ld, group, key, "bad regular expression: %s", err->message);
			g_error_free(err);
			goto fail;
		}
	} else if (cond->field == RULE_SIZE) {
		if (!parse_size_condition(value, cond)) {
			loader_fail(ld, group, key,
				    "'%s' is not '> SIZE' or '< SIZE' (K, M or G allowed)", value);
			goto fail;
		}
	} else {
		char *lower = g_utf8_strdown(value, -1);
		cond->values = address_list_or_words(lower, cond->field);
		g_free(lower);
	}
	g_ptr_array_add(rule->conditions, cond);
	g_free(value);
	return TRUE;
fail:
	g_free(value);
	rule_condition_free(cond);
	return FALSE;
}

/* "a, b c": Thulium's tags, each trimmed, the empty ones left out. */
static gboolean load_tags(struct loader *ld, const char *group, const char *key, struct rule *rule)
{
	char *value = NULL;
	char **parts;
	GPtrArray *tags = g_ptr_array_new();

	if (!loader_get_string(ld, group, key, TRUE, &value)) {
		g_ptr_array_unref(tags);
		return FALSE;
	}
	parts = g_strsplit(value, ",", -1);
	for (char **p = parts; *p; p++)
		if (*g_strstrip(*p))
			g_ptr_array_add(tags, g_strdup(*p));
	g_ptr_array_add(tags, NULL);
	g_strfreev(rule->tags);
	rule->tags = (char **)g_ptr_array_free(tags, FALSE);
	g_strfreev(parts);
	g_free(value);
	return TRUE;
}

static gboolean load_action(struct loader *ld, const char *group, const char *key,
			    struct rule *rule)
{
	static const char *const priorities[] = {"Low", "Medium", "High", NULL};
	int priority = -1;
	gboolean flag;

	/* Thulium's queues are what the other desks call departments. */
	if (strcmp(key, "department") == 0 || strcmp(key, "queue") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->department);
	if (strcmp(key, "category") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->category);
	if (strcmp(key, "status") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->status);
	if (strcmp(key, "customer_id") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->customer_id);
	if (strcmp(key, "tags") == 0)
		return load_tags(ld, group, key, rule);
	if (strcmp(key, "clientid") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->clientid);
	if (strcmp(key, "serviceid") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->serviceid);
	if (strcmp(key, "priority") == 0) {
		if (!loader_get_choice(ld, group, key, priorities, &priority))
			return FALSE;
		rule->priority = g_strdup(priorities[priority]);
		return TRUE;
	}
	if (strcmp(key, "markdown") == 0) {
		flag = FALSE;
		if (!loader_get_bool(ld, group, key, &flag))
			return FALSE;
		rule->markdown = flag;
		return TRUE;
	}
	if (strcmp(key, "reply_only") == 0)
		return loader_get_bool(ld, group, key, &rule->reply_only);
	if (strcmp(key, "continue") == 0)
		return loader_get_bool(ld, group, key, &rule->next);
	if (strcmp(key, "match") == 0) {
		static const char *const modes[] = {"all", "any", NULL};
		int mode = 0;
		if (!loader_get_choice(ld, group, key, modes, &mode))
			return FALSE;
		rule->any = mode == 1;
		return TRUE;
	}
	if (strcmp(key, "drop") == 0)
		return loader_get_string(ld, group, key, TRUE, &rule->drop);
	if (g_str_has_prefix(key, "customfield.")) {
		const struct desk_backend *desk = desk_backend_lookup(ld->config->desk.kind);
		struct rule_field_value f = {0};
		char *end;
		long id = strtol(key + 12, &end, 10);
		/* Thulium names its custom fields; the WHMCS APIs number them. */
		if ((desk->capabilities & DESK_CAN_FIELD_NAMES) && key[12])
			f.name = g_strdup(key + 12);
		else if (!key[12] || *end || id < 1 || id > G_MAXINT)
			return loader_fail(ld, group, key,
					   "customfield.ID needs a numeric field id");
		if (!loader_get_string(ld, group, key, TRUE, &f.value)) {
			g_free(f.name);
			return FALSE;
		}
		f.id = f.name ? 0 : (int)id;
		g_array_append_val(rule->fields, f);
		return TRUE;
	}
	return loader_fail(ld, group, key, "unknown condition or action");
}

gboolean config_load_rules(struct loader *ld)
{
	char **groups = g_key_file_get_groups(ld->kf, NULL);
	gboolean ok = TRUE;

	ld->config->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);
	for (int i = 0; ok && groups[i]; i++) {
		struct rule *rule;
		char **keys;
		if (!g_str_has_prefix(groups[i], "rule "))
			continue;
		rule = g_new0(struct rule, 1);
		rule->name = g_strstrip(g_strdup(groups[i] + 5));
		rule->conditions =
		    g_ptr_array_new_with_free_func((GDestroyNotify)rule_condition_free);
		rule->fields = g_array_new(FALSE, TRUE, sizeof(struct rule_field_value));
		rule->markdown = -1;
		g_ptr_array_add(ld->config->rules, rule);
		keys = g_key_file_get_keys(ld->kf, groups[i], NULL, NULL);
		for (int k = 0; ok && keys && keys[k]; k++) {
			gboolean is_condition;
			ok = load_condition(ld, groups[i], keys[k], rule, &is_condition) &&
			     (is_condition || load_action(ld, groups[i], keys[k], rule));
		}
		g_strfreev(keys);
	}
	g_strfreev(groups);
	return ok;
}
