/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Custom fields in PHP serialize() form, as api-contract.md gives the examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "desk/php_serialize.h"

static void assert_serializes(const struct desk_field *fields, gsize n, const char *want)
{
	char *got = php_serialize_fields(fields, n);
	assert_string_equal(got, want);
	g_free(got);
}

static void test_contract_examples(void **state)
{
	const struct desk_field one[] = {{.id = 8, .value = "mydomain.com"}};
	const struct desk_field utf8[] = {{.id = 3, .value = "Zürich"}};
	const struct desk_field two[] = {{.id = 1, .value = "a"}, {.id = 2, .value = "bc"}};
	(void)state;

	assert_serializes(one, 1, "a:1:{i:8;s:12:\"mydomain.com\";}");
	assert_serializes(utf8, 1, "a:1:{i:3;s:7:\"Zürich\";}");
	assert_serializes(two, 2, "a:2:{i:1;s:1:\"a\";i:2;s:2:\"bc\";}");
}

static void test_quotes_and_empty(void **state)
{
	const struct desk_field quoted[] = {{.id = 5, .value = "say \"hi\";"},
					    {.id = 6, .value = ""}};
	(void)state;

	assert_serializes(quoted, 2, "a:2:{i:5;s:9:\"say \"hi\";\";i:6;s:0:\"\";}");
	assert_serializes(NULL, 0, "a:0:{}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contract_examples),
	    cmocka_unit_test(test_quotes_and_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
