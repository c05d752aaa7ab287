/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal: the contract of state/journal.h, run against every implementation of
 * journal_backends[] (each brings a fixture that makes a fresh journal and removes it), then
 * what only the SQLite file has (its file, its busy answer and its schema versions) and what
 * only the PostgreSQL journal has (its url and password, a server that goes away, hosts that
 * migrate at once). The PostgreSQL cases need a server: ctest runs this test through
 * tests/e2e/postgres.py, which lends it one (M2T_TEST_PG_URL); without one they are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/journal.h"

/* How long a process may take to answer where it must (valgrind is slow to start one). */
#define ANSWER_MS 20000
/* How long a process that must wait is watched for not waiting. */
#define WAITING_MS 300

/* How the cases get a journal of one implementation: make fills settings for a fresh journal
 * that does not exist yet (with strings of its own), remove takes away whatever the case left
 * and frees them. */
struct backend_fixture {
	const char *kind;
	void (*make)(struct journal_settings *settings);
	void (*remove)(const struct journal_settings *settings);
	/* The environment variable that must be set for the cases to run (a server lent to
	 * them), or NULL. */
	const char *needs;
};

static char *sqlite_dir;

static void sqlite_make(struct journal_settings *settings)
{
	sqlite_dir = g_dir_make_tmp("m2t-journal-XXXXXX", NULL);
	assert_non_null(sqlite_dir);
	settings->path = g_build_filename(sqlite_dir, "journal.db", NULL);
}

/* The SQLite journal at path and the files beside it. */
static void remove_sqlite_files(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};

	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		char *f = g_strconcat(path, suffixes[i], NULL);
		g_unlink(f);
		g_free(f);
	}
}

static void sqlite_remove(const struct journal_settings *settings)
{
	remove_sqlite_files(settings->path);
	g_rmdir(sqlite_dir);
	g_free((char *)settings->path);
	g_clear_pointer(&sqlite_dir, g_free);
}

/* The server tests/e2e/postgres.py lends: a conninfo without dbname for a role that may create
 * databases, and its password file. */
#define PG_URL_VARIABLE "M2T_TEST_PG_URL"
#define PG_PASSWORD_VARIABLE "M2T_TEST_PG_PASSWORD_FILE"

static char *pg_database; /* the case's own */

/* A connection as the test role to db, for what the cases do behind the journal's back. */
static PGconn *pg_connect(const char *db)
{
	char *password = NULL;
	char *conninfo = g_strdup_printf("%s dbname=%s application_name=m2t-test",
					 g_getenv(PG_URL_VARIABLE), db);
	const char *const keywords[] = {"dbname", "password", NULL};
	const char *values[] = {conninfo, NULL, NULL};
	PGconn *conn;

	assert_true(g_file_get_contents(g_getenv(PG_PASSWORD_VARIABLE), &password, NULL, NULL));
	values[1] = g_strchomp(password);
	conn = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(conn) != CONNECTION_OK)
		fail_msg("%s", PQerrorMessage(conn));
	g_free(password);
	g_free(conninfo);
	return conn;
}

/* The first value sql answers in db (newly allocated), or NULL when it answers no row. */
static char *pg_sql(const char *db, const char *sql)
{
	PGconn *conn = pg_connect(db);
	PGresult *res = PQexec(conn, sql);
	char *value = NULL;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(conn));
	if (PQntuples(res) > 0)
		value = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return value;
}

static void pg_make(struct journal_settings *settings)
{
	static int cases;
	char *sql;

	pg_database = g_strdup_printf("m2t_case_%d_%d", (int)getpid(), ++cases);
	sql = g_strdup_printf("CREATE DATABASE %s", pg_database);
	g_free(pg_sql("postgres", sql));
	g_free(sql);
	settings->url = g_strdup_printf("%s dbname=%s", g_getenv(PG_URL_VARIABLE), pg_database);
	settings->password_file = g_getenv(PG_PASSWORD_VARIABLE);
	/* A server answers slower than a file, and more so under valgrind: a lock wait in the
	 * cases must not end in BUSY (test_pg_busy_lock sets its own timeout). */
	settings->busy_timeout_ms = ANSWER_MS;
}

static void pg_remove(const struct journal_settings *settings)
{
	/* FORCE: the session of a killed process may not have ended yet. */
	char *sql = g_strdup_printf("DROP DATABASE %s WITH (FORCE)", pg_database);

	g_free(pg_sql("postgres", sql));
	g_free(sql);
	g_free((char *)settings->url);
	g_clear_pointer(&pg_database, g_free);
}

/* A new implementation adds its fixture here; test_every_backend_is_tested sees that it does. */
static const struct backend_fixture fixtures[] = {
    {"sqlite", sqlite_make, sqlite_remove, NULL},
    {"postgresql", pg_make, pg_remove, PG_URL_VARIABLE},
};

static const struct backend_fixture *fixture; /* the implementation under test */
static struct journal_settings settings;      /* of the case's fresh journal */

/* The fixture of kind; NULL when it has none. */
static const struct backend_fixture *fixture_of(const char *kind)
{
	for (gsize i = 0; i < G_N_ELEMENTS(fixtures); i++)
		if (strcmp(fixtures[i].kind, kind) == 0)
			return &fixtures[i];
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	settings = (struct journal_settings){.kind = fixture->kind, .busy_timeout_ms = 1000};
	fixture->make(&settings);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture->remove(&settings);
	return 0;
}

static struct journal *open_journal(gboolean read_only)
{
	struct journal_settings s = settings;
	GError *err = NULL;
	struct journal *j;

	s.read_only = read_only;
	j = journal_open_with(&s, &err);
	if (!j)
		fail_msg("%s", err->message);
	return j;
}

static const struct journal_mail_info info = {"pipe", "<1@example.org>", "a@example.org", "Hi"};
static const struct journal_mail_info info_imap = {"imap", "<2@example.org>", "b@example.org",
						   "Help"};

static void assert_state(struct journal *j, const char *key, enum journal_state state,
			 int attempts, const char *last_error)
{
	struct journal_entry e;
	gboolean found;

	assert_true(journal_lookup(j, key, &e, &found, NULL));
	assert_true(found);
	assert_string_equal(e.key, key);
	assert_int_equal(e.state, state);
	assert_int_equal(e.attempts, attempts);
	if (last_error)
		assert_string_equal(e.last_error, last_error);
	else
		assert_null(e.last_error);
	assert_true(e.updated > 0);
	journal_entry_clear(&e);
}

static void assert_unknown(struct journal *j, const char *key)
{
	struct journal_entry e;
	gboolean found = TRUE;

	assert_true(journal_lookup(j, key, &e, &found, NULL));
	assert_false(found);
}

static void test_attempt_then_delivered(void **state)
{
	struct journal *j = open_journal(FALSE);
	struct journal_entry e;
	gboolean found;
	(void)state;

	assert_unknown(j, "mid:1");
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_state(j, "mid:1", JOURNAL_PENDING, 1, NULL);
	assert_true(journal_mark_failed(j, "mid:1", "HTTP 500", NULL));
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_delivered(j, "mid:1", "opened", "7", "123456", NULL, NULL));
	journal_close(j);

	/* A new process sees what the last one recorded. */
	j = open_journal(TRUE);
	assert_true(journal_lookup(j, "mid:1", &e, &found, NULL));
	assert_int_equal(e.state, JOURNAL_DELIVERED);
	assert_int_equal(e.attempts, 2);
	assert_string_equal(e.ticket_id, "7");
	assert_string_equal(e.ticket_tid, "123456");
	assert_null(e.last_error);
	journal_entry_clear(&e);
	journal_close(j);
}

/* A new attempt keeps the last failure's words (stats shows them) until its answer comes. */
static void test_states_follow_the_attempts(void **state)
{
	struct journal *j = open_journal(FALSE);
	(void)state;

	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_failed(j, "mid:1", "HTTP 500", NULL));
	assert_state(j, "mid:1", JOURNAL_FAILED, 1, "HTTP 500");
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_state(j, "mid:1", JOURNAL_PENDING, 2, "HTTP 500");
	assert_true(journal_mark_failed(j, "mid:1", "timeout", NULL));
	assert_state(j, "mid:1", JOURNAL_FAILED, 2, "timeout");
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_delivered(j, "mid:1", "opened", "7", "1", "a stranger", NULL));
	assert_state(j, "mid:1", JOURNAL_DELIVERED, 3, NULL);

	/* A mail refused for good after its attempts keeps their count. */
	assert_true(journal_begin_attempt(j, "mid:2", &info, "open 1", NULL));
	assert_true(journal_mark_quarantined(j, "mid:2", &info, "/q/new/x", "refused", NULL));
	assert_state(j, "mid:2", JOURNAL_QUARANTINED, 1, "refused");
	journal_close(j);
}

