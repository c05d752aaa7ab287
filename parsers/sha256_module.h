/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SHA-256 of GnuTLS (sha256_gnutls.c), the module mail2ticket-digest.so; loaded by
 * sha256.c once a run has hashed enough for its speed to matter. */
#ifndef M2T_PARSERS_SHA256_MODULE_H
#define M2T_PARSERS_SHA256_MODULE_H

#include <glib.h>

struct sha256_module {
	gpointer (*open)(void); /* a new sum; NULL when out of memory */
	void (*update)(gpointer sum, const void *data, gsize len);
	void (*close)(gpointer sum, guint8 digest[32]); /* frees sum */
};

/* The module's table (modules/module.h: M2T_MODULE_DIGEST). */
extern const struct sha256_module sha256_gnutls_module;

#endif
