/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key the journal files a mail under, and the digests of the mail's bytes it is made of. */
#ifndef M2T_PARSERS_MAIL_KEY_H
#define M2T_PARSERS_MAIL_KEY_H

#include "parsers/mail.h"

/* Make the digests of raw (the bytes mail was parsed from) that mail's key is made of: the
 * identity of a mail with a Message-ID, else content_sha256 (and raw_sha256). */
void mail_key_digests(struct mail *mail, const char *raw, gsize len);

/* The key the journal files this mail under: "mid:<Message-ID>#<identity>", else
 * "sha256:<hex>". Newly allocated. The first call makes the digests when the parse left them
 * for later (parse_options.keys_on_demand). */
char *mail_key(const struct mail *mail);
/* The key journals written before keys had the identity used: "mid:<Message-ID>", or NULL for
 * a mail without one (its key is unchanged). Newly allocated. */
char *mail_legacy_key(const struct mail *mail);

#endif
