/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WHMCS backend against the sandbox desk on a loopback port: every call, its errors, TLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "desk/http.h"
#include "desk/whmcs.h"

#define IDENTIFIER "unit-identifier"
#define SECRET "unit-secret"

struct sandbox {
	GPid pid;
	char *dir;
	char *url; /* scheme://127.0.0.1:port */
	char *cert;
};

static struct sandbox plain, tls;

static char *read_port(const char *path)
{
	char *port = NULL;

	/* Up to a minute: under valgrind, on a loaded machine, the desk (and its TLS certificate)
	 * took longer than 15 s to start. */
	for (int i = 0; i < 1200 && !port; i++) {
		if (g_file_get_contents(path, &port, NULL, NULL) && *g_strstrip(port))
			break;
		g_free(port);
		port = NULL;
		g_usleep(50000);
	}
	return port;
}

static void sandbox_start(struct sandbox *s, gboolean use_tls)
{
	char *script = g_build_filename(M2T_SOURCE_DIR, "tests", "desk", "sandbox_desk.py", NULL);
	char *port_file;
	char *port;
	GPtrArray *argv = g_ptr_array_new();
	char **env = g_environ_setenv(g_get_environ(), "SANDBOX_DESK_SECRET", SECRET, TRUE);

	s->dir = g_dir_make_tmp("m2t-whmcs-XXXXXX", NULL);
	port_file = g_build_filename(s->dir, "port", NULL);
	g_ptr_array_add(argv, M2T_PYTHON);
	g_ptr_array_add(argv, script);
	g_ptr_array_add(argv, "--quiet");
	g_ptr_array_add(argv, "--identifier");
	g_ptr_array_add(argv, IDENTIFIER);
	g_ptr_array_add(argv, "--port-file");
	g_ptr_array_add(argv, port_file);
	if (use_tls) {
		s->cert = g_build_filename(s->dir, "cert.pem", NULL);
		g_ptr_array_add(argv, "--tls-self-signed");
		g_ptr_array_add(argv, s->cert);
	}
	g_ptr_array_add(argv, NULL);
	assert_true(g_spawn_async(NULL, (char **)argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL,
				  &s->pid, NULL));
	port = read_port(port_file);
	assert_non_null(port);
	s->url = g_strdup_printf("%s://127.0.0.1:%s", use_tls ? "https" : "http", port);
	g_free(port);
	g_free(port_file);
	g_free(script);
	g_ptr_array_unref(argv);
	g_strfreev(env);
}

static void sandbox_stop(struct sandbox *s)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", s->dir);

	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	g_spawn_close_pid(s->pid);
	g_assert_true(system(cmd) == 0);
	g_free(cmd);
	g_free(s->dir);
	g_free(s->url);
	g_free(s->cert);
}

