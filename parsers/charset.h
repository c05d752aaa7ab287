/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Turning text of any declared (or wrongly declared) charset into valid UTF-8. */
#ifndef M2T_PARSERS_CHARSET_H
#define M2T_PARSERS_CHARSET_H

#include <glib.h>

/* Whether label may name a charset: only [A-Za-z0-9._:-], at most 64 of them. Anything else is
 * never handed to iconv (a label is mail text, and iconv parses more than names out of it). */
gboolean charset_label_is_valid(const char *label);

/* The charset a mailer's label really means: its superset where mailers outgrow the label
 * (iso-8859-1 holding windows-1252 bytes, gb2312 holding GBK...), else label. */
const char *charset_superset(const char *label);

/* Convert len bytes of text labelled charset (NULL when undeclared; a label that is
 * not valid counts as undeclared) to valid UTF-8. Never fails:
 * bytes that cannot be decoded become U+FFFD and the rest of the text is kept. Sets *lossy (when
 * not NULL) if any byte had to be replaced. Newly allocated. */
char *charset_to_utf8(const char *data, gsize len, const char *charset, gboolean *lossy);

/* len bytes of text in charset (through its superset) as UTF-8, or NULL when a byte is not
 * valid there: for trying the charsets a message declares on 8-bit header text. Newly
 * allocated. */
char *charset_to_utf8_exact(const char *data, gsize len, const char *charset);

#endif
