/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail archives as sources (archive.h): the files found, indexed, then read one by one. */
#include "ingest/archive.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <zlib.h>

#include <gmime/gmime.h>

#include "ingest/archive_kind.h"

/* Every kind of archive, one line each, in the order they are asked: a folder is searched when
 * no folder kind claims it, and a file that no other kind claims is one message (eml). A line
 * both declares the kind, defined in its ingest/archive_*.c, and puts it in archive_kinds[]. */
#define ARCHIVE_KINDS(KIND)   \
	KIND(maildir)         \
	KIND(gzipped_mbox)    \
	KIND(mbox)            \
	KIND(eml)

#define DECLARE_KIND(name) extern const struct archive_kind name##_kind;
ARCHIVE_KINDS(DECLARE_KIND)
#define LIST_KIND(name) &name##_kind,
static const struct archive_kind *const archive_kinds[] = {ARCHIVE_KINDS(LIST_KIND) NULL};

/* One message of the archive, found by the first pass. */
struct entry {
	guint file;	/* index into paths */
	goffset offset; /* where its kind's range begins; -1: the whole file */
	goffset length; /* of the range */
	gint64 date;	/* Unix time from its Date header (a missing one takes the last seen) */
	guint seq;	/* place in the archive, so that equal dates keep their order */
};

/* A file as the index found it: read on only while it stays so, or its ranges still fit. */
struct file_stamp {
	goffset size;
	gint64 mtime_ns;
	guint64 inode;
};

/* A file found, until it is indexed. */
struct found_file {
	char *path;
	const struct archive_kind *folder; /* the folder kind that found it, or NULL */
};

/* A file the index refers to. */
struct indexed_file {
	char *path;			   /* where it is now (a folder kind may find it moved) */
	const struct archive_kind *kind;   /* its file kind */
	const struct archive_kind *folder; /* the folder kind that found it, or NULL */
	struct file_stamp stamp;	   /* as it was when it was indexed */
};

/* A file read after the index, in its own order. */
struct streamed {
	char *path;
	const struct archive_kind *kind;
};

/* An archive is read in two passes: the first indexes every message's place and date, the second
 * delivers them in date order, so a thread's first mail opens the ticket its answers then join,
 * whatever order the archive keeps them in. Only the index (a few bytes a message) is held, not
 * the mail. A file that cannot be sought in cheaply is read afterwards, in its own order. */
struct archive {
	struct source base;
	GQueue *files;	   /* of struct found_file *, until indexed */
	const struct archive_kind *collecting; /* the folder kind whose files are being found */
	GArray *indexed;   /* of struct indexed_file: the files the index refers to */
	GHashTable *moved; /* the folder kinds' notes for find_moved(), or NULL */
	GArray *entries;   /* of struct entry, in delivery order */
	guint next;	   /* the next entry to deliver */
	FILE *current;	   /* the file the last range came from, kept open */
	guint current_file;
	GPtrArray *streamed; /* of struct streamed *, read in their order after the index */
	guint next_streamed; /* the next of them to open */
	guint streams_read; /* how many of them were read to their end (the first ones) */
	struct source *stream; /* the streamed file being read, or NULL */
	gboolean quiet;	   /* notes are not taken: a file read again, or not to its end */
	guint64 position;  /* the place in delivery order of the next message delivered */
	GPtrArray *notes;  /* of char *: what a reader should know about how files were split */
};

gboolean archive_io_error(GError **error, const char *what, const char *path)
{
	int e = errno;

	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s %s: %s", what, path,
		    g_strerror(e));
	return FALSE;
}

/* zlib reads gzip files and, unchanged, plain ones: every archive file goes through it, so a
 * ".mbox.gz" from a Google export is read like any mbox, a block at a time. */
static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
	int n = gzread(cookie, buf, size > G_MAXINT ? G_MAXINT : (unsigned)size);

	return n < 0 ? -1 : n;
}

static int gz_close(void *cookie)
{
	return gzclose(cookie) == Z_OK ? 0 : -1;
}

FILE *archive_open_uncompressed(const char *path)
{
	static const cookie_io_functions_t gz_io = {.read = gz_read, .close = gz_close};
	gzFile gz = gzopen(path, "rb");
	FILE *f;

	if (!gz)
		return NULL;
	gzbuffer(gz, 128 * 1024);
	f = fopencookie(gz, "r", gz_io);
	if (!f)
		gzclose(gz);
	return f;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *archive_sorted_entries(const char *dir, gboolean hidden, GError **error)
{
	GDir *d = g_dir_open(dir, 0, error);
	GPtrArray *names;
	const char *name;

	if (!d)
		return NULL;
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(d)))
		if (hidden || name[0] != '.')
			g_ptr_array_add(names, g_build_filename(dir, name, NULL));
	g_dir_close(d);
	g_ptr_array_sort(names, compare_names);
	return names;
}

