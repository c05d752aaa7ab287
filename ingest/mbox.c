/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An mbox file read one message at a time, with its own separator scan (mbox.h). */
#include "ingest/mbox.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

/* Lines are found with memchr in blocks read whole: getline() locks the stream and copies each
 * line once more, which made reading a large part of an import. */
#define BLOCK_SIZE (256 * 1024)

struct mbox_reader {
	FILE *stream;
	char *buf;
	gsize cap;
	gsize start, end; /* the bytes read and not yet taken as lines */
	gboolean at_eof;
	const char *line; /* the line held, in buf; valid until the next read_line() */
	gssize len;	  /* its length, -1 when none is held */
	goffset line_at;  /* offset of that line */
	goffset pos;	  /* offset after it */
	goffset stop;	  /* no message begins at or after it; -1: none */
	gboolean started;
	struct mbox_stats stats;
};

struct mbox_reader *mbox_reader_new_range(FILE *stream, goffset start, goffset end)
{
	struct mbox_reader *r = g_new0(struct mbox_reader, 1);

	r->stream = stream;
	r->cap = BLOCK_SIZE;
	r->buf = g_malloc(r->cap);
	r->len = -1;
	r->pos = start;
	r->stop = end;
	return r;
}

struct mbox_reader *mbox_reader_new(FILE *stream)
{
	return mbox_reader_new_range(stream, 0, -1);
}

void mbox_reader_free(struct mbox_reader *r)
{
	if (!r)
		return;
	g_free(r->buf);
	g_free(r);
}

/* Read more after the bytes held, moving them to the front; the buffer grows only for a line
 * longer than it. FALSE at the end of the stream or on an error (then error is set). */
static gboolean fill(struct mbox_reader *r, GError **error)
{
	gsize n;

	if (r->at_eof)
		return FALSE;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		r->cap *= 2;
		r->buf = g_realloc(r->buf, r->cap);
	}
	n = fread(r->buf + r->end, 1, r->cap - r->end, r->stream);
	if (n == 0) {
		if (ferror(r->stream)) {
			int e = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
				    "cannot read the mbox: %s", g_strerror(e));
		}
		r->at_eof = TRUE;
		return FALSE;
	}
	r->end += n;
	return TRUE;
}

static gboolean read_line(struct mbox_reader *r, GError **error)
{
	const char *nl;

	r->line_at = r->pos;
	r->len = -1;
	while (!(nl = memchr(r->buf + r->start, '\n', r->end - r->start))) {
		if (!fill(r, error)) {
			if ((error && *error) || r->start == r->end)
				return FALSE;
			/* The last line, without a line end. */
			nl = r->buf + r->end - 1;
			break;
		}
	}
	r->line = r->buf + r->start;
	r->len = nl + 1 - r->line;
	r->start += r->len;
	r->pos += r->len;
	return TRUE;
}

static gboolean is_separator(const char *line, gssize len)
{
	return len >= 5 && memcmp(line, "From ", 5) == 0;
}

/* The first '\n' in text that is followed there by "From " (all 5 bytes held), or NULL. A line
 * end at a time with memchr, in this one loop: glibc's memmem, or memchr for the 'F's, took
 * twice as long on mail (base64 is full of 'F's). */
static const char *find_from_line(const char *text, gsize n)
{
	const char *end = text + n;

	for (const char *nl = memchr(text, '\n', n); nl; nl = memchr(nl + 1, '\n', end - nl - 1))
		if (end - nl > 5 && nl[1] == 'F' && memcmp(nl + 1, "From ", 5) == 0)
			return nl;
	return NULL;
}

/* Past a header whose body is not kept (the index's read): moves the reader over the body's
 * lines up to the last one before a line that starts with "From " (or before the end), which
 * read_line() then takes as usual, as whether it is empty decides a separator. No other line
 * of such a body matters, and memmem finds "\nFrom " where a line at a time cost a call and
 * a memchr each. */
