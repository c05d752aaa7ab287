/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The MTA pipe: one message on a file descriptor (standard input). */
#ifndef M2T_INGEST_PIPE_H
#define M2T_INGEST_PIPE_H

#include <glib.h>

/* Read all of fd into a new GBytes. FALSE with G_IO_ERROR set when reading fails or the message is
 * larger than max_bytes (0: no limit). */
gboolean pipe_read_message(int fd, gsize max_bytes, GBytes **out, GError **error);

#endif
