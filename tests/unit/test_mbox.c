/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mbox splitting, including GMime 3.2.13's cut at a 4096-byte read boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ingest/mbox.h"

/* The entries the index pass finds, each read whole the way an import reads it. */
static GPtrArray *split_by_entries(const char *data, gsize len)
{
	FILE *f = fmemopen((void *)data, len, "r");
	struct mbox_reader *r = mbox_reader_new(f);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GByteArray *headers = g_byte_array_new();
	goffset offset, length;
	GError *err = NULL;

	while (mbox_reader_next_headers(r, headers, &offset, &length, &err)) {
		GByteArray *entry = g_byte_array_new();
		GBytes *msg;
		gsize n;
		const char *bytes;
		assert_true(offset >= 0 && (gsize)(offset + length) <= len);
		g_byte_array_append(entry, (const guint8 *)data + offset, length);
		msg = mbox_message_from_entry(entry);
		bytes = g_bytes_get_data(msg, &n);
		g_ptr_array_add(out, g_strndup(bytes ? bytes : "", n));
		g_bytes_unref(msg);
	}
	assert_null(err);
	g_byte_array_unref(headers);
	mbox_reader_free(r);
	fclose(f);
	return out;
}

/* The (offset, length) of the index entries whose "From " line lies in [start, end). */
static GArray *entries_in_range(const char *data, gsize len, goffset start, goffset end)
{
	FILE *f = fmemopen((void *)data, len, "r");
	GArray *out = g_array_new(FALSE, FALSE, sizeof(goffset));
	GByteArray *headers = g_byte_array_new();
	struct mbox_reader *r;
	goffset entry[2];
	GError *err = NULL;

	assert_int_equal(fseeko(f, start, SEEK_SET), 0);
	r = mbox_reader_new_range(f, start, end);
	while (mbox_reader_next_headers(r, headers, &entry[0], &entry[1], &err))
		g_array_append_vals(out, entry, 2);
	assert_null(err);
	g_byte_array_unref(headers);
	mbox_reader_free(r);
	fclose(f);
	return out;
}

/* An mbox indexed in two parts, split at the message mbox_find_separator() finds after any
 * byte, has the entries of the whole (all bytes of small mboxes, 97 places in large ones). */
static void check_split_indexing(const char *data, gsize len)
{
	GArray *whole = entries_in_range(data, len, 0, -1);
	gsize step = len <= 8192 ? 1 : len / 97;

	for (gsize from = 1; from < len; from += step) {
		FILE *f = fmemopen((void *)data, len, "r");
		goffset at = -1;
		GError *err = NULL;
		GArray *parts;
		GArray *second;
		assert_true(mbox_find_separator(f, from, &at, &err));
		fclose(f);
		assert_true(at >= (goffset)from && at <= (goffset)len);
		parts = entries_in_range(data, len, 0, at);
		/* A Content-Length body runs past where the second part would begin: the parts do
		 * not fit, and the archive indexes the file in one part instead. */
		if (parts->len && g_array_index(parts, goffset, parts->len - 2) +
				      g_array_index(parts, goffset, parts->len - 1) > at) {
			g_array_unref(parts);
			continue;
		}
		second = entries_in_range(data, len, at, -1);
		g_array_append_vals(parts, second->data, second->len);
		assert_int_equal(parts->len, whole->len);
		assert_memory_equal(parts->data, whole->data, whole->len * sizeof(goffset));
		g_array_unref(parts);
		g_array_unref(second);
	}
	g_array_unref(whole);
}

/* All messages of an mbox held in memory, as strings; reading it by index entries gives the
 * same. */
static GPtrArray *split_whole(const char *data, gsize len)
{
	GPtrArray *by_entries = split_by_entries(data, len);
	FILE *f = fmemopen((void *)data, len, "r");
	struct mbox_reader *r = mbox_reader_new(f);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GBytes *msg;
	goffset offset;
	GError *err = NULL;

	while (mbox_reader_next(r, &msg, &offset, &err)) {
		gsize n;
		const char *bytes = g_bytes_get_data(msg, &n);
		g_ptr_array_add(out, g_strndup(bytes ? bytes : "", n));
		g_bytes_unref(msg);
	}
	assert_null(err);
	mbox_reader_free(r);
	fclose(f);
	assert_int_equal(out->len, by_entries->len);
	for (guint i = 0; i < out->len; i++)
		assert_string_equal(g_ptr_array_index(out, i), g_ptr_array_index(by_entries, i));
	g_ptr_array_unref(by_entries);
	return out;
}

