/* What a source knows about a message beyond its bytes. */
#ifndef M2T_INGEST_ENVELOPE_H
#define M2T_INGEST_ENVELOPE_H

#include <glib.h>

struct envelope {
	const char *source;    /* "pipe", "mailbox support", an archive path: for logs */
	const char *mailbox;   /* the configured mailbox (or pipe --mailbox) it came from, or NULL */
	const char *sender;    /* envelope sender (MAIL FROM), NULL when unknown */
	const char *recipient; /* envelope recipient (RCPT TO), NULL when unknown */
	const char *item;      /* which mail of the source: "UID 12", a spool file; or NULL */
	gint64 started;	       /* monotonic time the source handed it over; 0: unknown */
};

#endif
