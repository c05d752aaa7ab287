/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 with GnuTLS, the module mail2ticket-digest.so (sha256_module.h). */
#include <gnutls/crypto.h>

#include "modules/module.h"
#include "parsers/sha256_module.h"

static gpointer sum_open(void)
{
	gnutls_hash_hd_t sum;

	return gnutls_hash_init(&sum, GNUTLS_DIG_SHA256) < 0 ? NULL : sum;
}

static void sum_update(gpointer sum, const void *data, gsize len)
{
	gnutls_hash(sum, data, len);
}

static void sum_close(gpointer sum, guint8 digest[32])
{
	gnutls_hash_deinit(sum, digest);
}

M2T_MODULE_EXPORT const struct sha256_module sha256_gnutls_module = {
    .open = sum_open,
    .update = sum_update,
    .close = sum_close,
};