static void test_quarantined_and_dropped(void **state)
{
	struct journal *j = open_journal(FALSE);
	(void)state;

	assert_true(journal_mark_quarantined(j, "sha256:ab", &info, "/q/new/x", "no sender", NULL));
	assert_true(journal_mark_dropped(j, "mid:2", &info, "auto-reply", NULL));
	assert_state(j, "sha256:ab", JOURNAL_QUARANTINED, 0, "no sender");
	assert_state(j, "mid:2", JOURNAL_DROPPED, 0, "auto-reply");
	journal_close(j);
}

/* Each attempt says which write it was, so that a retry can look for all of them. */
static void test_earlier_writes(void **state)
{
	struct journal *j = open_journal(FALSE);
	GPtrArray *writes;
	(void)state;

	assert_true(journal_earlier_writes(j, "mid:1", &writes, NULL));
	assert_int_equal(writes->len, 0);
	g_ptr_array_unref(writes);
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 2", NULL));
	assert_true(journal_mark_failed(j, "mid:1", "no answer", NULL));
	assert_true(journal_begin_attempt(j, "mid:1", &info, "reply 7 123456", NULL));
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 2", NULL));
	assert_true(journal_earlier_writes(j, "mid:1", &writes, NULL));
	assert_int_equal(writes->len, 2);
	assert_string_equal(g_ptr_array_index(writes, 0), "open 2");
	assert_string_equal(g_ptr_array_index(writes, 1), "reply 7 123456");
	g_ptr_array_unref(writes);
	journal_close(j);
}

/* The rows of a mail filed under its older key, and its per-department copies, move to the new
 * key with their attempts; another mail that carried the same Message-ID leaves them. */
static void test_claim_legacy_key(void **state)
{
	const struct journal_mail_info same = {"imap", "<1@example.org>", "A@Example.ORG", "Hi"};
	const struct journal_mail_info other = {"pipe", "<1@example.org>", "a@example.org", "Re"};
	struct journal *j = open_journal(FALSE);
	GPtrArray *writes;
	gboolean claimed = TRUE;
	(void)state;

	assert_true(journal_claim_legacy_key(j, "mid:1", "mid:1#k", &same, &claimed, NULL));
	assert_false(claimed);
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_delivered(j, "mid:1", "opened", "7", "123456", NULL, NULL));
	assert_true(journal_begin_attempt(j, "mid:1#dept:2", &info, "open 2", NULL));
	assert_true(journal_begin_attempt(j, "mid:10", &info, "open 1", NULL));

	assert_true(journal_claim_legacy_key(j, "mid:1", "mid:1#k", &other, &claimed, NULL));
	assert_false(claimed);
	assert_unknown(j, "mid:1#k");
	assert_state(j, "mid:1", JOURNAL_DELIVERED, 1, NULL);

	assert_true(journal_claim_legacy_key(j, "mid:1", "mid:1#k", &same, &claimed, NULL));
	assert_true(claimed);
	assert_unknown(j, "mid:1");
	assert_unknown(j, "mid:1#dept:2");
	assert_state(j, "mid:1#k", JOURNAL_DELIVERED, 1, NULL);
	assert_state(j, "mid:1#k#dept:2", JOURNAL_PENDING, 1, NULL);
	assert_state(j, "mid:10", JOURNAL_PENDING, 1, NULL);
	assert_true(journal_earlier_writes(j, "mid:1#k#dept:2", &writes, NULL));
	assert_int_equal(writes->len, 1);
	assert_string_equal(g_ptr_array_index(writes, 0), "open 2");
	g_ptr_array_unref(writes);
	journal_close(j);
}

static void test_ticket_of_message(void **state)
{
	struct journal *j = open_journal(FALSE);
	char *tid, *id;
	(void)state;

	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_ticket_of_message(j, info.message_id, &tid, &id, NULL));
	assert_null(tid);
	assert_null(id);
	assert_true(journal_mark_delivered(j, "mid:1", "opened", "7", "123456", NULL, NULL));
	assert_true(journal_ticket_of_message(j, info.message_id, &tid, &id, NULL));
	assert_string_equal(tid, "123456");
	assert_string_equal(id, "7");
	g_free(tid);
	g_free(id);
	assert_true(journal_ticket_of_message(j, "<none@example.org>", &tid, &id, NULL));
	assert_null(tid);
	journal_close(j);
}

/* A ticket another mail opened or adopted is that mail's; a reply to it, or this mail's own
 * row, does not make it another's. */
static void test_ticket_opened_by_another(void **state)
{
	struct journal *j = open_journal(FALSE);
	gboolean yes = TRUE;
	(void)state;

	assert_true(journal_ticket_opened_by_another(j, "7", "mid:2", &yes, NULL));
	assert_false(yes);
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_ticket_opened_by_another(j, "7", "mid:2", &yes, NULL));
	assert_false(yes); /* not delivered yet */
	assert_true(journal_mark_delivered(j, "mid:1", "opened", "7", "123456", NULL, NULL));
	assert_true(journal_ticket_opened_by_another(j, "7", "mid:2", &yes, NULL));
	assert_true(yes);
	assert_true(journal_ticket_opened_by_another(j, "7", "mid:1", &yes, NULL));
	assert_false(yes);
	assert_true(journal_begin_attempt(j, "mid:3", &info, "reply 8 654321", NULL));
	assert_true(journal_mark_delivered(j, "mid:3", "replied", "8", "654321", NULL, NULL));
	assert_true(journal_ticket_opened_by_another(j, "8", "mid:2", &yes, NULL));
	assert_false(yes);
	assert_true(journal_begin_attempt(j, "mid:4", &info, "open 1", NULL));
	assert_true(journal_mark_delivered(j, "mid:4", "adopted", "9", "111111", NULL, NULL));
	assert_true(journal_ticket_opened_by_another(j, "9", "mid:2", &yes, NULL));
	assert_true(yes);
	journal_close(j);
}

/* A write without an answer leaves the mail pending, its time the failure's, with the reason. */
static void test_an_unanswered_write_stays_pending(void **state)
{
	struct journal *j = open_journal(FALSE);
	struct journal_entry e;
	gboolean found;
	GPtrArray *writes = NULL;
	(void)state;

	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_unanswered(j, "mid:1", "no answer: timed out", NULL));
	assert_state(j, "mid:1", JOURNAL_PENDING, 1, "no answer: timed out");
	assert_true(journal_lookup(j, "mid:1", &e, &found, NULL));
	assert_true(e.updated >= g_get_real_time() / G_USEC_PER_SEC - 5);
	journal_entry_clear(&e);
	assert_true(journal_earlier_writes(j, "mid:1", &writes, NULL));
	assert_int_equal(writes->len, 1);
	assert_string_equal(g_ptr_array_index(writes, 0), "open 1");
	g_ptr_array_unref(writes);
	journal_close(j);
}

/* Tickets opened or adopted count against the sender, in any case; replies do not. */
static void test_count_opened_since(void **state)
{
	static const char *const actions[] = {"opened", "adopted", "replied"};
	struct journal *j = open_journal(FALSE);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	guint count = 99;
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(actions); i++) {
		char *key = g_strdup_printf("mid:%" G_GSIZE_FORMAT, i);
		assert_true(journal_begin_attempt(j, key, &info, "open 1", NULL));
		assert_true(journal_mark_delivered(j, key, actions[i], "7", "123456", NULL, NULL));
		g_free(key);
	}
	assert_true(journal_begin_attempt(j, "mid:b", &info_imap, "open 1", NULL));
	assert_true(journal_mark_delivered(j, "mid:b", "opened", "8", "654321", NULL, NULL));
	assert_true(journal_count_opened_since(j, "A@EXAMPLE.ORG", now - 60, &count, NULL));
	assert_int_equal(count, 2);
	assert_true(journal_count_opened_since(j, "a@example.org", now + 60, &count, NULL));
	assert_int_equal(count, 0);
	journal_close(j);
}

