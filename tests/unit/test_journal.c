/* The journal: attempts before the desk call, answers after, schema version guarded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "state/journal.h"

static char *dir;
static char *path;

static int setup(void **state)
{
	(void)state;
	dir = g_dir_make_tmp("m2t-journal-XXXXXX", NULL);
	path = g_build_filename(dir, "journal.db", NULL);
	return 0;
}

static int teardown(void **state)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		char *f = g_strconcat(path, suffixes[i], NULL);
		g_unlink(f);
		g_free(f);
	}
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	return 0;
}

static const struct journal_mail_info info = {"pipe", "<1@example.org>", "a@example.org", "Hi"};

static void test_attempt_then_delivered(void **state)
{
	struct journal *j = journal_open(path, FALSE, 1000, NULL);
	struct journal_entry e;
	gboolean found;
	(void)state;

	assert_non_null(j);
	assert_true(journal_lookup(j, "mid:1", &e, &found, NULL));
	assert_false(found);

	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_lookup(j, "mid:1", &e, &found, NULL));
	assert_true(found);
	assert_int_equal(e.state, JOURNAL_PENDING);
	assert_int_equal(e.attempts, 1);
	journal_entry_clear(&e);

	assert_true(journal_mark_failed(j, "mid:1", "HTTP 500", NULL));
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_true(journal_mark_delivered(j, "mid:1", "opened", "7", "123456", NULL, NULL));
	journal_close(j);

	/* A new process sees what the last one recorded. */
	j = journal_open(path, TRUE, 1000, NULL);
	assert_true(journal_lookup(j, "mid:1", &e, &found, NULL));
	assert_int_equal(e.state, JOURNAL_DELIVERED);
	assert_int_equal(e.attempts, 2);
	assert_string_equal(e.ticket_id, "7");
	assert_string_equal(e.ticket_tid, "123456");
	assert_null(e.last_error);
	journal_entry_clear(&e);
	journal_close(j);
}

static void test_quarantined_and_dropped(void **state)
{
	struct journal *j = journal_open(path, FALSE, 1000, NULL);
	struct journal_entry e;
	gboolean found;
	(void)state;

	assert_true(journal_mark_quarantined(j, "sha256:ab", &info, "/q/new/x", "no sender", NULL));
	assert_true(journal_mark_dropped(j, "mid:2", &info, "auto-reply", NULL));
	assert_true(journal_lookup(j, "sha256:ab", &e, &found, NULL));
	assert_int_equal(e.state, JOURNAL_QUARANTINED);
	assert_string_equal(e.last_error, "no sender");
	journal_entry_clear(&e);
	assert_true(journal_lookup(j, "mid:2", &e, &found, NULL));
	assert_int_equal(e.state, JOURNAL_DROPPED);
	journal_entry_clear(&e);
	journal_close(j);
}

static void test_busy_journal_is_reported_as_busy(void **state)
{
	struct journal *j = journal_open(path, FALSE, 50, NULL);
	sqlite3 *other;
	GError *err = NULL;
	(void)state;

	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_false(journal_begin_attempt(j, "mid:3", &info, "open 1", &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_BUSY));
	g_error_free(err);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	journal_close(j);
}

static void test_newer_schema_refused(void **state)
{
	struct journal *j = journal_open(path, FALSE, 1000, NULL);
	sqlite3 *db;
	GError *err = NULL;
	(void)state;

	journal_close(j);
	sqlite3_open(path, &db);
	sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE name = 'schema_version'", NULL, NULL,
		     NULL);
	sqlite3_close(db);
	assert_null(journal_open(path, FALSE, 1000, &err));
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_VERSION));
	assert_non_null(strstr(err->message, "newer"));
	g_error_free(err);
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

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
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

	j = journal_open(path, FALSE, 1000, NULL);
	assert_non_null(j);
	assert_true(journal_lookup(j, "mid:old", &e, &found, NULL));
	assert_true(found);
	assert_string_equal(e.ticket_tid, "123456");
	journal_entry_clear(&e);
	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_false(found);
	journal_close(j);

	sqlite3_open(path, &db);
	sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = 'schema_version'", -1, &st,
			   NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "2");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_mailbox_marks_and_items(void **state)
{
	struct journal *j = journal_open(path, FALSE, 1000, NULL);
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

	/* A parser crash leaves its +1; a refusal adds one with the desk's words. */
	assert_true(journal_item_count_failure(j, "support", "7:42", 1, "parser died", NULL));
	assert_true(journal_item_count_failure(j, "support", "7:42", -1, NULL, NULL));
	assert_true(journal_item_count_failure(j, "support", "7:42", -1, NULL, NULL));
	assert_true(journal_item_count_failure(j, "support", "7:42", 1, "Invalid department", NULL));
	assert_true(journal_item_get(j, "support", "7:42", &failures, &reason, &is_seen, NULL));
	assert_int_equal(failures, 1);
	assert_string_equal(reason, "Invalid department");
	assert_false(is_seen);
	g_free(reason);
	assert_true(journal_item_finish(j, "support", "7:42", FALSE, NULL));
	assert_true(journal_item_get(j, "support", "7:42", &failures, &reason, &is_seen, NULL));
	assert_int_equal(failures, 0);
	assert_null(reason);

	assert_true(journal_item_finish(j, "pop", "uidl-a", TRUE, NULL));
	assert_true(journal_item_finish(j, "pop", "uidl-b", TRUE, NULL));
	g_hash_table_add(present, "uidl-b");
	assert_true(journal_items_forget_absent(j, "pop", present, NULL));
	assert_true(journal_items_seen(j, "pop", seen, NULL));
	assert_int_equal(g_hash_table_size(seen), 1);
	assert_true(g_hash_table_contains(seen, "uidl-b"));

	g_hash_table_unref(seen);
	g_hash_table_unref(present);
	journal_close(j);
}

/* The journal holds senders and subjects: under the usual umask 022 SQLite would make it 0644. */
static void test_created_for_its_user_only(void **state)
{
	mode_t old = umask(022);
	struct journal *j = journal_open(path, FALSE, 1000, NULL);
	GStatBuf st;
	(void)state;

	umask(old);
	assert_non_null(j);
	assert_true(journal_begin_attempt(j, "mid:1", &info, "open 1", NULL));
	assert_int_equal(g_stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	journal_close(j);
}

/* Each attempt says which write it was, so that a retry can look for all of them. */
static void test_earlier_writes(void **state)
{
	struct journal *j = journal_open(path, FALSE, 1000, NULL);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_attempt_then_delivered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_created_for_its_user_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_earlier_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quarantined_and_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_journal_is_reported_as_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mailbox_marks_and_items, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version_1_journal_is_brought_forward, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