void archive_add_file(struct archive *a, const char *path)
{
	struct found_file *f = g_new(struct found_file, 1);

	f->path = g_strdup(path);
	f->folder = a->collecting;
	g_queue_push_tail(a->files, f);
}

static void found_file_free(struct found_file *f)
{
	g_free(f->path);
	g_free(f);
}

/* Where the message of path, a file folder found that is not there any more, is now (newly
 * allocated), or NULL: a mail client moves a Maildir's messages while the archive is read (new
 * mail to cur/, flags in the name), and the import goes on with them. */
static char *find_moved(struct archive *a, const struct archive_kind *folder, const char *path)
{
	if (!folder || !folder->find_moved || g_access(path, F_OK) == 0 || errno != ENOENT)
		return NULL;
	return folder->find_moved(&a->moved, path);
}

static struct indexed_file *indexed_file(struct archive *a, guint file)
{
	return &g_array_index(a->indexed, struct indexed_file, file);
}

/* How many moves of a file one open or index of it follows: a mail client may rename a message
 * again while it is being opened (seen, then flagged). */
#define MOVES_FOLLOWED 8

/* Whether the archive's file, not at its path, was moved by a mail client: then its path is
 * where it is now. */
static gboolean follow_move(struct archive *a, guint file)
{
	struct indexed_file *f = indexed_file(a, file);
	char *moved = find_moved(a, f->folder, f->path);

	if (!moved)
		return FALSE;
	g_free(f->path);
	f->path = moved;
	return TRUE;
}

static FILE *open_plain(const char *path)
{
	return fopen(path, "rb");
}

/* The archive's file opened with open, where it is now; NULL with errno set. */
static FILE *open_file(struct archive *a, guint file, FILE *(*open)(const char *path))
{
	for (guint moves = 0; moves <= MOVES_FOLLOWED; moves++) {
		FILE *stream = open(indexed_file(a, file)->path);
		if (stream || errno != ENOENT)
			return stream;
		if (!follow_move(a, file))
			break;
	}
	errno = ENOENT;
	return NULL;
}

/* The archive's file indexed by its kind, where it is now. */
static gboolean index_file(struct archive *a, guint file, gint64 *last, GError **error)
{
	GError *err = NULL;

	for (guint moves = 0; moves <= MOVES_FOLLOWED; moves++) {
		const struct indexed_file *f = indexed_file(a, file);
		if (f->kind->index(a, file, f->path, last, &err))
			return TRUE;
		if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
		    !follow_move(a, file))
			break;
		g_clear_error(&err);
	}
	g_propagate_error(error, err);
	return FALSE;
}

static void indexed_file_clear(gpointer data)
{
	g_free(((struct indexed_file *)data)->path);
}

void archive_add_note(struct archive *a, char *note)
{
	if (a->quiet)
		g_free(note);
	else
		g_ptr_array_add(a->notes, note);
}

/* The first kind that claims path: a folder kind for a folder, a file kind for a file. NULL
 * when none does. */
static const struct archive_kind *kind_of(const char *path, gboolean folder, gboolean searched)
{
	for (gsize i = 0; archive_kinds[i]; i++)
		if ((archive_kinds[i]->collect != NULL) == folder &&
		    archive_kinds[i]->detect(path, searched))
			return archive_kinds[i];
	return NULL;
}

/* Queue the files of path: a folder kind's messages, a folder's contents (searched), or the
 * file. */
static gboolean collect(struct archive *a, const char *path, gboolean searched, GError **error)
{
	const struct archive_kind *kind;
	GPtrArray *entries;
	gboolean ok = TRUE;

	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		errno = ENOENT;
		return archive_io_error(error, "cannot read", path);
	}
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		if (kind_of(path, FALSE, searched))
			archive_add_file(a, path);
		return TRUE;
	}
	kind = kind_of(path, TRUE, searched);
	if (kind) {
		a->collecting = kind;
		ok = kind->collect(a, path, error);
		a->collecting = NULL;
		return ok;
	}
	entries = archive_sorted_entries(path, FALSE, error);
	if (!entries)
		return FALSE;
	for (guint i = 0; ok && i < entries->len; i++)
		ok = collect(a, g_ptr_array_index(entries, i), TRUE, error);
	g_ptr_array_unref(entries);
	return ok;
}

