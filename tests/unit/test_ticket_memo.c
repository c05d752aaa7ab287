/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A dry run's remembered look-ups: a ticket found comes back as a copy of its own, a ticket the
 * desk did not know comes back as the desk's error, a ticket never asked about is not made up,
 * lanes on several threads share one memo, and a long run's memo stays bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow/ticket_memo.h"

static void test_found_ticket_comes_back_as_a_copy(void **state)
{
	struct ticket_memo *memo = ticket_memo_new();
	struct desk_ticket t = {.id = g_strdup("17"), .tid = g_strdup("1047514"),
				.status = g_strdup("Open"), .email = g_strdup("a@example.org"),
				.messages = g_ptr_array_new_with_free_func(g_free)};
	struct desk_ticket back = {0};
	GError *error = NULL;
	(void)state;

	g_ptr_array_add(t.messages, g_strdup("first"));
	ticket_memo_keep(memo, "1047514", &t, NULL);
	desk_ticket_clear(&t);
	assert_true(ticket_memo_recall(memo, "1047514", &back, &error));
	assert_null(error);
	assert_string_equal(back.id, "17");
	assert_string_equal(back.status, "Open");
	assert_string_equal(back.email, "a@example.org");
	assert_null(back.cc);
	assert_int_equal(back.messages->len, 1);
	assert_string_equal(g_ptr_array_index(back.messages, 0), "first");
	desk_ticket_clear(&back);
	/* The memo's own copy outlives the one handed out. */
	assert_true(ticket_memo_recall(memo, "1047514", &back, &error));
	assert_string_equal(back.tid, "1047514");
	desk_ticket_clear(&back);
	ticket_memo_free(memo);
}

static void test_unknown_ticket_comes_back_as_the_desks_error(void **state)
{
	struct ticket_memo *memo = ticket_memo_new();
	GError *not_found = g_error_new(DESK_ERROR, DESK_ERROR_NOT_FOUND, "Ticket ID Not Found");
	struct desk_ticket back = {0};
	GError *error = NULL;
	(void)state;

	assert_false(ticket_memo_recall(memo, "99", &back, &error));
	assert_null(error);
	ticket_memo_keep(memo, "99", NULL, not_found);
	g_error_free(not_found);
	assert_true(ticket_memo_recall(memo, "99", &back, &error));
	assert_true(g_error_matches(error, DESK_ERROR, DESK_ERROR_NOT_FOUND));
	assert_string_equal(error->message, "Ticket ID Not Found");
	assert_null(back.id);
	g_error_free(error);
	ticket_memo_free(memo);
}

#define THREADS 4
#define TICKETS 200

static gpointer keep_and_recall(gpointer data)
{
	struct ticket_memo *memo = data;

	for (int i = 0; i < TICKETS; i++) {
		char tid[16];
		struct desk_ticket t = {0}, back = {0};
		g_snprintf(tid, sizeof(tid), "%d", i);
		t.id = tid;
		if (!ticket_memo_recall(memo, tid, &back, NULL))
			ticket_memo_keep(memo, tid, &t, NULL);
		desk_ticket_clear(&back);
	}
	return NULL;
}

static void test_lanes_share_one_memo(void **state)
{
	struct ticket_memo *memo = ticket_memo_new();
	GThread *threads[THREADS];
	(void)state;

	for (int i = 0; i < THREADS; i++)
		threads[i] = g_thread_new("lane", keep_and_recall, memo);
	for (int i = 0; i < THREADS; i++)
		g_thread_join(threads[i]);
	for (int i = 0; i < TICKETS; i++) {
		char tid[16];
		struct desk_ticket back = {0};
		g_snprintf(tid, sizeof(tid), "%d", i);
		assert_true(ticket_memo_recall(memo, tid, &back, NULL));
		assert_string_equal(back.id, tid);
		desk_ticket_clear(&back);
	}
	ticket_memo_free(memo);
}

static void test_the_oldest_answers_are_forgotten(void **state)
{
	struct ticket_memo *memo = ticket_memo_new();
	struct desk_ticket t = {.id = "1"}, back = {0};
	char tid[16];
	(void)state;

	/* More tickets than the memo holds (4,096): the first are asked for again. */
	for (int i = 0; i < 5000; i++) {
		g_snprintf(tid, sizeof(tid), "%d", i);
		ticket_memo_keep(memo, tid, &t, NULL);
	}
	ticket_memo_keep(memo, "4999", &t, NULL);
	assert_false(ticket_memo_recall(memo, "0", &back, NULL));
	assert_false(ticket_memo_recall(memo, "903", &back, NULL));
	assert_true(ticket_memo_recall(memo, "904", &back, NULL));
	desk_ticket_clear(&back);
	assert_true(ticket_memo_recall(memo, "4999", &back, NULL));
	assert_string_equal(back.id, "1");
	desk_ticket_clear(&back);
	ticket_memo_free(memo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found_ticket_comes_back_as_a_copy),
	    cmocka_unit_test(test_unknown_ticket_comes_back_as_the_desks_error),
	    cmocka_unit_test(test_lanes_share_one_memo),
	    cmocka_unit_test(test_the_oldest_answers_are_forgotten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
