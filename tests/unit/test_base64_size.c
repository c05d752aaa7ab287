/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The base64 counter: the size decoding gives for plain base64, however it is cut into pieces,
 * and no size for content a decoder has to guess at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "parsers/base64_size.h"

/* The size counted for text given in two pieces at every split; -1 when there is none. */
static gint64 counted(const char *text)
{
	gsize len = strlen(text);
	gint64 first = -2;

	for (gsize split = 0; split <= len; split++) {
		struct base64_size count = {0};
		guint64 size;
		gint64 got;

		base64_size_add(&count, (const guchar *)text, split);
		base64_size_add(&count, (const guchar *)text + split, len - split);
		got = base64_size_get(&count, &size) ? (gint64)size : -1;
		if (first == -2)
			first = got;
		assert_int_equal(got, first);
	}
	return first;
}

static void test_plain_base64(void **state)
{
	(void)state;
	assert_int_equal(counted(""), 0);
	assert_int_equal(counted("QUJD"), 3);
	assert_int_equal(counted("QUJDRA=="), 4);
	assert_int_equal(counted("QUJDREU="), 5);
	/* Line ends of either kind, blanks, and blank lines after the end. */
	assert_int_equal(counted("QUJD\r\nREVG\r\nRw==\r\n\r\n"), 7);
	assert_int_equal(counted("QUJD\nREVG\n R w = = \n\t\n"), 7);
}

static void test_no_size_for_what_a_decoder_guesses_at(void **state)
{
	(void)state;
	assert_int_equal(counted("QUJD!REVG"), -1);	/* not of the alphabet */
	assert_int_equal(counted("QUJD-_"), -1);	/* base64url */
	assert_int_equal(counted("QUJDRA==REVG"), -1); /* the alphabet after '=' */
	assert_int_equal(counted("QUJDR==="), -1);	/* three '=' */
	assert_int_equal(counted("QUJDRA"), -1);	/* no padding */
	assert_int_equal(counted("QUJDR"), -1);		/* a character short */
	assert_int_equal(counted("QUJD\xc3\xa4"), -1);	/* 8-bit */
}

/* Long content goes through the counter sixteen bytes at a time: a bad byte anywhere in it, at
 * either side of a split, still counts. */
static void test_long_content(void **state)
{
	guchar bytes[3001];
	char *encoded;
	GString *lines = g_string_new(NULL);
	(void)state;

	for (gsize i = 0; i < sizeof(bytes); i++)
		bytes[i] = (guchar)(i * 7);
	encoded = g_base64_encode(bytes, sizeof(bytes));
	for (gsize i = 0, n = strlen(encoded); i < n; i += 76)
		g_string_append_printf(lines, "%.76s\r\n", encoded + i);
	for (gsize split = 0; split <= lines->len; split += 97) {
		struct base64_size count = {0};
		guint64 size = 0;

		base64_size_add(&count, (const guchar *)lines->str, split);
		base64_size_add(&count, (const guchar *)lines->str + split, lines->len - split);
		assert_true(base64_size_get(&count, &size));
		assert_int_equal(size, sizeof(bytes));
	}
	for (gsize bad = 0; bad < lines->len - 4; bad += 13) {
		struct base64_size count = {0};
		guint64 size;
		char kept = lines->str[bad];

		lines->str[bad] = '!';
		base64_size_add(&count, (const guchar *)lines->str, bad / 2);
		base64_size_add(&count, (const guchar *)lines->str + bad / 2, lines->len - bad / 2);
		assert_false(base64_size_get(&count, &size));
		lines->str[bad] = kept;
	}
	g_string_free(lines, TRUE);
	g_free(encoded);
}

static void test_nul_is_not_base64(void **state)
{
	struct base64_size count = {0};
	guint64 size;
	(void)state;

	base64_size_add(&count, (const guchar *)"QUJD\0RA==", 9);
	assert_false(base64_size_get(&count, &size));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_base64),
	    cmocka_unit_test(test_no_size_for_what_a_decoder_guesses_at),
	    cmocka_unit_test(test_long_content),
	    cmocka_unit_test(test_nul_is_not_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
