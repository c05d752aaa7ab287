#include "ingest/archive.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <zlib.h>

#include <gmime/gmime.h>

#include "ingest/mbox.h"

/* One message of the archive, found by the first pass. */
struct entry {
	guint file;	/* index into paths */
	goffset offset; /* of its "From " line in an mbox; -1: the whole file */
	goffset length; /* in an mbox, the bytes up to the next "From " line or the end */
	gint64 date;	/* Unix time from its Date header (a missing one takes the last seen) */
	guint seq;	/* place in the archive, so that equal dates keep their order */
};

/* An archive is read in two passes: the first indexes every message's place and date, the second
 * delivers them in date order, so a thread's first mail opens the ticket its answers then join,
 * whatever order the archive keeps them in. Only the index (a few bytes a message) is held, not
 * the mail. A gzipped mbox cannot be sought in cheaply: it is read afterwards, in its own order. */
struct archive {
	struct source base;
	GQueue *files;	   /* of char *: the paths found, until indexed */
	GPtrArray *paths;  /* of char *: the files the index refers to */
	GArray *entries;   /* of struct entry, in delivery order */
	guint next;	   /* the next entry to deliver */
	FILE *current;	   /* the mbox the last entry came from, kept open */
	guint current_file;
	GQueue *streamed;  /* of char *: gzipped mboxes, read in their order after the index */
	FILE *mbox_file;   /* the streamed mbox being read, or NULL */
	struct mbox_reader *mbox;
	char *mbox_path;
	GPtrArray *notes;  /* of char *: what a reader should know about how mboxes were split */
};

static gboolean io_error(GError **error, const char *what, const char *path)
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

/* path as a stream of its uncompressed bytes, or NULL with errno set. */
static FILE *open_uncompressed(const char *path)
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

static gboolean starts_with_from(const char *path)
{
	char head[5];
	FILE *f = open_uncompressed(path);
	gboolean mbox = f && fread(head, 1, 5, f) == 5 && memcmp(head, "From ", 5) == 0;

	if (f)
		fclose(f);
	return mbox;
}

static gboolean is_maildir(const char *dir)
{
	char *cur = g_build_filename(dir, "cur", NULL);
	char *new = g_build_filename(dir, "new", NULL);
	gboolean yes = g_file_test(cur, G_FILE_TEST_IS_DIR) || g_file_test(new, G_FILE_TEST_IS_DIR);

	g_free(cur);
	g_free(new);
	return yes;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir, sorted, as full paths (newly allocated array of new strings); names starting
 * with a dot only when hidden is set. */
static GPtrArray *sorted_entries(const char *dir, gboolean hidden, GError **error)
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

static gboolean queue_entries(struct archive *a, const char *dir, GError **error)
{
	GPtrArray *entries = sorted_entries(dir, FALSE, error);

	if (!entries)
		return FALSE;
	for (guint i = 0; i < entries->len; i++)
		g_queue_push_tail(a->files, g_strdup(g_ptr_array_index(entries, i)));
	g_ptr_array_unref(entries);
	return TRUE;
}

/* A Maildir's messages in cur/ and new/, then its Maildir++ subfolders (".Sent", ".Archive"). */
static gboolean collect_maildir(struct archive *a, const char *path, GError **error)
{
	static const char *const subdirs[] = {"cur", "new"};
	GPtrArray *entries;
	gboolean ok = TRUE;

	for (gsize i = 0; ok && i < G_N_ELEMENTS(subdirs); i++) {
		char *sub = g_build_filename(path, subdirs[i], NULL);
		if (g_file_test(sub, G_FILE_TEST_IS_DIR))
			ok = queue_entries(a, sub, error);
		g_free(sub);
	}
	entries = ok ? sorted_entries(path, TRUE, error) : NULL;
	if (!entries)
		return FALSE;
	for (guint i = 0; ok && i < entries->len; i++) {
		const char *sub = g_ptr_array_index(entries, i);
		char *base = g_path_get_basename(sub);
		if (base[0] == '.' && is_maildir(sub))
			ok = collect_maildir(a, sub, error);
		g_free(base);
	}
	g_ptr_array_unref(entries);
	return ok;
}

/* In a folder being searched, only mail counts: .eml files and mbox files (a README beside them
 * is not a message). Files named on the command line are always read. */
static gboolean looks_like_mail_file(const char *path)
{
	char *lower = g_ascii_strdown(path, -1);
	gboolean eml = g_str_has_suffix(lower, ".eml") || g_str_has_suffix(lower, ".eml.gz");

	g_free(lower);
	return eml || starts_with_from(path);
}

/* Queue the files of path: a Maildir's messages, a folder's contents (searched), or the file. */
static gboolean collect(struct archive *a, const char *path, gboolean searched, GError **error)
{
	GPtrArray *entries;
	gboolean ok = TRUE;

	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		errno = ENOENT;
		return io_error(error, "cannot read", path);
	}
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		if (!searched || looks_like_mail_file(path))
			g_queue_push_tail(a->files, g_strdup(path));
		return TRUE;
	}
	if (is_maildir(path))
		return collect_maildir(a, path, error);
	entries = sorted_entries(path, FALSE, error);
	if (!entries)
		return FALSE;
	for (guint i = 0; ok && i < entries->len; i++)
		ok = collect(a, g_ptr_array_index(entries, i), TRUE, error);
	g_ptr_array_unref(entries);
	return ok;
}

