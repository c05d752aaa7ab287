#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/deliver.h"
#include "cli/log.h"
#include "cli/parse_pool.h"
#include "ingest/archive.h"

static const char import_usage[] = "mail2ticket import [--dry-run] PATH...";

static void import_help(void)
{
	printf("usage: %s\n\n"
	       "Turn the mail in archives into tickets, one message after another: mbox files,\n"
	       "Maildir folders (with their subfolders), .eml files, and folders holding any of\n"
	       "them. Mail the journal knows is not sent again, so a run that stopped can simply\n"
	       "be started again. A temporary desk failure stops the run with exit 75.\n\n"
	       "  --dry-run   print the API calls as JSON lines (secrets redacted); change nothing\n"
	       "  -h, --help  this text\n",
	       import_usage);
}

struct import_counts {
	guint outcomes[DELIVER_DRY_RUN + 1];
	guint messages;
	guint64 bytes;
};

static void log_summary(const struct import_counts *n)
{
	GString *counts = g_string_new(NULL);
	char messages[16], bytes[32];

	g_snprintf(messages, sizeof(messages), "%u", n->messages);
	g_snprintf(bytes, sizeof(bytes), "%" G_GUINT64_FORMAT, n->bytes);
	for (int i = 0; i <= DELIVER_DRY_RUN; i++)
		g_string_append_printf(counts, "%s%s=%u", i ? " " : "", deliver_outcome_name(i),
				       n->outcomes[i]);
	log_event(LOG_INFO, "import finished", "messages", messages, "bytes", bytes, "outcomes",
		  counts->str, NULL);
	g_string_free(counts, TRUE);
}

/* Every message of one archive, parsed ahead on the pool's threads and delivered here in the
 * archive's order; FALSE (error set) when the run must stop. Messages read but not delivered when
 * it stops are simply not acknowledged: the next run reads them again. */
static gboolean import_path(struct deliver *d, struct parse_pool *pool, guint window,
			    const char *path, struct import_counts *n, GError **error)
{
	struct source *src = archive_open(path, error);
	struct parsed_message parsed;
	GError *read_error = NULL;
	gboolean more = src != NULL;
	gboolean ok = src != NULL;

	while (ok) {
		while (more && parse_pool_pending(pool) < window) {
			struct source_message msg = {0};
			more = source_next(src, &msg, &read_error);
			if (more)
				parse_pool_push(pool, &msg);
		}
		if (!parse_pool_pop(pool, &parsed))
			break;
		{
			struct envelope envelope = {.source = parsed.msg.location};
			enum deliver_outcome outcome;
			gsize len;
			const char *data = g_bytes_get_data(parsed.msg.raw, &len);

			ok = deliver_parsed_message(d, parsed.mail, data ? data : "", len, &envelope,
						    &outcome, error);
			if (ok) {
				n->outcomes[outcome]++;
				n->messages++;
				n->bytes += len;
			}
		}
		parsed_message_clear(&parsed);
	}
	while (parse_pool_pop(pool, &parsed))
		parsed_message_clear(&parsed);
	source_close(src);
	if (ok && read_error) {
		g_propagate_error(error, read_error);
		return FALSE;
	}
	if (read_error)
		g_error_free(read_error);
	return ok;
}

int cmd_import(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"dry-run", no_argument, NULL, 'n'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct import_counts counts = {0};
	struct parse_options parse_options;
	struct parse_pool *pool = NULL;
	/* Parsing is most of an import's work; one parser per core, a few messages read ahead. */
	int threads = CLAMP(g_get_num_processors(), 1, 8);
	struct deliver d = {0};
	gboolean dry_run = FALSE;
	struct config *config = NULL;
	GError *err = NULL;
	int rc = EX_OK;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = TRUE;
			break;
		case 'h':
			import_help();
			return EX_OK;
		default:
			return usage_error(import_usage, NULL);
		}
	}
	if (optind == argc)
		return usage_error(import_usage, "import needs at least one PATH");
	config = config_load(global_config_path(g), &err);
	if (!config)
		goto fail;
	if (!deliver_open(&d, config, dry_run, &err))
		goto fail;
	parse_options_from_config(config, &parse_options);
	pool = parse_pool_new(&parse_options, threads);
	for (int i = optind; i < argc; i++)
		if (!import_path(&d, pool, 2 * threads + 2, argv[i], &counts, &err))
			goto fail;
	log_summary(&counts);
	goto out;
fail:
	rc = exit_code_for_error(err);
	log_summary(&counts);
	log_event(LOG_ERROR, err->message, "exit", rc == EX_TEMPFAIL ? "75 (run again later)" : NULL,
		  NULL);
	g_error_free(err);
out:
	parse_pool_free(pool);
	deliver_close(&d);
	config_free(config);
	return rc;
}
