/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `mail2ticket parse`: one mail as the JSON the rest of the flow sees. */
#include <getopt.h>
#include <gmime/gmime.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/commands.h"
#include "flow/deliver.h"
#include "cli/log.h"
#include "flow/parse_pool.h"
#include "ingest/pipe.h"
#include "parsers/mail_json.h"
#include "parsers/mail_parse.h"

static const char parse_usage[] = "mail2ticket parse [--attachment-data] FILE|-";

static void parse_help(void)
{
	printf("usage: %s\n\n"
	       "Print the parsed mail as JSON: subject, from, to, cc, date, Message-ID,\n"
	       "In-Reply-To, References, text, reply_text (quoted history and signature cut),\n"
	       "attachments (name, type, size, SHA-256), attachments left out by the size\n"
	       "limits, a bounce's report, and warnings of what could not be read as the\n"
	       "sender meant. Uses the [parser] section of the config when one is given or\n"
	       "exists; needs none. Exit 65 when the parser does not finish within\n"
	       "parse_timeout.\n\n"
	       "  --attachment-data   include each attachment's bytes as base64\n"
	       "  -h, --help          this text\n",
	       parse_usage);
}

/* parse needs no config; it uses the [parser] section of one that is named or exists. */
static gboolean parse_config(const struct global_options *g, struct config **config,
			     GError **error)
{
	const char *path = global_config_path(g);

	*config = NULL;
	if (!g->config_path && !g_getenv("MAIL2TICKET_CONFIG") &&
	    !g_file_test(path, G_FILE_TEST_EXISTS))
		return TRUE;
	*config = cli_config_load(path, error);
	return *config != NULL;
}

int cmd_parse(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"attachment-data", no_argument, NULL, 'd'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	gboolean with_data = FALSE;
	struct config *config = NULL;
	struct parse_options parse_options;
	GBytes *raw = NULL;
	GError *err = NULL;
	struct mail *mail;
	json_t *json;
	int timeout;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			with_data = TRUE;
			break;
		case 'h':
			parse_help();
			return EX_OK;
		default:
			return usage_error(parse_usage, NULL);
		}
	}
	if (argc - optind != 1)
		return usage_error(parse_usage, "parse takes one FILE, or - for standard input");
	if (g_strcmp0(argv[optind], "-") == 0) {
		if (!pipe_read_message(STDIN_FILENO, 0, &raw, &err)) {
			log_msg(M2T_LOG_ERROR, "%s", err->message);
			g_error_free(err);
			return EX_IOERR;
		}
	} else {
		char *contents;
		gsize size;
		if (!g_file_get_contents(argv[optind], &contents, &size, &err)) {
			log_msg(M2T_LOG_ERROR, "%s", err->message);
			g_error_free(err);
			return EX_NOINPUT;
		}
		raw = g_bytes_new_take(contents, size);
	}
	if (!parse_config(g, &config, &err)) {
		log_msg(M2T_LOG_ERROR, "%s", err->message);
		g_error_free(err);
		g_bytes_unref(raw);
		return EX_CONFIG;
	}
	parse_options = (struct parse_options)PARSE_OPTIONS_DEFAULT;
	if (config)
		parse_options_from_config(config, FALSE, &parse_options);
	parse_options.raw_digest = TRUE;
	timeout = config ? config->parser.parse_timeout : PARSE_TIMEOUT_DEFAULT;
	mail = parse_within(raw, &parse_options, timeout);
	if (!mail) {
		char *reason = deliver_parse_timeout_reason(timeout);
		log_event(M2T_LOG_ERROR, reason, "file", argv[optind], NULL);
		g_free(reason);
		config_free(config);
		g_bytes_unref(raw);
		/* The thread still parsing is ended with the process. */
		return EX_DATAERR;
	}
	json = mail_to_json(mail, with_data);
	json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(json);
	mail_free(mail);
	config_free(config);
	g_bytes_unref(raw);
	return EX_OK;
}