/* One message in a file of its own (possibly gzipped). Takes path. */
/* What f holds, as one message from path (taken). */
static gboolean read_whole_file(FILE *f, char *path, struct source_message *out,
				GError **error)
{
	GByteArray *buf = g_byte_array_new();
	char chunk[64 * 1024];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		g_byte_array_append(buf, (const guint8 *)chunk, n);
	if (ferror(f)) {
		archive_io_error(error, "cannot read", path);
		fclose(f);
		g_byte_array_unref(buf);
		g_free(path);
		return FALSE;
	}
	fclose(f);
	out->raw = g_byte_array_free_to_bytes(buf);
	out->location = path;
	return TRUE;
}

gint64 archive_header_date(const char *data, gsize len)
{
	const char *end = data + len;
	GString *value = NULL;
	gint64 when = G_MININT64;

	for (const char *line = data; line < end;) {
		const char *nl = memchr(line, '\n', end - line);
		gsize n = (nl ? nl : end) - line;
		if (n == 0 || (n == 1 && line[0] == '\r'))
			break; /* the end of the headers */
		if (value && (line[0] == ' ' || line[0] == '\t'))
			g_string_append_len(value, line, n);
		else if (value)
			break;
		else if (n > 5 && g_ascii_strncasecmp(line, "Date:", 5) == 0)
			value = g_string_new_len(line + 5, n - 5);
		line = nl ? nl + 1 : end;
	}
	if (value) {
		GDateTime *dt = g_mime_utils_header_decode_date(value->str);
		if (dt) {
			when = g_date_time_to_unix(dt);
			g_date_time_unref(dt);
		}
		g_string_free(value, TRUE);
	}
	return when;
}

void archive_index_message(struct archive *a, guint file, goffset offset, goffset length,
			   gint64 date, gint64 *last)
{
	struct entry e = {.file = file, .offset = offset, .length = length, .seq = a->entries->len};

	e.date = date != G_MININT64 ? date : *last;
	*last = e.date;
	g_array_append_val(a->entries, e);
}

