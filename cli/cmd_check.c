/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `mail2ticket check`: the config loads, the desk takes the credentials, each mailbox logs in. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/log.h"
#include "desk/desk.h"
#include "ingest/mailbox.h"
#include "ingest/mailbox_driver.h"
#include "config/config.h"
#include "flow/deliver.h"
#include "state/journal.h"

static const char check_usage[] = "mail2ticket check";

static void check_help(void)
{
	printf("usage: %s\n\n"
	       "Validate the config, open the journal, and reach the desk: it is logged into\n"
	       "where it has a login (Keliweb with client_id), the credentials are\n"
	       "tried and the desk's departments listed, with a warning for each department id\n"
	       "in the config that the desk does not have. Each [mailbox] is logged into (its\n"
	       "certificate checked) and its folder opened.\n",
	       check_usage);
}

static gboolean has_department(const GPtrArray *depts, int id)
{
	char want[16];

	g_snprintf(want, sizeof(want), "%d", id);
	for (guint i = 0; i < depts->len; i++)
		if (g_strcmp0(((const struct desk_department *)g_ptr_array_index(depts, i))->id,
			      want) == 0)
			return TRUE;
	return FALSE;
}

static int warn_unknown_departments(const struct config *config, const GPtrArray *depts)
{
	int warnings = 0;

	if (config->desk.department_auto &&
	    !has_department(depts, config->desk.default_department)) {
		log_msg(M2T_LOG_WARN, "[desk] default_department %d does not exist at the desk",
			config->desk.default_department);
		warnings++;
	}
	if (!config->desk.department_auto && !has_department(depts, config->desk.department)) {
		log_msg(M2T_LOG_WARN, "[desk] department %d does not exist at the desk",
			config->desk.department);
		warnings++;
	}
	for (guint i = 0; i < config->departments->len; i++) {
		const struct department_route *r = g_ptr_array_index(config->departments, i);
		if (!r->mailbox && !has_department(depts, r->deptid)) {
			log_msg(M2T_LOG_WARN,
				"[departments] %s = %d: the desk has no department %d", r->address,
				r->deptid, r->deptid);
			warnings++;
		}
	}
	return warnings;
}

/* What the config leaves open to a forger, said each time check runs. */
static void warn_open_doors(const struct config *config)
{
	if (!config->auth.authserv_ids)
		log_msg(M2T_LOG_WARN,
			"[auth] authserv_id is not set: a reply joins a ticket on its From "
			"header alone, so whoever knows a ticket number can write into it as "
			"its owner");
	else if (!config->auth.replies_aligned)
		log_msg(M2T_LOG_WARN, "[auth] replies = any: a forged From header writes into its "
				  "victim's tickets");
	if (config->threading.agents[0] && !config->auth.agents_by_route &&
	    !config->auth.authserv_ids)
		log_msg(M2T_LOG_WARN,
			"[threading] agents without [auth] authserv_id: no agent's forward "
			"can be proven, so each opens a ticket for the agent; set "
			"authserv_id, or agents = route with agent_recipients");
}

/* Log into each mailbox as poll would; the number that failed. */
static int check_mailboxes(const struct config *config)
{
	int failed = 0;

	for (guint i = 0; i < config->mailboxes->len; i++) {
		const struct mailbox_config *mc = g_ptr_array_index(config->mailboxes, i);
		struct mailbox *mb = mailbox_new(mc);
		GError *err = NULL;
		if (mb->ops->open(mb, &err) && mb->ops->close(mb, &err)) {
			if (!(mc->driver->features & MAILBOX_HAS_LOGIN))
				printf("%s %s: ready\n", mc->driver->name, mc->url);
			else
				printf("mailbox %s (%s): logged in as %s\n", mc->name, mc->url,
				       mc->user);
		} else {
			log_msg(M2T_LOG_ERROR, "%s", err->message);
			g_error_free(err);
			failed++;
		}
		mailbox_free(mb);
	}
	return failed;
}

int cmd_check(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct config *config = NULL;
	struct journal *journal = NULL;
	struct desk *desk = NULL;
	GPtrArray *depts = NULL;
	char *login = NULL;
	GError *err = NULL;
	int rc = EX_OK;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		if (c == 'h') {
			check_help();
			return EX_OK;
		}
		return usage_error(check_usage, NULL);
	}
	if (optind != argc)
		return usage_error(check_usage, "check takes no arguments");
	config = cli_config_load(global_config_path(g), &err);
	if (!config)
		goto fail;
	printf("config %s: ok\n", config->path);
	warn_open_doors(config);
	journal = journal_open_from_config(config, FALSE, &err);
	if (!journal)
		goto fail;
	printf("journal %s: ok, schema %d\n", journal->where, journal->schema_version);
	desk = desk_new(config, NULL, &err);
	if (!desk || !desk_log_in(desk, &login, &err))
		goto fail;
	if (login)
		printf("desk %s (%s): %s\n", config->desk.url, config->desk.kind, login);
	if (!desk_list_departments(desk, &depts, &err)) {
		if (!g_error_matches(err, DESK_ERROR, DESK_ERROR_UNSUPPORTED))
			goto fail;
		printf("desk %s (%s): %s; departments %snot checked here\n", config->desk.url,
		       config->desk.kind, err->message, login ? "" : "and credentials ");
		g_clear_error(&err);
		goto mailboxes;
	}
	printf("desk %s (%s): credentials accepted\n", config->desk.url, config->desk.kind);
	if (!depts) {
		/* Thulium: no documented call lists queues or mailboxes. */
		printf("this desk's API lists no departments: [departments] and [desk] mailbox are "
		       "not checked here; a ticket sent to an unknown one is refused by the desk "
		       "and the mail quarantined with its answer\n");
		goto mailboxes;
	}
	printf("departments:\n");
	for (guint i = 0; i < depts->len; i++) {
		const struct desk_department *d = g_ptr_array_index(depts, i);
		char *id = log_escape(d->id);
		char *name = log_escape(d->name ? d->name : "");
		printf("  %-6s %s\n", id, name);
		g_free(id);
		g_free(name);
	}
	if (warn_unknown_departments(config, depts) > 0)
		rc = EX_CONFIG;
mailboxes:
	if (check_mailboxes(config) > 0 && rc == EX_OK)
		rc = EX_TEMPFAIL;
	goto out;
fail:
	rc = exit_code_for_error(err);
	log_msg(M2T_LOG_ERROR, "%s", err->message);
	g_error_free(err);
out:
	g_free(login);
	if (depts)
		g_ptr_array_unref(depts);
	desk_free(desk);
	journal_close(journal);
	config_free(config);
	return rc;
}
