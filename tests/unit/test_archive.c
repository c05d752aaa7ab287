/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An mbox archive large enough to be indexed in parts comes out whole, in date order; a
 * Maildir's messages are found when a mail client renames them while the archive is read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingest/archive.h"

#define MESSAGES 5000
#define BASE_TIME 1767225600 /* 2026-01-01T00:00:00Z */

/* Every 13th message has no Date and takes the one before it; many share a minute. */
static gint64 date_of(guint i, gboolean *has_date)
{
	*has_date = i == 0 || i % 13 != 0;
	return BASE_TIME + (gint64)((i * 7919u) % 1000u) * 60;
}

/* About 20 MB: indexed in parts on a machine with more than one core. */
static char *write_mbox(const char *dir)
{
	char *path = g_build_filename(dir, "big.mbox", NULL);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (guint i = 0; i < MESSAGES; i++) {
		gboolean has_date;
		GDateTime *dt = g_date_time_new_from_unix_utc(date_of(i, &has_date));
		char *date = g_date_time_format(dt, "%a, %d %b %Y %H:%M:%S +0000");
		fprintf(f, "From sender@example.org Thu Jan  1 00:00:00 2026\n");
		if (has_date)
			fprintf(f, "Date: %s\n", date);
		fprintf(f, "Message-ID: <%u@test>\nSubject: %u\n\n", i, i);
		for (guint line = 0; line < 60 + i % 7; line++) {
			const char *start = line == 5 ? ">From quoted" : line == 6 ? "From unquoted"
										   : "text";
			fprintf(f, "%s line %u of message %u, %s.\n", start, line, i,
				"long enough to fill the archive a bit");
		}
		fprintf(f, "\n");
		g_free(date);
		g_date_time_unref(dt);
	}
	assert_int_equal(fclose(f), 0);
	return path;
}

static gint compare_by_date(gconstpointer pa, gconstpointer pb, gpointer dates)
{
	gint64 a = ((gint64 *)dates)[*(const guint *)pa];
	gint64 b = ((gint64 *)dates)[*(const guint *)pb];

	return a < b ? -1 : a > b;
}

static void test_large_mbox_in_date_order(void **state)
{
	char *dir = g_dir_make_tmp("m2t-archive-XXXXXX", NULL);
	char *path = write_mbox(dir);
	gint64 *dates = g_new(gint64, MESSAGES);
	guint *expected = g_new(guint, MESSAGES);
	struct source_message msg = {0};
	GError *err = NULL;
	struct source *src;
	guint n = 0;
	(void)state;

	for (guint i = 0; i < MESSAGES; i++) {
		gboolean has_date;
		gint64 date = date_of(i, &has_date);
		dates[i] = has_date ? date : dates[i - 1];
		expected[i] = i;
	}
	g_qsort_with_data(expected, MESSAGES, sizeof(guint), compare_by_date, dates);

	src = archive_open(path, &err);
	assert_null(err);
	while (source_next(src, &msg, &err)) {
		gsize len;
		const char *raw = g_bytes_get_data(msg.raw, &len);
		char *want = g_strdup_printf("Message-ID: <%u@test>\n", expected[n]);
		char *text = g_strndup(raw, len);
		assert_true(n < MESSAGES);
		assert_non_null(strstr(text, want));
		assert_non_null(strstr(text, "\nFrom quoted line 5"));
		assert_non_null(strstr(text, "\nFrom unquoted line 6"));
		assert_true(g_str_has_suffix(text, "a bit.\n"));
		g_free(text);
		g_free(want);
		source_message_clear(&msg);
		n++;
	}
	assert_null(err);
	assert_int_equal(n, MESSAGES);
	source_close(src);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	g_free(dates);
	g_free(expected);
}

/* A message file of maildir's sub (cur or new) named name, dated minute i of the base time. */
static void write_message(const char *maildir, const char *sub, const char *name, guint i)
{
	char *path = g_build_filename(maildir, sub, name, NULL);
	GDateTime *dt = g_date_time_new_from_unix_utc(BASE_TIME + (gint64)i * 60);
	char *date = g_date_time_format(dt, "%a, %d %b %Y %H:%M:%S +0000");
	char *text = g_strdup_printf("Date: %s\nMessage-ID: <%u@test>\nSubject: %u\n\nText %u.\n",
				     date, i, i, i);

	assert_true(g_file_set_contents(path, text, -1, NULL));
	g_free(text);
	g_free(date);
	g_date_time_unref(dt);
	g_free(path);
}

static void rename_message(const char *maildir, const char *from, const char *to)
{
	char *old = g_build_filename(maildir, from, NULL);
	char *new = g_build_filename(maildir, to, NULL);

	assert_int_equal(g_rename(old, new), 0);
	g_free(old);
	g_free(new);
}

