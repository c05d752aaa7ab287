/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An mbox archive large enough to be indexed in parts comes out whole, in date order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_large_mbox_in_date_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