static void skip_body_lines(struct mbox_reader *r, GError **error)
{
	for (;;) {
		const char *held = r->buf + r->start;
		gsize n = r->end - r->start;
		const char *found, *last_nl, *keep;

		if (n < 5 || memcmp(held, "From ", 5) == 0)
			return;
		found = find_from_line(held, n);
		/* Without one, the last whole line held may come right before one. */
		last_nl = found ? found : memrchr(held, '\n', n);
		keep = last_nl ? memrchr(held, '\n', last_nl - held) : NULL;
		keep = keep ? keep + 1 : held;
		r->start += keep - held;
		r->pos += keep - held;
		if (found || !fill(r, error))
			return;
	}
}

static gboolean word_in(const char *word, gsize len, const char *const *list)
{
	for (; *list; list++)
		if (len == 3 && g_ascii_strncasecmp(word, *list, 3) == 0)
			return TRUE;
	return FALSE;
}

/* A whole separator line as mbox writers make it: "From SENDER Thu Mar  5 10:00:00 2026", the
 * date's parts in either usual order, seconds and a zone or not ("Thu, 5 Mar 2026 10:00 +0000").
 * Such a line starts a message even without an empty line before it, as several writers leave
 * none; a body line rarely has that shape (and mbox writers quote body lines starting "From "). */
static gboolean is_from_line(const char *line, gssize len)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", NULL};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", NULL};
	enum { DAY = 1, MONTH = 2, DATE = 4, TIME = 8, YEAR = 16, ALL = 31 };
	const char *p = line + 5, *end = line + len;
	gboolean sender = FALSE;
	int seen = 0;

	if (!is_separator(line, len))
		return FALSE;
	while (p < end) {
		const char *word;
		gsize n;
		int kind = 0;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		word = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		n = p - word;
		if (n > 1 && word[n - 1] == ',')
			n--; /* "Thu," */
		if (n == 0)
			break;
		if (!sender) {
			sender = TRUE;
			continue;
		}
		if (word_in(word, n, days))
			kind = DAY;
		else if (word_in(word, n, months))
			kind = MONTH;
		else if (n <= 2 && g_ascii_isdigit(word[0]) && g_ascii_isdigit(word[n - 1]))
			kind = DATE;
		else if (n >= 4 && n <= 8 && g_ascii_isdigit(word[0]) && memchr(word, ':', n))
			kind = TIME;
		else if (n == 4 && g_ascii_isdigit(word[0]) && g_ascii_isdigit(word[3]))
			kind = YEAR;
		else if (!(seen & YEAR) && !(seen & TIME))
			return FALSE; /* before the date is complete, only its parts */
		if (kind & seen)
			return FALSE;
		seen |= kind;
	}
	return seen == ALL;
}

