/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 of mail bytes, GLib's or the digest module's (sha256.h). */
#include "parsers/sha256.h"

#include <stdatomic.h>

#include "modules/module.h"
#include "parsers/sha256_module.h"

/* Below this much hashed in a run, mapping GnuTLS (and the libraries it brings) costs more
 * than its speed saves: GLib's SHA-256 takes about 4 ms a megabyte here, GnuTLS's 1. */
#define FAST_AFTER_BYTES (4 * 1024 * 1024)

struct sha256 {
	GChecksum *glib;
	const struct sha256_module *module;
	gpointer fast;
};

static atomic_size_t hashed_bytes; /* and announced by sha256_expect() */
static gsize module_tried;
static const struct sha256_module *module;

/* The digest module once the run has hashed enough, else NULL. A module that cannot be loaded
 * only leaves the run slower: GLib's SHA-256 gives the same digests. */
static const struct sha256_module *fast_module(gsize len)
{
	if (g_atomic_pointer_get(&module))
		return module;
	if (atomic_fetch_add(&hashed_bytes, len) + len < FAST_AFTER_BYTES)
		return NULL;
	if (g_once_init_enter(&module_tried)) {
		GError *error = NULL;
		g_atomic_pointer_set(&module, module_table(M2T_MODULE_DIGEST, &error));
		g_clear_error(&error);
		g_once_init_leave(&module_tried, 1);
	}
	return g_atomic_pointer_get(&module);
}

struct sha256 *sha256_new(gsize len)
{
	struct sha256 *sum = g_new0(struct sha256, 1);

	sum->module = fast_module(len);
	if (sum->module)
		sum->fast = sum->module->open();
	if (!sum->fast)
		sum->glib = g_checksum_new(G_CHECKSUM_SHA256);
	return sum;
}

void sha256_expect(guint64 len)
{
	atomic_fetch_add(&hashed_bytes, (gsize)MIN(len, FAST_AFTER_BYTES));
}

void sha256_update(struct sha256 *sum, const void *data, gsize len)
{
	if (sum->fast)
		sum->module->update(sum->fast, data, len);
	else
		g_checksum_update(sum->glib, data, len);
}

void sha256_finish(struct sha256 *sum, char out[65])
{
	guint8 digest[32];
	gsize len = sizeof(digest);

	if (sum->fast) {
		sum->module->close(sum->fast, digest);
	} else {
		g_checksum_get_digest(sum->glib, digest, &len);
		g_checksum_free(sum->glib);
	}
	for (gsize i = 0; i < sizeof(digest); i++) {
		out[2 * i] = "0123456789abcdef"[digest[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
	}
	out[64] = '\0';
	g_free(sum);
}

void sha256_hex(const void *data, gsize len, char out[65])
{
	struct sha256 *sum = sha256_new(len);

	sha256_update(sum, data, len);
	sha256_finish(sum, out);
}