/* The same, and also when indexed in two parts. */
static GPtrArray *split(const char *data, gsize len)
{
	check_split_indexing(data, len);
	return split_whole(data, len);
}

static const char *text_of(GPtrArray *msgs, guint i)
{
	return g_ptr_array_index(msgs, i);
}

/* The mbox of gmime-bugs/gmime_mbox_split_repro.c: GMime's mbox mode finds three messages. */
static void test_from_on_read_boundary_is_not_a_separator(void **state)
{
	static const char hdr[] =
	    "From a@example.com Mon Jan  2 00:00:00 2023\n"
	    "From: a@example.com\nSubject: one\nMessage-ID: <1@example.com>\n\n";
	static const char tail[] =
	    "\nlast line\n\n"
	    "From b@example.com Mon Jan  2 00:00:01 2023\n"
	    "From: b@example.com\nSubject: two\nMessage-ID: <2@example.com>\n\n"
	    "body two\n\n";
	GString *mbox = g_string_new(hdr);
	GPtrArray *msgs;
	(void)state;

	while (mbox->len + 201 + 201 < 4096) {
		for (int i = 0; i < 200; i++)
			g_string_append_c(mbox, 'a');
		g_string_append_c(mbox, '\n');
	}
	while (mbox->len < 4096)
		g_string_append_c(mbox, 'b');
	g_string_append(mbox, "From here on the line goes on.\n");
	g_string_append(mbox, tail);

	msgs = split(mbox->str, mbox->len);
	assert_int_equal(msgs->len, 2);
	assert_non_null(strstr(text_of(msgs, 0), "bFrom here on the line goes on.\n\nlast line"));
	assert_non_null(strstr(text_of(msgs, 1), "Subject: two"));
	g_ptr_array_unref(msgs);
	g_string_free(mbox, TRUE);
}

/* The index reads past a body by searching the blocks it reads (256 KB) for "\nFrom ": a line
 * that starts "From " just before, across or just after a block's end is found as reading a line
 * at a time finds it, whether it is a separator (after an empty line) or body text. */
static void test_from_lines_around_a_read_block_end(void **state)
{
	const gsize block = 256 * 1024;
	(void)state;

	for (int crlf = 0; crlf < 2; crlf++)
		for (int separator = 0; separator < 2; separator++)
			for (gsize at = block - 8; at <= block + 8; at++) {
				const char *nl = crlf ? "\r\n" : "\n";
				gsize before = strlen(nl) * (separator ? 2 : 1);
				GString *mbox = g_string_new(NULL);
				GPtrArray *msgs;
				g_string_append_printf(
				    mbox,
				    "From a@example.com Mon Jan  2 00:00:00 2023%s"
				    "Subject: one%s%s",
				    nl, nl, nl);
				while (mbox->len + 102 + 2 * before < at)
					g_string_append_printf(mbox, "%0100d%s", 0, nl);
				while (mbox->len + before < at)
					g_string_append_c(mbox, 'y');
				g_string_append_printf(mbox, "%s%s", nl, separator ? nl : "");
				assert_int_equal(mbox->len, at);
				if (!separator)
					g_string_append_printf(mbox, "From here on, body text%s%s",
							       nl, nl);
				g_string_append_printf(
				    mbox,
				    "From b@example.com Mon Jan  2 00:00:01 2023%s"
				    "Subject: two%s%sbody two%s",
				    nl, nl, nl, nl);
				msgs = split_whole(mbox->str, mbox->len);
				assert_int_equal(msgs->len, 2);
				assert_non_null(strstr(text_of(msgs, 1), "Subject: two"));
				g_ptr_array_unref(msgs);
				g_string_free(mbox, TRUE);
			}
}