/* What the split of an mbox leaves for a person to check, as a note. */
static void note_split(struct archive *a, const char *path, const struct mbox_stats *stats)
{
	if (stats->without_empty_line)
		g_ptr_array_add(a->notes,
				g_strdup_printf("%s: %u of %u messages began at a separator line "
						"without an empty line before it (the file's writer "
						"leaves none, or a message's text holds such a line): "
						"check that they were split right",
						path, stats->without_empty_line, stats->messages));
	if (stats->by_length)
		g_ptr_array_add(a->notes,
				g_strdup_printf("%s: %u of %u messages were split by their "
						"Content-Length header (mboxcl)",
						path, stats->by_length, stats->messages));
}

static void close_mbox(struct archive *a)
{
	if (a->mbox)
		note_split(a, a->mbox_path, mbox_reader_stats(a->mbox));
	mbox_reader_free(a->mbox);
	if (a->mbox_file)
		fclose(a->mbox_file);
	g_free(a->mbox_path);
	a->mbox = NULL;
	a->mbox_file = NULL;
	a->mbox_path = NULL;
}

/* One message in a file of its own (.eml, a Maildir entry, either possibly gzipped). Takes
 * path. */
static gboolean read_whole_file(char *path, struct source_message *out, GError **error)
{
	FILE *f = open_uncompressed(path);
	GByteArray *buf;
	char chunk[64 * 1024];
	size_t n;

	if (!f) {
		io_error(error, "cannot open", path);
		g_free(path);
		return FALSE;
	}
	buf = g_byte_array_new();
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		g_byte_array_append(buf, (const guint8 *)chunk, n);
	if (ferror(f)) {
		io_error(error, "cannot read", path);
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

static gboolean is_gzipped(const char *path)
{
	guchar magic[2];
	FILE *f = fopen(path, "rb");
	gboolean gz = f && fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;

	if (f)
		fclose(f);
	return gz;
}

/* The Unix time of the Date header among the headers at the start of data, or G_MININT64. */
static gint64 header_date(const char *data, gsize len)
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

static void add_entry(struct archive *a, guint file, goffset offset, goffset length, gint64 date,
		      gint64 *last)
{
	struct entry e = {.file = file, .offset = offset, .length = length, .seq = a->entries->len};

	e.date = date != G_MININT64 ? date : *last;
	*last = e.date;
	g_array_append_val(a->entries, e);
}

/* A large mbox is indexed in parts, one thread each: alone, the index pass was a tenth of an
 * import's time with the other cores idle. */
#define INDEX_PART_BYTES (8 * 1024 * 1024)
#define INDEX_PARTS_MAX 4

/* The messages of an mbox whose "From " line lies in [start, end). */
struct index_part {
	const char *path;
	goffset start, end;
	GArray *found; /* of struct entry, their dates as found (G_MININT64: none) */
	struct mbox_stats stats;
	GError *error;
};

static gpointer index_part_run(gpointer data)
{
	struct index_part *part = data;
	FILE *f = fopen(part->path, "rb");
	GByteArray *headers;
	struct mbox_reader *reader;
	struct entry e = {0};

	if (!f) {
		io_error(&part->error, "cannot open", part->path);
		return NULL;
	}
	if (part->start > 0 && fseeko(f, part->start, SEEK_SET) != 0) {
		io_error(&part->error, "cannot read", part->path);
		fclose(f);
		return NULL;
	}
	headers = g_byte_array_new();
	reader = mbox_reader_new_range(f, part->start, part->end);
	while (mbox_reader_next_headers(reader, headers, &e.offset, &e.length, &part->error)) {
		e.date = header_date((const char *)headers->data, headers->len);
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
		return io_error(error, "cannot open", path);
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
static gboolean index_in_parts(struct archive *a, guint file, guint n, const goffset *starts,
			       gint64 *last, struct mbox_stats *stats, gboolean *overlap,
			       GError **error)
{
	const char *path = g_ptr_array_index(a->paths, file);
	struct index_part parts[INDEX_PARTS_MAX] = {0};
	GThread *threads[INDEX_PARTS_MAX] = {0};
	gboolean ok = TRUE;

	*overlap = FALSE;
	for (guint i = 0; i < n; i++) {
		parts[i] = (struct index_part){.path = path, .start = starts[i],
					       .end = i + 1 < n ? starts[i + 1] : -1};
		parts[i].found = g_array_new(FALSE, FALSE, sizeof(struct entry));
		if (i > 0)
			threads[i] = g_thread_new("index", index_part_run, &parts[i]);
	}
	index_part_run(&parts[0]);
	for (guint i = 0; i < n; i++) {
		const struct entry *tail;
		if (threads[i])
			g_thread_join(threads[i]);
		if (ok && parts[i].error) {
			g_propagate_error(error, g_steal_pointer(&parts[i].error));
			ok = FALSE;
		}
		tail = parts[i].found->len ? &g_array_index(parts[i].found, struct entry,
							    parts[i].found->len - 1)
					   : NULL;
		if (tail && i + 1 < n && tail->offset + tail->length > starts[i + 1])
			*overlap = TRUE;
	}
	for (guint i = 0; i < n; i++) {
		for (guint j = 0; ok && !*overlap && j < parts[i].found->len; j++) {
			const struct entry *e = &g_array_index(parts[i].found, struct entry, j);
			add_entry(a, file, e->offset, e->length, e->date, last);
		}
		stats->messages += parts[i].stats.messages;
		stats->without_empty_line += parts[i].stats.without_empty_line;
		stats->by_length += parts[i].stats.by_length;
		g_clear_error(&parts[i].error);
		g_array_unref(parts[i].found);
	}
	return ok;
}

static gboolean index_mbox(struct archive *a, guint file, gint64 *last, GError **error)
{
	const char *path = g_ptr_array_index(a->paths, file);
	struct mbox_stats stats = {0};
	goffset starts[INDEX_PARTS_MAX];
	gboolean overlap;
	GStatBuf st;
	guint n;

	if (g_stat(path, &st) != 0)
		return io_error(error, "cannot read", path);
	n = CLAMP(st.st_size / INDEX_PART_BYTES, 1,
		  MIN((guint)g_get_num_processors(), INDEX_PARTS_MAX));
	if (!split_mbox(path, st.st_size, starts, n, error) ||
	    !index_in_parts(a, file, n, starts, last, &stats, &overlap, error))
		return FALSE;
	if (overlap) {
		stats = (struct mbox_stats){0};
		if (!index_in_parts(a, file, 1, starts, last, &stats, &overlap, error))
			return FALSE;
	}
	note_split(a, path, &stats);
	return TRUE;
}

static gboolean index_file(struct archive *a, guint file, gint64 *last, GError **error)
{
	const char *path = g_ptr_array_index(a->paths, file);
	FILE *f = open_uncompressed(path);
	char head[64 * 1024];
	size_t n;

	if (!f)
		return io_error(error, "cannot open", path);
	n = fread(head, 1, sizeof(head), f);
	fclose(f);
	add_entry(a, file, -1, 0, header_date(head, n), last);
	return TRUE;
}

static gint compare_entries(gconstpointer pa, gconstpointer pb)
{
	const struct entry *x = pa, *y = pb;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static gboolean build_index(struct archive *a, GError **error)
{
	gint64 last = G_MININT64;
	char *path;

	while ((path = g_queue_pop_head(a->files))) {
		gboolean ok;
		if (starts_with_from(path) && is_gzipped(path)) {
			g_queue_push_tail(a->streamed, path);
			continue;
		}
		g_ptr_array_add(a->paths, path);
		ok = starts_with_from(path) ? index_mbox(a, a->paths->len - 1, &last, error)
					    : index_file(a, a->paths->len - 1, &last, error);
		if (!ok)
			return FALSE;
	}
	g_array_sort(a->entries, compare_entries);
	return TRUE;
}

/* An mbox entry is read whole at its offset, in one read and one buffer. */
static gboolean read_entry(struct archive *a, const struct entry *e, struct source_message *out,
			   GError **error)
{
	const char *path = g_ptr_array_index(a->paths, e->file);
	GByteArray *entry;
	gsize n;

	if (e->offset < 0)
		return read_whole_file(g_strdup(path), out, error);
	if (!a->current || a->current_file != e->file) {
		if (a->current)
			fclose(a->current);
		a->current = fopen(path, "rb");
		a->current_file = e->file;
		if (!a->current)
			return io_error(error, "cannot open", path);
	}
	if (fseeko(a->current, e->offset, SEEK_SET) != 0)
		return io_error(error, "cannot read", path);
	entry = g_byte_array_sized_new(e->length);
	g_byte_array_set_size(entry, e->length);
	n = fread(entry->data, 1, e->length, a->current);
	if (n < (gsize)e->length && ferror(a->current)) {
		g_byte_array_unref(entry);
		return io_error(error, "cannot read", path);
	}
	if (n < (gsize)e->length || n < 5 || memcmp(entry->data, "From ", 5) != 0) {
		g_byte_array_unref(entry);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s changed while it was read: no message at byte %" G_GOFFSET_FORMAT, path,
			    e->offset);
		return FALSE;
	}
	out->raw = mbox_message_from_entry(entry);
	out->location = g_strdup_printf("%s@%" G_GOFFSET_FORMAT, path, e->offset);
	return TRUE;
}

static gboolean archive_next(struct source *src, struct source_message *out, GError **error)
{
	struct archive *a = (struct archive *)src;

	if (a->next < a->entries->len)
		return read_entry(a, &g_array_index(a->entries, struct entry, a->next++), out, error);
	for (;;) {
		char *path;
		if (a->mbox) {
			goffset offset;
			GError *err = NULL;
			if (mbox_reader_next(a->mbox, &out->raw, &offset, &err)) {
				out->location = g_strdup_printf("%s@%" G_GOFFSET_FORMAT,
								a->mbox_path, offset);
				return TRUE;
			}
			close_mbox(a);
			if (err) {
				g_propagate_error(error, err);
				return FALSE;
			}
		}
		path = g_queue_pop_head(a->streamed);
		if (!path)
			return FALSE;
		a->mbox_file = open_uncompressed(path);
		if (!a->mbox_file) {
			io_error(error, "cannot open", path);
			g_free(path);
			return FALSE;
		}
		a->mbox = mbox_reader_new(a->mbox_file);
		a->mbox_path = path;
	}
}

char *archive_fingerprint(struct source *src)
{
	struct archive *a = (struct archive *)src;
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	char *hex;

	for (guint i = 0; i < a->paths->len; i++) {
		const char *path = g_ptr_array_index(a->paths, i);
		GStatBuf st;
		char *stamp;
		if (g_stat(path, &st) != 0)
			memset(&st, 0, sizeof(st));
		stamp = g_strdup_printf("%s\n%lld\n%lld\n", path, (long long)st.st_size,
					(long long)st.st_mtime);
		g_checksum_update(sum, (const guchar *)stamp, -1);
		g_free(stamp);
	}
	for (GList *l = a->streamed->head; l; l = l->next) {
		GStatBuf st;
		char *stamp;
		if (g_stat(l->data, &st) != 0)
			memset(&st, 0, sizeof(st));
		stamp = g_strdup_printf("gz %s\n%lld\n%lld\n", (char *)l->data,
					(long long)st.st_size, (long long)st.st_mtime);
		g_checksum_update(sum, (const guchar *)stamp, -1);
		g_free(stamp);
	}
	{
		char *count = g_strdup_printf("%u", a->entries->len);
		g_checksum_update(sum, (const guchar *)count, -1);
		g_free(count);
	}
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
	/* A gzipped mbox cannot be sought in: what it holds is read and let go. */
	for (n -= indexed; n > 0 && archive_next(src, &msg, NULL); n--)
		source_message_clear(&msg);
}

static void archive_close(struct source *src)
{
	struct archive *a = (struct archive *)src;

	close_mbox(a);
	if (a->current)
		fclose(a->current);
	g_queue_free_full(a->files, g_free);
	g_queue_free_full(a->streamed, g_free);
	g_ptr_array_unref(a->paths);
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
	a->streamed = g_queue_new();
	a->paths = g_ptr_array_new_with_free_func(g_free);
	a->entries = g_array_new(FALSE, FALSE, sizeof(struct entry));
	a->notes = g_ptr_array_new_with_free_func(g_free);
	if (!collect(a, path, FALSE, error) || !build_index(a, error)) {
		archive_close(&a->base);
		return NULL;
	}
	return &a->base;
}
