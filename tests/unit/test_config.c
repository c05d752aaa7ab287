/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config file: every key checked, errors naming file, line, section and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <string.h>

#include "config/config.h"
#include "ingest/mailbox_driver.h"

static char *dir;

static const char good[] = "; comment in the documented style\n"
			   "[desk]\n"
			   "kind = whmcs                ; whmcs | keliweb | thulium\n"
			   "url = https://desk.example.com/includes/api.php\n"
			   "identifier = abc\n"
			   "secret = s3cret\n"
			   "default_department = 1\n"
			   "priority = high\n"
			   "\n"
			   "[departments]\n"
			   "billing@example.com = 2\n"
			   "@sales.example.com = 3\n"
			   "\n"
			   "[state]\n"
			   "path = journal.db\n";

static char *write_config(const char *text)
{
	char *path = g_build_filename(dir, "test.conf", NULL);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* Load text; expect failure with a message containing want. */
static void assert_fails(const char *text, const char *want)
{
	char *path = write_config(text);
	GError *err = NULL;
	struct config *c = config_load(path, &err);

	assert_null(c);
	assert_non_null(err);
	if (!strstr(err->message, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err->message, want);
	assert_non_null(strstr(err->message, path));
	g_error_free(err);
	g_free(path);
}

static int setup(void **state)
{
	(void)state;
	dir = g_dir_make_tmp("m2t-config-XXXXXX", NULL);
	g_unsetenv("MAIL2TICKET_SECRET");
	return 0;
}

static int teardown(void **state)
{
	char *path = g_build_filename(dir, "test.conf", NULL);
	(void)state;
	g_unlink(path);
	g_free(path);
	path = g_build_filename(dir, "secret", NULL);
	g_unlink(path);
	g_free(path);
	g_rmdir(dir);
	g_free(dir);
	return 0;
}

static void test_good_config(void **state)
{
	char *path = write_config(good);
	GError *err = NULL;
	struct config *c = config_load(path, &err);
	char *journal = g_build_filename(dir, "journal.db", NULL);
	(void)state;

	assert_non_null(c);
	assert_string_equal(c->desk.kind, "whmcs");
	assert_string_equal(c->desk.secret, "s3cret");
	assert_string_equal(c->desk.priority, "High");
	assert_true(c->desk.department_auto);
	assert_int_equal(c->desk.default_department, 1);
	assert_int_equal(c->desk.cc, CC_MODE_TEXT);
	assert_false(c->desk.markdown);
	assert_string_equal(c->state.path, journal);
	assert_int_equal(c->state.lease_seconds, 30);
	assert_int_equal(config_department_for_address(c, "Billing@Example.com")->deptid, 2);
	assert_int_equal(config_department_for_address(c, "anyone@sales.example.com")->deptid, 3);
	assert_null(config_department_for_address(c, "support@example.com"));
	/* A +tag falls back to the plain address; an exact +tag entry wins over it. */
	assert_int_equal(config_department_for_address(c, "billing+urgent@example.com")->deptid, 2);
	assert_int_equal(config_department_for_address(c, "sales+x@sales.example.com")->deptid, 3);
	config_free(c);
	g_free(journal);
	g_free(path);
}

static void test_unknown_key_names_line(void **state)
{
	char *text = g_strconcat(good, "colour = blue\n", NULL);
	(void)state;

	assert_fails(text, ":16: [state] colour: unknown key");
	g_free(text);
}

static void test_unknown_section(void **state)
{
	char *text = g_strconcat(good, "[mailboxes]\nx = 1\n", NULL);
	(void)state;

	assert_fails(text, ":16: [mailboxes]: unknown section");
	g_free(text);
}

static void test_missing_required(void **state)
{
	(void)state;
	assert_fails("[desk]\nkind = whmcs\nidentifier = a\nsecret = b\ndefault_department = 1\n",
		     "[desk] url: missing (required)");
	assert_fails("[state]\npath = x\n", "[desk]: missing section");
}

static void test_bad_values(void **state)
{
	GString *t;
	(void)state;

	t = g_string_new(good);
	g_string_replace(t, "priority = high", "priority = urgent", 1);
	assert_fails(t->str, ":8: [desk] priority: 'urgent' is not one of: Low, Medium, High");
	g_string_free(t, TRUE);

	t = g_string_new(good);
	g_string_replace(t, "billing@example.com = 2", "billing@example.com = two", 1);
	assert_fails(t->str, ":11: [departments] billing@example.com: 'two' is not a whole number");
	g_string_free(t, TRUE);

	t = g_string_new(good);
	g_string_replace(t, "kind = whmcs ", "kind = zendesk ", 1);
	assert_fails(t->str, ":3: [desk] kind: 'zendesk' is not one of: whmcs, keliweb, thulium");
	g_string_free(t, TRUE);

	t = g_string_new(good);
	g_string_replace(t, "https://desk", "ftp://desk", 1);
	assert_fails(t->str,
		     "[desk] url: 'ftp://desk.example.com/includes/api.php' is not an http");
	g_string_free(t, TRUE);

	/* Renewed every third of it: under 3 s a lease leaves no room for a busy journal. */
	t = g_string_new(good);
	g_string_append(t, "lease_seconds = 2\n");
	assert_fails(t->str,
		     ":16: [state] lease_seconds: '2' is not a whole number from 3 to 3600");
	g_string_free(t, TRUE);

	assert_fails("[desk\nkind = whmcs\n", "test.conf");
}

static void test_secret_sources(void **state)
{
	char *secret_path = g_build_filename(dir, "secret", NULL);
	GString *t = g_string_new(good);
	GError *err = NULL;
	struct config *c;
	char *path;
	(void)state;

	g_string_replace(t, "secret = s3cret", "secret_file = secret", 1);
	path = write_config(t->str);
	assert_true(g_file_set_contents(secret_path, "from-file\n", -1, NULL));
	c = config_load(path, &err);
	assert_non_null(c);
	assert_string_equal(c->desk.secret, "from-file");
	config_free(c);

	g_setenv("MAIL2TICKET_SECRET", "from-env", TRUE);
	c = config_load(path, &err);
	assert_string_equal(c->desk.secret, "from-env");
	config_free(c);
	g_unsetenv("MAIL2TICKET_SECRET");
	g_free(path);

	g_unlink(secret_path);
	assert_fails(t->str, "[desk] secret_file: cannot read the secret file");

	g_string_replace(t, "secret_file = secret\n", "", 1);
	assert_fails(t->str, "[desk] secret: missing: set secret_file");
	g_string_free(t, TRUE);
	g_free(secret_path);
}

/* [state] kind = postgresql: a url without a password (never echoed), no path; the password
 * file is read by the journal, only checked here; the quarantine stays on this host. */
static void test_state_on_a_server(void **state)
{
	static const char server[] = "kind = postgresql\n"
				     "url = host=db1 dbname=m2t user=m2t sslmode=verify-full\n";
	char *password = g_build_filename(dir, "secret", NULL);
	char *text = g_strconcat(good, "kind = sqlite\n", NULL);
	char *path = write_config(text);
	GError *err = NULL;
	struct config *c = config_load(path, &err);
	GString *t;
	(void)state;

	assert_non_null(c);
	assert_string_equal(c->state.kind, "sqlite");
	assert_null(c->state.url);
	config_free(c);
	g_free(path);
	g_free(text);

	t = g_string_new(good);
	g_string_replace(t, "path = journal.db\n", server, 1);
	g_string_append(t, "password_file = secret\n");
	assert_true(g_file_set_contents(password, "pw\n", -1, NULL));
	path = write_config(t->str);
	c = config_load(path, &err);
	assert_non_null(c);
	assert_string_equal(c->state.kind, "postgresql");
	assert_string_equal(c->state.url, "host=db1 dbname=m2t user=m2t sslmode=verify-full");
	assert_string_equal(c->state.password_file, password);
	assert_null(c->state.path);
	assert_string_equal(c->state.quarantine, "/var/lib/mail2ticket/quarantine");
	config_free(c);
	g_free(path);
	g_unlink(password);
	assert_fails(t->str, "[state] password_file: no such file");
	g_string_free(t, TRUE);

	t = g_string_new(good);
	g_string_replace(t, "path = journal.db\n", "kind = postgresql\n", 1);
	assert_fails(t->str, "[state] url: missing (required)");
	g_string_append(t, "url = postgresql://m2t:hunter2@db1/m2t\n");
	assert_fails(t->str, "[state] url: holds a password");
	g_string_replace(t, "m2t:hunter2@", "", 1);
	g_string_append(t, "path = journal.db\n");
	assert_fails(t->str, "[state] path: kind = postgresql keeps the journal in a database");
	g_string_free(t, TRUE);

	t = g_string_new(good);
	g_string_append(t, "url = host=db1\n");
	assert_fails(t->str, "[state] url: only a journal on a server (kind = postgresql)");
	g_string_replace(t, "url = host=db1\n", "kind = oracle\n", 1);
	assert_fails(t->str, "[state] kind: 'oracle' is not one of: sqlite, postgresql");
	g_string_replace(t, "path = journal.db\nkind = oracle\n",
			 "kind = postgresql\nurl = host=db1 pass=w0rd\n", 1);
	assert_fails(t->str, "[state] url: not a libpq connection string");
	g_string_free(t, TRUE);
	g_free(password);
}

static void test_department_auto_needs_default(void **state)
{
	GString *t = g_string_new(good);
	(void)state;

	g_string_replace(t, "default_department = 1\n", "", 1);
	assert_fails(t->str, "[desk] default_department: missing");
	g_string_replace(t, "priority = high", "department = 4", 1);
	{
		char *path = write_config(t->str);
		struct config *c = config_load(path, NULL);
		assert_non_null(c);
		assert_false(c->desk.department_auto);
		assert_int_equal(c->desk.department, 4);
		config_free(c);
		g_free(path);
	}
	g_string_free(t, TRUE);
}

static void test_loop_and_threading(void **state)
{
	char *text = g_strconcat(good,
				 "[loop]\nown_addresses = Desk@Example.com, @desk.example\n"
				 "banned = spam@example.net\nrate_limit = 3\nrate_window = 60\n"
				 "[threading]\nticket_pattern = #(\\d{5})\\b\nstranger = drop\n"
				 "closed = open_new\n",
				 NULL);
	char *path = write_config(text);
	struct config *c = config_load(path, NULL);
	(void)state;

	assert_non_null(c);
	assert_string_equal(c->loop.own_addresses[0], "desk@example.com");
	assert_string_equal(c->loop.own_addresses[1], "@desk.example");
	assert_null(c->loop.own_addresses[2]);
	assert_int_equal(c->loop.rate_limit, 3);
	assert_int_equal(c->loop.rate_window, 60);
	assert_int_equal(c->threading.ticket_patterns->len, 2); /* WHMCS's form, then this one */
	assert_false(c->threading.stranger_opens);
	assert_false(c->threading.closed_reopens);
	config_free(c);
	g_free(path);
	g_free(text);

	text = g_strconcat(good, "[threading]\nticket_pattern = (unclosed\n", NULL);
	assert_fails(text, "[threading] ticket_pattern: bad regular expression");
	g_free(text);
	text = g_strconcat(good, "[threading]\nticket_pattern = no-group\n", NULL);
	assert_fails(text, "[threading] ticket_pattern: needs a group");
	g_free(text);
	text = g_strconcat(good, "[threading]\nstranger = ignore\n", NULL);
	assert_fails(text, "[threading] stranger: 'ignore' is not one of: open, drop");
	g_free(text);
}

static void test_keliweb(void **state)
{
	GString *t = g_string_new(good);
	GError *err = NULL;
	struct config *c;
	char *path;
	(void)state;

	g_string_replace(t, "kind = whmcs ", "kind = keliweb ", 1);
	g_string_replace(t, "identifier = abc\n", "get_tickets_endpoint = list-tickets\n", 1);
	path = write_config(t->str);
	c = config_load(path, &err);
	assert_non_null(c);
	assert_string_equal(c->desk.kind, "keliweb");
	assert_null(c->desk.identifier);
	/* The kind's own keys as the file gives them; the backend has the defaults. */
	assert_string_equal(g_hash_table_lookup(c->desk.backend_keys, "get_tickets_endpoint"),
			    "list-tickets");
	assert_null(g_hash_table_lookup(c->desk.backend_keys, "get_ticket_endpoint"));
	config_free(c);
	g_free(path);

	g_string_replace(t, "kind = keliweb ", "kind = whmcs ", 1);
	assert_fails(t->str, "[desk] identifier: missing (required)");
	g_string_free(t, TRUE);
}

/* Thulium sends tickets to its mailboxes and names its custom fields; the other kinds neither. */
static void test_thulium(void **state)
{
	GString *t = g_string_new(good);
	GError *err = NULL;
	struct config *c;
	char *path;
	(void)state;

	g_string_replace(t, "kind = whmcs ", "kind = Thulium ", 1);
	assert_fails(t->str, "[desk] mailbox: missing (required)");
	g_string_replace(t, "priority = high\n", "priority = high\nmailbox = support\n", 1);
	assert_fails(t->str, "[desk] mailbox: 'support' is not the address of a Thulium mailbox");
	g_string_replace(t, "mailbox = support\n", "mailbox = support@example.com\n", 1);
	g_string_replace(t, "@sales.example.com = 3\n", "@sales.example.com = sales@example.com\n",
			 1);
	g_string_append(t, "[rule vip]\nfrom = boss@example.com\ncustomfield.Tier = gold\n");
	path = write_config(t->str);
	c = config_load(path, &err);
	assert_non_null(c);
	assert_string_equal(c->desk.kind, "thulium");
	assert_string_equal(c->desk.mailbox, "support@example.com");
	assert_string_equal(config_department_for_address(c, "x@sales.example.com")->mailbox,
			    "sales@example.com");
	assert_string_equal(g_array_index(((struct rule *)g_ptr_array_index(c->rules, 0))->fields,
					  struct rule_field_value, 0)
				.name,
			    "Tier");
	config_free(c);
	g_free(path);

	g_string_replace(t, "kind = Thulium ", "kind = whmcs ", 1);
	assert_fails(t->str, "[desk] mailbox: only Thulium takes a mailbox");
	g_string_free(t, TRUE);
}

static void test_mailboxes(void **state)
{
	char *pass_path = g_build_filename(dir, "secret", NULL);
	char *text = g_strconcat(good,
				 "[mailbox support]\n"
				 "url = imaps://imap.example.com/Support/Inbox\n"
				 "user = support@example.com\n"
				 "password_file = secret\n"
				 "failed = move:Failed\n"
				 "max_message_bytes = 20M\n"
				 "[mailbox old pop]\n"
				 "url = pop3://pop.example.com:1110\n"
				 "user = old\n"
				 "after = delete\n"
				 "tls = none\n",
				 NULL);
	char *path = write_config(text);
	const struct mailbox_config *mb;
	GError *err = NULL;
	struct config *c;
	(void)state;

	g_setenv("MAIL2TICKET_PASSWORD_OLD_POP", "pop-pass", TRUE);
	assert_true(g_file_set_contents(pass_path, "imap-pass\n", -1, NULL));
	c = config_load(path, &err);
	assert_non_null(c);
	assert_int_equal(c->mailboxes->len, 2);
	mb = g_ptr_array_index(c->mailboxes, 0);
	assert_string_equal(mb->name, "support");
	assert_string_equal(mb->driver->name, "IMAP");
	assert_string_equal(mb->driver->name, "IMAP");
	assert_int_equal(mb->tls, MAILBOX_TLS_IMPLICIT);
	assert_string_equal(mb->host, "imap.example.com");
	assert_int_equal(mb->port, 993);
	assert_string_equal(mb->folder, "Support/Inbox");
	assert_string_equal(mb->password, "imap-pass");
	assert_int_equal(mb->after, MAILBOX_AFTER_MOVE);
	assert_string_equal(mb->after_folder, "Processed");
	assert_string_equal(mb->failed_folder, "Failed");
	assert_int_equal(mb->start, MAILBOX_START_UNSEEN);
	assert_int_equal(mb->max_message_bytes, 20 * 1024 * 1024);
	mb = g_ptr_array_index(c->mailboxes, 1);
	assert_string_equal(mb->driver->name, "POP3");
	assert_ptr_equal(mb->driver, mailbox_driver_lookup("pop3"));
	assert_int_equal(mb->tls, MAILBOX_TLS_NONE);
	assert_int_equal(mb->port, 1110);
	assert_string_equal(mb->password, "pop-pass");
	assert_int_equal(mb->after, MAILBOX_AFTER_DELETE);
	assert_int_equal(mb->start, MAILBOX_START_ALL);
	config_free(c);
	g_unsetenv("MAIL2TICKET_PASSWORD_OLD_POP");
	g_free(path);
	g_free(text);

	text = g_strconcat(good, "[mailbox a]\nurl = imaps://u:pw@h/INBOX\nuser = u\n", NULL);
	assert_fails(text, "[mailbox a] url: holds a password");
	g_free(text);
	text = g_strconcat(good, "[mailbox a]\nurl = http://h/\nuser = u\npassword_file = secret\n",
			   NULL);
	assert_fails(text, "[mailbox a] url: 'http://h/' is not imaps://HOST/FOLDER, imap://, "
			   "pop3s://HOST or pop3://");
	g_free(text);
	text = g_strconcat(good, "[mailbox a]\nurl = imap://h/\nuser = u\n", NULL);
	assert_fails(text, "[mailbox a] password_file: missing: set password_file here, or "
			   "MAIL2TICKET_PASSWORD_A");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = pop3s://h\nuser = u\npassword_file = secret\n"
			   "failed = move:Failed\n",
			   NULL);
	assert_fails(text, "[mailbox a] failed: 'move:Failed' is not move:FOLDER (and POP3");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = imaps://h\nuser = u\npassword_file = secret\n"
			   "tls = none\n",
			   NULL);
	assert_fails(text, "[mailbox a] tls: an imaps:// or pop3s:// url always uses TLS");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = pop3://h\nuser = u\npassword_file = secret\n"
			   "tls = implicit\n",
			   NULL);
	assert_fails(text, "[mailbox a] tls: implicit TLS is written imaps:// or pop3s:// in url");
	g_free(text);
	text = g_strconcat(good, "[mailbox a]\nurl = pop3s://h/INBOX\nuser = u\n", NULL);
	assert_fails(text, "[mailbox a] url: POP3 has no folders: remove '/INBOX'");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = pop3s://h\nuser = u\nauth = xoauth2\n"
			   "oauth2_token_command = token\n",
			   NULL);
	assert_fails(text, "[mailbox a] auth: XOAUTH2 is for IMAP here");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = pop3s://h\nuser = u\npassword_file = secret\n"
			   "start = unseen\n",
			   NULL);
	assert_fails(text, "[mailbox a] start: POP3 knows no seen flag: use all or new");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = pop3s://h\nuser = u\npassword_file = secret\n"
			   "after = flag\n",
			   NULL);
	assert_fails(text, "[mailbox a] after: 'flag' is not delete or keep (POP3)");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = imaps://h\nuser = u\nauth = xoauth2\n", NULL);
	assert_fails(text, "[mailbox a] oauth2_token_command: missing");
	g_free(text);
	text = g_strconcat(good,
			   "[mailbox a]\nurl = imaps://h\nuser = u\npassword_file = secret\n"
			   "after = archive\n",
			   NULL);
	assert_fails(text, "[mailbox a] after: 'archive' is not move:FOLDER, flag");
	g_free(text);
	g_unlink(pass_path);
	g_free(pass_path);
}