static void test_quoted_from_lines_are_unquoted(void **state)
{
	static const char mbox[] = "From x Mon Jan  2 00:00:00 2023\n"
				   "Subject: q\n\n"
				   ">From the start\n"
				   ">>From deeper\n"
				   "not >From here\n"
				   "\n"
				   "From y Mon Jan  2 00:00:00 2023\n"
				   "Subject: r\n\nbody\n";
	GPtrArray *msgs = split(mbox, strlen(mbox));
	(void)state;

	assert_int_equal(msgs->len, 2);
	assert_non_null(strstr(text_of(msgs, 0), "\nFrom the start\n>From deeper\nnot >From here"));
	assert_true(g_str_has_suffix(text_of(msgs, 0), "not >From here\n"));
	assert_string_equal(text_of(msgs, 1), "Subject: r\n\nbody\n");
	g_ptr_array_unref(msgs);
}

static void test_from_without_empty_line_before_is_body(void **state)
{
	static const char mbox[] = "From x Mon Jan  2 00:00:00 2023\n"
				   "Subject: q\n\nline\nFrom unquoted in the body\n";
	GPtrArray *msgs = split(mbox, strlen(mbox));
	(void)state;

	assert_int_equal(msgs->len, 1);
	assert_non_null(strstr(text_of(msgs, 0), "From unquoted in the body"));
	g_ptr_array_unref(msgs);
}

/* Some writers put no empty line before a separator: a whole separator line ("From SENDER" and a
 * date) still begins a message, and the reader counts such guesses. */
static void test_separator_lines_without_empty_line(void **state)
{
	static const char mbox[] = "From a@x Thu Mar  5 10:00:00 2026\nSubject: 1\n\none\n"
				   "From b@x Thu, 5 Mar 2026 10:01:00 +0000\nSubject: 2\n\ntwo\n"
				   "From c@x Thu Mar  5 10:02 2026\nSubject: 3\n\nthree\n"
				   "From the desk: not a separator\n";
	GPtrArray *msgs = split(mbox, strlen(mbox));
	(void)state;

	assert_int_equal(msgs->len, 3);
	assert_string_equal(text_of(msgs, 0), "Subject: 1\n\none\n");
	assert_string_equal(text_of(msgs, 2),
			    "Subject: 3\n\nthree\nFrom the desk: not a separator\n");
	g_ptr_array_unref(msgs);
}

/* mboxcl: a Content-Length that ends where a message begins is followed, separators inside the
 * body are not; one that does not fit is not believed. */
static void test_content_length(void **state)
{
	static const char body[] = "b\n\nFrom x Thu Mar  5 10:00:00 2026\nstill body\n";
	char *mbox =
	    g_strdup_printf("From a@x Thu Mar  5 10:00:00 2026\nContent-Length: %zu\n\n%s\n"
			    "From b@x Thu Mar  5 10:01:00 2026\nContent-Length: 999\n\n"
			    "short\n\nFrom c@x Thu Mar  5 10:02:00 2026\n\nlast\n",
			    strlen(body), body);
	FILE *f = fmemopen(mbox, strlen(mbox), "r");
	struct mbox_reader *r = mbox_reader_new(f);
	GPtrArray *msgs = split(mbox, strlen(mbox));
	GBytes *msg;
	goffset offset;
	(void)state;

	assert_int_equal(msgs->len, 3);
	assert_non_null(strstr(text_of(msgs, 0), "\nstill body\n"));
	assert_string_equal(text_of(msgs, 1), "Content-Length: 999\n\nshort\n");
	while (mbox_reader_next(r, &msg, &offset, NULL))
		g_bytes_unref(msg);
	assert_int_equal(mbox_reader_stats(r)->messages, 3);
	assert_int_equal(mbox_reader_stats(r)->by_length, 1);
	assert_int_equal(mbox_reader_stats(r)->without_empty_line, 0);
	mbox_reader_free(r);
	fclose(f);
	g_ptr_array_unref(msgs);
	g_free(mbox);
}

static void test_crlf_mbox(void **state)
{
	static const char mbox[] = "From x Mon Jan  2 00:00:00 2023\r\n"
				   "Subject: a\r\n\r\nbody a\r\n\r\n"
				   "From y Mon Jan  2 00:00:00 2023\r\n"
				   "Subject: b\r\n\r\nbody b\r\n";
	GPtrArray *msgs = split(mbox, strlen(mbox));
	(void)state;

	assert_int_equal(msgs->len, 2);
	assert_string_equal(text_of(msgs, 0), "Subject: a\r\n\r\nbody a\r\n");
	g_ptr_array_unref(msgs);
}

