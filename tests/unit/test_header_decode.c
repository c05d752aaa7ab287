/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 2047 decoding, including GMime 3.2.13's lost text after a padded encoded word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "parsers/header_decode.h"

static GMimeParserOptions *options;

static int setup(void **state)
{
	(void)state;
	g_mime_init();
	options = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_STRICT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	g_mime_parser_options_free(options);
	g_mime_shutdown();
	return 0;
}

static void assert_decodes(const char *raw, const char *want)
{
	char *got = header_decode_text(raw);
	assert_string_equal(got, want);
	g_free(got);
}

/* The cases of gmime-bugs/gmime_rfc2047_repro.c: each failed with plain GMime 3.2.13. */
static void test_padded_word_keeps_the_rest(void **state)
{
	(void)state;
	assert_decodes("=?utf-8?B?0JTQvtC80LXQvQ==?= =?utf-8?B?INC90LU=?=", "Домен не");
	assert_decodes("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=", "éé");
	assert_decodes("=?utf-8?B?w6nDqQ==?= =?iso-8859-1?B?6Q==?=", "ééé");
	assert_decodes("=?utf-8?B?w6nDqcOp?= =?utf-8?B?w6k=?=", "éééé");
}

static void test_three_words_with_folding(void **state)
{
	(void)state;
	assert_decodes(" =?utf-8?B?0JTQvtC80LXQvQ==?=\n =?utf-8?B?INC90LU=?=\n\t"
		       "=?utf-8?B?INC/0YDQvtC00LvQtdCy0LDQtdGC0YHRjw==?=\n",
		       "Домен не продлевается");
}

static void test_multibyte_character_split_across_words(void **state)
{
	(void)state;
	/* "é" is C3 A9: the first word ends after C3, the second starts with A9. */
	assert_decodes("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=", "café");
}

static void test_text_between_words_is_kept(void **state)
{
	(void)state;
	assert_decodes("Re: =?utf-8?B?w6k=?= and =?utf-8?B?w6k=?= done", "Re: é and é done");
	assert_decodes("[Ticket ID: 996438] =?utf-8?Q?Dom=C3=A9ne?=", "[Ticket ID: 996438] Doméne");
}

static void test_other_charsets(void **state)
{
	(void)state;
	assert_decodes("=?iso-8859-1?Q?Gr=FC=DFe?=", "Grüße");
	assert_decodes("=?koi8-r?B?8NLJ18XU?=", "Привет");
}

/* Every run of words becomes one UTF-8 word, decoded as the text is: GMime then never reads a
 * word with the label's own charset. */
static void test_merge_hands_gmime_utf8(void **state)
{
	char *merged = header_merge_encoded_words("a =?utf-8?B?w6k=?= b");
	(void)state;
	assert_string_equal(merged, "a =?UTF-8?B?w6k=?= b");
	g_free(merged);
	merged = header_merge_encoded_words("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=");
	assert_string_equal(merged, "=?UTF-8?B?w6nDqQ==?=");
	g_free(merged);
	/* iso-8859-1 holding windows-1252's quotes: U+201C and U+201D, not C1 controls. */
	merged = header_merge_encoded_words("=?iso-8859-1?Q?=93x=94?=");
	assert_string_equal(merged, "=?UTF-8?B?4oCceOKAnQ==?=");
	g_free(merged);
}

static void test_malformed_words_do_not_crash(void **state)
{
	static const char *const inputs[] = {"=?", "=?utf-8?", "=?utf-8?B?", "=?utf-8?X?abc?=",
					     "=?utf-8?Q?=?=", "=?utf-8?Q?=4?=", "=?utf-8?B?!!!?=",
					     "=?utf-8?B?w6k=?= =?", ""};
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(inputs); i++) {
		char *got = header_decode_text(inputs[i]);
		assert_non_null(got);
		assert_true(g_utf8_validate(got, -1, NULL));
		g_free(got);
	}
}

static void test_addresses_with_split_names(void **state)
{
	InternetAddressList *list = header_parse_addresses(
	    options,
	    "=?utf-8?B?0JTQvtC80LXQvQ==?= =?utf-8?B?INC90LU=?= <a@example.org>, b@example.net");
	(void)state;
	assert_int_equal(internet_address_list_length(list), 2);
	assert_string_equal(internet_address_get_name(internet_address_list_get_address(list, 0)),
			    "Домен не");
	g_object_unref(list);
}

static void test_words_glued_to_text(void **state)
{
	(void)state;
	assert_decodes("Re:=?utf-8?Q?Dom=C3=A9ne?=", "Re:Doméne");
	assert_decodes("=?utf-8?B?w6k=?=.pdf", "é.pdf");
	assert_decodes("=?utf-8*de?Q?Gr=C3=BC=C3=9Fe?=", "Grüße");
}

/* Openers without a closing "?=" (hostile mail repeats them for hundreds of kilobytes) stay text;
 * the decoder must not rescan the rest of the header from each of them. */
static void test_unclosed_words_stay_text(void **state)
{
	GString *raw = g_string_new(NULL);
	char *got;
	(void)state;

	for (int i = 0; i < 20000; i++)
		g_string_append(raw, "=?a?B?x");
	got = header_decode_text(raw->str);
	assert_string_equal(got, raw->str);
	g_free(got);
	g_string_free(raw, TRUE);
	assert_decodes("=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=");
}

/* A label outside [A-Za-z0-9._:-] never reaches iconv: the word is read as UTF-8 or
 * windows-1252. */
static void test_bad_charset_labels(void **state)
{
	char *merged;
	(void)state;

	assert_decodes("=?utf/8?Q?caf=C3=A9?=", "café");
	assert_decodes("=?x'y?Q?caf=E9?=", "café");
	merged = header_merge_encoded_words("a =?../../x?B?w6k=?= b");
	assert_string_equal(merged, "a =?UTF-8?B?w6k=?= b");
	g_free(merged);
}

/* GMime leaves bytes it could not convert in a name (found by the header fuzzer). */
static void test_address_names_are_utf8(void **state)
{
	static const char *const inputs[] = {
	    "Caf\xe9 \xff <a@example.org>",
	    "=?utf-4?B\xf2\xff\xff?\x9d\x9d\x9d\xc6\x9d?0JT(c)vQ/==?= =?uT\xf4\x9d\x9d"
	    "\x99Uv0LXQvQ==?==?utfS-6?B?0JTQ.?= Re:=.o\xc5=?utf3- ",
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(inputs); i++) {
		InternetAddressList *list = header_parse_addresses(options, inputs[i]);
		for (int k = 0; list && k < internet_address_list_length(list); k++) {
			const char *name =
			    internet_address_get_name(internet_address_list_get_address(list, k));
			assert_true(!name || g_utf8_validate(name, -1, NULL));
		}
		if (list)
			g_object_unref(list);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_padded_word_keeps_the_rest),
	    cmocka_unit_test(test_three_words_with_folding),
	    cmocka_unit_test(test_multibyte_character_split_across_words),
	    cmocka_unit_test(test_text_between_words_is_kept),
	    cmocka_unit_test(test_other_charsets),
	    cmocka_unit_test(test_merge_hands_gmime_utf8),
	    cmocka_unit_test(test_malformed_words_do_not_crash),
	    cmocka_unit_test(test_addresses_with_split_names),
	    cmocka_unit_test(test_words_glued_to_text),
	    cmocka_unit_test(test_unclosed_words_stay_text),
	    cmocka_unit_test(test_bad_charset_labels),
	    cmocka_unit_test(test_address_names_are_utf8),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
