/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import --worker's units: whole threads, in the order of their first mail, the same from every
 * reading of the archive, and read back from it by their places, a gzipped mbox's too; and the
 * Message-IDs the plan links mails by, as the parser reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "flow/import_plan.h"
#include "ingest/archive.h"
#include "parsers/mail_parse.h"

/* 40 mails, dated one minute apart in mail order; mail i answers thread_parent[i] (-1: none).
 * Mails 30 to 39 are in a gzipped mbox, read after the rest, and some answer mails of the
 * plain one. */
#define MAILS 40
#define GZIPPED_FROM 30
static const int thread_parent[MAILS] = {
    -1, -1, 0, -1, 2, 1, -1, -1, 3, 7,  -1, 10, 11, 12, 13, -1, -1, 5, -1, 16,
    -1, 20, -1, -1, 4, -1, 6, 25, -1, 8, -1, 30, 0, -1, 33, 10, -1, 36, -1, 24};

static char *dir;

static char *mail_text(guint i)
{
	GString *m = g_string_new(NULL);

	g_string_append_printf(m, "From sender@example.org Thu Jan  1 00:00:00 2026\n"
				  "Date: Thu, 01 Jan 2026 10:%02u:00 +0000\n"
				  "Message-ID: <m%u@test>\nSubject: mail %u\n",
			       i, i, i);
	if (thread_parent[i] >= 0)
		/* References folded, as long ones are. */
		g_string_append_printf(m, "In-Reply-To: <m%d@test>\nReferences:\n  <m%d@test>\n",
				       thread_parent[i], thread_parent[i]);
	g_string_append_printf(m, "\nText of mail %u.\n", i);
	/* No empty line before the next separator: a note on how the file was split. */
	if (i != 31)
		g_string_append_c(m, '\n');
	return g_string_free(m, FALSE);
}

/* archive/plain.mbox and archive/late.mbox.gz. */
static int write_archive(void **state)
{
	char *plain, *gzipped;
	gzFile gz;
	FILE *f;
	(void)state;

	dir = g_dir_make_tmp("m2t-plan-XXXXXX", NULL);
	plain = g_build_filename(dir, "plain.mbox", NULL);
	gzipped = g_build_filename(dir, "late.mbox.gz", NULL);
	f = fopen(plain, "w");
	gz = gzopen(gzipped, "wb");
	assert_non_null(f);
	assert_non_null(gz);
	for (guint i = 0; i < MAILS; i++) {
		char *text = mail_text(i);
		if (i < GZIPPED_FROM)
			fputs(text, f);
		else
			gzputs(gz, text);
		g_free(text);
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(gzclose(gz), Z_OK);
	g_free(plain);
	g_free(gzipped);
	return 0;
}

static int remove_archive(void **state)
{
	char *plain = g_build_filename(dir, "plain.mbox", NULL);
	char *gzipped = g_build_filename(dir, "late.mbox.gz", NULL);
	(void)state;

	g_unlink(plain);
	g_unlink(gzipped);
	g_rmdir(dir);
	g_free(plain);
	g_free(gzipped);
	g_free(dir);
	return 0;
}

/* The mail number (from its Message-ID) of msg. */
static guint mail_number(const struct source_message *msg)
{
	gsize len;
	const char *raw = g_bytes_get_data(msg->raw, &len);
	struct mail_thread_ids ids;
	guint number;

	mail_thread_ids(raw, len, &ids);
	assert_non_null(ids.message_id);
	assert_int_equal(sscanf(ids.message_id, "m%u@test", &number), 1);
	mail_thread_ids_clear(&ids);
	return number;
}

static guint root_of(guint i)
{
	while (thread_parent[i] >= 0)
		i = (guint)thread_parent[i];
	return i;
}

static GPtrArray *plan(guint unit_size)
{
	GError *err = NULL;
	struct source *archive = archive_open(dir, &err);
	GPtrArray *units;
	guint64 mails;

	assert_non_null(archive);
	units = import_plan_units(archive, unit_size, &mails, &err);
	assert_null(err);
	assert_int_equal(mails, MAILS);
	source_close(archive);
	return units;
}

/* Mails are in date order (and so numbered by place), the gzipped ones after: every mail in
 * one unit, every thread whole in one, units in the order of their first mail, about
 * unit_size each. */
static void test_units_are_whole_threads(void **state)
{
	GPtrArray *units = plan(3);
	guint unit_of[MAILS], seen = 0, last_first = 0;
	(void)state;

	for (guint u = 0; u < units->len; u++) {
		GArray *places = import_unit_places(g_ptr_array_index(units, u), NULL);
		guint first = (guint)g_array_index(places, guint64, 0);
		assert_non_null(places);
		assert_true(u == 0 || first > last_first);
		last_first = first;
		assert_true(places->len >= 3 || u == units->len - 1);
		for (guint i = 0; i < places->len; i++) {
			guint place = (guint)g_array_index(places, guint64, i);
			assert_true(place < MAILS);
			unit_of[place] = u;
			seen++;
		}
		g_array_unref(places);
	}
	assert_int_equal(seen, MAILS);
	for (guint i = 0; i < MAILS; i++)
		assert_int_equal(unit_of[i], unit_of[root_of(i)]);
	assert_true(units->len > 3);
	g_ptr_array_unref(units);
}

/* Every worker, reading the same archive, makes the same plan. */
static void test_units_are_the_same_every_time(void **state)
{
	GPtrArray *a = plan(4), *b = plan(4);
	(void)state;

	assert_int_equal(a->len, b->len);
	for (guint i = 0; i < a->len; i++)
		assert_string_equal(g_ptr_array_index(a, i), g_ptr_array_index(b, i));
	g_ptr_array_unref(a);
	g_ptr_array_unref(b);
}

/* A unit's mails read back by their places, last unit first (back into the gzipped mbox, and
 * out of it), with the notes of its split taken once. */
static void test_unit_mails_read_back(void **state)
{
	GPtrArray *units = plan(5);
	struct source *archive = archive_open(dir, NULL);
	struct source_message msg = {0};
	GError *err = NULL;
	guint notes, read = 0;
	(void)state;

	while (source_next(archive, &msg, &err))
		source_message_clear(&msg);
	notes = archive_notes(archive)->len;
	assert_int_equal(notes, 1);
	for (guint u = units->len; u-- > 0;) {
		GArray *places = import_unit_places(g_ptr_array_index(units, u), NULL);
		struct source *unit = import_unit_source(archive, g_array_ref(places));
		guint i = 0;
		while (source_next(unit, &msg, &err)) {
			assert_int_equal(mail_number(&msg), g_array_index(places, guint64, i));
			source_message_clear(&msg);
			i++;
		}
		assert_null(err);
		assert_int_equal(i, places->len);
		read += i;
		source_close(unit);
		g_array_unref(places);
	}
	assert_int_equal(read, MAILS);
	assert_int_equal(archive_notes(archive)->len, notes);
	assert_true(archive_seek(archive, MAILS, NULL));
	assert_false(source_next(archive, &msg, &err));
	assert_null(err);
	assert_false(archive_seek(archive, MAILS + 1, &err));
	assert_non_null(err);
	g_clear_error(&err);
	source_close(archive);
	g_ptr_array_unref(units);
}

static void test_unit_words(void **state)
{
	static const char *const bad[] = {"", "a", "1-", "1,", ",1", "3,2", "2-1", "1,1", "1;2",
					  "1-2,2", "99999999999999999999999"};
	GArray *places = import_unit_places("0-2,5,7-8", NULL);
	static const guint64 expected[] = {0, 1, 2, 5, 7, 8};
	GError *err = NULL;
	(void)state;

	assert_int_equal(places->len, G_N_ELEMENTS(expected));
	for (guint i = 0; i < places->len; i++)
		assert_int_equal(g_array_index(places, guint64, i), expected[i]);
	g_array_unref(places);
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		places = import_unit_places(bad[i], &err);
		if (places)
			fail_msg("\"%s\" was taken for a unit's words", bad[i]);
		assert_non_null(err);
		g_clear_error(&err);
	}
}

