/* The rule language: every condition, operator and action, and the errors of a bad rule. */
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

static struct config *load(const char *rules, GError **error)
{
	char *text = g_strconcat(base, rules, NULL);
	char *path = config_path();
	struct config *c;

	g_file_set_contents(path, text, -1, NULL);
	c = config_load(path, error);
	g_free(path);
	g_free(text);
	return c;
}

static const char mail_text[] =
    "From: Bob <Bob@Customer.Example>\n"
    "To: billing@example.com\n"
    "Cc: boss@customer.example\n"
    "Delivered-To: billing+urgent@example.com\n"
    "Subject: Invoice 42 is wrong\n"
    "X-Customer-Tier: gold\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
    "--b\nContent-Type: text/plain\n\nThe amount on invoice 42 is too high.\n"
    "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; "
    "filename=\"invoice-42.pdf\"\n\n%PDF\n"
    "--b--\n";

static struct mail *mail;

/* The names of the rules that match mail with config rules, joined with ",". */
static char *matching(const char *rules, const struct envelope *env)
{
	static const struct envelope pipe_env = {.source = "pipe"};
	GError *err = NULL;
	struct config *c = load(rules, &err);
	struct rules_outcome out;
	GString *names = g_string_new(NULL);

	if (!c)
		fail_msg("config: %s", err->message);
	rules_apply(c, mail, env ? env : &pipe_env, &out);
	for (guint i = 0; i < out.matched->len; i++)
		g_string_append_printf(names, "%s%s", i ? "," : "",
				       ((const struct rule *)g_ptr_array_index(out.matched, i))->name);
	rules_outcome_clear(&out);
	config_free(c);
	return g_string_free(names, FALSE);
}

static void assert_matching(const char *rules, const char *want)
{
	char *got = matching(rules, NULL);
	assert_string_equal(got, want);
	g_free(got);
}

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

static void test_address_conditions(void **state)
{
	(void)state;
	/* Addresses: equal without regard to case, or by @domain; a list means any of them. */
	assert_matching("[rule a]\nfrom = bob@customer.example\n", "a");
	assert_matching("[rule a]\nfrom = bo@customer.example\n", "");
	assert_matching("[rule a]\nfrom = @customer.example\n", "a");
	assert_matching("[rule a]\nfrom = x@y.example, @CUSTOMER.example\n", "a");
	assert_matching("[rule a]\nto = billing@example.com\n", "a");
	assert_matching("[rule a]\ncc = boss@customer.example\n", "a");
	assert_matching("[rule a]\nrecipient = billing+urgent@example.com\n", "a");
}

static void test_text_conditions(void **state)
{
	(void)state;
	/* Text: contains, without regard to case. */
	assert_matching("[rule a]\nsubject = INVOICE\n", "a");
	assert_matching("[rule a]\nsubject = refund\n", "");
	assert_matching("[rule a]\nbody = too high\n", "a");
	assert_matching("[rule a]\nheader.X-Customer-Tier = gold\n", "a");
	assert_matching("[rule a]\nheader.X-Missing = gold\n", "");
	assert_matching("[rule a]\nattachment = .pdf\n", "a");
	assert_matching("[rule a]\nattachment_type = application/pdf\n", "a");
}

static void test_operators(void **state)
{
	(void)state;
	assert_matching("[rule a]\nsubject ~ = ^invoice \\d+\n", "a"); /* regex, any case */
	assert_matching("[rule a]\nsubject ~ = ^\\d+\n", "");
	assert_matching("[rule a]\nsubject ! = refund\n", "a"); /* negation */
	assert_matching("[rule a]\nsubject ! = invoice\n", "");
	assert_matching("[rule a]\nfrom !~ = @customer\\.example$\n", "");
	assert_matching("[rule a]\nsize = > 100\n", "a"); /* the mail has about 500 bytes */
	assert_matching("[rule a]\nsize = < 1K\n", "a");
	assert_matching("[rule a]\nsize = > 10K\n", "");
}

static void test_all_any_and_order(void **state)
{
	(void)state;
	assert_matching("[rule a]\nsubject = invoice\nfrom = @other.example\n", "");
	assert_matching("[rule a]\nmatch = any\nsubject = invoice\nfrom = @other.example\n", "a");
	/* First match wins, unless it says continue. */
	assert_matching("[rule a]\nsubject = invoice\n[rule b]\nbody = amount\n", "a");
	assert_matching("[rule a]\nsubject = invoice\ncontinue = true\n[rule b]\nbody = amount\n",
			"a,b");
	assert_matching("[rule catch-all]\n", "catch-all");
}

static void test_mailbox_condition(void **state)
{
	const struct envelope env = {.source = "pipe billing", .mailbox = "billing"};
	char *got = matching("[rule a]\nmailbox = billing\n", &env);
	(void)state;

	assert_string_equal(got, "a");
	g_free(got);
}

