/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One message read from the MTA's pipe, with a size limit (pipe.h). */
#include "ingest/pipe.h"

#include <errno.h>
#include <gio/gio.h>
#include <unistd.h>

gboolean pipe_read_message(int fd, gsize max_bytes, GBytes **out, GError **error)
{
	GByteArray *buf = g_byte_array_sized_new(64 * 1024);
	guint8 chunk[64 * 1024];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
				    "cannot read the message from standard input: %s",
				    g_strerror(e));
			g_byte_array_unref(buf);
			return FALSE;
		}
		if (n == 0)
			break;
		g_byte_array_append(buf, chunk, n);
		if (max_bytes && buf->len > max_bytes) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
				    "message larger than %" G_GSIZE_FORMAT " bytes", max_bytes);
			g_byte_array_unref(buf);
			return FALSE;
		}
	}
	*out = g_byte_array_free_to_bytes(buf);
	return TRUE;
}
