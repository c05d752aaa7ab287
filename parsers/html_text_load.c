/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* html_to_text() (html_text.h) with the renderer of the module mail2ticket-html.so, loaded at
 * the first HTML body: a run that meets none never maps libxml2 (nor ICU and libstdc++, which
 * it brings). */
#include "modules/module.h"
#include "parsers/html_module.h"

char *html_to_text(const char *html, gsize len)
{
	GError *error = NULL;
	const struct html_module *module = module_table(M2T_MODULE_HTML, &error);
	char *text;

	if (module)
		return module->to_text(html, len);
	/* A broken install must not lose the mail: its body goes on as the HTML it is, under a
	 * line that says why, for whoever reads the ticket. */
	text = g_strdup_printf("[HTML not rendered: %s]\n\n%.*s", error->message,
			       (int)MIN(len, (gsize)G_MAXINT), html);
	g_error_free(error);
	return text;
}