/* The head alone gives the Message-IDs mail_parse() gives, through damage it repairs. */
static void test_thread_ids_as_the_parser_reads_them(void **state)
{
	static const char *const mails[] = {
	    "Message-ID: <a@x>\r\nIn-Reply-To: (comment) <b@x> <c@x>\r\nReferences: <r@x>\r\n"
	    " <b@x>\r\n\r\nbody\r\nReferences: <no@x>\r\n",
	    "\xEF\xBB\xBFMessage-ID: <bom@x>\nIn-Reply-To: <p@x>\n\nbody\n",
	    "Subject: no id\nIn-Reply-To: <p@x>\nbody without an empty line first\n",
	    "Message-ID: <cr@x>\rReferences: <one@x> <two@x>\r\rbody\r",
	    "",
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(mails); i++) {
		struct mail *mail = mail_parse(mails[i], strlen(mails[i]), NULL);
		struct mail_thread_ids ids;
		mail_thread_ids(mails[i], strlen(mails[i]), &ids);
		assert_string_equal(ids.message_id ? ids.message_id : "-",
				    mail->message_id ? mail->message_id : "-");
		assert_string_equal(ids.in_reply_to ? ids.in_reply_to : "-",
				    mail->in_reply_to ? mail->in_reply_to : "-");
		assert_int_equal(ids.references->len, mail->references->len);
		for (guint r = 0; r < ids.references->len; r++)
			assert_string_equal(g_ptr_array_index(ids.references, r),
					    g_ptr_array_index(mail->references, r));
		mail_thread_ids_clear(&ids);
		mail_free(mail);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units_are_whole_threads),
	    cmocka_unit_test(test_units_are_the_same_every_time),
	    cmocka_unit_test(test_unit_mails_read_back),
	    cmocka_unit_test(test_unit_words),
	    cmocka_unit_test(test_thread_ids_as_the_parser_reads_them),
	};

	g_mime_init();
	return cmocka_run_group_tests(tests, write_archive, remove_archive);
}
