/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mbox files as archives. A plain mbox is indexed first, a large one in parts on several
 * threads; a gzipped one cannot be sought in cheaply and is read after the index, in its own
 * order. How each was split into messages that a person should check becomes a note. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "ingest/archive_kind.h"
#include "ingest/mbox.h"

static gboolean starts_with_from(const char *path)
{
	char head[5];
	FILE *f = archive_open_uncompressed(path);
	gboolean mbox = f && fread(head, 1, 5, f) == 5 && memcmp(head, "From ", 5) == 0;

	if (f)
		fclose(f);
	return mbox;
}

static gboolean is_gzipped(const char *path)
{
	guchar magic[2];
	FILE *f = fopen(path, "rb");
	gboolean gz = f && fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;

	if (f)
		fclose(f);
	return gz;
}

/* What the split of an mbox leaves for a person to check, as a note. */
static void note_split(struct archive *a, const char *path, const struct mbox_stats *stats)
{
	char *note;

	if (stats->without_empty_line) {
		note = g_strdup_printf("%s: %u of %u messages began at a separator line without an "
				       "empty line before it (the file's writer leaves none, or a "
				       "message's text holds such a line): check that they were "
				       "split right",
				       path, stats->without_empty_line, stats->messages);
		archive_add_note(a, note);
	}
	if (stats->by_length) {
		note = g_strdup_printf("%s: %u of %u messages were split by their Content-Length "
				       "header (mboxcl)",
				       path, stats->by_length, stats->messages);
		archive_add_note(a, note);
	}
}

/* A large mbox is indexed in parts, one thread each: alone, the index pass was a tenth of an
 * import's time with the other cores idle. */
#define INDEX_PART_BYTES (8 * 1024 * 1024)
#define INDEX_PARTS_MAX 4

/* One message found by a part: where it is and its date as found (G_MININT64: none). */
struct found {
	goffset offset;
	goffset length;
	gint64 date;
};

/* The messages of an mbox whose "From " line lies in [start, end). */
struct index_part {
	const char *path;
	goffset start, end;
	GArray *found; /* of struct found */
	struct mbox_stats stats;
	GError *error;
};

static gpointer index_part_run(gpointer data)
{
	struct index_part *part = data;
	FILE *f = fopen(part->path, "rb");
	GByteArray *headers;
	struct mbox_reader *reader;
	struct found e = {0};

	if (!f) {
		archive_io_error(&part->error, "cannot open", part->path);
		return NULL;
	}
	if (part->start > 0 && fseeko(f, part->start, SEEK_SET) != 0) {
		archive_io_error(&part->error, "cannot read", part->path);
		fclose(f);
		return NULL;
	}
	headers = g_byte_array_new();
	reader = mbox_reader_new_range(f, part->start, part->end);
	while (mbox_reader_next_headers(reader, headers, &e.offset, &e.length, &part->error)) {
		e.date = archive_header_date((const char *)headers->data, headers->len);
		g_array_append_val(part->found, e);
	}
	part->stats = *mbox_reader_stats(reader);
	g_byte_array_unref(headers);
	mbox_reader_free(reader);
	fclose(f);
	return NULL;
}

/* Where each part begins: [0] is 0, the others at a message found near an equal share of size. */
static gboolean split_mbox(const char *path, goffset size, goffset *starts, guint parts,
			   GError **error)
{
	FILE *f = parts > 1 ? fopen(path, "rb") : NULL;
	gboolean ok = TRUE;

	starts[0] = 0;
	if (parts > 1 && !f)
		return archive_io_error(error, "cannot open", path);
	for (guint i = 1; ok && i < parts; i++)
		ok = mbox_find_separator(f, size / parts * i, &starts[i], error);
	if (f)
		fclose(f);
	if (!ok)
		g_prefix_error(error, "%s: ", path);
	return ok;
}

/* Index the mbox in n parts: FALSE with error set on a read error; *overlap when a part's last
 * message runs past where the next part begins (a Content-Length body held a "From " line after
 * an empty line there): then the parts do not fit and nothing was added. */
static gboolean index_in_parts(struct archive *a, guint file, const char *path, guint n,
			       const goffset *starts, gint64 *last, struct mbox_stats *stats,
			       gboolean *overlap, GError **error)
{
	struct index_part parts[INDEX_PARTS_MAX] = {0};
	GThread *threads[INDEX_PARTS_MAX] = {0};
	gboolean ok = TRUE;

	*overlap = FALSE;
	for (guint i = 0; i < n; i++) {
		parts[i] = (struct index_part){.path = path, .start = starts[i],
					       .end = i + 1 < n ? starts[i + 1] : -1};
		parts[i].found = g_array_new(FALSE, FALSE, sizeof(struct found));
		if (i > 0)
			threads[i] = g_thread_new("index", index_part_run, &parts[i]);
	}
	index_part_run(&parts[0]);
	for (guint i = 0; i < n; i++) {
		const struct found *tail;
		if (threads[i])
			g_thread_join(threads[i]);
		if (ok && parts[i].error) {
			g_propagate_error(error, g_steal_pointer(&parts[i].error));
			ok = FALSE;
		}
		tail = parts[i].found->len ? &g_array_index(parts[i].found, struct found,
							    parts[i].found->len - 1)
					   : NULL;
		if (tail && i + 1 < n && tail->offset + tail->length > starts[i + 1])
			*overlap = TRUE;
	}
	for (guint i = 0; i < n; i++) {
		for (guint j = 0; ok && !*overlap && j < parts[i].found->len; j++) {
			const struct found *e = &g_array_index(parts[i].found, struct found, j);
			archive_index_message(a, file, e->offset, e->length, e->date, last);
		}
		stats->messages += parts[i].stats.messages;
		stats->without_empty_line += parts[i].stats.without_empty_line;
		stats->by_length += parts[i].stats.by_length;
		g_clear_error(&parts[i].error);
		g_array_unref(parts[i].found);
	}
	return ok;
}