static void test_checkpoints(void **state)
{
	struct journal *j = open_journal(FALSE);
	guint64 handled = 99;
	(void)state;

	assert_true(journal_checkpoint_get(j, "/a.mbox", "fp1", &handled, NULL));
	assert_int_equal(handled, 0);
	assert_true(journal_checkpoint_set(j, "/a.mbox", "fp1", 10, NULL));
	assert_true(journal_checkpoint_get(j, "/a.mbox", "fp1", &handled, NULL));
	assert_int_equal(handled, 10);
	assert_true(journal_checkpoint_get(j, "/a.mbox", "fp2", &handled, NULL));
	assert_int_equal(handled, 0);
	assert_true(journal_checkpoint_set(j, "/a.mbox", "fp2", 3, NULL));
	assert_true(journal_checkpoint_get(j, "/a.mbox", "fp1", &handled, NULL));
	assert_int_equal(handled, 0);
	assert_true(journal_checkpoint_get(j, "/a.mbox", "fp2", &handled, NULL));
	assert_int_equal(handled, 3);
	assert_true(journal_checkpoint_get(j, "/b.mbox", "fp2", &handled, NULL));
	assert_int_equal(handled, 0);
	journal_close(j);
}

static void test_mailbox_marks_and_items(void **state)
{
	struct journal *j = open_journal(FALSE);
	struct journal_mailbox_mark mark = {.uidvalidity = 7, .last_uid = 41, .unseen_below = 3};
	struct journal_mailbox_mark got;
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTable *present = g_hash_table_new(g_str_hash, g_str_equal);
	gboolean found, is_seen;
	char *reason;
	int failures;
	(void)state;

	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_false(found);
	assert_true(journal_mailbox_mark_set(j, "support", &mark, NULL));
	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_true(found);
	assert_int_equal(got.uidvalidity, 7);
	assert_int_equal(got.last_uid, 41);
	assert_int_equal(got.unseen_below, 3);
	mark.last_uid = 4000000000u;
	assert_true(journal_mailbox_mark_set(j, "support", &mark, NULL));
	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_int_equal(got.last_uid, 4000000000u);

	/* A parser crash leaves its +1; a refusal adds one with the desk's words. */
	assert_true(journal_item_count_failure(j, "support", "7:42", 1, "parser died", NULL));
	assert_true(journal_item_count_failure(j, "support", "7:42", -1, NULL, NULL));
	assert_true(journal_item_count_failure(j, "support", "7:42", -1, NULL, NULL));
	assert_true(journal_item_count_failure(j, "support", "7:42", 1, "Invalid dept", NULL));
	assert_true(journal_item_get(j, "support", "7:42", &failures, &reason, &is_seen, NULL));
	assert_int_equal(failures, 1);
	assert_string_equal(reason, "Invalid dept");
	assert_false(is_seen);
	g_free(reason);
	assert_true(journal_item_finish(j, "support", "7:42", FALSE, NULL));
	assert_true(journal_item_get(j, "support", "7:42", &failures, &reason, &is_seen, NULL));
	assert_int_equal(failures, 0);
	assert_null(reason);

	assert_true(journal_item_count_failure(j, "pop", "uidl-a", 2, "HTTP 500", NULL));
	assert_true(journal_item_finish(j, "pop", "uidl-a", TRUE, NULL));
	assert_true(journal_item_get(j, "pop", "uidl-a", &failures, &reason, &is_seen, NULL));
	assert_int_equal(failures, 0);
	assert_true(is_seen);
	g_free(reason);
	assert_true(journal_item_finish(j, "pop", "uidl-b", TRUE, NULL));
	assert_true(journal_item_finish(j, "other", "uidl-c", TRUE, NULL));
	g_hash_table_add(present, "uidl-b");
	assert_true(journal_items_forget_absent(j, "pop", present, NULL));
	assert_true(journal_items_seen(j, "pop", seen, NULL));
	assert_int_equal(g_hash_table_size(seen), 1);
	assert_true(g_hash_table_contains(seen, "uidl-b"));
	assert_true(journal_items_seen(j, "other", seen, NULL));
	assert_int_equal(g_hash_table_size(seen), 2);

	g_hash_table_unref(seen);
	g_hash_table_unref(present);
	journal_close(j);
}

static void assert_count(GPtrArray *counts, guint i, const char *source, const char *outcome)
{
	const struct journal_count *c = g_ptr_array_index(counts, i);

	assert_string_equal(c->source, source);
	assert_string_equal(c->outcome, outcome);
	assert_int_equal(c->count, 1);
}

static void test_stats(void **state)
{
	struct journal *j = open_journal(FALSE);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	GPtrArray *counts, *problems;
	const struct journal_problem *p;
	guint waiting;
	(void)state;

	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_delivered(j, "mid:1", "opened", "7", "123456", NULL, NULL));
	assert_true(journal_begin_attempt(j, "mid:2", &info, "reply 7 123456", NULL));
	assert_true(journal_mark_delivered(j, "mid:2", "replied", "7", "123456", NULL, NULL));
	assert_true(journal_mark_dropped(j, "mid:3", &info, "auto-reply", NULL));
	assert_true(journal_begin_attempt(j, "mid:4", &info_imap, "open 1", NULL));
	assert_true(journal_mark_failed(j, "mid:4", "HTTP 500", NULL));
	assert_true(journal_mark_quarantined(j, "mid:5", &info_imap, "/q/x", "no sender", NULL));
	assert_true(journal_begin_attempt(j, "mid:6", &info_imap, "open 1", NULL));

	assert_true(journal_stats(j, now - 60, 10, &counts, &problems, &waiting, NULL));
	assert_int_equal(counts->len, 6);
	assert_count(counts, 0, "imap", "failed");
	assert_count(counts, 1, "imap", "pending");
	assert_count(counts, 2, "imap", "quarantined");
	assert_count(counts, 3, "pipe", "dropped");
	assert_count(counts, 4, "pipe", "opened");
	assert_count(counts, 5, "pipe", "replied");
	assert_int_equal(problems->len, 2);
	p = g_ptr_array_index(problems, 0);
	assert_string_equal(p->key, "mid:5");
	assert_string_equal(p->source, "imap");
	assert_string_equal(p->subject, "Help");
	assert_int_equal(p->state, JOURNAL_QUARANTINED);
	assert_string_equal(p->error, "no sender");
	assert_true(p->when >= now - 60);
	p = g_ptr_array_index(problems, 1);
	assert_string_equal(p->key, "mid:4");
	assert_int_equal(p->state, JOURNAL_FAILED);
	assert_int_equal(waiting, 2);
	g_ptr_array_unref(counts);
	g_ptr_array_unref(problems);

	assert_true(journal_stats(j, now - 60, 1, &counts, &problems, &waiting, NULL));
	assert_int_equal(problems->len, 1);
	g_ptr_array_unref(counts);
	g_ptr_array_unref(problems);

	/* What waits for another attempt counts whenever it changed. */
	assert_true(journal_stats(j, now + 60, 10, &counts, &problems, &waiting, NULL));
	assert_int_equal(counts->len, 0);
	assert_int_equal(problems->len, 0);
	assert_int_equal(waiting, 2);
	g_ptr_array_unref(counts);
	g_ptr_array_unref(problems);
	journal_close(j);
}

/* A plan of n units named "unit 0", "unit 1", ...; free with g_ptr_array_unref(). */
static GPtrArray *units_of(guint n)
{
	GPtrArray *units = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < n; i++)
		g_ptr_array_add(units, g_strdup_printf("unit %u", i));
	return units;
}

static gint64 record_plan(struct journal *j, const char *fingerprint, guint n)
{
	GPtrArray *units = units_of(n);
	gboolean recorded;
	gint64 plan;

	assert_true(journal_work_plan(j, "/a.mbox", fingerprint, units, &plan, &recorded, NULL));
	assert_true(plan > 0);
	g_ptr_array_unref(units);
	return plan;
}

/* owner claims the unit numbered expected (-1: none, with held units still claimed). */
static void assert_claims(struct journal *j, gint64 plan, const char *owner, int lease,
			  const GArray *skip, int expected, guint held_expected)
{
	struct journal_work_unit unit;
	gboolean found;
	guint held = 99;
	char *name;

	assert_true(journal_work_claim(j, plan, owner, lease, skip, &unit, &found, &held, NULL));
	assert_int_equal(found, expected >= 0);
	assert_int_equal(held, held_expected);
	if (!found)
		return;
	assert_int_equal(unit.number, expected);
	name = g_strdup_printf("unit %d", expected);
	assert_string_equal(unit.mails, name);
	g_free(name);
	journal_work_unit_clear(&unit);
}