/* The next message of src: its number (from its Message-ID) and where it was read. */
static guint next_number(struct source *src, char **location)
{
	struct source_message msg = {0};
	GError *err = NULL;
	gsize len;
	const char *raw;
	const char *id;
	guint n;

	if (!source_next(src, &msg, &err))
		fail_msg("%s", err ? err->message : "no message left");
	raw = g_bytes_get_data(msg.raw, &len);
	id = g_strstr_len(raw, len, "Message-ID: <");
	assert_non_null(id);
	n = (guint)strtoul(id + strlen("Message-ID: <"), NULL, 10);
	*location = g_strdup(msg.location);
	source_message_clear(&msg);
	return n;
}

/* A case's own folder, *state, removed with all in it after the case, also one that failed. */
static int make_folder(void **state)
{
	*state = g_dir_make_tmp("m2t-archive-XXXXXX", NULL);
	return *state ? 0 : -1;
}

static int remove_folder(void **state)
{
	char *argv[] = {"rm", "-rf", *state, NULL};
	gboolean removed = g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
					NULL, NULL, NULL);

	g_free(*state);
	return removed ? 0 : -1;
}

/* A mail client moves the new mail to cur/ once seen (":2,S"), and renames a message when its
 * flags change (":2,RS"), while the import reads: the messages are read where they are now.
 * One deleted meanwhile is named in the error. */
static void test_maildir_messages_renamed_while_read(void **state)
{
	const char *dir = *state;
	char *sent = g_build_filename(dir, ".Sent", NULL);
	static const char *const subs[] = {"cur", "new", "tmp", ".Sent/cur", ".Sent/new"};
	/* Where message i is read: the first before the renames, the others after them. */
	static const char *const read_at[] = {"/new/1000.host", "/cur/1001.host:2,S",
					      "/cur/1002.host:2,RS", "/new/1003.host",
					      "/.Sent/cur/200.host:2,RS"};
	struct source_message msg = {0};
	GError *err = NULL;
	struct source *src;
	char *location;

	for (gsize i = 0; i < G_N_ELEMENTS(subs); i++) {
		char *sub = g_build_filename(dir, subs[i], NULL);
		assert_int_equal(g_mkdir_with_parents(sub, 0700), 0);
		g_free(sub);
	}
	for (guint i = 0; i < 4; i++) {
		char *name = g_strdup_printf("100%u.host", i);
		write_message(dir, "new", name, i);
		g_free(name);
	}
	write_message(sent, "cur", "200.host:2,S", 4);
	src = archive_open(dir, &err);
	assert_null(err);
	assert_int_equal(next_number(src, &location), 0);
	assert_true(g_str_has_suffix(location, read_at[0]));
	g_free(location);
	rename_message(dir, "new/1001.host", "cur/1001.host:2,S");
	rename_message(dir, "new/1002.host", "cur/1002.host:2,S");
	rename_message(dir, "cur/1002.host:2,S", "cur/1002.host:2,RS");
	rename_message(sent, "cur/200.host:2,S", "cur/200.host:2,RS");
	for (guint i = 1; i < G_N_ELEMENTS(read_at); i++) {
		assert_int_equal(next_number(src, &location), i);
		assert_true(g_str_has_suffix(location, read_at[i]));
		g_free(location);
	}
	source_close(src);

	src = archive_open(dir, &err);
	assert_null(err);
	assert_int_equal(g_unlink(location = g_build_filename(dir, "new", "1003.host", NULL)), 0);
	g_free(location);
	for (guint i = 0; i < 3; i++) {
		assert_true(source_next(src, &msg, &err));
		source_message_clear(&msg);
	}
	assert_false(source_next(src, &msg, &err));
	assert_non_null(err);
	assert_non_null(strstr(err->message, "/new/1003.host: No such file or directory"));
	g_error_free(err);
	source_close(src);
	g_free(sent);
}

/* An mbox message numbered i, dated minute i, with lines lines of text. */
static char *mbox_message(guint i, guint lines)
{
	GDateTime *dt = g_date_time_new_from_unix_utc(BASE_TIME + (gint64)i * 60);
	char *date = g_date_time_format(dt, "%a, %d %b %Y %H:%M:%S +0000");
	GString *m = g_string_new(NULL);

	g_string_append_printf(m, "From sender@example.org Thu Jan  1 00:00:00 2026\n"
				  "Date: %s\nMessage-ID: <%u@test>\nSubject: %u\n\n",
			       date, i, i);
	for (guint line = 0; line < lines; line++)
		g_string_append_printf(m, "Line %u of message %u.\n", line, i);
	g_string_append(m, "\n");
	g_free(date);
	g_date_time_unref(dt);
	return g_string_free(m, FALSE);
}