static gint compare_entries(gconstpointer pa, gconstpointer pb)
{
	const struct entry *x = pa, *y = pb;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct file_stamp stamp_of(const GStatBuf *st)
{
	return (struct file_stamp){.size = st->st_size,
				   .mtime_ns = (gint64)st->st_mtim.tv_sec * 1000000000 +
					       st->st_mtim.tv_nsec,
				   .inode = st->st_ino};
}

static gboolean build_index(struct archive *a, GError **error)
{
	gint64 last = G_MININT64;
	struct found_file *f;
	GStatBuf st;

	while ((f = g_queue_pop_head(a->files))) {
		char *path = find_moved(a, f->folder, f->path);
		const struct archive_kind *kind;

		if (path)
			g_free(f->path);
		else
			path = f->path;
		/* A file named by the user is always read: the last file kind takes any. */
		kind = kind_of(path, FALSE, FALSE);
		if (kind->stream) {
			struct streamed *s = g_new(struct streamed, 1);
			s->path = path;
			s->kind = kind;
			g_ptr_array_add(a->streamed, s);
			g_free(f);
			continue;
		}
		/* Before the index: a change while it reads counts as a change after it. */
		if (g_stat(path, &st) != 0)
			memset(&st, 0, sizeof(st));
		g_array_append_vals(a->indexed,
				    &(struct indexed_file){.path = path, .kind = kind,
							   .folder = f->folder,
							   .stamp = stamp_of(&st)},
				    1);
		g_free(f);
		if (!index_file(a, a->indexed->len - 1, &last, error))
			return FALSE;
	}
	g_array_sort(a->entries, compare_entries);
	return TRUE;
}

/* What is read after a range to see that the next one begins there: one line end (a writer
 * that appends mail may put an empty line first), then the kind's range start. */
#define RANGE_FOLLOW(kind) (2 + strlen((kind)->range_start))

/* Whether the range of e, read with what follows it into bytes, holds the message the index
 * found there: it begins with the kind's range start, and when the file changed since the index
 * (checked after the read), the next range's start follows it (after at most one line end), or
 * the end of the file. */
static gboolean range_fits(struct archive *a, const struct entry *e, const GByteArray *bytes)
{
	const struct archive_kind *kind = indexed_file(a, e->file)->kind;
	const struct file_stamp *then = &indexed_file(a, e->file)->stamp;
	gsize start = strlen(kind->range_start);
	const guint8 *follow = bytes->data + e->length;
	gsize left = bytes->len - (gsize)e->length;
	struct file_stamp now;
	GStatBuf st;

	if ((gsize)e->length < start || memcmp(bytes->data, kind->range_start, start) != 0)
		return FALSE;
	if (fstat(fileno(a->current), &st) != 0)
		return FALSE;
	now = stamp_of(&st);
	if (now.size == then->size && now.mtime_ns == then->mtime_ns && now.inode == then->inode)
		return TRUE;
	if (left >= 2 && follow[0] == '\r' && follow[1] == '\n') {
		follow += 2;
		left -= 2;
	} else if (left >= 1 && follow[0] == '\n') {
		follow++;
		left--;
	}
	/* Fewer bytes than asked for: the file ends there. */
	return left == 0 || (left >= start && memcmp(follow, kind->range_start, start) == 0);
}

/* A range is read whole at its offset, in one read and one buffer. */
static gboolean read_entry(struct archive *a, const struct entry *e, struct source_message *out,
			   GError **error)
{
	const struct archive_kind *kind = indexed_file(a, e->file)->kind;
	gsize with_next = e->offset < 0 ? 0 : (gsize)e->length + RANGE_FOLLOW(kind);
	const char *path;
	GByteArray *entry;
	gsize n;

	if (e->offset < 0) {
		FILE *f = open_file(a, e->file, archive_open_uncompressed);
		path = indexed_file(a, e->file)->path;
		return f ? read_whole_file(f, g_strdup(path), out, error)
			 : archive_io_error(error, "cannot open", path);
	}
	if (!a->current || a->current_file != e->file) {
		if (a->current)
			fclose(a->current);
		a->current = open_file(a, e->file, open_plain);
		a->current_file = e->file;
		if (!a->current)
			return archive_io_error(error, "cannot open",
						indexed_file(a, e->file)->path);
	}
	path = indexed_file(a, e->file)->path;
	if (fseeko(a->current, e->offset, SEEK_SET) != 0)
		return archive_io_error(error, "cannot read", path);
	entry = g_byte_array_sized_new(with_next);
	g_byte_array_set_size(entry, with_next);
	n = fread(entry->data, 1, with_next, a->current);
	if (n < with_next && ferror(a->current)) {
		g_byte_array_unref(entry);
		return archive_io_error(error, "cannot read", path);
	}
	g_byte_array_set_size(entry, n);
	if (n < (gsize)e->length || !range_fits(a, e, entry)) {
		g_byte_array_unref(entry);
		entry = NULL;
	} else {
		g_byte_array_set_size(entry, e->length);
	}
	out->raw = entry ? kind->read_range(entry) : NULL;
	if (!out->raw) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s changed while it was read: no message at byte %" G_GOFFSET_FORMAT,
			    path, e->offset);
		return FALSE;
	}
	out->location = g_strdup_printf("%s@%" G_GOFFSET_FORMAT, path, e->offset);
	return TRUE;
}

static void streamed_free(struct streamed *s)
{
	g_free(s->path);
	g_free(s);
}

/* The streamed file being read is let go, which gives its notes on how it was split: they are
 * taken when it was read to its end for the first time (read_whole). */
static void close_stream(struct archive *a, gboolean read_whole)
{
	a->quiet = !read_whole || a->next_streamed <= a->streams_read;
	source_close(a->stream);
	a->stream = NULL;
	a->quiet = FALSE;
	if (read_whole)
		a->streams_read = MAX(a->streams_read, a->next_streamed);
}

static gboolean next_message(struct archive *a, struct source_message *out, GError **error)
{
	const struct entry *e;

	if (a->next < a->entries->len) {
		e = &g_array_index(a->entries, struct entry, a->next++);
		return read_entry(a, e, out, error);
	}
	for (;;) {
		struct streamed *s;
		if (a->stream) {
			GError *err = NULL;
			if (source_next(a->stream, out, &err))
				return TRUE;
			close_stream(a, err == NULL);
			if (err) {
				g_propagate_error(error, err);
				return FALSE;
			}
		}
		if (a->next_streamed == a->streamed->len)
			return FALSE;
		s = g_ptr_array_index(a->streamed, a->next_streamed);
		a->stream = s->kind->stream(a, s->path, error);
		a->next_streamed++;
		if (!a->stream)
			return FALSE;
	}
}

