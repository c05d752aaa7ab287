/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uuencoded blocks in plain text become files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "parsers/uuencode.h"

static void test_block_becomes_a_file(void **state)
{
	GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)uu_file_free);
	/* "hello\n" uuencoded by uuencode(1). */
	char *text = uuencode_extract("see attached\nbegin 644 hello.txt\n&:&5L;&\\*\n`\nend\nbye",
				      files);
	const struct uu_file *f;
	gsize len;
	(void)state;

	assert_string_equal(text, "see attached\nbye");
	assert_int_equal(files->len, 1);
	f = g_ptr_array_index(files, 0);
	assert_string_equal(f->name, "hello.txt");
	assert_memory_equal(g_bytes_get_data(f->data, &len), "hello\n", 6);
	assert_int_equal(len, 6);
	g_free(text);
	g_ptr_array_unref(files);
}

static void test_unfinished_block_stays_text(void **state)
{
	GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)uu_file_free);
	char *text = uuencode_extract("begin 644 x.bin\n&:&5L;&\\*\nno end", files);
	(void)state;

	assert_string_equal(text, "begin 644 x.bin\n&:&5L;&\\*\nno end");
	assert_int_equal(files->len, 0);
	g_free(text);
	text = uuencode_extract("begin the meeting at 10\nend", files);
	assert_string_equal(text, "begin the meeting at 10\nend");
	assert_int_equal(files->len, 0);
	g_free(text);
	g_ptr_array_unref(files);
}

/* Each "begin" line used to search the rest of the text for its "end" (quadratic); and the lines
 * it searched lost their trailing blanks. */
static void test_many_begins_without_end(void **state)
{
	GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)uu_file_free);
	GString *in = g_string_new(NULL);
	char *text;
	(void)state;

	for (int i = 0; i < 20000; i++)
		g_string_append(in, "begin 644 x \n");
	g_string_append(in, "last line  ");
	text = uuencode_extract(in->str, files);
	assert_string_equal(text, in->str);
	assert_int_equal(files->len, 0);
	g_free(text);
	g_string_free(in, TRUE);
	g_ptr_array_unref(files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_block_becomes_a_file),
	    cmocka_unit_test(test_unfinished_block_stays_text),
	    cmocka_unit_test(test_many_begins_without_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
