/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTML mail bodies as the plain text a person would read. */
#ifndef M2T_PARSERS_HTML_TEXT_H
#define M2T_PARSERS_HTML_TEXT_H

#include <glib.h>

/* Render UTF-8 HTML as text: paragraphs and line breaks kept, lists as "- " items, links as
 * "text (url)", table cells separated by " | ", entities decoded, script, style and hidden
 * elements dropped. Newly allocated UTF-8. */
char *html_to_text(const char *html, gsize len);

#endif