static gboolean archive_next(struct source *src, struct source_message *out, GError **error)
{
	struct archive *a = (struct archive *)src;

	if (!next_message(a, out, error))
		return FALSE;
	a->position++;
	return TRUE;
}

/* One file's part of the fingerprint: its path, size and modification time. */
static void fingerprint_file(GChecksum *sum, const char *prefix, const char *path)
{
	GStatBuf st;
	char *stamp;

	if (g_stat(path, &st) != 0)
		memset(&st, 0, sizeof(st));
	stamp = g_strdup_printf("%s%s\n%lld\n%lld\n", prefix, path, (long long)st.st_size,
				(long long)st.st_mtime);
	g_checksum_update(sum, (const guchar *)stamp, -1);
	g_free(stamp);
}

char *archive_fingerprint(struct source *src)
{
	struct archive *a = (struct archive *)src;
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	char *count;
	char *hex;

	for (guint i = 0; i < a->indexed->len; i++)
		fingerprint_file(sum, "", indexed_file(a, i)->path);
	for (guint i = 0; i < a->streamed->len; i++) {
		const struct streamed *s = g_ptr_array_index(a->streamed, i);
		fingerprint_file(sum, "gz ", s->path);
	}
	count = g_strdup_printf("%u", a->entries->len);
	g_checksum_update(sum, (const guchar *)count, -1);
	g_free(count);
	hex = g_strdup(g_checksum_get_string(sum));
	g_checksum_free(sum);
	return hex;
}

const GPtrArray *archive_notes(struct source *src)
{
	return ((struct archive *)src)->notes;
}

void archive_skip(struct source *src, guint64 n)
{
	struct archive *a = (struct archive *)src;
	guint64 indexed = MIN(n, (guint64)(a->entries->len - a->next));
	struct source_message msg = {0};

	a->next += indexed;
	a->position += indexed;
	/* A streamed file cannot be sought in: what it holds is read and let go. */
	for (n -= indexed; n > 0 && archive_next(src, &msg, NULL); n--)
		source_message_clear(&msg);
}

gboolean archive_seek(struct source *src, guint64 place, GError **error)
{
	struct archive *a = (struct archive *)src;
	struct source_message msg = {0};
	GError *err = NULL;

	if (place < a->position) {
		/* Back: the streamed files are read again from the first. */
		close_stream(a, FALSE);
		a->next_streamed = 0;
		a->position = 0;
	}
	if (a->position < a->entries->len) {
		a->next = MIN(place, (guint64)a->entries->len);
		a->position = a->next;
	}
	while (a->position < place) {
		if (!archive_next(src, &msg, &err)) {
			if (!err)
				g_set_error(&err, G_IO_ERROR, G_IO_ERROR_FAILED,
					    "the archive has %" G_GUINT64_FORMAT " messages, not "
					    "the %" G_GUINT64_FORMAT " or more its plan names",
					    a->position, place + 1);
			g_propagate_error(error, err);
			return FALSE;
		}
		source_message_clear(&msg);
	}
	return TRUE;
}

static void archive_close(struct source *src)
{
	struct archive *a = (struct archive *)src;

	close_stream(a, FALSE);
	if (a->current)
		fclose(a->current);
	g_queue_free_full(a->files, (GDestroyNotify)found_file_free);
	g_ptr_array_unref(a->streamed);
	g_array_unref(a->indexed);
	if (a->moved)
		g_hash_table_unref(a->moved);
	g_array_unref(a->entries);
	g_ptr_array_unref(a->notes);
	g_free(a);
}

static const struct source_ops archive_ops = {
    .kind = "archive",
    .next = archive_next,
    .close = archive_close,
};

struct source *archive_open(const char *path, GError **error)
{
	struct archive *a = g_new0(struct archive, 1);

	a->base.ops = &archive_ops;
	a->files = g_queue_new();
	a->streamed = g_ptr_array_new_with_free_func((GDestroyNotify)streamed_free);
	a->indexed = g_array_new(FALSE, FALSE, sizeof(struct indexed_file));
	g_array_set_clear_func(a->indexed, indexed_file_clear);
	a->entries = g_array_new(FALSE, FALSE, sizeof(struct entry));
	a->notes = g_ptr_array_new_with_free_func(g_free);
	if (!collect(a, path, FALSE, error) || !build_index(a, error)) {
		archive_close(&a->base);
		return NULL;
	}
	return &a->base;
}
