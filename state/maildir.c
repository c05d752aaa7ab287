/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A mail stored whole in a Maildir, for the quarantine and pipe's spool (maildir.h). */
#include "state/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean file_error(const char *what, const char *path, GError **error)
{
	int e = errno;

	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s %s: %s", what, path,
		    g_strerror(e));
	return FALSE;
}

static gboolean write_all(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

static gboolean sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	gboolean ok;

	if (fd < 0)
		return FALSE;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

char *maildir_store(const char *dir, const struct envelope *envelope, const char *raw, gsize len,
		    GError **error)
{
	static const char *const subdirs[] = {"tmp", "new", "cur"};
	gint64 now = g_get_real_time();
	/* Seconds and zero-padded microseconds first, so that sorting the names sorts by arrival
	 * (the spool is delivered in that order). */
	char *name = g_strdup_printf("%" G_GINT64_FORMAT ".M%06dP%dR%08x.%s", now / G_USEC_PER_SEC,
				     (int)(now % G_USEC_PER_SEC), (int)getpid(), g_random_int(),
				     g_get_host_name());
	char *tmp = g_build_filename(dir, "tmp", name, NULL);
	char *final = g_build_filename(dir, "new", name, NULL);
	char *newdir = g_build_filename(dir, "new", NULL);
	char *head = envelope_to_head(envelope);
	GBytes *cleaned = envelope_remove_forged(raw, len);
	int fd = -1;
	gboolean ok = FALSE;

	for (gsize i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *sub = g_build_filename(dir, subdirs[i], NULL);
		int rc = g_mkdir_with_parents(sub, 0700);
		if (rc != 0)
			file_error("cannot create", sub, error);
		g_free(sub);
		if (rc != 0)
			goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		file_error("cannot create", tmp, error);
		goto out;
	}
	if (cleaned)
		raw = g_bytes_get_data(cleaned, &len);
	if (!write_all(fd, head, strlen(head)) || !write_all(fd, raw, len) ||
	    fsync(fd) != 0) {
		file_error("cannot write", tmp, error);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		file_error("cannot write", tmp, error);
		goto out;
	}
	fd = -1;
	if (rename(tmp, final) != 0 || !sync_dir(newdir)) {
		file_error("cannot move into place", final, error);
		goto out;
	}
	ok = TRUE;
out:
	if (fd >= 0)
		close(fd);
	if (!ok)
		unlink(tmp);
	g_free(tmp);
	g_free(newdir);
	g_free(name);
	g_free(head);
	if (cleaned)
		g_bytes_unref(cleaned);
	if (!ok) {
		g_free(final);
		return NULL;
	}
	return final;
}
