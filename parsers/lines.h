/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail text cut into lines, and cleared of what no line of text holds. */
#ifndef M2T_PARSERS_LINES_H
#define M2T_PARSERS_LINES_H

#include <glib.h>

/* text cut at each '\n' (the '\n' left out), as g_strsplit(text, "\n", -1) cuts it: n line ends
 * give n + 1 lines. One pass with memchr: g_strsplit() finds each line end with strstr() from
 * there on, which the sanitizers' strstr makes quadratic in the text's length. Free with
 * g_strfreev(). */
char **lines_split(const char *text);

/* Remove, in place, the C0 control characters other than tab and line feed (form feed, BEL, ESC,
 * a stray CR...): they are no text, and a desk shows them as boxes or worse. Returns text. */
char *lines_drop_controls(char *text);

#endif
