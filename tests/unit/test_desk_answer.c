/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every backend makes of a desk's answer: statuses that refuse a mail, and quotes of the
 * desk's text without the secrets a desk, proxy or WAF echoing the request shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "desk/desk.h"
#include "desk/desk_answer.h"

static const char *const secrets[] = {"s3cr/et+word", NULL, "", "tok-123456"};
#define N_SECRETS G_N_ELEMENTS(secrets)

static void assert_quote(const char *text, gsize max, const char *want)
{
	char *got = desk_quote(text, strlen(text), max, secrets, N_SECRETS);

	assert_string_equal(got, want);
	g_free(got);
}

static void test_whole_secrets_are_redacted_raw_and_encoded(void **state)
{
	(void)state;
	assert_quote("a=1&secret=s3cr/et+word&b=2", 100, "a=1&secret=REDACTED&b=2");
	assert_quote("secret=s3cr%2Fet%2Bword&x", 100, "secret=REDACTED&x");
	assert_quote("secret=s3cr%2fet%2bword", 100, "secret=REDACTED");
	assert_quote("Authorization: Bearer tok-123456\r\n", 100,
		     "Authorization: Bearer REDACTED");
	assert_quote("tok-123456tok-123456", 100, "REDACTEDREDACTED");
	assert_quote("  nothing secret here \n", 100, "nothing secret here");
}

static void test_a_secret_cut_off_by_the_quote_is_redacted(void **state)
{
	(void)state;
	/* The tester's case: the 80-byte quote ends in the middle of the secret. */
	assert_quote("identifier=x&secret=s3cr/et+word", 24, "identifier=x&secret=REDACTED");
	assert_quote("identifier=x&secret=s3cr%2Fet", 30, "identifier=x&secret=REDACTED");
	assert_quote("token tok-", 100, "token REDACTED");
	assert_quote("x tok", 100, "x REDACTED");
	/* A tail of two bytes tells little, and hiding it would cut many an honest quote. */
	assert_quote("x to", 100, "x to");
	/* A tail that merely resembles a secret's start is not one. */
	assert_quote("x tok-9", 100, "x tok-9");
}

static void test_refused_and_temporary_statuses(void **state)
{
	GError *err = NULL;
	(void)state;

	assert_true(desk_status_refuses_request(413));
	assert_true(desk_status_refuses_request(414));
	for (long s = 200; s < 600; s++) {
		if (s != 413 && s != 414)
			assert_false(desk_status_refuses_request(s));
	}
	assert_true(desk_status_may_heal(408));
	assert_true(desk_status_may_heal(429));
	assert_true(desk_status_may_heal(500));
	assert_true(desk_status_may_heal(503));
	assert_false(desk_status_may_heal(400));
	assert_false(desk_status_may_heal(413));
	assert_false(desk_status_may_heal(422));
	desk_set_refused_request(&err, "OpenTicket", "WHMCS", 413);
	assert_true(g_error_matches(err, DESK_ERROR, DESK_ERROR_REFUSED));
	assert_false(desk_error_is_temporary(err));
	assert_non_null(strstr(err->message, "HTTP 413"));
	assert_non_null(strstr(err->message, "max_total_bytes"));
	g_clear_error(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_secrets_are_redacted_raw_and_encoded),
	    cmocka_unit_test(test_a_secret_cut_off_by_the_quote_is_redacted),
	    cmocka_unit_test(test_refused_and_temporary_statuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
