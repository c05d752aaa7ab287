#include "ingest/mbox.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

struct mbox_reader {
	FILE *stream;
	char *line; /* getline() buffer */
	size_t cap;
	ssize_t len;	 /* length of the line held in line, -1 when none is held */
	goffset line_at; /* offset of that line */
	goffset pos;	 /* offset after it */
	gboolean started;
};

struct mbox_reader *mbox_reader_new(FILE *stream)
{
	struct mbox_reader *r = g_new0(struct mbox_reader, 1);

	r->stream = stream;
	r->len = -1;
	return r;
}

void mbox_reader_free(struct mbox_reader *r)
{
	if (!r)
		return;
	free(r->line);
	g_free(r);
}

static gboolean read_line(struct mbox_reader *r, GError **error)
{
	errno = 0;
	r->line_at = r->pos;
	r->len = getline(&r->line, &r->cap, r->stream);
	if (r->len < 0) {
		if (ferror(r->stream)) {
			int e = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
				    "cannot read the mbox: %s", g_strerror(e));
		}
		return FALSE;
	}
	r->pos += r->len;
	return TRUE;
}

static gboolean is_separator(const char *line, ssize_t len)
{
	return len >= 5 && memcmp(line, "From ", 5) == 0;
}

static gboolean is_empty_line(const char *line, ssize_t len)
{
	return (len == 1 && line[0] == '\n') || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

/* mboxrd quotes ">From ", ">>From " ... by adding one '>'; mboxo quotes only "From ". Removing
 * one '>' from a line of '>'s followed by "From " undoes both. */
static gboolean is_quoted_from(const char *line, ssize_t len)
{
	ssize_t i = 0;

	while (i < len && line[i] == '>')
		i++;
	return i > 0 && len - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

/* The next message into buf; with headers_only, only its header block is kept and the rest is
 * read past. */
static gboolean read_message(struct mbox_reader *r, GByteArray *buf, gboolean headers_only,
			     goffset *offset, GError **error)
{
	gboolean prev_empty = FALSE;
	gboolean keep = TRUE;

	if (!r->started) {
		r->started = TRUE;
		/* Skip anything before the first separator (there should be nothing). */
		while (read_line(r, error) && !is_separator(r->line, r->len))
			;
	}
	if (r->len < 0)
		return FALSE;
	*offset = r->line_at;
	while (read_line(r, error)) {
		if (prev_empty && is_separator(r->line, r->len))
			break;
		if (keep && is_quoted_from(r->line, r->len))
			g_byte_array_append(buf, (const guint8 *)r->line + 1, r->len - 1);
		else if (keep)
			g_byte_array_append(buf, (const guint8 *)r->line, r->len);
		prev_empty = is_empty_line(r->line, r->len);
		if (prev_empty && headers_only)
			keep = FALSE;
	}
	if (error && *error)
		return FALSE;
	/* The empty line before the next separator (or the end) belongs to the mbox. */
	if (keep && prev_empty && buf->len > 0 && buf->data[buf->len - 1] == '\n') {
		g_byte_array_set_size(buf, buf->len - 1);
		if (buf->len > 0 && buf->data[buf->len - 1] == '\r')
			g_byte_array_set_size(buf, buf->len - 1);
	}
	return TRUE;
}

gboolean mbox_reader_next(struct mbox_reader *r, GBytes **message, goffset *offset,
			  GError **error)
{
	GByteArray *buf = g_byte_array_new();

	if (!read_message(r, buf, FALSE, offset, error)) {
		g_byte_array_unref(buf);
		return FALSE;
	}
	*message = g_byte_array_free_to_bytes(buf);
	return TRUE;
}

gboolean mbox_reader_next_headers(struct mbox_reader *r, GByteArray *headers, goffset *offset,
				  GError **error)
{
	g_byte_array_set_size(headers, 0);
	return read_message(r, headers, TRUE, offset, error);
}
