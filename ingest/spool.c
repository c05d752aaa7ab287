/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pipe's spool read back as a mailbox: a Maildir on local disk that `pipe` fills (spool = DIR)
 * and `poll` empties. Each file is the mail as the MTA handed it over, after one header line
 * that keeps the envelope. inotify stands in for IDLE. */
#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/mailbox.h"
#include "ingest/mailbox_driver.h"

struct spool_mailbox {
	struct mailbox base;
	char *new_dir;
	GHashTable *listed; /* the names the last list() saw */
	int inotify;
};

static gboolean spool_fail(struct spool_mailbox *m, const char *what, const char *path,
			   GError **error)
{
	int e = errno;

	g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_CONNECT, "spool %s: %s %s: %s",
		    m->base.config->folder, what, path, g_strerror(e));
	return FALSE;
}

/* A file in tmp/ is a pipe that died before it said "delivered" to the MTA, which delivers the
 * mail again; Maildir's rule is to remove such files after 36 hours. */
static void remove_stale_tmp(const char *folder)
{
	char *tmp = g_build_filename(folder, "tmp", NULL);
	GDir *dir = g_dir_open(tmp, 0, NULL);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		char *path = g_build_filename(tmp, name, NULL);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > 36 * 3600)
			unlink(path);
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
	g_free(tmp);
}

static gboolean spool_open(struct mailbox *mb, GError **error)
{
	struct spool_mailbox *m = (struct spool_mailbox *)mb;
	static const char *const subdirs[] = {"tmp", "new", "cur"};

	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *sub = g_build_filename(mb->config->folder, subdirs[i], NULL);
		gboolean ok = g_mkdir_with_parents(sub, 0700) == 0;
		if (!ok)
			spool_fail(m, "cannot create", sub, error);
		g_free(sub);
		if (!ok)
			return FALSE;
	}
	remove_stale_tmp(mb->config->folder);
	mb->connected = TRUE;
	return TRUE;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in new/, sorted: Maildir names begin with the time, so this is arrival order. */
static GPtrArray *names_in_new(struct spool_mailbox *m, GError **error)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	GDir *dir = g_dir_open(m->new_dir, 0, &err);
	const char *name;

	if (!dir) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_CONNECT, "spool %s: %s",
			    m->base.config->folder, err->message);
		g_error_free(err);
		g_ptr_array_unref(names);
		return NULL;
	}
	while ((name = g_dir_read_name(dir)))
		if (name[0] != '.')
			g_ptr_array_add(names, g_strdup(name));
	g_dir_close(dir);
	g_ptr_array_sort(names, compare_names);
	return names;
}

static gboolean spool_list(struct mailbox *mb, guint32 above_uid, GArray *out, GError **error)
{
	struct spool_mailbox *m = (struct spool_mailbox *)mb;
	GPtrArray *names = names_in_new(m, error);

	(void)above_uid;
	if (!names)
		return FALSE;
	g_hash_table_remove_all(m->listed);
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		char *path = g_build_filename(m->new_dir, name, NULL);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			struct mailbox_message msg = {.id = g_strdup(name), .size = st.st_size};
			g_array_append_val(out, msg);
			g_hash_table_add(m->listed, g_strdup(name));
		}
		g_free(path);
	}
	g_ptr_array_unref(names);
	return TRUE;
}

static gboolean spool_fetch(struct mailbox *mb, struct mailbox_message *msg, GBytes **raw,
			    GError **error)
{
	struct spool_mailbox *m = (struct spool_mailbox *)mb;
	char *path = g_build_filename(m->new_dir, msg->id, NULL);
	GError *err = NULL;
	char *data;
	gsize len, head;

	if (!g_file_get_contents(path, &data, &len, &err)) {
		/* Gone since it was listed: taken by another poll. Unreadable (permissions, I/O):
		 * the spool cannot be read, so it backs off like a lost server and says why. */
		g_set_error(error, MAILBOX_ERROR,
			    g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)
				? MAILBOX_ERROR_REFUSED
				: MAILBOX_ERROR_CONNECT,
			    "spool %s: %s", mb->config->folder, err->message);
		g_error_free(err);
		g_free(path);
		return FALSE;
	}
	g_free(path);
	head = envelope_from_head(data, len, &msg->envelope);
	/* Without a head line pipe had no envelope: not the spool's own name as its mailbox. */
	msg->has_envelope = TRUE;
	*raw = g_bytes_new_with_free_func(data + head, len - head, g_free, data);
	return TRUE;
}

/* Removed only now, after the journal has the desk's answer; a crash before this leaves the file,
 * and the journal then knows it was handled. */
static gboolean spool_acknowledge(struct mailbox *mb, const struct mailbox_message *msg,
				  GError **error)
{
	struct spool_mailbox *m = (struct spool_mailbox *)mb;
	char *path = g_build_filename(m->new_dir, msg->id, NULL);
	gboolean ok = unlink(path) == 0 || errno == ENOENT;

	if (!ok)
		spool_fail(m, "cannot remove", path, error);
	g_free(path);
	return ok;
}

static gboolean spool_idle_start(struct mailbox *mb, int *fd, gboolean *ready, GError **error)
{
	struct spool_mailbox *m = (struct spool_mailbox *)mb;
	GPtrArray *names;

	*fd = -1;
	*ready = FALSE;
	m->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->inotify < 0)
		return spool_fail(m, "cannot watch", m->new_dir, error);
	if (inotify_add_watch(m->inotify, m->new_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		spool_fail(m, "cannot watch", m->new_dir, error);
		close(m->inotify);
		m->inotify = -1;
		return FALSE;
	}
	*fd = m->inotify;
	/* A file that arrived between the last list and the watch would wait for the interval. */
	names = names_in_new(m, NULL);
	for (guint i = 0; names && i < names->len && !*ready; i++)
		*ready = !g_hash_table_contains(m->listed, g_ptr_array_index(names, i));
	if (names)
		g_ptr_array_unref(names);
	return TRUE;
}

static gboolean spool_idle_done(struct mailbox *mb, GError **error)
{
	struct spool_mailbox *m = (struct spool_mailbox *)mb;

	(void)error;
	if (m->inotify >= 0)
		close(m->inotify);
	m->inotify = -1;
	return TRUE;
}

static gboolean spool_close(struct mailbox *mb, GError **error)
{
	spool_idle_done(mb, error);
	mb->connected = FALSE;
	return TRUE;
}

static void spool_free(struct mailbox *mb)
{
	struct spool_mailbox *m = (struct spool_mailbox *)mb;

	spool_close(mb, NULL);
	g_hash_table_unref(m->listed);
	g_free(m->new_dir);
	g_free(m);
}

static const struct mailbox_ops spool_ops = {
    .open = spool_open,
    .list = spool_list,
    .fetch = spool_fetch,
    .acknowledge = spool_acknowledge,
    .move_to = NULL,
    .idle_start = spool_idle_start,
    .idle_done = spool_idle_done,
    .close = spool_close,
    .free = spool_free,
};

static struct mailbox *spool_mailbox_new(const struct mailbox_config *config)
{
	struct spool_mailbox *m = g_new0(struct spool_mailbox, 1);

	m->base.ops = &spool_ops;
	m->base.config = config;
	m->new_dir = g_build_filename(config->folder, "new", NULL);
	m->listed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	m->inotify = -1;
	return &m->base;
}

/* Made by the config loader from [pipe] spool, never named by a [mailbox] url. */
const struct mailbox_driver spool_driver = {
    .name = "spool",
    .item_name = "file",
    .features = MAILBOX_IS_LOCAL,
    .after = "delete",
    .mailbox_new = spool_mailbox_new,
};
