/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal: the contract of state/journal.h, run against every implementation of
 * journal_backends[] (each brings a fixture that makes a fresh journal and removes it), then
 * what only the SQLite file has: its file, its busy answer and its schema versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
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
};

static char *sqlite_dir;

static void sqlite_make(struct journal_settings *settings)
{
	sqlite_dir = g_dir_make_tmp("m2t-journal-XXXXXX", NULL);
	assert_non_null(sqlite_dir);
	settings->path = g_build_filename(sqlite_dir, "journal.db", NULL);
}

static void sqlite_remove(const struct journal_settings *settings)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};

	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		char *f = g_strconcat(settings->path, suffixes[i], NULL);
		g_unlink(f);
		g_free(f);
	}
	g_rmdir(sqlite_dir);
	g_free((char *)settings->path);
	g_clear_pointer(&sqlite_dir, g_free);
}

/* A new implementation adds its fixture here; test_every_backend_is_tested sees that it does. */
static const struct backend_fixture fixtures[] = {
    {"sqlite", sqlite_make, sqlite_remove},
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
	GError *err = NULL;
	guint64 handled;
	gboolean found, claimed, held = TRUE;
	(void)state;

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
	assert_refused(journal_lease_take(j, "mailbox:support", "a", 60, &held, NULL, &err), &err);
	assert_false(held);
	assert_refused(journal_lease_release(j, "mailbox:support", "a", &err), &err);
	journal_unlock_mail(j, "mid:1");
	journal_close(j);

	j = open_journal(FALSE);
	assert_state(j, "mid:1", JOURNAL_PENDING, 1, NULL);
	assert_unknown(j, "mid:2");
	assert_true(journal_checkpoint_get(j, "/a.mbox", "fp", &handled, NULL));
	assert_int_equal(handled, 0);
	assert_true(journal_mailbox_mark_get(j, "support", &got, &found, NULL));
	assert_false(found);
	journal_close(j);
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

/* What the locker says next within ms; 0 when it says nothing. */
static char locker_hears(const struct locker *l, int ms)
{
	struct pollfd p = {.fd = l->says, .events = POLLIN};
	char c;

	if (poll(&p, 1, ms) != 1 || read(l->says, &c, 1) != 1)
		return 0;
	return c;
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
	assert_true(g_error_matches(err, JOURNAL_ERROR, JOURNAL_ERROR_IO));
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
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "3");
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
	    cmocka_unit_test_setup_teardown(test_count_opened_since, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mailbox_marks_and_items, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_refuses_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_lock_excludes_another_process, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mail_lock_dropped_when_the_holder_dies, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lease_take_renew_refuse_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_taken_after_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_race_has_one_winner, setup, teardown),
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
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, sqlite_setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version_1_journal_is_brought_forward, sqlite_setup,
					    teardown),
	};
	int failed = cmocka_run_group_tests_name("journal backends", registry, NULL, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(fixtures); i++) {
		fixture = &fixtures[i];
		failed += cmocka_run_group_tests_name(fixtures[i].kind, contract, NULL, NULL);
	}
	failed += cmocka_run_group_tests_name("sqlite file", sqlite_file, NULL, NULL);
	return failed;
}
