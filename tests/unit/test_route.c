/* The decision step alone: loop guard signals, threading and the sender check, as a pure function
 * of mail, config and facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>

#include "parsers/mail_parse.h"
#include "rules/loop_guard.h"
#include "rules/route.h"

static struct config *config;
static char *dir;

static int setup(void **state)
{
	char *path;
	(void)state;
	g_mime_init();
	dir = g_dir_make_tmp("m2t-route-XXXXXX", NULL);
	path = g_build_filename(dir, "c.conf", NULL);
	g_file_set_contents(path,
			    "[desk]\nkind = whmcs\nurl = https://d.example/includes/api.php\n"
			    "identifier = i\nsecret = s\ndefault_department = 1\n"
			    "[departments]\nbilling@example.com = 2\n"
			    "[loop]\nown_addresses = desk@example.com\nbanned = @junk.example\n"
			    "[threading]\nticket_pattern = \\{#(\\d+)\\}\n",
			    -1, NULL);
	config = config_load(path, NULL);
	assert_non_null(config);
	g_unlink(path);
	g_free(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(config);
	g_rmdir(dir);
	g_free(dir);
	g_mime_shutdown();
	return 0;
}

/* Decide for a mail with extra headers, from sender, with facts (NULL: none) and the loop
 * guard's verdict, as the flow gathers it. */
static struct action *decide(const char *headers, const char *from,
			     const struct route_facts *facts, const struct envelope *env)
{
	static const struct envelope pipe_env = {.source = "pipe"};
	char *raw = g_strdup_printf("From: %s\nTo: support@example.com\nSubject: Help "
				    "[Ticket ID: 123456]\n%s\nbody\n",
				    from, headers);
	struct mail *mail = mail_parse(raw, strlen(raw), NULL);
	struct route_facts all = facts ? *facts : (struct route_facts){0};
	char *loop = loop_guard_reason(config, mail, env ? env : &pipe_env);
	struct action *a;

	all.loop_guard = loop;
	a = route_decide(config, mail, env ? env : &pipe_env, &all);
	g_free(loop);
	mail_free(mail);
	g_free(raw);
	return a;
}

static void assert_dropped_because(const char *headers, const char *from, const char *why)
{
	struct action *a = decide(headers, from, NULL, NULL);
	char *text = action_explain(a);

	assert_int_equal(a->kind, ACTION_DROP);
	if (!strstr(text, why))
		fail_msg("\"%s\" does not contain \"%s\"", text, why);
	g_free(text);
	action_free(a);
}

static void test_loop_guard_signals(void **state)
{
	(void)state;
	assert_dropped_because("Auto-Submitted: auto-replied", "a@x.example", "auto-submitted");
	assert_dropped_because("Auto-Submitted: auto-generated; type=oof", "a@x.example",
			       "auto-generated");
	assert_dropped_because("Precedence: list", "a@x.example", "Precedence: list");
	assert_dropped_because("Precedence: junk", "a@x.example", "Precedence: junk");
	assert_dropped_because("X-Autorespond: yes", "a@x.example", "X-Autorespond");
	assert_dropped_because("X-Auto-Response-Suppress: DR, AutoReply", "a@x.example",
			       "AutoReply");
	assert_dropped_because("Return-Path: <>", "a@x.example", "empty return path");
	assert_dropped_because("", "MAILER-DAEMON@mx.example", "mail system");
	assert_dropped_because("", "postmaster@mx.example", "mail system");
	assert_dropped_because("", "desk@example.com", "our own address");
	assert_dropped_because("", "billing@example.com", "our own address");
	assert_dropped_because("", "x@junk.example", "banned sender");
}

static void test_not_dropped(void **state)
{
	static const char *const headers[] = {"Auto-Submitted: no", "Precedence: normal",
					      "X-Auto-Response-Suppress: DR", ""};
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(headers); i++) {
		struct action *a = decide(headers[i], "a@x.example", NULL, NULL);
		assert_int_equal(a->kind, ACTION_OPEN);
		action_free(a);
	}
}

static void test_envelope_signals(void **state)
{
	const struct envelope empty_sender = {.source = "pipe", .sender = ""};
	const struct envelope daemon = {.source = "pipe", .sender = "MAILER-DAEMON@mx.example"};
	struct action *a;
	(void)state;

	a = decide("", "a@x.example", NULL, &empty_sender);
	assert_int_equal(a->kind, ACTION_DROP);
	action_free(a);
	a = decide("", "a@x.example", NULL, &daemon);
	assert_int_equal(a->kind, ACTION_DROP);
	action_free(a);
}

static void test_rate_limit(void **state)
{
	struct route_facts facts = {.recent_tickets = 9};
	struct action *a;
	(void)state;

	a = decide("", "a@x.example", &facts, NULL);
	assert_int_equal(a->kind, ACTION_OPEN);
	action_free(a);
	facts.recent_tickets = 10;
	a = decide("", "a@x.example", &facts, NULL);
	assert_int_equal(a->kind, ACTION_DROP);
	action_free(a);
}

