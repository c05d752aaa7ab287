#include "ingest/archive.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "ingest/mbox.h"

/* An archive is a queue of files still to read; mbox files are read one message at a time, so
 * memory does not grow with an archive's size. */
struct archive {
	struct source base;
	GQueue *files;	/* of char *: paths not opened yet */
	FILE *mbox_file; /* the mbox being read, or NULL */
	struct mbox_reader *mbox;
	char *mbox_path;
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

static void close_mbox(struct archive *a)
{
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

static gboolean archive_next(struct source *src, struct source_message *out, GError **error)
{
	struct archive *a = (struct archive *)src;

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
		path = g_queue_pop_head(a->files);
		if (!path)
			return FALSE;
		if (starts_with_from(path)) {
			a->mbox_file = open_uncompressed(path);
			if (!a->mbox_file) {
				io_error(error, "cannot open", path);
				g_free(path);
				return FALSE;
			}
			a->mbox = mbox_reader_new(a->mbox_file);
			a->mbox_path = path;
			continue;
		}
		return read_whole_file(path, out, error);
	}
}

static void archive_close(struct source *src)
{
	struct archive *a = (struct archive *)src;

	close_mbox(a);
	g_queue_free_full(a->files, g_free);
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
	if (!collect(a, path, FALSE, error)) {
		archive_close(&a->base);
		return NULL;
	}
	return &a->base;
}
