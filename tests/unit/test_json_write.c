/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fast JSON writer against jansson's json_dumps(): the same bytes for every kind of value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "desk/json_write.h"

/* The text's value written both ways; also returned (newly allocated), for cases that pin it. */
static char *assert_writes_as_jansson(const char *json_text)
{
	json_error_t jerr;
	json_t *value = json_loads(json_text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	GString *out = g_string_new(NULL);
	char *want;

	assert_non_null(value);
	want = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	json_write_compact(out, value);
	assert_string_equal(out->str, want);
	free(want);
	json_decref(value);
	return g_string_free(out, FALSE);
}

static void test_same_bytes_as_jansson(void **state)
{
	static const char *const texts[] = {
	    "{}", "[]", "\"\"", "null", "true", "false", "0", "-9223372036854775808", "1.5",
	    "1e300", "-0.0", "[1,[2,[3,{}]],{\"a\":[]}]",
	    "{\"z\":1,\"a\":2,\"m\":{\"y\":\"x\"}}",
	    "\"quote \\\" backslash \\\\ slash / tab \\t\"",
	    "\"\\b\\f\\n\\r\\t \\u0001 \\u001f \\u007f\"",
	    "\"\\u0000 after a NUL\"",
	    "\"Z\\u00fcrich \\u20ac \\ud83d\\ude00 \\u2028\"",
	    "{\"key \\\"with\\\" \\n escapes\":\"v\",\"\\u00e9\":[\"\\\\\"]}",
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++)
		g_free(assert_writes_as_jansson(texts[i]));
}

/* Each byte that needs an escape, at every place in and around two blocks of sixteen (the writer
 * looks for them sixteen bytes at a time), and a second one three bytes on. */
static void test_escapes_anywhere(void **state)
{
	static const char *const escaped[] = {"\\\"", "\\\\", "\\n", "\\u0001", "\\u001f"};
	(void)state;

	for (gsize len = 1; len <= 40; len++)
		for (gsize at = 0; at < len; at++)
			for (gsize e = 0; e < G_N_ELEMENTS(escaped); e++) {
				GString *text = g_string_new("\"");
				for (gsize i = 0; i < len; i++)
					g_string_append(text,
							i == at || i == at + 3 ? escaped[e] : "a");
				g_string_append_c(text, '"');
				g_free(assert_writes_as_jansson(text->str));
				g_string_free(text, TRUE);
			}
}

/* A dry-run line as it is printed: insertion order, controls as jansson writes them. */
static void test_dry_run_line(void **state)
{
	char *line = assert_writes_as_jansson(
	    "{\"desk\":\"whmcs\",\"params\":{\"message\":\"Hi\\n\\u0007\\\"x\\\"\","
	    "\"attachments\":[{\"name\":\"a.pdf\",\"size\":60000}]}}");
	(void)state;

	assert_string_equal(line,
			    "{\"desk\":\"whmcs\",\"params\":{\"message\":\"Hi\\n\\u0007\\\"x\\\"\","
			    "\"attachments\":[{\"name\":\"a.pdf\",\"size\":60000}]}}");
	g_free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_bytes_as_jansson),
	    cmocka_unit_test(test_escapes_anywhere),
	    cmocka_unit_test(test_dry_run_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