static int setup(void **state)
{
	(void)state;
	sandbox_start(&plain, FALSE);
	sandbox_start(&tls, TRUE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sandbox_stop(&plain);
	sandbox_stop(&tls);
	return 0;
}

/* A config for the desk at base_url, as config_load() would fill it in. */
static struct config *config_for(const char *base_url, const char *secret, const char *ca_file)
{
	struct config *c = g_new0(struct config, 1);

	c->desk.kind = g_strdup("whmcs");
	c->desk.url = g_strconcat(base_url, "/includes/api.php", NULL);
	c->desk.identifier = g_strdup(IDENTIFIER);
	c->desk.secret = g_strdup(secret);
	c->desk.ca_file = g_strdup(ca_file);
	c->desk.connect_timeout = 5;
	c->desk.timeout = 10;
	c->desk.cc = CC_MODE_TEXT;
	c->departments = g_ptr_array_new();
	return c;
}

static struct desk *desk_for(const struct config *c)
{
	GError *err = NULL;
	struct desk *d = desk_new(c, NULL, &err);

	assert_null(err);
	return d;
}

static const struct desk_ticket_request guest_request = {
    .deptid = 1,
    .subject = "Printer on fire",
    .message = "It is really on fire.",
    .name = "Pat Guest",
    .email = "pat@example.org",
    .priority = "High",
};

static void test_open_get_reply(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	struct desk_ticket opened, got;
	const struct desk_attachment att = {"note.txt", "hello", 5};
	struct desk_reply_request reply = {.message = "More smoke now.",
					   .name = "Pat Guest",
					   .email = "pat@example.org",
					   .attachments = &att,
					   .n_attachments = 1};
	GError *err = NULL;
	(void)state;

	assert_true(desk_open_ticket(d, &guest_request, &opened, &err));
	assert_non_null(opened.id);
	assert_int_equal(strlen(opened.tid), 6);

	reply.ticket_id = opened.id;
	assert_true(desk_add_reply(d, &reply, &err));

	assert_true(desk_get_ticket(d, opened.tid, &got, &err));
	assert_string_equal(got.id, opened.id);
	assert_string_equal(got.subject, "Printer on fire");
	assert_string_equal(got.email, "pat@example.org");
	assert_string_equal(got.deptid, "1");
	assert_int_equal(got.messages->len, 2);
	assert_string_equal(g_ptr_array_index(got.messages, 0), "It is really on fire.");
	assert_string_equal(g_ptr_array_index(got.messages, 1), "More smoke now.");
	desk_ticket_clear(&got);
	desk_ticket_clear(&opened);
	desk_free(d);
	config_free(c);
}

static void test_client_and_custom_fields(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	const struct desk_field fields[] = {{.id = 3, .value = "Zürich"},
					    {.id = 8, .value = "mydomain.com"}};
	struct desk_ticket_request req = guest_request;
	struct desk_ticket opened, got;
	GError *err = NULL;
	(void)state;

	req.clientid = 1;
	req.fields = fields;
	req.n_fields = 2;
	assert_true(desk_open_ticket(d, &req, &opened, &err));
	assert_true(desk_get_ticket(d, opened.tid, &got, &err));
	assert_string_equal(got.userid, "1"); /* the sandbox's first client */
	desk_ticket_clear(&got);
	desk_ticket_clear(&opened);
	desk_free(d);
	config_free(c);
}

static void test_unknown_ticket_is_not_found(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	struct desk_ticket got;
	GError *err = NULL;
	(void)state;

	assert_false(desk_get_ticket(d, "000001", &got, &err));
	assert_true(g_error_matches(err, DESK_ERROR, DESK_ERROR_NOT_FOUND));
	assert_false(desk_error_is_temporary(err));
	g_clear_error(&err);
	desk_free(d);
	config_free(c);
}

static void test_refused_request_is_permanent(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	struct desk_ticket_request req = guest_request;
	struct desk_ticket opened;
	GError *err = NULL;
	(void)state;

	req.deptid = 99;
	assert_false(desk_open_ticket(d, &req, &opened, &err));
	assert_true(g_error_matches(err, DESK_ERROR, DESK_ERROR_REFUSED));
	assert_non_null(strstr(err->message, "Department ID not found"));
	g_clear_error(&err);
	desk_free(d);
	config_free(c);
}

static void test_wrong_secret_is_auth_error(void **state)
{
	struct config *c = config_for(plain.url, "not-the-secret", NULL);
	struct desk *d = desk_for(c);
	GPtrArray *depts = NULL;
	GError *err = NULL;
	(void)state;

	assert_false(desk_list_departments(d, &depts, &err));
	assert_true(g_error_matches(err, DESK_ERROR, DESK_ERROR_AUTH));
	assert_true(desk_error_is_temporary(err));
	assert_null(strstr(err->message, "not-the-secret"));
	g_clear_error(&err);
	desk_free(d);
	config_free(c);
}

static void test_find_opened_ticket_matches_text(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	struct desk_ticket_request other = guest_request;
	struct desk_ticket opened, found;
	gboolean was_found;
	GError *err = NULL;
	(void)state;

	other.subject = "Adopt me";
	other.message = "first text";
	assert_true(desk_open_ticket(d, &other, &opened, &err));

	assert_true(desk_find_opened_ticket(d, &other, NULL, &found, &was_found, &err));
	assert_true(was_found);
	assert_string_equal(found.id, opened.id);
	desk_ticket_clear(&found);

	/* Same requester and subject but another text: some other mail's ticket. */
	other.message = "second text";
	assert_true(desk_find_opened_ticket(d, &other, NULL, &found, &was_found, &err));
	assert_false(was_found);
	desk_ticket_clear(&opened);
	desk_free(d);
	config_free(c);
}

/* A filter naming the first ticket's id (as the journal names other mails' tickets). */
struct named_ticket {
	struct desk_ticket_filter base;
	const char *id;
};

static gboolean names_id(const struct desk_ticket_filter *filter, const char *id, gboolean *yes,
			 GError **error)
{
	(void)error;
	*yes = strcmp(id, ((const struct named_ticket *)filter)->id) == 0;
	return TRUE;
}

/* Two tickets with one requester, subject and text: the newer is the one a lost attempt opened,
 * also when the older was replied to since (GetTickets lists by last reply), and one the filter
 * names is passed over. */
static void test_find_opened_ticket_takes_the_newest_not_named(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	struct desk_ticket_request alert = guest_request;
	struct desk_reply_request reply = {.message = "seen", .name = "Ops"};
	struct desk_ticket first, second, found;
	struct named_ticket others = {{names_id}, NULL};
	gboolean was_found;
	GError *err = NULL;
	(void)state;

	alert.subject = "Site down";
	alert.message = "example.com does not answer";
	assert_true(desk_open_ticket(d, &alert, &first, &err));
	assert_true(desk_open_ticket(d, &alert, &second, &err));
	reply.ticket_id = first.id;
	reply.email = alert.email;
	assert_true(desk_add_reply(d, &reply, &err));

	assert_true(desk_find_opened_ticket(d, &alert, NULL, &found, &was_found, &err));
	assert_true(was_found);
	assert_string_equal(found.id, second.id);
	desk_ticket_clear(&found);

	others.id = second.id;
	assert_true(desk_find_opened_ticket(d, &alert, &others.base, &found, &was_found, &err));
	assert_true(was_found);
	assert_string_equal(found.id, first.id);
	desk_ticket_clear(&found);
	desk_ticket_clear(&first);
	desk_ticket_clear(&second);
	desk_free(d);
	config_free(c);
}

static void test_tls_verified_by_default(void **state)
{
	struct config *c = config_for(tls.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	GPtrArray *depts = NULL;
	GError *err = NULL;
	(void)state;

	/* A self-signed certificate the system does not trust is refused. */
	assert_false(desk_list_departments(d, &depts, &err));
	assert_true(g_error_matches(err, DESK_ERROR, DESK_ERROR_TEMPORARY));
	assert_non_null(strstr(err->message, "certificate"));
	g_clear_error(&err);
	desk_free(d);
	config_free(c);

	/* Trusted through ca_file, it works. */
	c = config_for(tls.url, SECRET, tls.cert);
	d = desk_for(c);
	if (!desk_list_departments(d, &depts, &err))
		fail_msg("with ca_file: %s", err->message);
	assert_int_equal(depts->len, 3);
	assert_string_equal(((struct desk_department *)g_ptr_array_index(depts, 1))->name,
			    "Billing");
	g_ptr_array_unref(depts);
	desk_free(d);
	config_free(c);
}

static void test_client_contacts(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	gboolean yes = TRUE;
	GError *err = NULL;
	(void)state;

	/* The sandbox's client 1 has the contact sam@example.com. */
	assert_true(desk_is_client_contact(d, "1", "Sam@Example.com", &yes, &err));
	assert_true(yes);
	assert_true(desk_is_client_contact(d, "1", "mallory@example.net", &yes, &err));
	assert_false(yes);
	assert_true(desk_is_client_contact(d, "0", "sam@example.com", &yes, &err));
	assert_false(yes); /* a guest's ticket has no client */
	desk_free(d);
	config_free(c);
}

/* A client with more contacts than a page of GetContacts holds (25): the last is a contact
 * too. */
static void test_a_client_with_many_contacts(void **state)
{
	struct config *c = config_for(plain.url, SECRET, NULL);
	struct desk *d = desk_for(c);
	struct http_client *http = http_client_for_desk(c, NULL);
	char *url = g_strconcat(plain.url, "/_sandbox/contacts", NULL);
	GString *contacts = g_string_new("[");
	struct http_response resp;
	gboolean yes = FALSE;
	GError *err = NULL;
	(void)state;

	for (int i = 1; i <= 30; i++)
		g_string_append_printf(contacts,
				       "%s{\"userid\": 2, \"email\": \"c%d@acme.example\"}",
				       i > 1 ? "," : "", i);
	g_string_append_c(contacts, ']');
	assert_true(http_request_basic(http, url, "application/json", contacts->str, contacts->len,
				       "", "", HTTP_WRITE, &resp, &err));
	assert_int_equal(resp.status, 200);
	http_response_clear(&resp);
	assert_true(desk_is_client_contact(d, "2", "C30@acme.example", &yes, &err));
	assert_true(yes);
	assert_true(desk_is_client_contact(d, "2", "c31@acme.example", &yes, &err));
	assert_false(yes);
	g_string_free(contacts, TRUE);
	g_free(url);
	http_client_free(http);
	desk_free(d);
	config_free(c);
}

static void test_compose_message_cc_block(void **state)
{
	const struct desk_address cc[] = {{"Bob", "bob@example.org"}, {NULL, "c@example.net"}};
	struct desk_ticket_request req = guest_request;
	char *text;
	(void)state;

	req.cc = cc;
	req.n_cc = 2;
	text = desk_compose_message(&req, CC_MODE_TEXT);
	assert_string_equal(text,
			    "Cc: Bob <bob@example.org>, c@example.net\n\nIt is really on fire.");
	g_free(text);
	text = desk_compose_message(&req, CC_MODE_PARAM);
	assert_string_equal(text, "It is really on fire.");
	g_free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_get_reply),
	    cmocka_unit_test(test_client_and_custom_fields),
	    cmocka_unit_test(test_unknown_ticket_is_not_found),
	    cmocka_unit_test(test_refused_request_is_permanent),
	    cmocka_unit_test(test_wrong_secret_is_auth_error),
	    cmocka_unit_test(test_find_opened_ticket_matches_text),
	    cmocka_unit_test(test_find_opened_ticket_takes_the_newest_not_named),
	    cmocka_unit_test(test_tls_verified_by_default),
	    cmocka_unit_test(test_client_contacts),
	    cmocka_unit_test(test_a_client_with_many_contacts),
	    cmocka_unit_test(test_compose_message_cc_block),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
