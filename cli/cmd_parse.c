#include <getopt.h>
#include <gmime/gmime.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/log.h"
#include "ingest/pipe.h"
#include "parsers/mail_json.h"
#include "parsers/mail_parse.h"

static const char parse_usage[] = "mail2ticket parse [--attachment-data] FILE|-";

static void parse_help(void)
{
	printf("usage: %s\n\n"
	       "Print the parsed mail as JSON: subject, from, to, cc, date, Message-ID,\n"
	       "In-Reply-To, References, text, attachments (name, type, size, SHA-256) and\n"
	       "the warnings of what could not be read as the sender meant. Reads no config.\n\n"
	       "  --attachment-data   include each attachment's bytes as base64\n"
	       "  -h, --help          this text\n",
	       parse_usage);
}

int cmd_parse(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"attachment-data", no_argument, NULL, 'd'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	gboolean with_data = FALSE;
	GBytes *raw = NULL;
	GError *err = NULL;
	struct mail *mail;
	json_t *json;
	gsize len;
	const char *data;
	int c;

	(void)g;
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
			log_msg(LOG_ERROR, "%s", err->message);
			g_error_free(err);
			return EX_IOERR;
		}
	} else {
		char *contents;
		gsize size;
		if (!g_file_get_contents(argv[optind], &contents, &size, &err)) {
			log_msg(LOG_ERROR, "%s", err->message);
			g_error_free(err);
			return EX_NOINPUT;
		}
		raw = g_bytes_new_take(contents, size);
	}
	data = g_bytes_get_data(raw, &len);
	mail = mail_parse(data ? data : "", len);
	json = mail_to_json(mail, with_data);
	json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(json);
	mail_free(mail);
	g_bytes_unref(raw);
	return EX_OK;
}