/* How long the index waits for a program that writes to the mbox to let go of it. */
#define WRITER_WAIT_US (30 * G_USEC_PER_SEC)

/* A read lock on all of path, held by the descriptor returned (-1 with error set when path
 * cannot be opened, or another program kept it locked WRITER_WAIT_US): mail delivery agents
 * (Postfix's local, Dovecot, procmail) and mail clients hold an fcntl write lock on an mbox while
 * they write to it, so the index of a live mbox never takes half a mail being delivered for a
 * whole one. An open file description lock: the index's threads open and close the file, which
 * would drop a lock of the process. Where the file system has no locks, none is taken. */
static int lock_for_reading(const char *path, GError **error)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	gint64 deadline = g_get_monotonic_time() + WRITER_WAIT_US;
	gulong pause = 10000;

	if (fd < 0) {
		archive_io_error(error, "cannot read", path);
		return -1;
	}
	while (fcntl(fd, F_OFD_SETLK, &fl) != 0 && (errno == EAGAIN || errno == EACCES)) {
		if (g_get_monotonic_time() >= deadline) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
				    "%s is locked by a program that writes to it (a mail delivery, "
				    "a mail client) and was not let go within %d s",
				    path, (int)(WRITER_WAIT_US / G_USEC_PER_SEC));
			close(fd);
			return -1;
		}
		g_usleep(pause);
		pause = MIN(pause * 2, 200000);
	}
	return fd;
}

static gboolean index_whole(struct archive *a, guint file, const char *path, gint64 *last,
			    GError **error)
{
	struct mbox_stats stats = {0};
	goffset starts[INDEX_PARTS_MAX];
	gboolean overlap;
	GStatBuf st;
	guint n;

	if (g_stat(path, &st) != 0)
		return archive_io_error(error, "cannot read", path);
	n = CLAMP(st.st_size / INDEX_PART_BYTES, 1,
		  MIN((guint)g_get_num_processors(), INDEX_PARTS_MAX));
	if (!split_mbox(path, st.st_size, starts, n, error) ||
	    !index_in_parts(a, file, path, n, starts, last, &stats, &overlap, error))
		return FALSE;
	if (overlap) {
		stats = (struct mbox_stats){0};
		if (!index_in_parts(a, file, path, 1, starts, last, &stats, &overlap, error))
			return FALSE;
	}
	note_split(a, path, &stats);
	return TRUE;
}

static gboolean mbox_index(struct archive *a, guint file, const char *path, gint64 *last,
			   GError **error)
{
	int lock = lock_for_reading(path, error);
	gboolean ok;

	if (lock < 0)
		return FALSE;
	ok = index_whole(a, file, path, last, error);
	close(lock);
	return ok;
}

static gboolean mbox_detect(const char *path, gboolean searched)
{
	(void)searched;
	return starts_with_from(path);
}

const struct archive_kind mbox_kind = {
    .name = "mbox",
    .detect = mbox_detect,
    .index = mbox_index,
    /* An entry read whole at its offset: its "From " line, the message, the empty line
     * after; the next entry's "From " line follows it. */
    .read_range = mbox_message_from_entry,
    .range_start = "From ",
};

/* A gzipped mbox read from start to end. */
struct mbox_stream {
	struct source base;
	struct archive *archive; /* told the notes on the split once the file is read */
	char *path;
	FILE *file;
	struct mbox_reader *reader;
};

static gboolean mbox_stream_next(struct source *src, struct source_message *out, GError **error)
{
	struct mbox_stream *s = (struct mbox_stream *)src;
	goffset offset;

	if (!mbox_reader_next(s->reader, &out->raw, &offset, error))
		return FALSE;
	out->location = g_strdup_printf("%s@%" G_GOFFSET_FORMAT, s->path, offset);
	return TRUE;
}

static void mbox_stream_close(struct source *src)
{
	struct mbox_stream *s = (struct mbox_stream *)src;

	note_split(s->archive, s->path, mbox_reader_stats(s->reader));
	mbox_reader_free(s->reader);
	fclose(s->file);
	g_free(s->path);
	g_free(s);
}

static const struct source_ops mbox_stream_ops = {
    .kind = "gzipped mbox",
    .next = mbox_stream_next,
    .close = mbox_stream_close,
};

static struct source *mbox_stream_open(struct archive *a, const char *path, GError **error)
{
	FILE *file = archive_open_uncompressed(path);
	struct mbox_stream *s;

	if (!file) {
		archive_io_error(error, "cannot open", path);
		return NULL;
	}
	s = g_new0(struct mbox_stream, 1);
	s->base.ops = &mbox_stream_ops;
	s->archive = a;
	s->path = g_strdup(path);
	s->file = file;
	s->reader = mbox_reader_new(file);
	return &s->base;
}

static gboolean gzipped_mbox_detect(const char *path, gboolean searched)
{
	(void)searched;
	return starts_with_from(path) && is_gzipped(path);
}

const struct archive_kind gzipped_mbox_kind = {
    .name = "gzipped mbox",
    .detect = gzipped_mbox_detect,
    .stream = mbox_stream_open,
};
