/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kinds of mail archive, for ingest/archive.c, which lists them in one table and asks each
 * in turn whether a folder or a file is of its kind. A folder kind (a Maildir) names the files of
 * its messages; a file kind either indexes its messages with their dates, so that the archive
 * delivers the whole archive in date order, or is read after the index in its own order (a
 * gzipped mbox, which cannot be sought in). A new kind is its own file, defining NAME_kind
 * through the helpers below, plus its line in the table. */
#ifndef M2T_INGEST_ARCHIVE_KIND_H
#define M2T_INGEST_ARCHIVE_KIND_H

#include <stdio.h>

#include "ingest/source.h"

struct archive;

/* Exactly one of collect, index and stream is set. */
struct archive_kind {
	const char *name;
	/* Whether path, a folder for a folder kind and a file for the others, is of this kind.
	 * searched: path was found in a folder being searched, where only what is surely mail
	 * counts (a README beside the mail is not); a file named by the user is always read. */
	gboolean (*detect)(const char *path, gboolean searched);
	/* A folder kind: its message files, each put in with archive_add_file(). */
	gboolean (*collect)(struct archive *a, const char *path, GError **error);
	/* A folder kind whose files may be renamed while the archive is read: where the message
	 * of path, a file it found that is not there any more, is now (newly allocated), or NULL.
	 * *notes are the kind's own, kept by the archive from one call to the next (NULL at
	 * first; a hash table, freed with the archive). NULL: its files are not renamed. */
	char *(*find_moved)(GHashTable **notes, const char *path);
	/* A file kind indexed first: its messages, each put in with archive_index_message() as
	 * the file's message number file. */
	gboolean (*index)(struct archive *a, guint file, const char *path, gint64 *last,
			  GError **error);
	/* The message in bytes read from a range index gave (from its offset, its length).
	 * Takes bytes. NULL: index gives only whole files. */
	GBytes *(*read_range)(GByteArray *bytes);
	/* With read_range: what each range begins with ("From "). A file changed since the index
	 * (a mail client rewrote it, or new mail was appended) is read on only while each range
	 * still begins with it and so does what follows the range, after at most one line end
	 * (or the file ends there): a range that no longer holds one whole message stops the
	 * run instead of becoming a ticket. */
	const char *range_start;
	/* A file kind read after the index: a source of path's messages in their order, closed
	 * once read (it may then add notes). NULL with error set when path cannot be read. */
	struct source *(*stream)(struct archive *a, const char *path, GError **error);
};

/* A file a folder kind found, read like a file named by the user (its kind detected then). */
void archive_add_file(struct archive *a, const char *path);
/* A message of file (the number index was called with) at offset, length bytes long (offset -1:
 * the whole file), with date (G_MININT64 when it has none: *last, the date before it, is
 * taken). */
void archive_index_message(struct archive *a, guint file, goffset offset, goffset length,
			   gint64 date, gint64 *last);
/* A note for a person to check, shown after the import. Takes note. */
void archive_add_note(struct archive *a, char *note);

/* path as a stream of its uncompressed bytes (gzip or plain), or NULL with errno set. */
FILE *archive_open_uncompressed(const char *path);
/* The Unix time of the Date header among the headers at the start of data, or G_MININT64. */
gint64 archive_header_date(const char *data, gsize len);
/* FALSE with error set from errno: "what path: reason". */
gboolean archive_io_error(GError **error, const char *what, const char *path);
/* The entries of dir, sorted, as full paths (newly allocated array of new strings); names
 * starting with a dot only when hidden is set. NULL with error set when dir cannot be read. */
GPtrArray *archive_sorted_entries(const char *dir, gboolean hidden, GError **error);

#endif
