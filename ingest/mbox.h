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
void mbox_reader_free(struct mbox_reader *reader);

/* The next message: its bytes with the "From " line removed and mboxrd/mboxo quoting (">From ")
 * undone, and the offset of its "From " line. FALSE at the end or on a read error (then error is
 * set). Only a "From " line at the start of the file or after an empty line begins a message. */
gboolean mbox_reader_next(struct mbox_reader *reader, GBytes **message, goffset *offset,
			  GError **error);

/* The same, but only the message's header block is put in headers (emptied first); the body is
 * read past without being kept. *length is the size of its entry in the file: from its "From "
 * line to the next message's (or the end). */
gboolean mbox_reader_next_headers(struct mbox_reader *reader, GByteArray *headers,
				  goffset *offset, goffset *length, GError **error);

/* The message in one entry read whole from the file (its "From " line, the message, the empty
 * line before the next), in the form mbox_reader_next() gives. Takes entry; the unquoting is done
 * in its buffer, so the message costs no second copy. */
GBytes *mbox_message_from_entry(GByteArray *entry);

#endif
