/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* MIME message -> struct mail, with GMime. */
#ifndef M2T_PARSERS_MAIL_PARSE_H
#define M2T_PARSERS_MAIL_PARSE_H

#include "parsers/mail.h"

struct parse_options {
	gsize max_attachment_bytes; /* 0: no limit */
	gsize max_total_bytes;	    /* 0: no limit */
	/* lines that start quoted text; NULL-terminated or NULL */
	const char *const *reply_markers;
	gboolean raw_digest; /* compute raw_sha256 even when the mail has a Message-ID */
	/* A dry run's: it shows attachments by name and size, so a base64 one is measured without
	 * being decoded, and has no data. */
	gboolean attachment_sizes_only;
	/* A run that reads a mail's key only for a line it may log about it (a dry run without a
	 * journal): the digests the key is made of, a SHA-256 over the whole mail, are made when
	 * mail_key() first asks, and the mail holds its bytes until then. mail_parse_bytes() only.
	 */
	gboolean keys_on_demand;
};

/* Sized for a desk behind PHP's usual upload limits: the API carries attachments base64 inside
 * base64, about 1.8 times their size. */
#define PARSE_OPTIONS_DEFAULT {.max_attachment_bytes = 10 << 20, .max_total_bytes = 16 << 20}

/* Parse one raw message. Never fails: what cannot be read is recorded in mail->warnings, and a
 * message GMime cannot build at all comes back with its raw bytes as an attachment. opts NULL:
 * PARSE_OPTIONS_DEFAULT. Free with mail_free(). GMime must have been initialised (g_mime_init). */
struct mail *mail_parse(const char *raw, gsize len, const struct parse_options *opts);
/* The same for bytes a GBytes holds, which the mail may keep (keys_on_demand). */
struct mail *mail_parse_bytes(GBytes *raw, const struct parse_options *opts);

/* The text without quoted history and signature (never NULL), and who originally wrote what an
 * agent forwards (NULLs when none), borrowed from mail. Both are made on the first call: only
 * replies and agents' forwards need them. */
const char *mail_reply_text(const struct mail *mail);
const struct mail_address *mail_original_sender(const struct mail *mail);

/* What ties a mail to the others of its thread, as mail_parse() reads it: its Message-ID,
 * the first of In-Reply-To, and References (of char *, oldest first); NULL where it has none.
 * Read from the head alone, so a plan of an archive's threads does not parse whole mails. */
struct mail_thread_ids {
	char *message_id;
	char *in_reply_to;
	GPtrArray *references;
};
void mail_thread_ids(const char *raw, gsize len, struct mail_thread_ids *out);
void mail_thread_ids_clear(struct mail_thread_ids *ids);

#endif