/* Lines longer than the reader's block, and a last line without a line end. */
static void test_long_lines_and_no_final_line_end(void **state)
{
	GString *mbox = g_string_new("From x Mon Jan  2 00:00:00 2023\nSubject: long\n\n");
	GPtrArray *msgs;
	(void)state;

	for (int i = 0; i < 3 * 256 * 1024; i++)
		g_string_append_c(mbox, 'a' + i % 26);
	g_string_append(mbox, "\n\nFrom y Mon Jan  2 00:00:00 2023\nSubject: last\n\nno end");
	msgs = split(mbox->str, mbox->len);
	assert_int_equal(msgs->len, 2);
	assert_int_equal(strlen(text_of(msgs, 0)),
			 strlen("Subject: long\n\n") + 3 * 256 * 1024 + 1);
	assert_string_equal(text_of(msgs, 1), "Subject: last\n\nno end");
	g_ptr_array_unref(msgs);
	g_string_free(mbox, TRUE);
}

/* The bundled sample: six messages, one with a long line holding "From here". */
static void test_sample_inbox(void **state)
{
	char *path = g_build_filename(M2T_SOURCE_DIR, "samples", "inbox.mbox", NULL);
	char *data;
	gsize len;
	GPtrArray *msgs;
	(void)state;

	assert_true(g_file_get_contents(path, &data, &len, NULL));
	msgs = split(data, len);
	assert_int_equal(msgs->len, 6);
	for (guint i = 0; i < msgs->len; i++)
		assert_true(g_str_has_prefix(text_of(msgs, i), "From: ") ||
			    strstr(text_of(msgs, i), "\nFrom: "));
	g_ptr_array_unref(msgs);
	g_free(data);
	g_free(path);
}

/* Separators right after the start, "\r\n" empty lines, and "From " lines that do not follow an
 * empty one, for the split indexing to find or pass over at every byte. */
static void test_separators_near_the_start_and_crlf(void **state)
{
	static const char mbox[] = "From a Mon Jan  2 00:00:00 2023\n\n"
				   "From b Mon Jan  2 00:00:00 2023\r\n"
				   "Subject: b\r\n\r\nx\r\nFrom not a separator\r\n\r\n"
				   "From c Mon Jan  2 00:00:00 2023\n"
				   "Subject: c\n\nx\n\r\nFrom d Mon Jan  2 00:00:00 2023\n\nd\n";
	static const char starts_empty[] = "\nFrom a Mon Jan  2 00:00:00 2023\n\nbody\n";
	GPtrArray *msgs = split(mbox, strlen(mbox));
	(void)state;

	assert_int_equal(msgs->len, 4);
	assert_string_equal(text_of(msgs, 0), "");
	assert_string_equal(text_of(msgs, 3), "\nd\n");
	g_ptr_array_unref(msgs);
	msgs = split(starts_empty, strlen(starts_empty));
	assert_int_equal(msgs->len, 1);
	assert_string_equal(text_of(msgs, 0), "\nbody\n");
	g_ptr_array_unref(msgs);
}

static void test_empty_file(void **state)
{
	GPtrArray *msgs = split("", 0);
	(void)state;

	assert_int_equal(msgs->len, 0);
	g_ptr_array_unref(msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_on_read_boundary_is_not_a_separator),
	    cmocka_unit_test(test_from_lines_around_a_read_block_end),
	    cmocka_unit_test(test_quoted_from_lines_are_unquoted),
	    cmocka_unit_test(test_from_without_empty_line_before_is_body),
	    cmocka_unit_test(test_crlf_mbox),
	    cmocka_unit_test(test_separator_lines_without_empty_line),
	    cmocka_unit_test(test_content_length),
	    cmocka_unit_test(test_long_lines_and_no_final_line_end),
	    cmocka_unit_test(test_sample_inbox),
	    cmocka_unit_test(test_separators_near_the_start_and_crlf),
	    cmocka_unit_test(test_empty_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
