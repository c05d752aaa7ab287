/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text of any label to valid UTF-8, never dropping the rest of the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gmime/gmime.h>
#include <string.h>

#include "parsers/charset.h"

static void assert_converts(const char *data, gsize len, const char *charset, const char *want,
			    gboolean want_lossy)
{
	gboolean lossy = !want_lossy;
	char *got = charset_to_utf8(data, len, charset, &lossy);

	assert_string_equal(got, want);
	assert_int_equal(lossy, want_lossy);
	g_free(got);
}

static void test_declared_charsets(void **state)
{
	(void)state;
	assert_converts("Gr\xFC\xDF" "e", 5, "iso-8859-1", "Grüße", FALSE);
	assert_converts("\xF0\xD2\xC9\xD7\xC5\xD4", 6, "koi8-r", "Привет", FALSE);
	assert_converts("plain", 5, "us-ascii", "plain", FALSE);
	assert_converts("\xE2\x82\xAC", 3, "UTF-8", "€", FALSE);
}

static void test_windows_1252_labelled_latin1(void **state)
{
	(void)state;
	/* 0x93/0x94 are curly quotes and 0x80 the euro sign in windows-1252, controls in
	 * Latin-1. */
	assert_converts("\x93hi\x94 \x80", 6, "iso-8859-1", "“hi” €", FALSE);
}

static void test_utf8_mislabelled(void **state)
{
	(void)state;
	assert_converts("caf\xC3\xA9", 5, "us-ascii", "café", FALSE);
	assert_converts("caf\xC3\xA9", 5, NULL, "café", FALSE);
	assert_converts("\xD0\x94\xD0\xBE", 4, "koi8-r", "До", FALSE);
}

static void test_8bit_without_label_is_windows_1252(void **state)
{
	(void)state;
	assert_converts("caf\xE9 \x80", 6, NULL, "café €", FALSE);
}

static void test_bad_bytes_are_replaced_not_truncated(void **state)
{
	(void)state;
	assert_converts("ok \xFF\xFE then more", 16, "utf-8",
			"ok \xEF\xBF\xBD\xEF\xBF\xBD then more", TRUE);
	/* ISO-2022-JP with a stray 8-bit byte in the middle. */
	assert_converts("a\xFF" "b", 3, "iso-2022-jp", "a\xEF\xBF\xBD" "b", TRUE);
}

static void test_unknown_charset_falls_back(void **state)
{
	(void)state;
	assert_converts("caf\xE9", 4, "x-no-such-charset", "café", FALSE);
}

static void test_nul_bytes_removed(void **state)
{
	(void)state;
	assert_converts("a\0b", 3, "utf-8", "ab", FALSE);
	/* ASCII in a charset whose lower half is ASCII is not handed to iconv: NULs still go. */
	assert_converts("a\0b\r\n", 5, "windows-1252", "ab\r\n", FALSE);
	assert_converts("\0plain\0", 7, "iso-8859-15", "plain", FALSE);
	assert_converts("a\x1b(Bb", 5, "iso-8859-1", "a\x1b(Bb", FALSE);
}

static void test_charset_labels(void **state)
{
	(void)state;
	assert_true(charset_label_is_valid("UTF-8"));
	assert_true(charset_label_is_valid("ISO_8859-1:1987"));
	assert_true(charset_label_is_valid("x-mac.roman"));
	assert_false(charset_label_is_valid(""));
	assert_false(charset_label_is_valid("utf-8\nmail2ticket: info: forged"));
	assert_false(charset_label_is_valid("../../tmp/x"));
	assert_false(charset_label_is_valid("utf-8//TRANSLIT"));
	assert_false(charset_label_is_valid("utf 8"));
	assert_false(charset_label_is_valid("\xc3\xa9"));
	/* Such a label counts as none: UTF-8 if valid, else windows-1252. */
	assert_converts("caf\xE9", 4, "latin1//TRANSLIT", "café", FALSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_declared_charsets),
	    cmocka_unit_test(test_windows_1252_labelled_latin1),
	    cmocka_unit_test(test_utf8_mislabelled),
	    cmocka_unit_test(test_8bit_without_label_is_windows_1252),
	    cmocka_unit_test(test_bad_bytes_are_replaced_not_truncated),
	    cmocka_unit_test(test_unknown_charset_falls_back),
	    cmocka_unit_test(test_nul_bytes_removed),
	    cmocka_unit_test(test_charset_labels),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
