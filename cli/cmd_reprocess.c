/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reprocess: after the cause is fixed (a rule, a desk setting, a department), send the mail kept
 * aside again: the files of the local quarantine, or a mailbox's failed folder. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "flow/deliver.h"
#include "cli/log.h"
#include "ingest/mailbox.h"

static const char reprocess_usage[] =
    "mail2ticket reprocess [--dry-run] [FILE...]\n"
    "       mail2ticket reprocess [--dry-run] --mailbox NAME";

static void reprocess_help(void)
{
	printf("usage: %s\n\n"
	       "Send the quarantined mail again, once what kept it out is fixed: every file of\n"
	       "the quarantine ([state] quarantine), or only the FILEs named. Each goes through\n"
	       "the whole flow under its journal key, so mail the desk already has is not sent\n"
	       "twice. A file leaves the quarantine once the desk has the mail (or a rule now\n"
	       "drops it); mail refused again stays, with the new reason.\n"
	       "With --mailbox, the mail in that IMAP mailbox's failed folder is moved back into\n"
	       "the folder it watches, where the next poll reads it as new mail.\n\n"
	       "Exit 0 when every mail went, 65 when some were refused again, 66 when a FILE is\n"
	       "not in the quarantine, 75 when the desk or the server failed (the rest is left\n"
	       "as it was).\n\n"
	       "  --dry-run        print the API calls as JSON (secrets redacted); change nothing\n"
	       "  --mailbox NAME   the failed folder of [mailbox NAME], not the quarantine\n"
	       "  -h, --help       this text\n",
	       reprocess_usage);
}

static gint compare_paths(gconstpointer a, gconstpointer b)
{
	char *x = g_path_get_basename(*(char *const *)a);
	char *y = g_path_get_basename(*(char *const *)b);
	gint r = strcmp(x, y);

	g_free(x);
	g_free(y);
	return r;
}

/* The files in the quarantine's new/ and cur/, oldest first (Maildir names begin with the time). */
static GPtrArray *quarantine_files(const char *dir)
{
	static const char *const subdirs[] = {"new", "cur"};
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);

	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *sub = g_build_filename(dir, subdirs[i], NULL);
		GDir *d = g_dir_open(sub, 0, NULL);
		const char *name;
		while (d && (name = g_dir_read_name(d)))
			if (name[0] != '.')
				g_ptr_array_add(files, g_build_filename(sub, name, NULL));
		if (d)
			g_dir_close(d);
		g_free(sub);
	}
	g_ptr_array_sort(files, compare_paths);
	return files;
}

/* Removed durably: the folder is synced, so a crash cannot bring the file back. */
static gboolean remove_file(const char *path, GError **error)
{
	char *dir = g_path_get_dirname(path);
	int fd;

	if (unlink(path) != 0 && errno != ENOENT) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot remove %s: %s",
			    path, g_strerror(e));
		g_free(dir);
		return FALSE;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	g_free(dir);
	return TRUE;
}

/* One quarantined file through the flow, with the envelope kept at its head; FALSE (error set)
 * when the run must stop. */
static gboolean reprocess_file(struct deliver *d, const char *path, guint *refused,
			       GError **error)
{
	struct envelope envelope = {.source = "reprocess", .item = path,
				    .started = g_get_monotonic_time()};
	struct envelope_kept kept = {0};
	struct delivery_result result;
	gboolean ok;
	GBytes *file, *mail;
	char *raw;
	gsize len, head;

	if (!g_file_get_contents(path, &raw, &len, error))
		return FALSE;
	file = g_bytes_new_take(raw, len);
	head = envelope_from_head(raw, len, &kept);
	mail = g_bytes_new_from_bytes(file, head, len - head);
	envelope.sender = kept.sender;
	envelope.recipient = kept.recipient;
	envelope.mailbox = kept.mailbox;
	ok = deliver_message(d, mail, &envelope, &result, error);
	envelope_kept_clear(&kept);
	g_bytes_unref(mail);
	g_bytes_unref(file);
	if (ok && result.outcome == DELIVER_QUARANTINED)
		(*refused)++;
	delivery_result_clear(&result);
	if (!ok)
		return FALSE;
	/* Refused again, the mail is already back in the quarantine with the new reason. */
	if (d->dry_run)
		return TRUE;
	return remove_file(path, error);
}

/* FILE arguments name mail in the quarantine: reprocess removes what the desk took, and must
 * not remove a file of the admin's elsewhere. The absolute path (newly allocated), or NULL
 * when the file is elsewhere or unreadable (the reason is logged). */
static char *quarantined_path(const char *quarantine, const char *file)
{
	char *dir = realpath(quarantine, NULL);
	char *path = realpath(file, NULL);
	char *parent = path ? g_path_get_dirname(path) : NULL;
	char *sub = parent ? g_path_get_dirname(parent) : NULL;
	char *base = parent ? g_path_get_basename(parent) : NULL;
	gboolean inside = dir && sub && strcmp(sub, dir) == 0 &&
			  (strcmp(base, "new") == 0 || strcmp(base, "cur") == 0);
	char *inside_path = NULL;

	if (!path)
		log_event(M2T_LOG_ERROR, "cannot read the file", "file", file, "error",
			  g_strerror(errno), NULL);
	else if (!inside)
		log_event(M2T_LOG_ERROR,
			  "not a file of the quarantine (its new/ or cur/): left alone", "file",
			  file, "quarantine", quarantine, NULL);
	free(dir);
	g_free(parent);
	g_free(sub);
	g_free(base);
	if (inside)
		inside_path = g_strdup(path);
	free(path);
	return inside_path;
}

