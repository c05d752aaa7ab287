/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `mail2ticket route`: the decision for one mail and its reasons; nothing sent or recorded. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/commands.h"
#include "flow/deliver.h"
#include "cli/log.h"
#include "flow/parse_pool.h"
#include "ingest/pipe.h"
#include "parsers/mail_key.h"

static const char route_usage[] = "mail2ticket route [--offline] [-f SENDER] [-r RECIPIENT] FILE|-";

static void route_help(void)
{
	printf("usage: %s\n\n"
	       "Print, as JSON, what would be done with the mail and why: open a ticket (with\n"
	       "department and priority), reply to a ticket, drop it (with the loop guard's\n"
	       "reason), or quarantine it. Only look-ups are made: the journal, and the desk's\n"
	       "GetTicket for a ticket the mail points at. Nothing is sent or recorded.\n\n"
	       "  --offline               ask the desk nothing (ticket checks are skipped)\n"
	       "  -f, --sender ADDR       envelope sender\n"
	       "  -r, --recipient ADDR    envelope recipient\n"
	       "  -h, --help              this text\n",
	       route_usage);
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *decision_to_json(const struct mail *mail, const struct decision *dec)
{
	const struct action *a = dec->action;
	const struct ticket_facts *t = &dec->facts.ticket;
	json_t *why = json_array();
	json_t *rules = json_array();
	json_t *fields = json_object();
	char *key = mail_key(mail);
	json_t *obj;

	for (guint i = 0; i < a->why->len; i++)
		json_array_append_new(why, json_string(g_ptr_array_index(a->why, i)));
	for (guint i = 0; i < a->rules->len; i++)
		json_array_append_new(rules, json_string(g_ptr_array_index(a->rules, i)));
	for (guint i = 0; i < a->fields->len; i++) {
		const struct rule_field_value *f =
		    &g_array_index(a->fields, struct rule_field_value, i);
		char id[16];
		g_snprintf(id, sizeof(id), "%d", f->id);
		json_object_set_new(fields, f->name ? f->name : id, json_string(f->value));
	}
	obj = json_pack(
	    "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "key", key, "action",
	    action_kind_name(a->kind), "why", why, "rules", rules, "requester",
	    json_pack("{s:o, s:o}", "name", string_or_null(a->name), "email",
		      string_or_null(a->email)),
	    "department", a->kind == ACTION_OPEN ? json_integer(a->deptid) : json_null(),
	    "priority", a->kind == ACTION_OPEN ? json_string(a->priority) : json_null(), "ticket",
	    t->number ? json_pack("{s:s, s:s, s:b, s:b, s:o, s:o, s:o}", "number", t->number,
				  "found_by", t->how, "checked", t->checked, "exists", t->exists,
				  "id", string_or_null(t->id), "status", string_or_null(t->status),
				  "owner", string_or_null(t->owner_email))
		      : json_null(),
	    "recent_tickets_from_sender", (json_int_t)dec->facts.recent_tickets);
	json_object_update_new(
	    obj,
	    json_pack("{s:o, s:o, s:o, s:o, s:o}", "clientid",
		      a->clientid ? json_integer(a->clientid) : json_null(), "serviceid",
		      a->serviceid ? json_integer(a->serviceid) : json_null(), "category",
		      a->category ? json_integer(a->category) : json_null(), "status",
		      a->status ? json_integer(a->status) : json_null(), "customfields", fields));
	if (a->kind == ACTION_OPEN && a->mailbox)
		json_object_set_new(obj, "mailbox", json_string(a->mailbox));
	if (a->tags) {
		json_t *tags = json_array();
		for (char *const *tag = a->tags; *tag; tag++)
			json_array_append_new(tags, json_string(*tag));
		json_object_set_new(obj, "tags", tags);
	}
	if (a->customer_id)
		json_object_set_new(obj, "customer_id", json_integer(a->customer_id));
	g_free(key);
	return obj;
}

/* What pipe, poll and import do with a mail the parser does not finish in time: the decision
 * they would print for it. */
static void print_unparsed(GBytes *raw, int seconds)
{
	gsize len;
	const guchar *data = g_bytes_get_data(raw, &len);
	char *digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
	char *key = g_strconcat("sha256:", digest, NULL);
	char *reason = deliver_parse_timeout_reason(seconds);
	json_t *json = json_pack("{s:s, s:s, s:[s]}", "key", key, "action", "quarantine", "why",
				 reason);

	json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(json);
	g_free(reason);
	g_free(key);
	g_free(digest);
}

int cmd_route(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"offline", no_argument, NULL, 'o'},
						{"sender", required_argument, NULL, 'f'},
						{"recipient", required_argument, NULL, 'r'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct envelope envelope = {.source = "route"};
	struct config *config = NULL;
	struct parse_options parse_options;
	struct deliver d = {0};
	struct decision dec = {0};
	struct mail *mail = NULL;
	gboolean offline = FALSE;
	GBytes *raw = NULL;
	GError *err = NULL;
	int rc = EX_OK;
	gsize len;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f:r:h", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			offline = TRUE;
			break;
		case 'f':
			envelope.sender = optarg;
			break;
		case 'r':
			envelope.recipient = optarg;
			break;
		case 'h':
			route_help();
			return EX_OK;
		default:
			return usage_error(route_usage, NULL);
		}
	}
	if (argc - optind != 1)
		return usage_error(route_usage, "route takes one FILE, or - for standard input");
	config = cli_config_load(global_config_path(g), &err);
	if (!config)
		goto fail;
	if (g_strcmp0(argv[optind], "-") == 0) {
		if (!pipe_read_message(STDIN_FILENO, 0, &raw, &err))
			goto fail;
	} else {
		char *contents;
		if (!g_file_get_contents(argv[optind], &contents, &len, &err))
			goto fail;
		raw = g_bytes_new_take(contents, len);
	}
	/* A dry-run delivery context: the journal read-only, the desk for look-ups only. */
	if (!deliver_open(&d, config, TRUE, &err))
		goto fail;
	parse_options_from_config(config, FALSE, &parse_options);
	mail = parse_within(raw, &parse_options, config->parser.parse_timeout);
	if (!mail) {
		print_unparsed(raw, config->parser.parse_timeout);
		goto out;
	}
	if (!deliver_decide(&d, mail, &envelope, offline, &dec, &err))
		goto fail;
	{
		json_t *json = decision_to_json(mail, &dec);
		json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(json);
	}
	goto out;
fail:
	rc = err->domain == G_FILE_ERROR ? EX_NOINPUT : exit_code_for_error(err);
	log_msg(M2T_LOG_ERROR, "%s", err->message);
	g_error_free(err);
out:
	decision_clear(&dec);
	mail_free(mail);
	deliver_close(&d);
	config_free(config);
	if (raw)
		g_bytes_unref(raw);
	return rc;
}
