/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uuencoded files inside plain text, as old Unix mailers and some scripts still send them. */
#ifndef M2T_PARSERS_UUENCODE_H
#define M2T_PARSERS_UUENCODE_H

#include <glib.h>

struct uu_file {
	char *name;
	GBytes *data;
};
void uu_file_free(struct uu_file *file);

/* Move each "begin MODE NAME" ... "end" block of text into files (free func uu_file_free) and
 * return the text without them (newly allocated). A block without its "end" is left as text. */
char *uuencode_extract(const char *text, GPtrArray *files);

#endif
