/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any UTF-8 through the HTML renderer (as mail_parse hands it over, after the
 * charset conversion) must neither crash, leak nor hang, and must come out as valid UTF-8. */
#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>

#include "parsers/charset.h"
#include "parsers/html_text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *html = charset_to_utf8((const char *)data, size, "utf-8", NULL);
	char *text = html_to_text(html, strlen(html));

	if (!g_utf8_validate(text, -1, NULL))
		abort();
	g_free(text);
	g_free(html);
	return 0;
}
