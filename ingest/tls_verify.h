/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Certificate checks for mail servers. libetpan makes the TLS connection but does not check whom
 * it reached, so every TLS stream is checked here, before any credential is sent. */
#ifndef M2T_INGEST_TLS_VERIFY_H
#define M2T_INGEST_TLS_VERIFY_H

#include <glib.h>
#include <libetpan/libetpan.h>

/* TRUE when the certificate chain the server presented on stream leads to a trusted authority
 * (ca_file, or the system's when NULL) and names host (a DNS name or an IP address). FALSE with
 * MAILBOX_ERROR_TLS set and a message saying why otherwise. */
gboolean tls_verify_stream(mailstream *stream, const char *host, const char *ca_file,
			   GError **error);

/* Called by libetpan before the TLS handshake: sends host as SNI (not for IP addresses). */
void tls_set_server_name(struct mailstream_ssl_context *ctx, void *host);

#endif
