/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mail text cleared of controls: the sixteen-at-a-time scan against a byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "parsers/lines.h"

/* text without its controls other than tab and line end, a byte at a time. */
static char *dropped_by_bytes(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p; p++)
		if ((guchar)*p >= 0x20 || *p == '\t' || *p == '\n')
			g_string_append_c(out, *p);
	return g_string_free(out, FALSE);
}

/* Every byte below 0x20 (and DEL and an 8-bit byte, kept) at every place in and around two
 * blocks of sixteen, in text of every length up to 40; and two controls in one block. */
static void test_drop_controls_anywhere(void **state)
{
	(void)state;

	for (gsize len = 1; len <= 40; len++)
		for (gsize at = 0; at < len; at++)
			for (int c = 1; c <= 0x21; c++) {
				char *text = g_strnfill(len, 'a');
				char *want;
				text[at] = c == 0x20 ? 0x7f : c == 0x21 ? (char)0xe9 : (char)c;
				if (at + 3 < len)
					text[at + 3] = '\r';
				want = dropped_by_bytes(text);
				assert_string_equal(lines_drop_controls(text), want);
				g_free(want);
				g_free(text);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drop_controls_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