static int reprocess_quarantine(const struct config *config, gboolean dry_run, char **files,
				int n)
{
	struct deliver d = {0};
	GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	guint refused = 0;
	int rc = EX_OK;

	for (int i = 0; i < n; i++) {
		char *path = quarantined_path(config->state.quarantine, files[i]);
		if (path)
			g_ptr_array_add(paths, path);
		else
			rc = EX_NOINPUT;
	}
	if (n == 0) {
		g_ptr_array_unref(paths);
		paths = quarantine_files(config->state.quarantine);
	}
	if (!deliver_open(&d, config, dry_run, &err))
		goto fail;
	d.retry_quarantined = TRUE;
	for (guint i = 0; i < paths->len; i++)
		if (!reprocess_file(&d, g_ptr_array_index(paths, i), &refused, &err))
			goto fail;
	log_event(M2T_LOG_INFO, "reprocess finished", "quarantine", config->state.quarantine, NULL);
	if (refused) {
		log_event(M2T_LOG_WARN, "some mail was refused again and stays in the quarantine",
			  "quarantine", config->state.quarantine, NULL);
		rc = rc == EX_OK ? EX_DATAERR : rc;
	}
	goto out;
fail:
	rc = exit_code_for_error(err);
	log_event(M2T_LOG_ERROR, err->message, "exit",
		  rc == EX_TEMPFAIL ? "75 (run again later)" : NULL, NULL);
	g_error_free(err);
out:
	deliver_close(&d);
	g_ptr_array_unref(paths);
	return rc;
}

/* The failed folder opened as if it were the watched one; each mail moved back there. */
static int reprocess_failed_folder(const struct config *config, const char *name, gboolean dry_run)
{
	const struct mailbox_config *watched = NULL;
	struct mailbox_config failed;
	struct mailbox *mb;
	GArray *list = mailbox_message_array_new();
	GError *err = NULL;
	int rc = EX_OK;

	for (guint i = 0; i < config->mailboxes->len && !watched; i++)
		if (strcmp(((struct mailbox_config *)config->mailboxes->pdata[i])->name, name) == 0)
			watched = config->mailboxes->pdata[i];
	if (!watched || !watched->failed_folder) {
		log_event(M2T_LOG_ERROR,
			  watched ? "this mailbox has no failed folder: its failed mail is in the "
				    "quarantine; run reprocess without --mailbox"
				  : "no such [mailbox NAME] section",
			  "mailbox", name, NULL);
		g_array_unref(list);
		return EX_CONFIG;
	}
	failed = *watched;
	failed.folder = watched->failed_folder;
	mb = mailbox_new(&failed);
	if (!mb->ops->open(mb, &err) || !mb->ops->list(mb, 0, list, &err))
		goto fail;
	for (guint i = 0; i < list->len; i++) {
		struct mailbox_message *msg = &g_array_index(list, struct mailbox_message, i);
		char uid[32];
		g_snprintf(uid, sizeof(uid), "%u", msg->uid);
		if (!dry_run && !mb->ops->move_to(mb, msg, watched->folder, &err))
			goto fail;
		log_event(M2T_LOG_INFO, dry_run ? "would move back" : "moved back", "mailbox", name,
			  "from", watched->failed_folder, "uid", uid, "to", watched->folder, NULL);
	}
	goto out;
fail:
	rc = EX_TEMPFAIL;
	log_event(M2T_LOG_ERROR, err->message, "exit", "75 (run again later)", NULL);
	g_error_free(err);
out:
	mb->ops->close(mb, NULL);
	mailbox_free(mb);
	g_array_unref(list);
	return rc;
}

int cmd_reprocess(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"dry-run", no_argument, NULL, 'n'},
						{"mailbox", required_argument, NULL, 'm'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct config *config;
	const char *mailbox = NULL;
	gboolean dry_run = FALSE;
	GError *err = NULL;
	int rc;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = TRUE;
			break;
		case 'm':
			mailbox = optarg;
			break;
		case 'h':
			reprocess_help();
			return EX_OK;
		default:
			return usage_error(reprocess_usage, NULL);
		}
	}
	if (mailbox && optind != argc)
		return usage_error(reprocess_usage, "--mailbox takes no FILE");
	config = cli_config_load(global_config_path(g), &err);
	if (!config) {
		rc = exit_code_for_error(err);
		log_event(M2T_LOG_ERROR, err->message, NULL);
		g_error_free(err);
		return rc;
	}
	rc = mailbox ? reprocess_failed_folder(config, mailbox, dry_run)
		     : reprocess_quarantine(config, dry_run, argv + optind, argc - optind);
	config_free(config);
	return rc;
}