static gboolean is_empty_line(const char *line, gssize len)
{
	return (len == 1 && line[0] == '\n') || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

/* mboxrd quotes ">From ", ">>From " ... by adding one '>'; mboxo quotes only "From ". Removing
 * one '>' from a line of '>'s followed by "From " undoes both. */
static gboolean is_quoted_from(const char *line, gssize len)
{
	gssize i = 0;

	while (i < len && line[i] == '>')
		i++;
	return i > 0 && len - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

/* The empty line before the next separator (or the end) belongs to the mbox. */
static void drop_closing_empty_line(GByteArray *buf)
{
	if (buf->len > 0 && buf->data[buf->len - 1] == '\n') {
		g_byte_array_set_size(buf, buf->len - 1);
		if (buf->len > 0 && buf->data[buf->len - 1] == '\r')
			g_byte_array_set_size(buf, buf->len - 1);
	}
}

/* A Content-Length past this is not believed: a message is not that large, and checking it would
 * read that much ahead. */
#define LENGTH_MAX ((gint64)256 << 20)

/* "Content-Length: N" (mboxcl): N, else -1. */
static gint64 content_length(const char *line, gssize len)
{
	static const char name[] = "Content-Length:";
	gint64 n = 0;
	gssize i = sizeof(name) - 1;

	if (len < i || g_ascii_strncasecmp(line, name, i) != 0)
		return -1;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || !g_ascii_isdigit(line[i]))
		return -1;
	for (; i < len && g_ascii_isdigit(line[i]); i++) {
		n = n * 10 + (line[i] - '0');
		if (n > LENGTH_MAX)
			return -1;
	}
	return n;
}

/* Whether a body of length bytes, starting where the reader is, ends where a message begins: at
 * the end of the file, or at a "From " line (after one empty line or not). Reads ahead as far as
 * that. */
static gboolean length_fits(struct mbox_reader *r, gint64 length, GError **error)
{
	gsize want = length + 7;
	const char *p;
	gsize have;

	while (r->end - r->start < want && fill(r, error))
		;
	p = r->buf + r->start + length;
	have = r->end - r->start;
	if (have == (gsize)length)
		return TRUE;
	if (have < (gsize)length)
		return FALSE;
	have -= length;
	if (have >= 1 && p[0] == '\n')
		p++, have--;
	else if (have >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2, have -= 2;
	return have == 0 || (have >= 5 && memcmp(p, "From ", 5) == 0);
}

/* The next message into buf; with headers_only, only its header block is kept and the rest is
 * read past. *length is the bytes from its "From " line to the next one (or the end). A message
 * ends at a "From " line after an empty line, at a whole separator line (is_from_line()), or, when
 * its header has a Content-Length that fits, after that many bytes of body and not before. */
static gboolean read_message(struct mbox_reader *r, GByteArray *buf, gboolean headers_only,
			     goffset *offset, goffset *length, GError **error)
{
	gboolean prev_empty = FALSE;
	gboolean keep = TRUE;
	gboolean in_header = TRUE;
	gint64 declared = -1;
	goffset body_end = -1; /* with a Content-Length that fits: where the body ends */

	if (!r->started) {
		r->started = TRUE;
		/* Skip anything before the first separator (there should be nothing). */
		while (read_line(r, error) && !is_separator(r->line, r->len))
			;
	}
	if (r->len < 0 || (r->stop >= 0 && r->line_at >= r->stop))
		return FALSE;
	*offset = r->line_at;
	for (;;) {
		gboolean in_body;
		if (!keep && !in_header)
			skip_body_lines(r, error);
		if ((error && *error) || !read_line(r, error))
			break;
		in_body = body_end >= 0 && r->line_at < body_end;
		if (!in_body && is_separator(r->line, r->len) &&
		    (prev_empty || r->line_at == body_end || is_from_line(r->line, r->len))) {
			if (!prev_empty && r->line_at != body_end)
				r->stats.without_empty_line++;
			break;
		}
		if (keep && is_quoted_from(r->line, r->len))
			g_byte_array_append(buf, (const guint8 *)r->line + 1, r->len - 1);
		else if (keep)
			g_byte_array_append(buf, (const guint8 *)r->line, r->len);
		prev_empty = is_empty_line(r->line, r->len);
		if (prev_empty && headers_only)
			keep = FALSE;
		if (in_header && content_length(r->line, r->len) >= 0)
			declared = content_length(r->line, r->len);
		/* Last: reading ahead moves the buffer under r->line. */
		if (in_header && prev_empty) {
			in_header = FALSE;
			if (declared >= 0 && length_fits(r, declared, error)) {
				body_end = r->pos + declared;
				r->stats.by_length++;
			}
			if (error && *error)
				return FALSE;
		}
	}
	if (error && *error)
		return FALSE;
	*length = (r->len >= 0 ? r->line_at : r->pos) - *offset;
	if (keep && prev_empty)
		drop_closing_empty_line(buf);
	r->stats.messages++;
	return TRUE;
}

const struct mbox_stats *mbox_reader_stats(const struct mbox_reader *r)
{
	return &r->stats;
}

gboolean mbox_reader_next(struct mbox_reader *r, GBytes **message, goffset *offset,
			  GError **error)
{
	GByteArray *buf = g_byte_array_new();
	goffset length;

	if (!read_message(r, buf, FALSE, offset, &length, error)) {
		g_byte_array_unref(buf);
		return FALSE;
	}
	*message = g_byte_array_free_to_bytes(buf);
	return TRUE;
}

gboolean mbox_reader_next_headers(struct mbox_reader *r, GByteArray *headers, goffset *offset,
				  goffset *length, GError **error)
{
	g_byte_array_set_size(headers, 0);
	return read_message(r, headers, TRUE, offset, length, error);
}

/* Whether the line ending at buf[i] (a '\n' at offset q) is empty: "\n" or "\r\n" right after
 * another line end or the start of the stream. Needs the two bytes before buf[i] held, where
 * they exist. */
static gboolean line_ending_at_is_empty(const char *buf, gsize i, goffset q)
{
	if (q == 0 || buf[i - 1] == '\n')
		return TRUE;
	return buf[i - 1] == '\r' && (q == 1 || buf[i - 2] == '\n');
}

gboolean mbox_find_separator(FILE *stream, goffset from, goffset *found, GError **error)
{
	/* buf holds the stream from base on: from 3 bytes before from, so that a "From " line at
	 * from can be told to follow an empty line ("\r\n" after the end of another). */
	goffset base = MAX(from - 3, 0);
	char *buf = g_malloc(BLOCK_SIZE);
	gsize have = 0, scan = 0;
	gboolean ok = TRUE;

	if (fseeko(stream, base, SEEK_SET) != 0)
		ok = FALSE;
	while (ok) {
		gsize n = fread(buf + have, 1, BLOCK_SIZE - have, stream);
		const char *nl;
		gsize drop, tail;
		if (n == 0) {
			ok = !ferror(stream);
			*found = base + have;
			break;
		}
		have += n;
		/* A line end is looked at once the 5 bytes after it are here. */
		while ((nl = find_from_line(buf + scan, have - scan))) {
			gsize i = nl - buf;
			goffset q = base + i;
			scan = i + 1;
			if (q + 1 >= from && line_ending_at_is_empty(buf, i, q)) {
				*found = q + 1;
				g_free(buf);
				return TRUE;
			}
		}
		/* Keep from the first line end not looked at (one of the last 5 bytes, or the end)
		 * on, and the two bytes before it. */
		tail = MAX(scan, have >= 5 ? have - 5 : 0);
		nl = memchr(buf + tail, '\n', have - tail);
		scan = nl ? (gsize)(nl - buf) : have;
		drop = scan >= 2 ? scan - 2 : 0;
		memmove(buf, buf + drop, have - drop);
		have -= drop;
		scan -= drop;
		base += drop;
	}
	g_free(buf);
	if (!ok) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot read the mbox: %s",
			    g_strerror(e));
	}
	return ok;
}

