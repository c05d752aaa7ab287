/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What of the rule language the routing cases (samples/route/, run by
 * tests/e2e/test_route_samples.py) cannot show: the mailbox condition, since only poll gives a mail
 * a mailbox, and the markdown action, which route's JSON leaves out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>

#include "parsers/mail_parse.h"
#include "rules/route.h"
#include "rules/rules.h"

static char *dir;

static const char base[] = "[desk]\nkind = whmcs\nurl = https://d.example/includes/api.php\n"
			   "identifier = i\nsecret = s\ndefault_department = 1\n";

static char *config_path(void)
{
	return g_build_filename(dir, "rules.conf", NULL);
}

static struct config *load(const char *rules)
{
	char *text = g_strconcat(base, rules, NULL);
	char *path = config_path();
	GError *err = NULL;
	struct config *c;

	g_file_set_contents(path, text, -1, NULL);
	c = config_load(path, &err);
	if (!c)
		fail_msg("config: %s", err->message);
	g_free(path);
	g_free(text);
	return c;
}

static const char mail_text[] = "From: Bob <bob@customer.example>\n"
				"To: billing@example.com\n"
				"Subject: Invoice 42 is wrong\n\n"
				"The amount on invoice 42 is too high.\n";

static struct mail *mail;

static int setup(void **state)
{
	(void)state;
	g_mime_init();
	dir = g_dir_make_tmp("m2t-rules-XXXXXX", NULL);
	mail = mail_parse(mail_text, strlen(mail_text), NULL);
	return 0;
}

static int teardown(void **state)
{
	char *path = config_path();
	(void)state;
	g_unlink(path);
	g_free(path);
	g_rmdir(dir);
	g_free(dir);
	mail_free(mail);
	g_mime_shutdown();
	return 0;
}

static void test_mailbox_condition(void **state)
{
	const struct envelope billing = {.source = "poll billing", .mailbox = "billing"};
	const struct envelope sales = {.source = "poll sales", .mailbox = "sales"};
	struct config *c = load("[rule a]\nmailbox = billing\n");
	struct rules_outcome out;
	(void)state;

	rules_apply(c, mail, &billing, &out);
	assert_int_equal(out.matched->len, 1);
	rules_outcome_clear(&out);
	rules_apply(c, mail, &sales, &out);
	assert_int_equal(out.matched->len, 0);
	rules_outcome_clear(&out);
	config_free(c);
}

/* want: 1 or 0 as a rule sets it, -1 when none does (then [desk] markdown holds). */
static void assert_markdown(const char *rules, int want)
{
	static const struct envelope env = {.source = "pipe"};
	static const struct route_facts none = {0};
	struct config *c = load(rules);
	struct action *a = route_decide(c, mail, &env, &none);

	assert_int_equal(a->kind, ACTION_OPEN);
	assert_int_equal(a->markdown, want);
	action_free(a);
	config_free(c);
}

static void test_markdown_action(void **state)
{
	(void)state;
	assert_markdown("[rule vip]\nsubject = invoice\nmarkdown = true\n", 1);
	assert_markdown("[rule plain]\nsubject = invoice\nmarkdown = false\n", 0);
	assert_markdown("", -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mailbox_condition),
	    cmocka_unit_test(test_markdown_action),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