/* Load text; expect success, and a warning containing want when want_it, none otherwise. */
static void assert_loads_with_warning(const char *text, const char *want, gboolean want_it)
{
	char *path = write_config(text);
	GError *err = NULL;
	struct config *c = config_load(path, &err);
	gboolean found = FALSE;

	if (!c)
		fail_msg("%s", err->message);
	for (guint i = 0; i < c->warnings->len; i++)
		found = found || strstr(g_ptr_array_index(c->warnings, i), want);
	assert_int_equal(found, want_it);
	config_free(c);
	g_free(path);
}

/* Plain http sends the API secret in clear text. */
static void test_plain_http_desk(void **state)
{
	static const char *const urls[][2] = {
	    {"http://desk.example.com/includes/api.php", NULL},
	    {"http://127.0.0.1:8089/includes/api.php", "unencrypted (this machine only)"},
	    {"http://[::1]/includes/api.php", "unencrypted (this machine only)"},
	    {"http://localhost/includes/api.php", "unencrypted (this machine only)"},
	    {"https://desk.example.com/includes/api.php", "plain http"},
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(urls); i++) {
		char *text = g_strdup_printf("[desk]\nkind = whmcs\nurl = %s\nidentifier = a\n"
					     "secret = s\ndefault_department = 1\n",
					     urls[i][0]);
		if (!urls[i][1])
			assert_fails(text,
				     "would send the API secret unencrypted to desk.example.com: "
				     "use https://, or set allow_plain_http = true");
		else
			assert_loads_with_warning(text, urls[i][1],
						  !g_str_has_prefix(urls[i][0], "https"));
		g_free(text);
	}
	assert_loads_with_warning("[desk]\nkind = whmcs\nurl = http://desk.example.com/api.php\n"
				  "identifier = a\nsecret = s\ndefault_department = 1\n"
				  "allow_plain_http = true\n",
				  "the API secret crosses the network unencrypted", TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_config),
	    cmocka_unit_test(test_unknown_key_names_line),
	    cmocka_unit_test(test_unknown_section),
	    cmocka_unit_test(test_missing_required),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_secret_sources),
	    cmocka_unit_test(test_state_on_a_server),
	    cmocka_unit_test(test_department_auto_needs_default),
	    cmocka_unit_test(test_loop_and_threading),
	    cmocka_unit_test(test_mailboxes),
	    cmocka_unit_test(test_keliweb),
	    cmocka_unit_test(test_thulium),
	    cmocka_unit_test(test_plain_http_desk),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
