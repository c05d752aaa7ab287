/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 3676 format=flowed decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parsers/flowed.h"

static void assert_decodes(const char *text, gboolean delsp, const char *want)
{
	char *got = flowed_decode(text, delsp);
	assert_string_equal(got, want);
	g_free(got);
}

static void test_soft_breaks_join(void **state)
{
	(void)state;
	assert_decodes("one two \nthree\nnext\n", FALSE, "one two three\nnext\n");
	assert_decodes("a \nb \nc", FALSE, "a b c");
}

static void test_delsp_removes_the_marking_space(void **state)
{
	(void)state;
	assert_decodes("Donau\x64\x61mpf \nschiff\n", TRUE, "Donaudampfschiff\n");
}

static void test_quotes_join_per_depth(void **state)
{
	(void)state;
	assert_decodes("> quoted \n> more\n>> deeper \n>> still\nown\n", FALSE,
		       "> quoted more\n>> deeper still\nown\n");
	/* A soft break before a line of another depth does not join them. */
	assert_decodes("> soft \nnot quoted\n", FALSE, "> soft \nnot quoted\n");
}

static void test_space_stuffing_and_signature(void **state)
{
	(void)state;
	assert_decodes("  From here\n", FALSE, " From here\n");
	assert_decodes("text\n-- \nsig\n", FALSE, "text\n-- \nsig\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_soft_breaks_join),
	    cmocka_unit_test(test_delsp_removes_the_marking_space),
	    cmocka_unit_test(test_quotes_join_per_depth),
	    cmocka_unit_test(test_space_stuffing_and_signature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
