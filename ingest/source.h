/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A mail source: something that yields raw messages one at a time (an archive, later a mailbox).
 * Callers see only this struct of operations, never which kind they read. */
#ifndef M2T_INGEST_SOURCE_H
#define M2T_INGEST_SOURCE_H

#include <glib.h>

struct source_message {
	GBytes *raw;
	char *location; /* where it came from, for logs: "inbox.mbox@1234", a file path */
};
void source_message_clear(struct source_message *msg);

struct source;

struct source_ops {
	const char *kind;
	/* The next message into out (clear it after). FALSE at the end (error unset) or when the
	 * source cannot be read further (error set). */
	gboolean (*next)(struct source *src, struct source_message *out, GError **error);
	void (*close)(struct source *src);
};

struct source {
	const struct source_ops *ops;
};

gboolean source_next(struct source *src, struct source_message *out, GError **error);
void source_close(struct source *src);

#endif
