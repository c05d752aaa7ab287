/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authentication-Results as verifiers write them (RFC 8601), and the proof a sender needs: only
 * the configured server's topmost verdict, aligned with the From domain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>

#include "parsers/auth_results.h"
#include "parsers/mail_parse.h"
#include "rules/auth.h"

static char *dir;

static const struct auth_result *result(const struct auth_results *ar, guint i)
{
	assert_true(i < ar->results->len);
	return g_ptr_array_index(ar->results, i);
}

static void test_opendkim_and_opendmarc_headers(void **state)
{
	struct auth_results *ar = auth_results_parse(
	    "MX.Example.com 1; dkim=pass (2048-bit key; unprotected) header.d=Customer.example "
	    "header.i=@customer.example header.b=\"AbC;=12\"; dmarc=fail (p=reject dis=reject) "
	    "header.from=customer.example; spf=pass (mx: domain of a@b.example designates "
	    "192.0.2.1) smtp.mailfrom=a@B.example");
	(void)state;

	assert_non_null(ar);
	assert_string_equal(ar->authserv_id, "mx.example.com");
	assert_int_equal(ar->results->len, 3);
	assert_string_equal(result(ar, 0)->method, "dkim");
	assert_string_equal(result(ar, 0)->result, "pass");
	assert_string_equal(result(ar, 0)->domain, "customer.example");
	assert_string_equal(result(ar, 1)->method, "dmarc");
	assert_string_equal(result(ar, 1)->result, "fail");
	assert_string_equal(result(ar, 2)->domain, "b.example");
	auth_results_free(ar);
}

/* Blanks around '=' and '.', versions, nested comments, quoted values, "none". */
static void test_odd_but_valid_spellings(void **state)
{
	struct auth_results *ar = auth_results_parse(
	    "\"mx (id)\" ; dkim/1 = pass ((nested) comment) header . d = x.example");
	(void)state;

	assert_string_equal(ar->authserv_id, "mx");
	assert_int_equal(ar->results->len, 1);
	assert_string_equal(result(ar, 0)->method, "dkim");
	assert_string_equal(result(ar, 0)->domain, "x.example");
	auth_results_free(ar);
	ar = auth_results_parse("mx.example.com 1; none");
	assert_string_equal(ar->authserv_id, "mx.example.com");
	assert_int_equal(ar->results->len, 0);
	auth_results_free(ar);
	assert_null(auth_results_parse("; dkim=pass"));
	assert_null(auth_results_parse("")); /* found by fuzz_auth_results */
	assert_null(auth_results_parse("(only a comment"));
}

static struct config *load(const char *auth)
{
	char *path = g_build_filename(dir, "auth.conf", NULL);
	char *text = g_strconcat("[desk]\nkind = whmcs\nurl = https://d.example/includes/api.php\n"
				 "identifier = i\nsecret = s\ndefault_department = 1\n",
				 auth, NULL);
	GError *err = NULL;
	struct config *c;

	g_file_set_contents(path, text, -1, NULL);
	c = config_load(path, &err);
	if (!c)
		fail_msg("%s", err->message);
	g_unlink(path);
	g_free(path);
	g_free(text);
	return c;
}

/* Why the mail with headers is not proven under the [auth] text, or NULL. */
static char *unproven(const char *auth, const char *headers)
{
	char *text = g_strconcat(headers, "From: Vera <vera@customer.example>\nSubject: x\n\nhi\n",
				 NULL);
	struct mail *m = mail_parse(text, strlen(text), NULL);
	struct config *c = load(auth);
	char *why = auth_from_unproven(c, m);

	config_free(c);
	mail_free(m);
	g_free(text);
	return why;
}

static void assert_unproven(const char *headers, const char *reason)
{
	char *why = unproven("[auth]\nauthserv_id = mx.example.com\n", headers);

	if (!reason) {
		if (why)
			fail_msg("unproven: %s", why);
		return;
	}
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("\"%s\" does not say \"%s\"", why, reason);
	g_free(why);
}

static void test_proof_of_the_from_domain(void **state)
{
	(void)state;
	assert_unproven("Authentication-Results: mx.example.com; dmarc=pass "
			"header.from=customer.example\n",
			NULL);
	/* Relaxed alignment: a subdomain's signature, an SPF pass for the parent domain. */
	assert_unproven("Authentication-Results: mx.example.com; dkim=pass "
			"header.d=mail.customer.example\n",
			NULL);
	assert_unproven("Authentication-Results: mx.example.com; spf=pass "
			"smtp.mailfrom=bounce@customer.example\n",
			NULL);
	assert_unproven("Authentication-Results: mx.example.com; dkim=pass header.d=example\n",
			"saw no DMARC, DKIM or SPF pass aligned with customer.example");
	assert_unproven("Authentication-Results: mx.example.com; dkim=pass "
			"header.d=evilcustomer.example\n",
			"aligned with customer.example");
	assert_unproven("Authentication-Results: mx.example.com; dmarc=fail "
			"header.from=customer.example\n",
			"From is vera@customer.example, but DMARC failed at mx.example.com");
	assert_unproven("Authentication-Results: mx.attacker.example; dmarc=pass "
			"header.from=customer.example\n",
			"no Authentication-Results from mx.example.com");
	/* Only the topmost of the server's own counts: the sender wrote the one below. */
	assert_unproven("Authentication-Results: mx.example.com; dmarc=fail "
			"header.from=customer.example\n"
			"Authentication-Results: mx.example.com; dmarc=pass "
			"header.from=customer.example\n",
			"DMARC failed");
}

static void test_defaults_and_config_errors(void **state)
{
	struct config *c = load("");
	char *why;
	(void)state;

	assert_false(c->auth.replies_aligned);
	assert_false(c->auth.agents_by_route);
	config_free(c);
	c = load("[auth]\nauthserv_id = MX.example.com, mx2.example.com\n");
	assert_true(c->auth.replies_aligned);
	assert_string_equal(c->auth.authserv_ids[0], "mx.example.com");
	assert_string_equal(c->auth.authserv_ids[1], "mx2.example.com");
	config_free(c);
	why = unproven("", "Authentication-Results: mx.example.com; dmarc=pass "
			   "header.from=customer.example\n");
	assert_string_equal(why, "no [auth] authserv_id is set: nothing proves the From header");
	g_free(why);
}

static int setup(void **state)
{
	(void)state;
	g_mime_init();
	dir = g_dir_make_tmp("m2t-auth-XXXXXX", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	g_rmdir(dir);
	g_free(dir);
	g_mime_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opendkim_and_opendmarc_headers),
	    cmocka_unit_test(test_odd_but_valid_spellings),
	    cmocka_unit_test(test_proof_of_the_from_domain),
	    cmocka_unit_test(test_defaults_and_config_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
