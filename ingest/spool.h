/* pipe's spool (spool = DIR): mail accepted from the MTA and kept on disk until poll delivers
 * it. The mailbox that reads it back is spool_mailbox_new() in mailbox.h. */
#ifndef M2T_INGEST_SPOOL_H
#define M2T_INGEST_SPOOL_H

#include <glib.h>

#include "ingest/envelope.h"

/* The line put before a spooled mail so that its envelope (sender, recipient, pipe --mailbox)
 * survives until poll reads it. Newly allocated. */
char *spool_envelope_head(const struct envelope *envelope);

#endif
