/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 of mail bytes (the mail's keys and identity), hex. A run that hashes little (one mail
 * from the MTA) uses GLib's; once a run has hashed a few megabytes (an import) it loads the
 * module mail2ticket-digest.so, whose GnuTLS uses the CPU's SHA instructions, about four times
 * as fast. The digests are the same either way. */
#ifndef M2T_PARSERS_SHA256_H
#define M2T_PARSERS_SHA256_H

#include <glib.h>

struct sha256;

/* A new sum of len bytes to come (for the choice above; more or fewer may come). Finish it with
 * sha256_finish(). */
struct sha256 *sha256_new(gsize len);
void sha256_update(struct sha256 *sum, const void *data, gsize len);
/* The digest as hex into out; sum is freed. */
void sha256_finish(struct sha256 *sum, char out[65]);
/* A run about to hash some len bytes (an import of an archive that size) says so first, so that
 * past the few megabytes that pay for it the fast digest is used from the first mail on. */
void sha256_expect(guint64 len);
/* The SHA-256 of data as hex into out. */
void sha256_hex(const void *data, gsize len, char out[65]);

#endif