GBytes *mbox_message_from_entry(GByteArray *entry)
{
	guint8 *end = entry->data + entry->len;
	guint8 *first = memchr(entry->data, '\n', entry->len);
	guint8 *start = first ? first + 1 : end;
	guint8 *out = start, *run = start, *last;
	GBytes *whole, *message;
	gsize skip = start - entry->data;
	gsize size;

	/* Only a line that starts with '>' can be quoted: the '>'s are found with memchr, not the
	 * lines, and the text after a quoted line moves back in one piece (most mail has none, and
	 * nothing moves). Every '>' has a byte before it: the first line's '\n' at least. */
	for (guint8 *gt = memchr(start, '>', end - start); gt;
	     gt = memchr(gt + 1, '>', end - gt - 1)) {
		if (gt[-1] != '\n' || !is_quoted_from((const char *)gt, end - gt))
			continue;
		if (out != run)
			memmove(out, run, gt - run);
		out += gt - run;
		run = gt + 1;
	}
	if (out != run)
		memmove(out, run, end - run);
	out += end - run;
	size = out - start;
	if (size > 0) {
		last = memrchr(start, '\n', size - 1);
		last = last ? last + 1 : start;
		if (is_empty_line((const char *)last, out - last))
			size -= out - last;
	}
	whole = g_byte_array_free_to_bytes(entry);
	message = g_bytes_new_from_bytes(whole, skip, size);
	g_bytes_unref(whole);
	return message;
}
