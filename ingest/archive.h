/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail archives as sources: an mbox file, a Maildir (with nested folders), a single .eml file, or a
 * folder holding any of them. */
#ifndef M2T_INGEST_ARCHIVE_H
#define M2T_INGEST_ARCHIVE_H

#include "ingest/source.h"

/* Open path (a first pass indexes every message's place and date: messages come out in date
 * order, a gzipped mbox last in its own order), telling its kind from what it is
 * (ingest/archive_kind.h): a folder with cur/ or new/ is a Maildir, another folder is searched
 * for Maildirs, mbox files and .eml files (in name order; other files there are not mail and are
 * passed over); a file starting with "From " is an mbox, any other file named directly is one
 * message. NULL with G_IO_ERROR set when path cannot be read. Free with source_close(). */
struct source *archive_open(const char *path, GError **error);

/* What identifies the archive as it is now: its files' paths, sizes and modification times, and
 * its message count. Newly allocated hex digest. */
char *archive_fingerprint(struct source *archive);

/* Notes (char *) on how the mbox files were split into messages that a person should check
 * (separator lines without an empty line before them, Content-Length headers followed); a
 * gzipped mbox's come once it has been read. Borrowed. */
const GPtrArray *archive_notes(struct source *archive);

/* Pass over the first n messages (in delivery order) without reading them where the format
 * allows. */
void archive_skip(struct source *archive, guint64 n);

/* Go to the message at place (0: the first, in delivery order), so that the next
 * source_next() reads it: at once for an indexed message, by reading up to it for a message
 * of a gzipped mbox (from the file's start when place lies behind). FALSE with G_IO_ERROR set
 * when the archive cannot be read that far or holds fewer messages. */
gboolean archive_seek(struct source *archive, guint64 place, GError **error);

#endif