static void test_ticket_number_patterns(void **state)
{
	const char *raw = "From: a@x.example\nSubject: Re: our case {#4711}\n\nx\n";
	struct mail *mail = mail_parse(raw, strlen(raw), NULL);
	char *number = route_ticket_number(config, mail);
	(void)state;

	assert_non_null(number);
	assert_string_equal(number, "4711");
	g_free(number);
	mail_free(mail);
	raw = "From: a@x.example\nSubject: [Ticket ID: 123456] x\n\nx\n";
	mail = mail_parse(raw, strlen(raw), NULL);
	number = route_ticket_number(config, mail);
	assert_string_equal(number, "123456");
	g_free(number);
	mail_free(mail);
}

static void test_reply_needs_the_right_sender(void **state)
{
	struct route_facts facts = {
	    .ticket = {.number = "123456", .how = "subject", .checked = TRUE, .exists = TRUE,
		       .id = "7", .status = "Open", .owner_email = "Owner@Example.org",
		       .cc = "helper@example.org, other@example.org"}};
	struct action *a;
	(void)state;

	a = decide("", "owner@example.org", &facts, NULL);
	assert_int_equal(a->kind, ACTION_REPLY);
	assert_string_equal(a->ticket_id, "7");
	action_free(a);
	a = decide("", "other@example.org", &facts, NULL);
	assert_int_equal(a->kind, ACTION_REPLY);
	action_free(a);
	a = decide("", "stranger@example.net", &facts, NULL);
	assert_int_equal(a->kind, ACTION_OPEN);
	action_free(a);
	facts.ticket.sender_is_contact = TRUE;
	a = decide("", "stranger@example.net", &facts, NULL);
	assert_int_equal(a->kind, ACTION_REPLY);
	action_free(a);
}

static void test_closed_and_missing_tickets(void **state)
{
	struct route_facts facts = {
	    .ticket = {.number = "123456", .how = "subject", .checked = TRUE, .exists = TRUE,
		       .id = "7", .status = "Closed", .owner_email = "owner@example.org"}};
	struct action *a;
	(void)state;

	a = decide("", "owner@example.org", &facts, NULL);
	assert_int_equal(a->kind, ACTION_REPLY); /* closed = reply is the default */
	action_free(a);
	facts.ticket.exists = FALSE;
	a = decide("", "owner@example.org", &facts, NULL);
	assert_int_equal(a->kind, ACTION_OPEN);
	action_free(a);
}

/* Someone in the cc list of a closed ticket is no stranger: with closed = open_new and
 * stranger = drop the mail opens a new ticket, it is not dropped. */
static void test_closed_ticket_cc_is_not_a_stranger(void **state)
{
	struct route_facts facts = {
	    .ticket = {.number = "123456", .how = "subject", .checked = TRUE, .exists = TRUE,
		       .id = "7", .status = "Closed", .owner_email = "owner@example.org",
		       .cc = "helper@example.org"}};
	struct action *a;
	(void)state;

	config->threading.closed_reopens = FALSE;
	config->threading.stranger_opens = FALSE;
	a = decide("", "helper@example.org", &facts, NULL);
	assert_int_equal(a->kind, ACTION_OPEN);
	action_free(a);
	a = decide("", "stranger@example.net", &facts, NULL);
	assert_int_equal(a->kind, ACTION_DROP);
	action_free(a);
	config->threading.closed_reopens = TRUE;
	config->threading.stranger_opens = TRUE;
}

static void test_department_and_quarantine(void **state)
{
	const char *raw = "To: billing@example.com\nSubject: no sender\n\nx\n";
	struct mail *mail = mail_parse(raw, strlen(raw), NULL);
	const struct envelope env = {.source = "pipe"};
	const struct route_facts none = {0};
	struct action *a = route_decide(config, mail, &env, &none);
	(void)state;

	assert_int_equal(a->kind, ACTION_QUARANTINE);
	action_free(a);
	mail_free(mail);
	raw = "From: a@x.example\nTo: billing@example.com\nSubject: s\n\nx\n";
	mail = mail_parse(raw, strlen(raw), NULL);
	a = route_decide(config, mail, &env, &none);
	assert_int_equal(a->kind, ACTION_OPEN);
	assert_int_equal(a->deptid, 2);
	action_free(a);
	mail_free(mail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loop_guard_signals),
	    cmocka_unit_test(test_not_dropped),
	    cmocka_unit_test(test_envelope_signals),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_ticket_number_patterns),
	    cmocka_unit_test(test_reply_needs_the_right_sender),
	    cmocka_unit_test(test_closed_and_missing_tickets),
	    cmocka_unit_test(test_closed_ticket_cc_is_not_a_stranger),
	    cmocka_unit_test(test_department_and_quarantine),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
