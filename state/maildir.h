/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail kept on local disk, whole, in a Maildir: the quarantine, and pipe's spool. */
#ifndef M2T_STATE_MAILDIR_H
#define M2T_STATE_MAILDIR_H

#include <glib.h>

#include "ingest/envelope.h"

/* Store raw with its envelope (NULL: none) as one new file in the Maildir at dir (created when
 * missing), durably: written to tmp/, fsync'ed, renamed into new/, and the folder fsync'ed. The
 * file starts with envelope_to_head()'s line; header lines of that name in raw are left out.
 * Returns the new file's path (newly allocated), or NULL with G_FILE_ERROR set. */
char *maildir_store(const char *dir, const struct envelope *envelope, const char *raw, gsize len,
		    GError **error);

#endif
