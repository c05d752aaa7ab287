/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a source knows about a message beyond its bytes. */
#ifndef M2T_INGEST_ENVELOPE_H
#define M2T_INGEST_ENVELOPE_H

#include <glib.h>

struct envelope {
	const char *source;    /* "pipe", "mailbox support", "import", "reprocess": for logs */
	const char *mailbox;   /* its [mailbox] (or pipe --mailbox), or NULL */
	const char *sender;    /* envelope sender (MAIL FROM), NULL when unknown */
	const char *recipient; /* envelope recipient (RCPT TO), NULL when unknown */
	const char *item;      /* which mail: "UID 12", a file, "mbox@offset"; or NULL */
	gint64 started;	       /* monotonic time the source handed it over; 0: unknown */
};

/* The envelope kept with a mail on local disk (pipe's spool, the quarantine), as one header line
 * put before the mail: "X-Mail2ticket-Envelope: sender=... recipient=... mailbox=...". Every
 * file mail2ticket keeps starts with one (with no fields when there was no envelope), and the
 * mail's own header lines of that name are removed first, so that the first line of such a file
 * is always mail2ticket's and a sender cannot choose the envelope his mail is reprocessed with. */
struct envelope_kept {
	char *sender;
	char *recipient;
	char *mailbox;
};
void envelope_kept_clear(struct envelope_kept *kept);

/* The line for e (NULL: no envelope), newly allocated. */
char *envelope_to_head(const struct envelope *e);
/* raw without the header lines named X-Mail2ticket-Envelope (with their continuations); NULL
 * when it has none. */
GBytes *envelope_remove_forged(const char *raw, gsize len);
/* Read a line made by envelope_to_head() at the start of data into out (fields newly allocated);
 * returns its length, 0 when data does not start with one. */
gsize envelope_from_head(const char *data, gsize len, struct envelope_kept *out);

#endif
