/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unpacking the TNEF stream (winmail.dat, application/ms-tnef) that Outlook wraps attachments in,
 * so a ticket gets the real files rather than one winmail.dat. Decoding is libytnef's. */
#ifndef M2T_PARSERS_TNEF_H
#define M2T_PARSERS_TNEF_H

#include <glib.h>

struct tnef_file {
	char *name;	    /* long file name if present, else the 8.3 title; UTF-8, no NUL; NULL
			     * when the attachment has neither. Not sanitised: it may hold '/'. */
	char *content_type; /* from PR_ATTACH_MIME_TAG, lower case "type/subtype", else NULL */
	GBytes *data;	    /* never NULL nor empty: attachments without data are skipped */
};

/* Unpack a TNEF (winmail.dat) blob into its attachments, appended in stream order to files (a
 * GPtrArray whose free func the caller set to tnef_file_free), at most 1000 of them.
 *
 * Returns FALSE with *error set (G_IO_ERROR_INVALID_DATA; G_IO_ERROR_MESSAGE_TOO_LARGE over
 * 256 MiB) when the blob is not TNEF or is damaged. The message says what was wrong. Files from
 * the readable part of a damaged blob are still appended, and they stay: a caller that wants all
 * or nothing compares files->len before and after. A 1001st attachment also counts as damage.
 *
 * *body (may be NULL) receives the plain-text body carried inside (attBody, else PR_BODY), UTF-8
 * with LF line ends, or NULL when there is none. It is set on FALSE too. Never prints. */
gboolean tnef_unpack(const void *data, gsize len, GPtrArray *files, char **body, GError **error);

void tnef_file_free(struct tnef_file *file);

#endif