static void assert_left(struct journal *j, gint64 plan, guint units_expected, guint left_expected)
{
	guint units = 99, left = 99;

	assert_true(journal_work_left(j, plan, &units, &left, NULL));
	assert_int_equal(units, units_expected);
	assert_int_equal(left, left_expected);
}

/* The first worker records the plan; the others, and a rerun, find that one. */
static void test_work_planned_once(void **state)
{
	struct journal *j = open_journal(FALSE);
	GPtrArray *other = units_of(7);
	gboolean recorded = TRUE;
	gint64 plan, again;
	(void)state;

	assert_true(journal_work_plan(j, "/a.mbox", "fp1", NULL, &plan, &recorded, NULL));
	assert_int_equal(plan, 0);
	assert_false(recorded);
	plan = record_plan(j, "fp1", 3);
	assert_true(journal_work_plan(j, "/a.mbox", "fp1", other, &again, &recorded, NULL));
	assert_int_equal(again, plan);
	assert_false(recorded);
	assert_true(journal_work_plan(j, "/a.mbox", "fp1", NULL, &again, &recorded, NULL));
	assert_int_equal(again, plan);
	assert_left(j, plan, 3, 3);
	journal_close(j);

	j = open_journal(FALSE);
	assert_true(journal_work_plan(j, "/a.mbox", "fp1", other, &again, &recorded, NULL));
	assert_int_equal(again, plan);
	assert_claims(j, plan, "w1", 60, NULL, 0, 0);
	g_ptr_array_unref(other);
	journal_close(j);
}

/* A changed archive is a new plan, which replaces the old one once nobody works on it; while
 * somebody does, a worker with another fingerprint has another file and is refused. */
static void test_work_changed_archive(void **state)
{
	struct journal *j = open_journal(FALSE);
	GPtrArray *units = units_of(2);
	GError *err = NULL;
	gboolean recorded, held;
	gint64 plan, changed, again;
	(void)state;

	plan = record_plan(j, "fp1", 2);
	assert_claims(j, plan, "w1", 60, NULL, 0, 0);
	assert_false(journal_work_plan(j, "/a.mbox", "fp2", units, &changed, &recorded, &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_CONFLICT));
	assert_false(recorded);
	g_clear_error(&err);
	assert_true(journal_work_release(j, plan, 0, "w1", TRUE, &held, NULL));
	assert_true(held);

	changed = record_plan(j, "fp2", 2);
	assert_true(changed != plan);
	assert_left(j, changed, 2, 2);
	assert_left(j, plan, 0, 0);
	assert_true(journal_work_plan(j, "/a.mbox", "fp1", NULL, &again, &recorded, NULL));
	assert_int_equal(again, 0);
	/* A worker still on the old plan learns that it was replaced. */
	assert_false(journal_work_claim(j, plan, "w1", 60, NULL, &(struct journal_work_unit){0},
					&recorded, &(guint){0}, &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_CONFLICT));
	g_clear_error(&err);
	/* Another archive's plan is its own. */
	assert_true(journal_work_plan(j, "/b.mbox", "fp1", units, &again, &recorded, NULL));
	assert_true(recorded);
	assert_left(j, changed, 2, 2);
	g_ptr_array_unref(units);
	journal_close(j);
}

/* Claims in plan order; a unit is held by one owner until it is finished, given back, or its
 * claim expires; only its owner renews or releases it. */
static void test_work_claims(void **state)
{
	struct journal *j = open_journal(FALSE);
	GArray *skip = g_array_new(FALSE, FALSE, sizeof(guint));
	struct journal_work_unit unit;
	gboolean held, found;
	guint waiting;
	gint64 plan;
	(void)state;

	plan = record_plan(j, "fp", 4);
	assert_claims(j, plan, "w1", 60, NULL, 0, 0);
	assert_claims(j, plan, "w2", 60, NULL, 1, 0);
	assert_true(journal_work_renew(j, plan, 0, "w1", 60, &held, NULL));
	assert_true(held);
	assert_true(journal_work_renew(j, plan, 0, "w2", 60, &held, NULL));
	assert_false(held);
	assert_true(journal_work_release(j, plan, 0, "w2", TRUE, &held, NULL));
	assert_false(held);
	assert_left(j, plan, 4, 4);
	assert_true(journal_work_release(j, plan, 0, "w1", TRUE, &held, NULL));
	assert_true(held);
	assert_true(journal_work_release(j, plan, 0, "w1", TRUE, &held, NULL));
	assert_false(held);
	assert_left(j, plan, 4, 3);

	/* Skipped units are not claimed, nor counted as held. */
	g_array_append_val(skip, (guint){2});
	g_array_append_val(skip, (guint){3});
	assert_claims(j, plan, "w1", 60, skip, -1, 1);

	/* Given back: claimable at once, and its giver no longer holds it. */
	assert_true(journal_work_release(j, plan, 1, "w2", FALSE, &held, NULL));
	assert_true(held);
	assert_true(journal_work_renew(j, plan, 1, "w2", 60, &held, NULL));
	assert_false(held);
	assert_true(journal_work_claim(j, plan, "w3", 60, skip, &unit, &found, &waiting, NULL));
	assert_true(found);
	assert_int_equal(unit.number, 1);
	assert_int_equal(unit.claims, 2);
	assert_string_equal(unit.former_owner, "w2");
	journal_work_unit_clear(&unit);

	/* An expired claim goes to the next worker; the one it expired on lost it. */
	assert_claims(j, plan, "w1", 0, NULL, 2, 0);
	assert_true(journal_work_claim(j, plan, "w4", 60, NULL, &unit, &found, &waiting, NULL));
	assert_true(found);
	assert_int_equal(unit.number, 2);
	assert_string_equal(unit.former_owner, "w1");
	journal_work_unit_clear(&unit);
	assert_true(journal_work_renew(j, plan, 2, "w1", 60, &held, NULL));
	assert_false(held);
	assert_true(journal_work_release(j, plan, 2, "w1", TRUE, &held, NULL));
	assert_false(held);

	/* Expired and not taken since: still its owner's to renew and finish. */
	assert_claims(j, plan, "w5", 0, NULL, 3, 0);
	assert_true(journal_work_renew(j, plan, 3, "w5", 60, &held, NULL));
	assert_true(held);
	assert_true(journal_work_release(j, plan, 3, "w5", TRUE, &held, NULL));
	assert_true(held);
	assert_claims(j, plan, "w6", 60, NULL, -1, 2);
	assert_true(journal_work_release(j, plan, 1, "w3", TRUE, &held, NULL));
	assert_true(journal_work_release(j, plan, 2, "w4", TRUE, &held, NULL));
	assert_claims(j, plan, "w6", 60, NULL, -1, 0);
	assert_left(j, plan, 4, 0);
	g_array_unref(skip);
	journal_close(j);
}

/* The lanes of one process write at once, each on its own connection: every write lands and
 * none ends in BUSY. */
#define RACED_WRITERS 4
#define RACED_WRITES 25

static gpointer write_mails(gpointer writer)
{
	struct journal_settings s = settings;
	struct journal *j;
	gboolean ok;

	s.busy_timeout_ms = ANSWER_MS;
	j = journal_open_with(&s, NULL);
	ok = j != NULL;
	for (int i = 0; ok && i < RACED_WRITES; i++) {
		char *key = g_strdup_printf("mid:%d.%d", GPOINTER_TO_INT(writer), i);
		ok = journal_begin_attempt(j, key, &info, "open 1", NULL) &&
		     journal_mark_delivered(j, key, "opened", "7", "123456", NULL, NULL);
		g_free(key);
	}
	journal_close(j);
	return GINT_TO_POINTER(ok);
}

static void test_threads_write_at_once(void **state)
{
	struct journal *j = open_journal(FALSE);
	GThread *writers[RACED_WRITERS];
	(void)state;

	for (int w = 0; w < RACED_WRITERS; w++)
		writers[w] = g_thread_new("writer", write_mails, GINT_TO_POINTER(w));
	for (int w = 0; w < RACED_WRITERS; w++)
		assert_true(GPOINTER_TO_INT(g_thread_join(writers[w])));
	for (int w = 0; w < RACED_WRITERS; w++)
		for (int i = 0; i < RACED_WRITES; i++) {
			char *key = g_strdup_printf("mid:%d.%d", w, i);
			assert_state(j, key, JOURNAL_DELIVERED, 1, NULL);
			g_free(key);
		}
	journal_close(j);
}

#define RACED_UNITS 60

