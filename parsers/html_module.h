/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTML renderer (html_text.c), the module mail2ticket-html.so that holds libxml2; loaded by
 * html_to_text() (html_text_load.c) at the first HTML body. */
#ifndef M2T_PARSERS_HTML_MODULE_H
#define M2T_PARSERS_HTML_MODULE_H

#include "parsers/html_text.h"

struct html_module {
	char *(*to_text)(const char *html, gsize len); /* as html_to_text() */
};

/* The module's table (modules/module.h: M2T_MODULE_HTML). */
extern const struct html_module html_xml2_module;

#endif
