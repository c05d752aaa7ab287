/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading an mbox file one message at a time. Separators are found here, not by GMime's mbox
 * mode, which in 3.2.13 cuts a message in two when "From " falls on a 4096-byte boundary of its
 * reads in the middle of a long line. */
#ifndef M2T_INGEST_MBOX_H
#define M2T_INGEST_MBOX_H

#include <glib.h>
#include <stdio.h>

struct mbox_reader;

/* Read from an open stream (not closed by the reader). Free with mbox_reader_free(). */
struct mbox_reader *mbox_reader_new(FILE *stream);
/* The same for the messages whose "From " line lies in [start, end) (end < 0: to the end), from a
 * stream positioned at start, which is 0 or an offset mbox_find_separator() gave. Readers of
 * adjacent ranges together find exactly the messages one reader of the whole file finds. */
struct mbox_reader *mbox_reader_new_range(FILE *stream, goffset start, goffset end);
void mbox_reader_free(struct mbox_reader *reader);

/* What a reader found so far: messages, those that began at a separator line without an empty
 * line before it (the writer leaves none, or a body line looked like a separator: the split is
 * a guess), and those whose Content-Length was followed. */
struct mbox_stats {
	guint messages;
	guint without_empty_line;
	guint by_length;
};
const struct mbox_stats *mbox_reader_stats(const struct mbox_reader *reader);

/* The next message: its bytes with the "From " line removed and mboxrd/mboxo quoting (">From ")
 * undone, and the offset of its "From " line. FALSE at the end or on a read error (then error is
 * set). A message begins at a "From " line at the start of the file or after an empty line, or at
 * a whole separator line ("From SENDER Thu Mar  5 10:00:00 2026") without one; not within a body
 * whose Content-Length (mboxcl) ends where a message begins. */
gboolean mbox_reader_next(struct mbox_reader *reader, GBytes **message, goffset *offset,
			  GError **error);

/* The same, but only the message's header block is put in headers (emptied first); the body is
 * read past without being kept. *length is the size of its entry in the file: from its "From "
 * line to the next message's (or the end). */
gboolean mbox_reader_next_headers(struct mbox_reader *reader, GByteArray *headers,
				  goffset *offset, goffset *length, GError **error);

/* The offset of the first message that begins at or after from (> 0): a "From " line after an
 * empty line. Seeks in stream, which must be a file. *found is the end of the file when none
 * begins there. FALSE on a read error (error set). */
gboolean mbox_find_separator(FILE *stream, goffset from, goffset *found, GError **error);

/* The message in one entry read whole from the file (its "From " line, the message, the empty
 * line before the next), in the form mbox_reader_next() gives. Takes entry; the unquoting is done
 * in its buffer, so the message costs no second copy. */
GBytes *mbox_message_from_entry(GByteArray *entry);

#endif