/* Two processes claim at once until nothing is left: each unit goes to exactly one. */
static void test_work_claims_race(void **state)
{
	struct journal *j = open_journal(FALSE);
	guint8 got[RACED_UNITS] = {0};
	int says[2][2], go[2];
	pid_t pids[2];
	gint64 plan;
	(void)state;

	plan = record_plan(j, "fp", RACED_UNITS);
	journal_close(j);
	assert_int_equal(pipe(go), 0);
	for (int w = 0; w < 2; w++) {
		assert_int_equal(pipe(says[w]), 0);
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			struct journal_work_unit unit;
			char owner[] = {'w', (char)('0' + w), 0};
			gboolean found = TRUE;
			guint held;
			char c;
			close(says[w][0]);
			close(go[1]);
			j = journal_open_with(&settings, NULL);
			if (!j || read(go[0], &c, 1) < 0)
				_exit(1);
			while (found) {
				guint8 number;
				if (!journal_work_claim(j, plan, owner, 600, NULL, &unit, &found,
							&held, NULL))
					_exit(2);
				number = (guint8)unit.number;
				if (found && write(says[w][1], &number, 1) != 1)
					_exit(3);
				journal_work_unit_clear(&unit);
			}
			journal_close(j);
			_exit(0);
		}
		close(says[w][1]);
	}
	close(go[0]);
	close(go[1]); /* both start now */
	for (int w = 0; w < 2; w++) {
		guint8 number;
		int status;
		while (read(says[w][0], &number, 1) == 1) {
			assert_true(number < RACED_UNITS);
			got[number]++;
		}
		close(says[w][0]);
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (guint i = 0; i < RACED_UNITS; i++)
		assert_int_equal(got[i], 1);
}

/* err is read here, after the call that fills it has run. */
static void assert_refused(gboolean ok, GError **err)
{
	assert_false(ok);
	assert_true(g_error_matches(*err, JOURNAL_ERROR, JOURNAL_ERROR_IO));
	g_clear_error(err);
}

/* stats, route and dry runs read the journal and must leave it as it was. */
static void test_read_only_refuses_writes(void **state)
{
	const struct journal_mailbox_mark mark = {.uidvalidity = 7, .last_uid = 41};
	struct journal_mailbox_mark got;
	struct journal *j = open_journal(FALSE);
	GPtrArray *units = g_ptr_array_new();
	struct journal_work_unit unit;
	GError *err = NULL;
	guint64 handled;
	gboolean found, claimed, recorded;
	gint64 plan;
	guint held;
	gboolean lease_held = TRUE;
	(void)state;

	g_ptr_array_add(units, "0-9");
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	journal_close(j);
	j = open_journal(TRUE);
	assert_state(j, "mid:1", JOURNAL_PENDING, 1, NULL);
	assert_true(journal_lock_mail(j, "mid:1", NULL));
	assert_refused(journal_begin_attempt(j, "mid:1", &info, "open 1", &err), &err);
	assert_refused(journal_mark_failed(j, "mid:1", "HTTP 500", &err), &err);
	assert_refused(journal_mark_dropped(j, "mid:2", &info, "auto-reply", &err), &err);
	assert_refused(journal_checkpoint_set(j, "/a.mbox", "fp", 3, &err), &err);
	assert_refused(journal_mailbox_mark_set(j, "support", &mark, &err), &err);
	assert_refused(journal_item_count_failure(j, "support", "7:42", 1, "died", &err), &err);
	assert_refused(journal_item_finish(j, "support", "7:42", TRUE, &err), &err);
	assert_refused(journal_mark_delivered(j, "mid:1", "opened", "7", "1", NULL, &err), &err);
	assert_refused(journal_mark_quarantined(j, "mid:1", &info, "/q/x", "no", &err), &err);
	assert_refused(journal_claim_legacy_key(j, "mid:1", "mid:1#k", &info, &claimed, &err),
		       &err);
	assert_refused(journal_lease_take(j, "mailbox:support", "a", 60, &lease_held, NULL, &err),
		       &err);
	assert_false(lease_held);
	assert_refused(journal_lease_release(j, "mailbox:support", "a", &err), &err);
	assert_refused(journal_work_plan(j, "/a.mbox", "fp", units, &plan, &recorded, &err),
		       &err);
	assert_refused(journal_work_claim(j, 1, "w", 60, NULL, &unit, &found, &held, &err), &err);
	journal_unlock_mail(j, "mid:1");
	journal_close(j);

	j = open_journal(FALSE);
	assert_state(j, "mid:1", JOURNAL_PENDING, 1, NULL);
	assert_unknown(j, "mid:2");
	assert_true(journal_checkpoint_get(j, "/a.mbox", "fp", &handled, NULL));
	assert_int_equal(handled, 0);
	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_false(found);
	assert_true(journal_work_plan(j, "/a.mbox", "fp", NULL, &plan, &recorded, NULL));
	assert_int_equal(plan, 0);
	journal_close(j);
	g_ptr_array_unref(units);
}

/* Another process that opens the journal, says 'o', locks key, says 'l', and when told (any
 * byte on ctl, or the end of this process) unlocks and ends. */
struct locker {
	pid_t pid;
	int says; /* what it says, read here */
	int ctl;  /* written here to stop it */
};

static void locker_start(struct locker *l, const char *key)
{
	int says[2], ctl[2];
	struct journal *j;
	char c;

	assert_int_equal(pipe(says), 0);
	assert_int_equal(pipe(ctl), 0);
	l->pid = fork();
	assert_true(l->pid >= 0);
	if (l->pid > 0) {
		close(says[1]);
		close(ctl[0]);
		l->says = says[0];
		l->ctl = ctl[1];
		return;
	}
	/* Its own ends closed, it hears the end of this process on ctl. */
	close(says[0]);
	close(ctl[1]);
	j = journal_open_with(&settings, NULL);
	if (!j || write(says[1], "o", 1) != 1 || !journal_lock_mail(j, key, NULL) ||
	    write(says[1], "l", 1) != 1)
		_exit(1);
	if (read(ctl[0], &c, 1) < 0)
		_exit(1);
	journal_unlock_mail(j, key);
	journal_close(j);
	_exit(0);
}

/* What is said next on fd within ms; 0 when nothing is. */
static char hears(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, ms) != 1 || read(fd, &c, 1) != 1)
		return 0;
	return c;
}

/* What the locker says next within ms; 0 when it says nothing. */
static char locker_hears(const struct locker *l, int ms)
{
	return hears(l->says, ms);
}

static void locker_reap(struct locker *l, int *status)
{
	assert_int_equal(waitpid(l->pid, status, 0), l->pid);
	close(l->says);
	close(l->ctl);
}

