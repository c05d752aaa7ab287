/* Mail that cannot become a ticket is kept, whole, in a local Maildir. */
#ifndef M2T_STATE_QUARANTINE_H
#define M2T_STATE_QUARANTINE_H

#include <glib.h>

/* Store raw in the Maildir at dir (created when missing), durably (fsync before rename). Returns
 * the new file's path (newly allocated), or NULL with G_FILE_ERROR set. */
char *quarantine_store(const char *dir, const char *raw, gsize len, GError **error);

#endif
