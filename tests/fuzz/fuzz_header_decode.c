/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any header value through RFC 2047 decoding (mail2ticket's own, for text) and
 * address parsing (GMime's, with the names it leaves encoded decoded after), with the parser
 * options mail_parse uses: no crash, leak or hang, and valid UTF-8 out. */
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/header_decode.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GMimeParserOptions *options;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *fallback_charsets[] = {"UTF-8", "windows-1252", NULL};

	(void)argc;
	(void)argv;
	g_mime_init();
	options = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_STRICT);
	g_mime_parser_options_set_address_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(options, TRUE);
	g_mime_parser_options_set_fallback_charsets(options, fallback_charsets);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = g_strndup((const char *)data, size);
	char *text = header_decode_text(raw);
	char *merged = header_merge_encoded_words(raw);
	InternetAddressList *list = header_parse_addresses(options, raw);

	if (!g_utf8_validate(text, -1, NULL))
		abort();
	for (int i = 0; list && i < internet_address_list_length(list); i++) {
		const char *name =
		    internet_address_get_name(internet_address_list_get_address(list, i));
		if (name && !g_utf8_validate(name, -1, NULL))
			abort();
	}
	if (list)
		g_object_unref(list);
	g_free(merged);
	g_free(text);
	g_free(raw);
	return 0;
}