static void locker_stop(struct locker *l)
{
	int status;

	assert_int_equal(write(l->ctl, "u", 1), 1);
	locker_reap(l, &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The MTA's copies of one mail in two processes: the second waits for the first; another mail
 * does not wait. */
static void test_mail_lock_excludes_another_process(void **state)
{
	struct journal *j = open_journal(FALSE);
	struct locker same, other;
	(void)state;

	assert_true(journal_lock_mail(j, "mid:a", NULL));
	locker_start(&same, "mid:a");
	assert_int_equal(locker_hears(&same, ANSWER_MS), 'o');
	assert_int_equal(locker_hears(&same, WAITING_MS), 0);
	locker_start(&other, "mid:b");
	assert_int_equal(locker_hears(&other, ANSWER_MS), 'o');
	assert_int_equal(locker_hears(&other, ANSWER_MS), 'l');
	assert_int_equal(locker_hears(&same, 0), 0);
	journal_unlock_mail(j, "mid:a");
	assert_int_equal(locker_hears(&same, ANSWER_MS), 'l');
	locker_stop(&other);
	locker_stop(&same);
	journal_close(j);
}

/* A delivery killed while it holds the lock does not keep the mail's copies waiting. */
static void test_mail_lock_dropped_when_the_holder_dies(void **state)
{
	struct locker holder, next;
	int status;
	(void)state;

	journal_close(open_journal(FALSE));
	locker_start(&holder, "mid:a");
	assert_int_equal(locker_hears(&holder, ANSWER_MS), 'o');
	assert_int_equal(locker_hears(&holder, ANSWER_MS), 'l');
	locker_start(&next, "mid:a");
	assert_int_equal(locker_hears(&next, ANSWER_MS), 'o');
	assert_int_equal(locker_hears(&next, WAITING_MS), 0);
	assert_int_equal(kill(holder.pid, SIGKILL), 0);
	locker_reap(&holder, &status);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(locker_hears(&next, ANSWER_MS), 'l');
	locker_stop(&next);
}

/* A lane: a thread of this process with a journal of its own, which locks key, says 'l' and,
 * when told (any byte on ctl), unlocks and ends. */
struct lane {
	GThread *thread;
	const char *key;
	int says[2]; /* what it says, read here from [0] */
	int ctl[2];  /* written here to [1] to stop it */
};

static gpointer lane_run(gpointer data)
{
	struct lane *lane = data;
	struct journal *j = journal_open_with(&settings, NULL);
	gboolean ok = j && journal_lock_mail(j, lane->key, NULL) &&
		      write(lane->says[1], "l", 1) == 1;
	char c;

	ok = ok && read(lane->ctl[0], &c, 1) == 1;
	if (j) {
		journal_unlock_mail(j, lane->key);
		journal_close(j);
	}
	return GINT_TO_POINTER(ok);
}

static void lane_start(struct lane *lane, const char *key)
{
	lane->key = key;
	assert_int_equal(pipe(lane->says), 0);
	assert_int_equal(pipe(lane->ctl), 0);
	lane->thread = g_thread_new("lane", lane_run, lane);
}

static void lane_stop(struct lane *lane)
{
	assert_int_equal(write(lane->ctl[1], "u", 1), 1);
	assert_true(GPOINTER_TO_INT(g_thread_join(lane->thread)));
	for (int i = 0; i < 2; i++) {
		close(lane->says[i]);
		close(lane->ctl[i]);
	}
}

/* The lanes of one process exclude each other as processes do, each with its journal; and a
 * journal of the process opened and closed meanwhile takes no lock with it (closing a
 * descriptor of the lock file once dropped every lock of the process). */
static void test_mail_lock_excludes_another_journal_of_the_process(void **state)
{
	struct journal *j;
	struct locker other;
	struct lane lane;
	int status;
	(void)state;

	/* valgrind 3.19 does not take F_OFD_SETLKW for a call that may block: a thread waiting
	 * in it keeps valgrind's one running thread, and the process hangs. */
	if (g_getenv("M2T_UNDER_VALGRIND"))
		skip();
	j = open_journal(FALSE);
	assert_true(journal_lock_mail(j, "mid:a", NULL));
	journal_close(open_journal(FALSE));
	locker_start(&other, "mid:a");
	assert_int_equal(locker_hears(&other, ANSWER_MS), 'o');
	assert_int_equal(locker_hears(&other, WAITING_MS), 0);
	assert_int_equal(kill(other.pid, SIGKILL), 0);
	locker_reap(&other, &status);
	lane_start(&lane, "mid:a");
	assert_int_equal(hears(lane.says[0], WAITING_MS), 0);
	journal_unlock_mail(j, "mid:a");
	assert_int_equal(hears(lane.says[0], ANSWER_MS), 'l');
	lane_stop(&lane);
	journal_close(j);
}

/* Whether owner takes (or renews) the lease name for seconds; *previous as the journal had it. */
static gboolean takes(struct journal *j, const char *name, const char *owner, guint seconds,
		      char **previous)
{
	gboolean held = FALSE;
	GError *err = NULL;

	if (!journal_lease_take(j, name, owner, seconds, &held, previous, &err))
		fail_msg("%s", err->message);
	return held;
}

/* A lease is one owner's until it runs out or is released; renewing keeps it, and a lease of
 * one name says nothing of another. */
static void test_lease_take_renew_refuse_release(void **state)
{
	struct journal *j = open_journal(FALSE);
	char *previous = NULL;
	(void)state;

	assert_true(takes(j, "mailbox:support", "a", 60, &previous));
	assert_null(previous);
	assert_true(takes(j, "mailbox:support", "a", 60, &previous));
	assert_string_equal(previous, "a");
	g_free(previous);
	assert_false(takes(j, "mailbox:support", "b", 60, &previous));
	assert_string_equal(previous, "a");
	g_free(previous);
	assert_true(takes(j, "mailbox:sales", "b", 60, NULL));

	/* Released by one that does not hold it: nothing changes. */
	assert_true(journal_lease_release(j, "mailbox:support", "b", NULL));
	assert_false(takes(j, "mailbox:support", "b", 60, NULL));
	assert_true(journal_lease_release(j, "mailbox:nosuch", "a", NULL));

	/* Released by its holder: free at once. */
	assert_true(journal_lease_release(j, "mailbox:support", "a", NULL));
	assert_true(takes(j, "mailbox:support", "b", 60, &previous));
	assert_null(previous);
	assert_false(takes(j, "mailbox:support", "a", 60, NULL));
	journal_close(j);
}

/* A holder that stops renewing (it died) loses the lease when it runs out, to whoever asks next;
 * then it is the newcomer's, and the old holder is refused. */
static void test_lease_taken_after_expiry(void **state)
{
	struct journal *j = open_journal(FALSE);
	char *previous = NULL;
	(void)state;

	assert_true(takes(j, "mailbox:support", "a", 1, NULL));
	assert_false(takes(j, "mailbox:support", "b", 60, NULL));
	g_usleep(1500 * 1000);
	assert_true(takes(j, "mailbox:support", "b", 60, &previous));
	assert_string_equal(previous, "a");
	g_free(previous);
	assert_false(takes(j, "mailbox:support", "a", 60, NULL));

	/* Zero seconds: run out at once. */
	assert_true(takes(j, "mailbox:sales", "a", 0, NULL));
	assert_true(takes(j, "mailbox:sales", "b", 60, NULL));
	journal_close(j);
}

/* Processes that each ask for one free lease at the same moment: exactly one of them holds it
 * (each exits 0 when it holds it, 1 when refused, 2 on an error). */
static void test_lease_race_has_one_winner(void **state)
{
	enum { RACERS = 4, ROUNDS = 5 };
	(void)state;

	journal_close(open_journal(FALSE));
	for (int round = 0; round < ROUNDS; round++) {
		char *name = g_strdup_printf("mailbox:race-%d", round);
		int go[2];
		pid_t pids[RACERS];
		int winners = 0;

		assert_int_equal(pipe(go), 0);
		for (int i = 0; i < RACERS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				char *owner = g_strdup_printf("racer-%d", i);
				struct journal *j;
				gboolean held = FALSE;
				char c;
				close(go[1]);
				j = journal_open_with(&settings, NULL);
				/* Every racer opened; the start is the end of the pipe. */
				if (!j || read(go[0], &c, 1) != 0 ||
				    !journal_lease_take(j, name, owner, 60, &held, NULL, NULL))
					_exit(2);
				journal_close(j);
				_exit(held ? 0 : 1);
			}
		}
		close(go[0]);
		g_usleep(200 * 1000);
		close(go[1]);
		for (int i = 0; i < RACERS; i++) {
			int status;
			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			assert_true(WIFEXITED(status));
			assert_int_not_equal(WEXITSTATUS(status), 2);
			winners += WEXITSTATUS(status) == 0;
		}
		assert_int_equal(winners, 1);
		g_free(name);
	}
}

/* An implementation without a fixture would pass unseen. */
static void test_every_backend_is_tested(void **state)
{
	GError *err = NULL;
	(void)state;

	for (gsize i = 0; journal_backends[i]; i++) {
		assert_non_null(fixture_of(journal_backends[i]->name));
		assert_ptr_equal(journal_backend_find(journal_backends[i]->name),
				 journal_backends[i]);
	}
	assert_ptr_equal(journal_backend_find(NULL), &journal_sqlite);
	assert_null(journal_backend_find("nosuch"));
	assert_null(journal_open_with(&(struct journal_settings){.kind = "nosuch"}, &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_KIND));
	assert_non_null(strstr(err->message, "sqlite"));
	g_error_free(err);
}

/* What only the SQLite journal has: a file of its own, next to a lock file. */
static int sqlite_setup(void **state)
{
	fixture = fixture_of(journal_sqlite.name);
	return setup(state);
}

/* journal_open() is the SQLite journal at a path, as the config names it today. */
static void test_sqlite_open_by_path(void **state)
{
	struct journal *j = journal_open(settings.path, FALSE, 1000, NULL);
	GError *err = NULL;
	(void)state;

	assert_non_null(j);
	assert_ptr_equal(j->ops, &journal_sqlite);
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	journal_close(j);
	assert_null(journal_open_with(
	    &(struct journal_settings){.kind = "sqlite", .url = "host=db", .path = settings.path},
	    &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_KIND));
	g_error_free(err);
}

/* A read-only journal that is not there is an error, and is not made. */
static void test_sqlite_read_only_does_not_create(void **state)
{
	GError *err = NULL;
	(void)state;

	assert_null(journal_open(settings.path, TRUE, 1000, &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_MISSING));
	g_error_free(err);
	assert_false(g_file_test(settings.path, G_FILE_TEST_EXISTS));
}

static void test_busy_journal_is_reported_as_busy(void **state)
{
	struct journal *j = journal_open(settings.path, FALSE, 50, NULL);
	sqlite3 *other;
	GError *err = NULL;
	(void)state;

	assert_int_equal(sqlite3_open(settings.path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_false(journal_begin_attempt(j, "mid:3", &info, "open 1", &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_BUSY));
	g_error_free(err);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	journal_close(j);
}

/* The journal's WAL is checkpointed (SQLite's automatic checkpoint, at 1,000 pages): it stays
 * near that size however much is written. */
static void test_sqlite_wal_is_checkpointed(void **state)
{
	struct journal *j = journal_open(settings.path, FALSE, 1000, NULL);
	struct journal_mail_info big = info;
	char *wal = g_strconcat(settings.path, "-wal", NULL);
	char *subject = g_strnfill(8000, 's');
	GStatBuf st;
	(void)state;

	/* Each mail is about four pages: 4,000 mails' worth of pages, three times the limit. */
	big.subject = subject;
	for (int i = 0; i < 1000; i++) {
		char *key = g_strdup_printf("mid:%d", i);
		assert_true(journal_begin_attempt(j, key, &big, "open 1", NULL));
		g_free(key);
	}
	assert_int_equal(g_stat(wal, &st), 0);
	assert_true(st.st_size < 2000 * 4096);
	journal_close(j);
	g_free(subject);
	g_free(wal);
}

static void test_newer_schema_refused(void **state)
{
	struct journal *j = journal_open(settings.path, FALSE, 1000, NULL);
	sqlite3 *db;
	GError *err = NULL;
	(void)state;

	journal_close(j);
	sqlite3_open(settings.path, &db);
	sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE name = 'schema_version'", NULL, NULL,
		     NULL);
	sqlite3_close(db);
	assert_null(journal_open(settings.path, FALSE, 1000, &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_VERSION));
	assert_non_null(strstr(err->message, "newer"));
	g_error_free(err);
}

/* The schema version of a journal made now: the newest this mail2ticket knows. */
static int fresh_schema_version(void)
{
	char *path = g_build_filename(sqlite_dir, "fresh.db", NULL);
	sqlite3_stmt *st;
	sqlite3 *db;
	int version;

	journal_close(journal_open(path, FALSE, 1000, NULL));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = 'schema_version'", -1, &st,
			   NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	remove_sqlite_files(path);
	g_free(path);
	return version;
}

/* A journal written by a mail2ticket of schema version 1 (before mailboxes were polled). */
static void test_version_1_journal_is_brought_forward(void **state)
{
	struct journal_mailbox_mark got;
	struct journal_entry e;
	gboolean found;
	struct journal *j;
	sqlite3 *db;
	sqlite3_stmt *st;
	(void)state;

	assert_int_equal(sqlite3_open(settings.path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
		"INSERT INTO meta VALUES ('schema_version', '1');"
		"CREATE TABLE mails (key TEXT PRIMARY KEY, state TEXT NOT NULL, source TEXT,"
		" message_id TEXT, sender TEXT, subject TEXT, action TEXT, ticket_id TEXT,"
		" ticket_tid TEXT, attempts INTEGER NOT NULL DEFAULT 0, first_seen INTEGER"
		" NOT NULL, updated INTEGER NOT NULL, last_error TEXT, quarantine_path TEXT);"
		"INSERT INTO mails (key, state, ticket_id, ticket_tid, attempts, first_seen,"
		" updated) VALUES ('mid:old', 'delivered', '7', '123456', 1, 0, 0);"
		"CREATE TABLE attempts (id INTEGER PRIMARY KEY, key TEXT NOT NULL, at INTEGER"
		" NOT NULL, outcome TEXT NOT NULL, detail TEXT);"
		"CREATE TABLE checkpoints (archive TEXT PRIMARY KEY, fingerprint TEXT NOT"
		" NULL, handled INTEGER NOT NULL, updated INTEGER NOT NULL);",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	j = journal_open(settings.path, FALSE, 1000, NULL);
	assert_non_null(j);
	assert_true(journal_lookup(j, "mid:old", &e, &found, NULL));
	assert_true(found);
	assert_string_equal(e.ticket_tid, "123456");
	journal_entry_clear(&e);
	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_false(found);
	journal_close(j);

	sqlite3_open(settings.path, &db);
	sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = 'schema_version'", -1, &st,
			   NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), fresh_schema_version());
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The journal holds senders and subjects: under the usual umask 022 SQLite would make it 0644. */
static void test_created_for_its_user_only(void **state)
{
	mode_t old = umask(022);
	struct journal *j = journal_open(settings.path, FALSE, 1000, NULL);
	GStatBuf st;
	(void)state;

	umask(old);
	assert_non_null(j);
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_int_equal(g_stat(settings.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	journal_close(j);
}

/* What only the PostgreSQL journal has: a server, reached by a url with the password apart. */
static int pg_setup(void **state)
{
	fixture = fixture_of(journal_pg.name);
	return setup(state);
}

/* The error of opening with s, which must fail with code. */
static GError *open_fails(const struct journal_settings *s, int code)
{
	GError *err = NULL;

	assert_null(journal_open_with(s, &err));
	if (!g_error_matches(err, JOURNAL_ERROR, code))
		fail_msg("expected code %d, got %s", code, err ? err->message : "no error");
	return err;
}

/* The url is shown in messages: a password in it is refused, and never echoed. */
static void test_pg_url_holds_no_password(void **state)
{
	static const char *const urls[] = {
	    "postgresql://mail2ticket:hunter2@127.0.0.1:1/m2t",
	    "host=127.0.0.1 port=1 password=hunter2 dbname=m2t",
	};
	struct journal_settings s = settings;
	char *wrong = g_build_filename(g_get_tmp_dir(), "m2t-test-no-such-password", NULL);
	struct journal *j;
	GError *err;
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(urls); i++) {
		s.url = urls[i];
		err = open_fails(&s, JOURNAL_ERROR_KIND);
		assert_null(strstr(err->message, "hunter2"));
		assert_non_null(strstr(err->message, "password_file"));
		g_error_free(err);
	}
	s.url = settings.url;
	s.path = "/tmp/journal.db";
	g_error_free(open_fails(&s, JOURNAL_ERROR_KIND));
	s.path = NULL;
	s.password_file = wrong;
	err = open_fails(&s, JOURNAL_ERROR_IO);
	assert_non_null(strstr(err->message, "m2t-test-no-such-password"));
	g_error_free(err);
	g_free(wrong);

	j = open_journal(FALSE);
	assert_non_null(strstr(j->where, "postgresql://mail2ticket@127.0.0.1:"));
	assert_non_null(strstr(j->where, pg_database));
	assert_int_equal(j->schema_version, 4);
	journal_close(j);
}

/* A server that is not there is one that may come back: try later. */
static void test_pg_unreachable_server(void **state)
{
	struct journal_settings s = settings;
	char *url = g_strdup_printf("host=127.0.0.1 port=1 dbname=%s", pg_database);
	GError *err;
	(void)state;

	s.url = url;
	err = open_fails(&s, JOURNAL_ERROR_UNAVAILABLE);
	assert_non_null(strstr(err->message, "cannot connect"));
	g_error_free(err);
	g_free(url);
}

/* stats before anything was delivered: nothing to read, and nothing made. */
static void test_pg_read_only_makes_nothing(void **state)
{
	struct journal_settings s = settings;
	char *meta;
	(void)state;

	s.read_only = TRUE;
	g_error_free(open_fails(&s, JOURNAL_ERROR_MISSING));
	meta = pg_sql(pg_database, "SELECT to_regclass('meta') IS NULL");
	assert_string_equal(meta, "t");
	g_free(meta);
}

/* Another session that holds a mail's lock past the busy timeout: BUSY, not a wait forever. */
static void test_pg_busy_lock(void **state)
{
	struct journal_settings s = settings;
	struct journal *holder = open_journal(FALSE);
	struct journal *j;
	GError *err = NULL;
	(void)state;

	s.busy_timeout_ms = 50;
	j = journal_open_with(&s, NULL);
	assert_non_null(j);
	assert_true(journal_lock_mail(holder, "mid:a", NULL));
	assert_false(journal_lock_mail(j, "mid:a", &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_BUSY));
	g_clear_error(&err);
	/* The failed wait left the session fit for use. */
	assert_true(journal_begin_attempt(j, "mid:b", &info, "open 1", NULL));
	journal_unlock_mail(holder, "mid:a");
	assert_true(journal_lock_mail(j, "mid:a", NULL));
	journal_unlock_mail(j, "mid:a");
	journal_close(j);
	journal_close(holder);
}

static void test_pg_newer_schema_refused(void **state)
{
	GError *err;
	(void)state;

	journal_close(open_journal(FALSE));
	g_free(pg_sql(pg_database, "UPDATE meta SET value = '99' WHERE name = 'schema_version'"));
	err = open_fails(&settings, JOURNAL_ERROR_VERSION);
	assert_non_null(strstr(err->message, "newer"));
	g_error_free(err);
}

/* A journal of schema version 1 (before mailboxes were polled) is brought forward. */
static void test_pg_version_1_journal_is_brought_forward(void **state)
{
	struct journal_mailbox_mark got;
	struct journal_entry e;
	gboolean found;
	struct journal *j;
	char *version;
	(void)state;

	g_free(pg_sql(
	    pg_database,
	    "CREATE TABLE meta (name text PRIMARY KEY, value text NOT NULL);"
	    "INSERT INTO meta VALUES ('schema_version', '1');"
	    "CREATE TABLE mails (key text COLLATE \"C\" PRIMARY KEY,"
	    " id bigint GENERATED ALWAYS AS IDENTITY, state text NOT NULL, source text,"
	    " message_id text, sender text, subject text, action text, ticket_id text,"
	    " ticket_tid text, attempts integer NOT NULL DEFAULT 0, first_seen bigint NOT NULL,"
	    " updated bigint NOT NULL, last_error text, quarantine_path text);"
	    "INSERT INTO mails (key, state, ticket_id, ticket_tid, attempts, first_seen, updated)"
	    " VALUES ('mid:old', 'delivered', '7', '123456', 1, 0, 0);"
	    "CREATE TABLE attempts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	    " key text COLLATE \"C\" NOT NULL, at bigint NOT NULL, outcome text NOT NULL,"
	    " detail text);"
	    "CREATE TABLE checkpoints (archive text PRIMARY KEY, fingerprint text NOT NULL,"
	    " handled bigint NOT NULL, updated bigint NOT NULL);"));

	j = open_journal(FALSE);
	assert_true(journal_lookup(j, "mid:old", &e, &found, NULL));
	assert_true(found);
	assert_string_equal(e.ticket_tid, "123456");
	journal_entry_clear(&e);
	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_false(found);
	journal_close(j);
	version = pg_sql(pg_database, "SELECT value FROM meta WHERE name = 'schema_version'");
	assert_string_equal(version, "4");
	g_free(version);
}

/* Hosts that start on a new database at the same moment: one makes the tables, the others wait
 * for it and find them made. */
static void test_pg_hosts_migrate_at_once(void **state)
{
	enum { HOSTS = 4 };
	pid_t pids[HOSTS];
	int go[2];
	char *version;
	(void)state;

	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < HOSTS; i++) {
		char c;
		struct journal *j;
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] > 0)
			continue;
		close(go[1]);
		if (read(go[0], &c, 1) != 0)
			_exit(2);
		j = journal_open_with(&settings, NULL);
		if (!j || !journal_begin_attempt(j, "mid:1", &info, "open 1", NULL))
			_exit(1);
		journal_close(j);
		_exit(0);
	}
	close(go[0]);
	/* The end of the pipe starts them all at once. */
	close(go[1]);
	for (int i = 0; i < HOSTS; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	version = pg_sql(pg_database, "SELECT attempts FROM mails WHERE key = 'mid:1'");
	assert_string_equal(version, "4");
	g_free(version);
}

/* The journal's sessions in the case's database end, as a server restart ends them. */
static void end_sessions(void)
{
	g_free(pg_sql(pg_database,
		      "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
		      "WHERE datname = current_database() AND pid <> pg_backend_pid()"));
}

/* A lost connection is made again at the next op, reads and writes alike; not while a mail
 * lock went with it, until that mail is unlocked. */
static void test_pg_reconnects_after_a_lost_connection(void **state)
{
	struct journal *j = open_journal(FALSE);
	struct journal_entry e;
	gboolean found;
	GError *err = NULL;
	(void)state;

	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	end_sessions();
	assert_state(j, "mid:1", JOURNAL_PENDING, 1, NULL);
	end_sessions();
	assert_true(journal_mark_failed(j, "mid:1", "HTTP 500", NULL));
	assert_state(j, "mid:1", JOURNAL_FAILED, 1, "HTTP 500");

	assert_true(journal_lock_mail(j, "mid:1", NULL));
	end_sessions();
	assert_false(journal_lookup(j, "mid:1", &e, &found, &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_UNAVAILABLE));
	g_clear_error(&err);
	assert_false(journal_begin_attempt(j, "mid:1", &info, "open 1", &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_UNAVAILABLE));
	g_clear_error(&err);
	journal_unlock_mail(j, "mid:1");
	assert_state(j, "mid:1", JOURNAL_FAILED, 1, "HTTP 500");
	journal_close(j);
}

/* A statement a connection runs again is prepared on the server; a connection made again after
 * a lost one has none, and prepares them anew instead of naming ones that went with the old. */
static void test_pg_prepares_anew_after_a_lost_connection(void **state)
{
	struct journal *j = open_journal(FALSE);
	(void)state;

	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_failed(j, "mid:1", "HTTP 500", NULL));
	for (int i = 0; i < 3; i++) {
		assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
		assert_state(j, "mid:1", JOURNAL_PENDING, 2 + i, "HTTP 500");
	}
	end_sessions();
	for (int i = 0; i < 3; i++) {
		assert_true(journal_mark_failed(j, "mid:1", "HTTP 502", NULL));
		assert_state(j, "mid:1", JOURNAL_FAILED, 4, "HTTP 502");
	}
	journal_close(j);
}

int main(void)
{
	/* The contract, run once for each implementation. */
	const struct CMUnitTest contract[] = {
	    cmocka_unit_test_setup_teardown(test_attempt_then_delivered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_states_follow_the_attempts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quarantined_and_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_earlier_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_legacy_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ticket_of_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ticket_opened_by_another, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_an_unanswered_write_stays_pending, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_count_opened_since, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mailbox_marks_and_items, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_refuses_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_lock_excludes_another_process, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mail_lock_dropped_when_the_holder_dies, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mail_lock_excludes_another_journal_of_the_process,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_take_renew_refuse_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_taken_after_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_race_has_one_winner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_work_planned_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_work_changed_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_work_claims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_work_claims_race, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads_write_at_once, setup, teardown),
	};
	const struct CMUnitTest registry[] = {
	    cmocka_unit_test(test_every_backend_is_tested),
	};
	const struct CMUnitTest sqlite_file[] = {
	    cmocka_unit_test_setup_teardown(test_sqlite_open_by_path, sqlite_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sqlite_read_only_does_not_create, sqlite_setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_created_for_its_user_only, sqlite_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_journal_is_reported_as_busy, sqlite_setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sqlite_wal_is_checkpointed, sqlite_setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, sqlite_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version_1_journal_is_brought_forward, sqlite_setup,
					    teardown),
	};
	const struct CMUnitTest pg_server[] = {
	    cmocka_unit_test_setup_teardown(test_pg_url_holds_no_password, pg_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_unreachable_server, pg_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_read_only_makes_nothing, pg_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_busy_lock, pg_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_newer_schema_refused, pg_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_version_1_journal_is_brought_forward, pg_setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pg_hosts_migrate_at_once, pg_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_reconnects_after_a_lost_connection, pg_setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pg_prepares_anew_after_a_lost_connection,
					    pg_setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("journal backends", registry, NULL, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(fixtures); i++) {
		fixture = &fixtures[i];
		if (fixture->needs && !g_getenv(fixture->needs)) {
			printf("%s: skipped, %s is not set (tests/e2e/postgres.py sets it)\n",
			       fixture->kind, fixture->needs);
			continue;
		}
		failed += cmocka_run_group_tests_name(fixtures[i].kind, contract, NULL, NULL);
	}
	failed += cmocka_run_group_tests_name("sqlite file", sqlite_file, NULL, NULL);
	if (g_getenv(PG_URL_VARIABLE))
		failed += cmocka_run_group_tests_name("postgresql server", pg_server, NULL, NULL);
	return failed;
}
