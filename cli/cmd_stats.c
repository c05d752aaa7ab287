/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `mail2ticket stats`: what the journal says became of the mail since a time. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/log.h"
#include "config/config.h"
#include "flow/deliver.h"
#include "state/journal.h"

static const char stats_usage[] = "mail2ticket stats [--days N] [--json]";

/* How many of the latest errors are listed. */
#define STATS_PROBLEMS 10

static void stats_help(void)
{
	printf(
	    "usage: %s\n\n"
	    "From the journal: how many mails each source (mailbox, pipe, archive) turned into\n"
	    "tickets, replies, drops and quarantined mail over the last days, the latest errors,\n"
	    "and how many mails wait for another attempt. Reads the journal only.\n\n"
	    "  --days N   the period, in days back from now (default 7)\n"
	    "  --json     one JSON object instead of text\n"
	    "  -h, --help this text\n",
	    stats_usage);
}

static char *time_text(gint64 when)
{
	GDateTime *t = g_date_time_new_from_unix_local(when);
	char *text = t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S") : g_strdup("?");

	if (t)
		g_date_time_unref(t);
	return text;
}

static void print_json(int days, const GPtrArray *counts, const GPtrArray *problems,
		       guint waiting)
{
	json_t *by = json_array();
	json_t *errs = json_array();
	json_t *root;

	for (guint i = 0; i < counts->len; i++) {
		const struct journal_count *c = g_ptr_array_index(counts, i);
		json_array_append_new(by, json_pack("{s:s, s:s, s:I}", "source", c->source,
						    "outcome", c->outcome, "count",
						    (json_int_t)c->count));
	}
	for (guint i = 0; i < problems->len; i++) {
		const struct journal_problem *p = g_ptr_array_index(problems, i);
		char *when = time_text(p->when);
		json_array_append_new(errs, json_pack("{s:s, s:s?, s:s?, s:s, s:s?, s:s}", "key",
						      p->key, "source", p->source, "subject",
						      p->subject, "state",
						      journal_state_name(p->state), "error",
						      p->error, "when", when));
		g_free(when);
	}
	root = json_pack("{s:i, s:o, s:o, s:I}", "days", days, "outcomes", by, "latest_errors",
			 errs, "waiting_for_retry", (json_int_t)waiting);
	json_dumpf(root, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(root);
}

static void print_text(int days, const GPtrArray *counts, const GPtrArray *problems,
		       guint waiting)
{
	printf("last %d day%s, by source and outcome:\n", days, days == 1 ? "" : "s");
	if (counts->len == 0)
		printf("  (no mail)\n");
	for (guint i = 0; i < counts->len; i++) {
		const struct journal_count *c = g_ptr_array_index(counts, i);
		char *source = log_escape(*c->source ? c->source : "(unknown)");
		printf("  %-40s %-16s %6u\n", source, c->outcome, c->count);
		g_free(source);
	}
	printf("waiting for another attempt: %u\n", waiting);
	if (problems->len)
		printf("latest errors:\n");
	for (guint i = 0; i < problems->len; i++) {
		const struct journal_problem *p = g_ptr_array_index(problems, i);
		char *when = time_text(p->when);
		/* The key and the error quote mail and desk text. */
		char *source = log_escape(p->source ? p->source : "");
		char *key = log_escape(p->key);
		char *error = log_escape(p->error ? p->error : "");
		printf("  %s  %-11s %s  %s\n      %s\n", when, journal_state_name(p->state), source,
		       key, error);
		g_free(when);
		g_free(source);
		g_free(key);
		g_free(error);
	}
}

int cmd_stats(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"days", required_argument, NULL, 'd'},
						{"json", no_argument, NULL, 'j'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct config *config = NULL;
	struct journal *journal = NULL;
	GPtrArray *counts = NULL, *problems = NULL;
	gboolean json = FALSE;
	guint waiting = 0;
	GError *err = NULL;
	int days = 7;
	int rc = EX_OK;
	char *end;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			days = (int)strtol(optarg, &end, 10);
			if (*end || days < 1 || days > 36500)
				return usage_error(stats_usage,
						   "--days takes a number of days, not '%s'",
						   optarg);
			break;
		case 'j':
			json = TRUE;
			break;
		case 'h':
			stats_help();
			return EX_OK;
		default:
			return usage_error(stats_usage, NULL);
		}
	}
	if (optind != argc)
		return usage_error(stats_usage, "stats takes no arguments");
	config = cli_config_load(global_config_path(g), &err);
	if (!config)
		goto fail;
	journal = journal_open_from_config(config, TRUE, &err);
	/* Before the first delivery there is no journal: nothing to count, which is no error. */
	if (!journal && g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_MISSING)) {
		log_msg(M2T_LOG_INFO, "%s", err->message);
		g_clear_error(&err);
		counts = g_ptr_array_new();
		problems = g_ptr_array_new();
	} else if (!journal ||
		   !journal_stats(journal,
				  g_get_real_time() / G_USEC_PER_SEC - (gint64)days * 86400,
				  STATS_PROBLEMS, &counts, &problems, &waiting, &err)) {
		goto fail;
	}
	if (json)
		print_json(days, counts, problems, waiting);
	else
		print_text(days, counts, problems, waiting);
	goto out;
fail:
	rc = exit_code_for_error(err);
	log_msg(M2T_LOG_ERROR, "%s", err->message);
	g_error_free(err);
out:
	if (counts)
		g_ptr_array_unref(counts);
	if (problems)
		g_ptr_array_unref(problems);
	journal_close(journal);
	config_free(config);
	return rc;
}