static void test_actions(void **state)
{
	static const struct envelope env = {.source = "pipe"};
	static const struct route_facts none = {0};
	struct config *c = load("[rule vip]\nheader.X-Customer-Tier = gold\nqueue = 3\n"
				"priority = High\nclientid = 12\nserviceid = 7\ncategory = 4\n"
				"status = 2\ncustomfield.8 = gold customer\nmarkdown = true\n",
				NULL);
	struct action *a = route_decide(c, mail, &env, &none);
	(void)state;

	assert_int_equal(a->kind, ACTION_OPEN);
	assert_int_equal(a->deptid, 3);
	assert_string_equal(a->priority, "High");
	assert_int_equal(a->clientid, 12);
	assert_int_equal(a->serviceid, 7);
	assert_int_equal(a->category, 4);
	assert_int_equal(a->status, 2);
	assert_int_equal(a->markdown, 1);
	assert_int_equal(a->fields->len, 1);
	assert_string_equal(g_array_index(a->fields, struct rule_field_value, 0).value,
			    "gold customer");
	assert_string_equal(g_ptr_array_index(a->rules, 0), "vip");
	action_free(a);
	config_free(c);
}

static void test_drop_and_reply_only(void **state)
{
	static const struct envelope env = {.source = "pipe"};
	static const struct route_facts none = {0};
	struct config *c = load("[rule noise]\nsubject = invoice\ndrop = invoices go to accounting\n",
				NULL);
	struct action *a = route_decide(c, mail, &env, &none);
	char *why = action_explain(a);
	(void)state;

	assert_int_equal(a->kind, ACTION_DROP);
	assert_non_null(strstr(why, "rule noise: drop: invoices go to accounting"));
	g_free(why);
	action_free(a);
	config_free(c);

	c = load("[rule closed-queue]\nto = billing@example.com\nreply_only = true\n", NULL);
	a = route_decide(c, mail, &env, &none);
	assert_int_equal(a->kind, ACTION_DROP);
	action_free(a);
	config_free(c);
}

static void test_priority_from_headers(void **state)
{
	static const struct envelope env = {.source = "pipe"};
	static const struct route_facts none = {0};
	const char *urgent = "From: a@x.example\nX-Priority: 1 (Highest)\nSubject: s\n\nx\n";
	struct mail *m = mail_parse(urgent, strlen(urgent), NULL);
	struct config *c = load("", NULL);
	struct action *a = route_decide(c, m, &env, &none);
	(void)state;

	assert_string_equal(a->priority, "High");
	action_free(a);
	config_free(c);
	/* A rule's priority wins; the feature can be turned off. */
	c = load("[rule low]\npriority = Low\n", NULL);
	a = route_decide(c, m, &env, &none);
	assert_string_equal(a->priority, "Low");
	action_free(a);
	config_free(c);
	c = load("", NULL);
	c->desk.priority_from_headers = FALSE;
	a = route_decide(c, m, &env, &none);
	assert_string_equal(a->priority, "Medium");
	action_free(a);
	config_free(c);
	mail_free(m);
}

static void assert_config_error(const char *rules, const char *want)
{
	GError *err = NULL;
	struct config *c = load(rules, &err);

	assert_null(c);
	if (!strstr(err->message, want))
		fail_msg("\"%s\" does not contain \"%s\"", err->message, want);
	g_error_free(err);
}

static void test_bad_rules_name_rule_and_key(void **state)
{
	(void)state;
	assert_config_error("[rule r1]\nsubject ~ = (unclosed\n",
			    "[rule r1] subject ~: bad regular expression");
	assert_config_error("[rule r2]\ncolour = red\n",
			    "[rule r2] colour: unknown condition or action");
	assert_config_error("[rule r3]\nsubject ?? = x\n", "[rule r3] subject ??: unknown");
	assert_config_error("[rule r4]\npriority = urgent\n", "[rule r4] priority: 'urgent'");
	assert_config_error("[rule r5]\nsize = big\n", "[rule r5] size: 'big' is not");
	assert_config_error("[rule r6]\ncustomfield.x = 1\n", "[rule r6] customfield.x");
	assert_config_error("[rule r7]\nmatch = some\n", "[rule r7] match: 'some' is not one of");
	assert_config_error("[rule r8]\nsubject =\n", "[rule r8] subject: empty value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_conditions),
	    cmocka_unit_test(test_text_conditions),
	    cmocka_unit_test(test_operators),
	    cmocka_unit_test(test_all_any_and_order),
	    cmocka_unit_test(test_mailbox_condition),
	    cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_drop_and_reply_only),
	    cmocka_unit_test(test_priority_from_headers),
	    cmocka_unit_test(test_bad_rules_name_rule_and_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
