/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `mail2ticket pipe`: the message an MTA hands over, with exit codes it understands. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/commands.h"
#include "flow/deliver.h"
#include "cli/log.h"
#include "ingest/pipe.h"
#include "state/maildir.h"

static const char pipe_usage[] =
    "mail2ticket pipe [--dry-run] [--mailbox NAME] [-f SENDER] [-r RECIPIENT]";

static void pipe_help(void)
{
	printf("usage: %s\n\n"
	       "Read one message on standard input (as an MTA delivers it) and open a ticket.\n"
	       "Exit 0 when the desk has it (or it was dropped or quarantined with a reason),\n"
	       "75 when the MTA should keep it and try again later: also for a configuration\n"
	       "error, so that no mail bounces while the config is being fixed.\n"
	       "With [pipe] spool = DIR in the config, the message is only stored there (exit 0\n"
	       "once it is on disk) and `mail2ticket poll` delivers it.\n\n"
	       "  --dry-run               print the API call as JSON (secrets redacted); change\n"
	       "                          nothing\n"
	       "  --mailbox NAME          the name this delivery is logged under\n"
	       "  -f, --sender ADDR       envelope sender (Postfix: ${sender})\n"
	       "  -r, --recipient ADDR    envelope recipient (Postfix: ${original_recipient}),\n"
	       "                          used first for department routing\n"
	       "  -h, --help              this text\n",
	       pipe_usage);
}

/* Accept the mail into the spool, durably, with its envelope; poll delivers it later. */
static gboolean spool_message(const char *spool, GBytes *raw, const struct envelope *envelope,
			      GError **error)
{
	gsize len;
	const char *data = g_bytes_get_data(raw, &len);
	char *file = maildir_store(spool, envelope, data ? data : "", len, error);
	char ms[32];

	if (!file) {
		g_prefix_error(error, "spool: ");
		return FALSE;
	}
	g_snprintf(ms, sizeof(ms), "%" G_GINT64_FORMAT,
		   (g_get_monotonic_time() - envelope->started) / 1000);
	log_event(M2T_LOG_INFO, "mail spooled", "source", envelope->source, "file", file, "ms", ms,
		  NULL);
	g_free(file);
	return TRUE;
}

int cmd_pipe(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"dry-run", no_argument, NULL, 'n'},
						{"mailbox", required_argument, NULL, 'm'},
						{"sender", required_argument, NULL, 'f'},
						{"recipient", required_argument, NULL, 'r'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct envelope envelope = {.source = "pipe"};
	struct deliver d = {0};
	gboolean dry_run = FALSE;
	struct config *config = NULL;
	struct delivery_result result = {0};
	char *source = NULL;
	GBytes *raw = NULL;
	GError *err = NULL;
	int rc = EX_OK;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f:r:h", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = TRUE;
			break;
		case 'm':
			source = g_strconcat("pipe ", optarg, NULL);
			envelope.mailbox = optarg;
			break;
		case 'f':
			envelope.sender = optarg;
			break;
		case 'r':
			envelope.recipient = optarg;
			break;
		case 'h':
			pipe_help();
			return EX_OK;
		default:
			g_free(source);
			return usage_error(pipe_usage, NULL);
		}
	}
	if (optind != argc) {
		g_free(source);
		return usage_error(pipe_usage, "pipe reads the message on standard input and takes "
					       "no file argument");
	}
	if (source)
		envelope.source = source;

	config = cli_config_load(global_config_path(g), &err);
	if (!config)
		goto fail;
	envelope.started = g_get_monotonic_time();
	if (!pipe_read_message(STDIN_FILENO, 0, &raw, &err))
		goto fail;
	if (config->pipe.spool && !dry_run) {
		if (!spool_message(config->pipe.spool, raw, &envelope, &err))
			goto fail;
		goto out;
	}
	if (!deliver_open(&d, config, dry_run, &err))
		goto fail;
	if (!deliver_message(&d, raw, &envelope, &result, &err))
		goto fail;
	goto out;
fail:
	rc = exit_code_for_error(err);
	/* An MTA bounces mail on 78 (Postfix: 5.3.5), to the customer, with the config's path in
	 * the bounce. A config error is the admin's to fix: the mail waits in the queue
	 * meanwhile. */
	if (rc == EX_CONFIG)
		rc = EX_TEMPFAIL;
	log_event(M2T_LOG_ERROR, err->message, "exit",
		  rc == EX_TEMPFAIL ? "75 (the MTA keeps the mail and tries again later)" : NULL,
		  NULL);
	g_error_free(err);
out:
	delivery_result_clear(&result);
	deliver_close(&d);
	config_free(config);
	if (raw)
		g_bytes_unref(raw);
	g_free(source);
	return rc;
}