/* path made of the messages, in their order; appended to it when append is set. */
static void write_messages(const char *path, gboolean append, char *const *messages)
{
	FILE *f = fopen(path, append ? "ab" : "wb");

	assert_non_null(f);
	for (gsize i = 0; messages[i]; i++)
		assert_int_equal(fputs(messages[i], f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* That src's next message, its last, ends with end (its mbox separator's empty line left out);
 * src is closed. */
static void last_message_ends(struct source *src, const char *end)
{
	struct source_message msg = {0};
	GError *err = NULL;
	char *text;

	assert_true(source_next(src, &msg, &err));
	text = g_strndup(g_bytes_get_data(msg.raw, NULL), g_bytes_get_size(msg.raw));
	assert_true(g_str_has_suffix(text, end));
	g_free(text);
	source_message_clear(&msg);
	assert_false(source_next(src, &msg, &err));
	assert_null(err);
	source_close(src);
}

/* New mail appended to an mbox while it is imported (a live spool; this writer puts an empty
 * line first) leaves the messages indexed whole; a mail client that rewrites it meanwhile
 * (here: deletes the second message) stops the run at the first range that no longer holds its
 * message, also where another message now begins at its place: that one's start alone would
 * have become a ticket. (The rewrite comes before the first read: what stdio keeps of the file
 * from a read is the file as indexed.) */
static void test_mbox_changed_while_read(void **state)
{
	const char *dir = *state;
	char *path = g_build_filename(dir, "live.mbox", NULL);
	char *m[] = {mbox_message(0, 3), mbox_message(1, 2), mbox_message(2, 40),
		     mbox_message(3, 3), NULL};
	char *first_three[] = {m[0], m[1], m[2], NULL}, *new_mail[] = {"\n", m[3], NULL};
	char *without_second[] = {m[0], m[2], m[3], NULL};
	struct source_message msg = {0};
	GError *err = NULL;
	struct source *src;
	char *location;

	write_messages(path, FALSE, first_three);
	src = archive_open(path, &err);
	assert_null(err);
	assert_int_equal(next_number(src, &location), 0);
	g_free(location);
	write_messages(path, TRUE, new_mail);
	assert_int_equal(next_number(src, &location), 1);
	g_free(location);
	last_message_ends(src, "Line 39 of message 2.\n");

	write_messages(path, FALSE, first_three);
	src = archive_open(path, &err);
	assert_null(err);
	write_messages(path, FALSE, without_second);
	assert_int_equal(next_number(src, &location), 0);
	g_free(location);
	assert_false(source_next(src, &msg, &err));
	assert_non_null(err);
	assert_non_null(strstr(err->message, "changed while it was read"));
	g_error_free(err);
	source_close(src);
	for (gsize i = 0; m[i]; i++)
		g_free(m[i]);
	g_free(path);
}

/* A mail delivery agent, as Postfix's local is: it takes an fcntl write lock on the mbox, appends
 * the first half of a mail, says 'l', and after a pause the second half, then lets go. */
static const char writer_script[] =
    "import fcntl, sys, time\n"
    "f = open(sys.argv[1], 'ab', buffering=0)\n"
    "fcntl.lockf(f, fcntl.LOCK_EX)\n"
    "f.write(sys.argv[2].encode())\n"
    "print('l', flush=True)\n"
    "time.sleep(0.3)\n"
    "f.write(sys.argv[3].encode())\n";

/* A delivery appends a mail to a live mbox while the import starts: the index waits for its lock,
 * and the mail is read whole. */
static void test_mbox_index_waits_for_a_delivery(void **state)
{
	const char *dir = *state;
	char *path = g_build_filename(dir, "spool.mbox", NULL);
	char *m[] = {mbox_message(0, 3), mbox_message(1, 40), NULL};
	gsize half = strlen(m[1]) / 2;
	char *first[] = {m[0], NULL};
	char *second_half = g_strdup(m[1] + half);
	char *argv[] = {M2T_PYTHON, "-c", (char *)writer_script, path, m[1], second_half, NULL};
	struct source_message msg = {0};
	GError *err = NULL;
	struct source *src;
	int says, status;
	GPid writer;
	char c;

	m[1][half] = '\0';
	write_messages(path, FALSE, first);
	assert_true(g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
					     NULL, &writer, NULL, &says, NULL, NULL));
	assert_int_equal(read(says, &c, 1), 1);
	src = archive_open(path, &err);
	assert_null(err);
	assert_true(source_next(src, &msg, &err));
	source_message_clear(&msg);
	last_message_ends(src, "Line 39 of message 1.\n");
	assert_int_equal(waitpid(writer, &status, 0), writer);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_spawn_close_pid(writer);
	close(says);
	for (gsize i = 0; m[i]; i++)
		g_free(m[i]);
	g_free(second_half);
	g_free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_large_mbox_in_date_order),
	    cmocka_unit_test_setup_teardown(test_maildir_messages_renamed_while_read, make_folder,
					    remove_folder),
	    cmocka_unit_test_setup_teardown(test_mbox_changed_while_read, make_folder,
					    remove_folder),
	    cmocka_unit_test_setup_teardown(test_mbox_index_waits_for_a_delivery, make_folder,
					    remove_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
