/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How long base64 content is once decoded, counted without decoding it: a dry run shows an
 * attachment's size and never its bytes, and decoding them was a fifth of its CPU. Only plain
 * base64 is counted (the alphabet, blanks and line ends, and at most two '=' at the end making
 * whole quartets), where the length is certain; anything a decoder has to skip or guess at is
 * left to GMime's, so the size is always the one decoding gives. */
#ifndef M2T_PARSERS_BASE64_SIZE_H
#define M2T_PARSERS_BASE64_SIZE_H

#include <glib.h>

struct base64_size {
	guint64 chars;	    /* of the alphabet */
	guint64 padding;    /* '=' */
	gboolean irregular; /* something else, or the alphabet after '=' */
};

/* Count the next len bytes of the content (given in as many pieces as it comes in). */
void base64_size_add(struct base64_size *count, const guchar *data, gsize len);
/* TRUE with *size when all the content added was plain base64. */
gboolean base64_size_get(const struct base64_size *count, guint64 *size);

#endif
