/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A dry run's answers to ticket look-ups (ticket_memo.h). */
#include "flow/ticket_memo.h"

struct answer {
	struct desk_ticket ticket; /* when the ticket was found */
	GError *not_found;	   /* else */
};

/* Answers kept at most: memory must not grow with the archive (a GetTicket answer holds the
 * ticket's messages); past it the oldest answer is forgotten and asked for again if need be. */
#define MEMO_MAX 4096

struct ticket_memo {
	GMutex lock;
	GHashTable *answers; /* tid -> struct answer * */
	GQueue order;	     /* of the tids (the table's keys), oldest first */
};

static void answer_free(gpointer data)
{
	struct answer *a = data;

	desk_ticket_clear(&a->ticket);
	g_clear_error(&a->not_found);
	g_free(a);
}

struct ticket_memo *ticket_memo_new(void)
{
	struct ticket_memo *memo = g_new0(struct ticket_memo, 1);

	g_mutex_init(&memo->lock);
	memo->answers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, answer_free);
	g_queue_init(&memo->order);
	return memo;
}

void ticket_memo_free(struct ticket_memo *memo)
{
	if (!memo)
		return;
	g_queue_clear(&memo->order);
	g_hash_table_unref(memo->answers);
	g_mutex_clear(&memo->lock);
	g_free(memo);
}

gboolean ticket_memo_recall(struct ticket_memo *memo, const char *tid, struct desk_ticket *out,
			    GError **not_found)
{
	struct answer *a;

	g_mutex_lock(&memo->lock);
	a = g_hash_table_lookup(memo->answers, tid);
	if (a && a->not_found)
		g_propagate_error(not_found, g_error_copy(a->not_found));
	else if (a)
		desk_ticket_copy(&a->ticket, out);
	g_mutex_unlock(&memo->lock);
	return a != NULL;
}

void ticket_memo_keep(struct ticket_memo *memo, const char *tid, const struct desk_ticket *ticket,
		      const GError *not_found)
{
	struct answer *a = g_new0(struct answer, 1);
	char *key = g_strdup(tid);

	if (ticket)
		desk_ticket_copy(ticket, &a->ticket);
	else
		a->not_found = g_error_copy(not_found);
	g_mutex_lock(&memo->lock);
	/* A tid kept before (two lanes asked at once) keeps its key and place. */
	if (g_hash_table_insert(memo->answers, key, a))
		g_queue_push_tail(&memo->order, key);
	if (memo->order.length > MEMO_MAX)
		g_hash_table_remove(memo->answers, g_queue_pop_head(&memo->order));
	g_mutex_unlock(&memo->lock);
}
