/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any bytes as an mbox file. The splitter must neither crash, leak nor hang,
 * and reading the file in two ranges, split where mbox_find_separator() finds a message after an
 * offset taken from the input, must give exactly the messages of one reader over the whole file
 * (unless the first range's last message runs past the split, a Content-Length body holding the
 * separator found: the archive then indexes the file in one range), the same way both
 * mbox_reader_next() and the index (headers, then the entry read whole) do. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each message's bytes, by reading whole messages in [start, end). */
static GPtrArray *messages(const uint8_t *data, size_t size, goffset start, goffset end)
{
	FILE *f = fmemopen((void *)data, size, "r");
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	struct mbox_reader *r;
	GBytes *msg;
	goffset offset;
	GError *err = NULL;

	if (fseeko(f, start, SEEK_SET) != 0)
		abort();
	r = start == 0 && end < 0 ? mbox_reader_new(f) : mbox_reader_new_range(f, start, end);
	while (mbox_reader_next(r, &msg, &offset, &err))
		g_ptr_array_add(out, msg);
	if (err)
		abort();
	mbox_reader_free(r);
	fclose(f);
	return out;
}

/* The same through the index: each entry's header block, then the entry read whole. */
static GPtrArray *messages_by_entries(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	struct mbox_reader *r = mbox_reader_new(f);
	GByteArray *headers = g_byte_array_new();
	goffset offset, length;
	GError *err = NULL;

	while (mbox_reader_next_headers(r, headers, &offset, &length, &err)) {
		GByteArray *entry = g_byte_array_new();
		if (offset < 0 || length < 0 || (gsize)(offset + length) > size)
			abort();
		g_byte_array_append(entry, data + offset, length);
		g_ptr_array_add(out, mbox_message_from_entry(entry));
	}
	if (err)
		abort();
	g_byte_array_unref(headers);
	mbox_reader_free(r);
	fclose(f);
	return out;
}

/* Whether the last entry the index finds before at runs past it. */
static gboolean by_entries_overlap(const uint8_t *data, size_t size, goffset at)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct mbox_reader *r = mbox_reader_new_range(f, 0, at);
	GByteArray *headers = g_byte_array_new();
	goffset offset, length, end = 0;

	while (mbox_reader_next_headers(r, headers, &offset, &length, NULL))
		end = offset + length;
	g_byte_array_unref(headers);
	mbox_reader_free(r);
	fclose(f);
	return end > at;
}

static void assert_same(GPtrArray *a, GPtrArray *b)
{
	if (a->len != b->len)
		abort();
	for (guint i = 0; i < a->len; i++)
		if (!g_bytes_equal(g_ptr_array_index(a, i), g_ptr_array_index(b, i)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GPtrArray *whole, *first, *second, *entries;
	FILE *f;
	goffset from, at;
	GError *err = NULL;

	if (size < 2)
		return 0;
	/* The split point comes from the input's first bytes, so the fuzzer explores it too. */
	from = 1 + (goffset)((data[0] << 8 | data[1]) % size);
	whole = messages(data, size, 0, -1);
	entries = messages_by_entries(data, size);
	assert_same(whole, entries);
	f = fmemopen((void *)data, size, "r");
	if (!mbox_find_separator(f, from, &at, &err) || at < from || (gsize)at > size)
		abort();
	fclose(f);
	first = messages(data, size, 0, at);
	second = messages(data, size, at, -1);
	for (guint i = 0; i < second->len; i++)
		g_ptr_array_add(first, g_bytes_ref(g_ptr_array_index(second, i)));
	if (!by_entries_overlap(data, size, at))
		assert_same(whole, first);
	g_ptr_array_unref(whole);
	g_ptr_array_unref(entries);
	g_ptr_array_unref(first);
	g_ptr_array_unref(second);
	return 0;
}
