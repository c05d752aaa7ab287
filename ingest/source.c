/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The source interface (source.h): archives and other sources read one message at a time. */
#include "ingest/source.h"

void source_message_clear(struct source_message *msg)
{
	if (msg->raw)
		g_bytes_unref(msg->raw);
	g_free(msg->location);
	*msg = (struct source_message){0};
}

gboolean source_next(struct source *src, struct source_message *out, GError **error)
{
	return src->ops->next(src, out, error);
}

void source_close(struct source *src)
{
	if (src)
		src->ops->close(src);
}
