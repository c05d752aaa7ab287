/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The command line: global options, one subcommand, and the exit codes of sysexits.h. */
#include <getopt.h>
#include <gio/gio.h>
#include <gmime/gmime.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "cli/commands.h"
#include "cli/log.h"
#include "desk/desk.h"
#include "parsers/mail_parse.h"
#include "state/journal.h"

#define DEFAULT_CONFIG "/etc/mail2ticket/mail2ticket.conf"

static const char main_usage[] =
    "mail2ticket [--config FILE] [-v|-q] [--log-format text|json] [--syslog] COMMAND ...";

static void main_help(void)
{
	printf("usage: %s\n\n"
	       "Turn e-mail into helpdesk tickets.\n\n"
	       "commands:\n"
	       "  pipe    one message on standard input (MTA delivery) -> ticket\n"
	       "  poll    the configured IMAP/POP3 mailboxes -> tickets, until stopped\n"
	       "  import  PATH... : mbox files, Maildir folders, .eml files -> tickets\n"
	       "  parse   FILE|- : the parsed mail as JSON\n"
	       "  route   FILE|- : what would be done with the mail, and why, as JSON\n"
	       "  check   validate the config and reach the desk\n"
	       "  stats   outcomes, latest errors and waiting mail, from the journal\n"
	       "  reprocess  send quarantined (or failed) mail again once the cause is fixed\n\n"
	       "options:\n"
	       "  -c, --config FILE        config file (else $MAIL2TICKET_CONFIG, else\n"
	       "                           " DEFAULT_CONFIG ")\n"
	       "  -v, --verbose            log debug lines too\n"
	       "  -q, --quiet              log errors only\n"
	       "      --log-format FORMAT  text (default) or json, one object per line\n"
	       "      --syslog             log to syslog (facility mail) instead of standard\n"
	       "                           error; under systemd standard error goes to the\n"
	       "                           journal with each line's level\n"
	       "  -V, --version            print the version\n"
	       "  -h, --help               this text\n\n"
	       "'mail2ticket COMMAND --help' describes a command. Exit codes: 0 done, 64 wrong\n"
	       "command line, 65 mail refused again (reprocess), 66 no such input file, 70 a\n"
	       "parser hung (poll), 75 temporary failure (try again later), 78 configuration\n"
	       "error.\n",
	       main_usage);
}

int usage_error(const char *usage, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		fputs("mail2ticket: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: %s\n", usage);
	return EX_USAGE;
}

const char *global_config_path(const struct global_options *g)
{
	const char *env = g_getenv("MAIL2TICKET_CONFIG");

	if (g->config_path)
		return g->config_path;
	return env && *env ? env : DEFAULT_CONFIG;
}

struct config *cli_config_load(const char *path, GError **error)
{
	struct config *config = config_load(path, error);

	for (guint i = 0; config && i < config->warnings->len; i++)
		log_event(M2T_LOG_WARN, g_ptr_array_index(config->warnings, i), NULL);
	return config;
}

int exit_code_for_error(const GError *error)
{
	if (error->domain == CONFIG_ERROR)
		return EX_CONFIG;
	if (error->domain == JOURNAL_ERROR &&
	    (error->code == JOURNAL_ERROR_VERSION || error->code == JOURNAL_ERROR_KIND))
		return EX_CONFIG;
	/* Everything else that stops a command leaves the mail where it was: desk failures that
	 * may heal, a busy or unwritable journal, a journal's server out of reach
	 * (JOURNAL_ERROR_UNAVAILABLE), a full disk for the quarantine. */
	return EX_TEMPFAIL;
}

struct command {
	const char *name;
	int (*run)(const struct global_options *g, int argc, char **argv);
};

static const struct command commands[] = {
    {"pipe", cmd_pipe},
    {"import", cmd_import},
    {"parse", cmd_parse},
    {"route", cmd_route},
    {"check", cmd_check},
    {"poll", cmd_poll},
    {"stats", cmd_stats},
    {"reprocess", cmd_reprocess},
};

int main(int argc, char **argv)
{
	static const struct option options[] = {{"config", required_argument, NULL, 'c'},
						{"verbose", no_argument, NULL, 'v'},
						{"quiet", no_argument, NULL, 'q'},
						{"log-format", required_argument, NULL, 'L'},
						{"syslog", no_argument, NULL, 'S'},
						{"version", no_argument, NULL, 'V'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct global_options g = {0};
	enum log_level level = M2T_LOG_INFO;
	gboolean json = FALSE;
	enum log_target target = M2T_LOG_TO_STDERR;
	int c, rc;

	/* No core file and no ptrace by other processes of the user: memory holds the desk's
	 * secret, mailbox passwords and tokens. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setlocale(LC_ALL, "");
	while ((c = getopt_long(argc, argv, "+c:vqVh", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			g.config_path = optarg;
			break;
		case 'v':
			level = M2T_LOG_DEBUG;
			break;
		case 'q':
			level = M2T_LOG_ERROR;
			break;
		case 'L':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return usage_error(main_usage,
						   "--log-format is text or json, not '%s'",
						   optarg);
			json = strcmp(optarg, "json") == 0;
			break;
		case 'S':
			target = M2T_LOG_TO_SYSLOG;
			break;
		case 'V':
			printf("mail2ticket %s\n", M2T_VERSION);
			return EX_OK;
		case 'h':
			main_help();
			return EX_OK;
		default:
			return usage_error(main_usage, NULL);
		}
	}
	if (optind >= argc)
		return usage_error(main_usage, "no command given (try --help)");
	log_setup(level, json, target);
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		g_mime_init();
		rc = commands[i].run(&g, argc - optind, argv + optind);
		g_mime_shutdown();
		return rc;
	}
	return usage_error(main_usage, "unknown command '%s' (try --help)", argv[optind]);
}
