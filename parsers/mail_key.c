/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail keys and their digests (mail_key.h). Journal keys are made of these digests: they must
 * not change (test_mail_parse pins some). */
#include "parsers/mail_key.h"

#include <string.h>

#include "parsers/sha256.h"

/* Where a mail's own bytes begin: past the lines the last hop writes anew for each delivery
 * attempt or recipient: an mbox "From " line (Postfix's local(8), Exim's message_prefix) and
 * Return-Path, Delivered-To and X-Original-To (Postfix's pipe flags R, D, O), with their folded
 * continuations. */
static gsize own_bytes_start(const char *raw, gsize len)
{
	static const char *const added[] = {"Return-Path:", "Delivered-To:", "X-Original-To:"};
	gsize at = 0;
	gboolean in_added = FALSE;

	for (;;) {
		const char *line = raw + at;
		const char *nl = memchr(line, '\n', len - at);
		gboolean skip = FALSE;
		if (!nl)
			break;
		if (at == 0 && len >= 5 && memcmp(raw, "From ", 5) == 0)
			skip = TRUE;
		else if (in_added && (*line == ' ' || *line == '\t'))
			skip = TRUE;
		for (gsize i = 0; !skip && i < G_N_ELEMENTS(added); i++)
			skip = (gsize)(nl - line) >= strlen(added[i]) &&
			       g_ascii_strncasecmp(line, added[i], strlen(added[i])) == 0;
		if (!skip)
			break;
		in_added = TRUE;
		at = nl + 1 - raw;
	}
	return at;
}

/* Header values as they do not change between deliveries of one mail: unfolded, runs of blanks
 * as one space, trimmed. */
static void append_normalized(GString *out, const char *p, const char *end)
{
	gboolean blank = FALSE;

	for (; p < end; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			blank = TRUE;
			continue;
		}
		if (blank && out->len && out->str[out->len - 1] != '\n')
			g_string_append_c(out, ' ');
		blank = FALSE;
		g_string_append_c(out, *p);
	}
}

/* The body into sum without its CRs and without the '>'s that quote a line "From " (">From " in
 * an mbox file, "From " once an mbox reader undid it), in runs as long as nothing is left out.
 * Only CRs and '>'s matter, each found with memchr, not the lines: most bodies have neither, and
 * cost the hash and two memchr calls. Journal keys are made of this digest: it must not change
 * (test_mail_parse pins some). */
static void hash_body(struct sha256 *sum, const char *body, const char *end)
{
	const char *run = body;
	const char *cr = memchr(body, '\r', end - body);
	const char *gt = memchr(body, '>', end - body);

	while (cr || gt) {
		const char *from;

		if (cr && (!gt || cr < gt)) {
			sha256_update(sum, run, cr - run);
			run = cr + 1;
			cr = memchr(run, '\r', end - run);
			continue;
		}
		from = gt + 1;
		if (gt == body || gt[-1] == '\n') {
			while (from < end && *from == '>')
				from++;
			if (end - from >= 5 && memcmp(from, "From ", 5) == 0) {
				sha256_update(sum, run, gt - run);
				run = from;
			}
		}
		gt = memchr(from, '>', end - from);
	}
	sha256_update(sum, run, end - run);
}

/* What tells one mail from another that carries the same Message-ID (a web form or a broken
 * mailer reuses them; a forger could send one to suppress a genuine mail): the first From, Date
 * and Subject of the header block and the body, which no hop changes (CR, trailing blanks and
 * the '>'s of mbox quoting aside: IMAP gives CRLF, an MTA LF, an mbox ">From "). Hex, the first
 * 16 digits of a SHA-256, into out. One pass over raw; nothing of the body is copied. */
static void identity_digest(const char *raw, gsize len, char out[17])
{
	static const char *const names[] = {"From:", "Date:", "Subject:"};
	GString *fields[G_N_ELEMENTS(names)] = {NULL};
	struct sha256 *sum = sha256_new(len);
	const char *end = raw + len, *line = raw, *body = end;
	char hex[65];
	int current = -1;

	while (line < end) {
		const char *nl = memchr(line, '\n', end - line);
		const char *next = nl ? nl + 1 : end;

		if (line[0] == '\n' || (line[0] == '\r' && next - line <= 2)) {
			body = next;
			break;
		}
		if (line[0] != ' ' && line[0] != '\t') {
			current = -1;
			for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
				if (!fields[i] && (gsize)(next - line) >= strlen(names[i]) &&
				    g_ascii_strncasecmp(line, names[i], strlen(names[i])) == 0) {
					current = (int)i;
					fields[i] = g_string_new(NULL);
					line += strlen(names[i]);
				}
		}
		if (current >= 0)
			append_normalized(fields[current], line, next);
		line = next;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		if (fields[i])
			sha256_update(sum, fields[i]->str, fields[i]->len);
		sha256_update(sum, "\n", 1);
		if (fields[i])
			g_string_free(fields[i], TRUE);
	}
	while (end > body &&
	       (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	hash_body(sum, body, end);
	sha256_finish(sum, hex);
	g_strlcpy(out, hex, 17);
}

void mail_key_digests(struct mail *mail, const char *raw, gsize len)
{
	gsize own;

	if (mail->message_id) {
		identity_digest(raw, len, mail->identity);
		return;
	}
	if (!mail->raw_sha256[0])
		sha256_hex(raw, len, mail->raw_sha256);
	own = own_bytes_start(raw, len);
	if (own == 0)
		g_strlcpy(mail->content_sha256, mail->raw_sha256, sizeof(mail->content_sha256));
	else
		sha256_hex(raw + own, len - own, mail->content_sha256);
}

char *mail_key(const struct mail *mail)
{
	if (mail->key_source) {
		/* One thread at a time owns a mail, so the digests need no lock though they are
		 * made behind a const pointer (as the reply cut is). */
		struct mail *m = (struct mail *)mail;
		gsize len;
		const char *raw = g_bytes_get_data(m->key_source, &len);

		mail_key_digests(m, raw ? raw : "", len);
		g_clear_pointer(&m->key_source, g_bytes_unref);
	}
	if (mail->message_id && *mail->message_id)
		return g_strconcat("mid:", mail->message_id, "#", mail->identity, NULL);
	return g_strconcat("sha256:", mail->content_sha256, NULL);
}

char *mail_legacy_key(const struct mail *mail)
{
	if (mail->message_id && *mail->message_id)
		return g_strconcat("mid:", mail->message_id, NULL);
	return NULL;
}
