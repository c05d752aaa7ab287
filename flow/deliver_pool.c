/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deliveries on several lanes with the mails of one thread kept in order (deliver_pool.h). */
#include "flow/deliver_pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/log.h"
#include "flow/retry_clock.h"

struct job {
	struct finished_delivery d;
	struct envelope envelope; /* its item is d.parsed.msg.location */
	struct lane *lane;
	GPtrArray *ids;	 /* the Message-IDs that tie the mail to others (thread_ids()) */
	GPtrArray *pins; /* those of them this job holds to its lane */
};

/* A Message-ID held to a lane by the mails in flight that name it. */
struct pin {
	struct lane *lane;
	guint count;
};

struct lane {
	struct deliver_pool *pool;
	struct deliver d;
	GThread *thread;
	GAsyncQueue *jobs; /* of struct job *; one without a mail ends the lane */
	guint queued;	   /* pushed to this lane and not yet popped (main thread only) */
	/* The Message-IDs of the mails this lane could not deliver (lane's thread only): a mail
	 * queued behind one of them in its thread is not sent either. */
	GHashTable *failed;
	/* A dry run on several lanes: where the lane's desk prints the calls of the mail it is
	 * on (open_memstream()), handed with the finished delivery; else NULL. */
	FILE *calls;
	char *calls_text;
	size_t calls_len;
};

struct deliver_pool {
	GPtrArray *lanes;     /* of struct lane * */
	GAsyncQueue *results; /* of struct job * */
	guint in_flight;
	/* Message-ID -> struct pin, for every ID named by mail in flight (main thread only). */
	GHashTable *pins;
	/* The Message-IDs of every mail of the run that was not delivered (main thread only). */
	GHashTable *failed;
	struct retry_clock *clock; /* NULL: each mail is tried once */
	struct ticket_memo *memo; /* a dry run's look-ups, for every lane; else NULL */
	/* A dry run on several lanes: each lane prints its calls into a buffer of its own. */
	gboolean buffered_calls;
	/* A dry run on several lanes: the lane on the caller's thread for the mails that ask the
	 * desk nothing (one of lanes), else NULL. */
	struct lane *local;
};

void finished_delivery_clear(struct finished_delivery *done)
{
	parsed_message_clear(&done->parsed);
	g_clear_error(&done->error);
	delivery_result_clear(&done->result);
	g_clear_pointer(&done->calls, g_free);
}

static gboolean names_one_of(const GPtrArray *ids, GHashTable *set)
{
	for (guint i = 0; i < ids->len; i++)
		if (g_hash_table_contains(set, g_ptr_array_index(ids, i)))
			return TRUE;
	return FALSE;
}

static void add_all(GHashTable *set, const GPtrArray *ids)
{
	for (guint i = 0; i < ids->len; i++)
		g_hash_table_add(set, g_strdup(g_ptr_array_index(ids, i)));
}

/* Why a mail is not sent at all, or NULL: its thread's earlier mail is not delivered (sending it
 * would split the thread: a reply would open a ticket of its own), or the run gave up. */
static GError *not_to_send(struct deliver_pool *pool, GHashTable *failed, const struct job *job)
{
	if (names_one_of(job->ids, failed))
		return g_error_new(DESK_ERROR, DESK_ERROR_TEMPORARY,
				   "not sent: an earlier mail of its thread is not delivered yet");
	if (pool->clock && retry_clock_gave_up(pool->clock))
		return g_error_new(DESK_ERROR, DESK_ERROR_TEMPORARY,
				   "not sent: the desk has failed for %d s in a row",
				   retry_clock_limit(pool->clock));
	return NULL;
}

/* Deliver, trying again after a pause while the desk fails in a way that may heal; the pauses
 * grow, and the run gives up when the desk has failed for [desk] give_up_after in a row. */
static void run_job(struct lane *lane, struct job *job)
{
	struct finished_delivery *d = &job->d;
	struct envelope envelope = job->envelope;
	struct retry_clock *clock = lane->pool->clock;
	gint64 failing_since = 0;

	envelope.item = d->parsed.msg.location;
	d->error = not_to_send(lane->pool, lane->failed, job);
	d->ok = d->error == NULL;
	d->held_back = !d->ok;
	while (d->ok) {
		envelope.started = g_get_monotonic_time();
		delivery_result_clear(&d->result);
		d->ok = deliver_parsed_message(&lane->d, d->parsed.mail, d->parsed.msg.raw,
					       &envelope, &d->result, &d->error);
		if (d->ok) {
			if (clock)
				retry_clock_success(clock);
			break;
		}
		if (!clock || !retry_clock_may_heal(d->error) ||
		    !retry_clock_wait(clock, &failing_since))
			break;
		log_event(M2T_LOG_INFO, "trying the mail again", "mail", envelope.item, NULL);
		g_clear_error(&d->error);
		d->ok = TRUE;
	}
	if (!d->ok)
		add_all(lane->failed, job->ids);
	if (lane->calls) {
		fflush(lane->calls);
		d->calls = lane->calls_len ? g_strndup(lane->calls_text, lane->calls_len) : NULL;
		rewind(lane->calls);
	}
	g_async_queue_push(lane->pool->results, job);
}

static gpointer lane_run(gpointer data)
{
	struct lane *lane = data;
	struct job *job;

	/* While the run reads its first mails (an import its archive's index). */
	desk_load_early();
	while ((job = g_async_queue_pop(lane->jobs))->d.parsed.mail)
		run_job(lane, job);
	g_free(job);
	return NULL;
}

/* A lane for pool, added to its lanes; threaded: with a thread of its own, else it delivers on
 * the caller's thread. FALSE with error set when its desk or journal cannot be opened. */
static gboolean lane_add(struct deliver_pool *pool, const struct config *config, gboolean dry_run,
			 gboolean original_dates, gboolean for_mailbox, gboolean threaded,
			 GError **error)
{
	struct lane *lane = g_new0(struct lane, 1);

	lane->pool = pool;
	lane->failed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_ptr_array_add(pool->lanes, lane);
	if (pool->buffered_calls) {
		lane->calls = open_memstream(&lane->calls_text, &lane->calls_len);
		if (!lane->calls) {
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "no buffer for the dry run's calls: %s", g_strerror(errno));
			return FALSE;
		}
	}
	if (!(lane->calls ? deliver_open_dry_run(&lane->d, config, lane->calls, error)
			  : deliver_open(&lane->d, config, dry_run, error)))
		return FALSE;
	lane->d.original_dates = original_dates;
	lane->d.keep_refused = for_mailbox;
	lane->d.memo = pool->memo;
	if (threaded) {
		lane->jobs = g_async_queue_new();
		lane->thread = g_thread_new("deliver", lane_run, lane);
	}
	return TRUE;
}

/* for_mailbox: see deliver_pool_new_for_mailbox(); else a mail the desk failed on is tried again
 * (retry_clock.h). */
static struct deliver_pool *pool_new(const struct config *config, gboolean dry_run,
				     gboolean original_dates, gboolean for_mailbox, int lanes,
				     GError **error)
{
	struct deliver_pool *pool = g_new0(struct deliver_pool, 1);
	gboolean ok = TRUE;

	pool->lanes = g_ptr_array_new();
	pool->results = g_async_queue_new();
	pool->pins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	pool->failed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	/* A dry run sends nothing that could fail. */
	if (!for_mailbox)
		pool->clock = retry_clock_new(dry_run ? 0 : config->desk.give_up_after);
	pool->buffered_calls = dry_run && lanes > 1;
	if (dry_run)
		pool->memo = ticket_memo_new();
	/* A single lane delivers on the caller's thread: handing each mail to another thread and
	 * back would only cost time. */
	for (int i = 0; ok && i < MAX(lanes, 1); i++)
		ok = lane_add(pool, config, dry_run, original_dates, for_mailbox, lanes > 1, error);
	/* A dry run's call is a line printed: for a mail that asks the desk nothing first, the
	 * hop to a lane and back cost more than the delivery (deliver_may_look_up()). */
	if (ok && pool->buffered_calls) {
		ok = lane_add(pool, config, dry_run, original_dates, for_mailbox, FALSE, error);
		if (ok)
			pool->local = g_ptr_array_index(pool->lanes, pool->lanes->len - 1);
	}
	if (!ok) {
		deliver_pool_free(pool);
		return NULL;
	}
	return pool;
}

struct deliver_pool *deliver_pool_new(const struct config *config, gboolean dry_run,
				      gboolean original_dates, int lanes, GError **error)
{
	return pool_new(config, dry_run, original_dates, FALSE, lanes, error);
}

struct deliver_pool *deliver_pool_new_for_mailbox(const struct config *config, int lanes,
						  GError **error)
{
	return pool_new(config, FALSE, FALSE, TRUE, lanes, error);
}

void deliver_pool_free(struct deliver_pool *pool)
{
	struct finished_delivery done;

	if (!pool)
		return;
	while (deliver_pool_pop(pool, &done))
		finished_delivery_clear(&done);
	for (guint i = 0; i < pool->lanes->len; i++) {
		struct lane *lane = g_ptr_array_index(pool->lanes, i);
		if (lane->thread) {
			g_async_queue_push(lane->jobs, g_new0(struct job, 1));
			g_thread_join(lane->thread);
		}
		if (lane->jobs)
			g_async_queue_unref(lane->jobs);
		deliver_close(&lane->d);
		if (lane->calls)
			fclose(lane->calls);
		free(lane->calls_text);
		g_hash_table_unref(lane->failed);
		g_free(lane);
	}
	g_ptr_array_unref(pool->lanes);
	g_async_queue_unref(pool->results);
	g_hash_table_unref(pool->pins);
	g_hash_table_unref(pool->failed);
	retry_clock_free(pool->clock);
	ticket_memo_free(pool->memo);
	g_free(pool);
}

/* The Message-IDs that tie a mail to others: its own (a copy must not race it), and those it
 * answers. */
static void thread_ids(const struct mail *mail, GPtrArray *out)
{
	if (mail->message_id)
		g_ptr_array_add(out, mail->message_id);
	if (mail->in_reply_to)
		g_ptr_array_add(out, mail->in_reply_to);
	for (guint i = 0; i < mail->references->len; i++)
		g_ptr_array_add(out, g_ptr_array_index(mail->references, i));
}

static struct lane *choose_lane(struct deliver_pool *pool, const struct mail *mail,
				GPtrArray *ids)
{
	struct lane *lane = NULL;

	for (guint i = 0; i < ids->len && !lane; i++) {
		struct pin *pin = g_hash_table_lookup(pool->pins, g_ptr_array_index(ids, i));
		if (pin)
			lane = pin->lane;
	}
	if (lane)
		return lane;
	if (pool->local && !deliver_may_look_up(&pool->local->d, mail))
		return pool->local;
	/* Not tied to mail in flight: the least busy lane. */
	for (guint i = 0; i < pool->lanes->len; i++) {
		struct lane *l = g_ptr_array_index(pool->lanes, i);
		if (l != pool->local && (!lane || l->queued < lane->queued))
			lane = l;
	}
	return lane;
}

/* Every mail of a thread goes to the lane where one of them is in flight, so the thread's mails
 * reach the desk in the order they were pushed: the first opens the ticket, the rest follow. */
void deliver_pool_push_envelope(struct deliver_pool *pool, struct parsed_message *p,
				const struct envelope *envelope, guint64 seq)
{
	struct job *job = g_new0(struct job, 1);
	GPtrArray *ids = g_ptr_array_new();

	thread_ids(p->mail, ids);
	job->ids = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < ids->len; i++)
		g_ptr_array_add(job->ids, g_strdup(g_ptr_array_index(ids, i)));
	job->lane = choose_lane(pool, p->mail, ids);
	job->pins = g_ptr_array_new_with_free_func(g_free);
	/* A mail on the caller's lane is delivered when this returns: a later one of its thread
	 * need not wait for it there (one that asks the desk would hold up this thread). */
	for (guint i = 0; i < ids->len && job->lane != pool->local; i++) {
		const char *id = g_ptr_array_index(ids, i);
		struct pin *pin = g_hash_table_lookup(pool->pins, id);
		if (pin && pin->lane != job->lane)
			continue;
		if (!pin) {
			pin = g_new0(struct pin, 1);
			pin->lane = job->lane;
			g_hash_table_insert(pool->pins, g_strdup(id), pin);
		}
		pin->count++;
		g_ptr_array_add(job->pins, g_strdup(id));
	}
	g_ptr_array_unref(ids);
	job->d.parsed = *p;
	*p = (struct parsed_message){0};
	job->d.seq = seq;
	job->envelope = *envelope;
	job->lane->queued++;
	pool->in_flight++;
	/* Its thread failed earlier in the run, in another lane or before this one was pushed. */
	if (names_one_of(job->ids, pool->failed)) {
		job->d.error = g_error_new(DESK_ERROR, DESK_ERROR_TEMPORARY,
					   "not sent: an earlier mail of its thread is not "
					   "delivered yet");
		job->d.held_back = TRUE;
		g_async_queue_push(pool->results, job);
		return;
	}
	if (job->lane->thread)
		g_async_queue_push(job->lane->jobs, job);
	else
		run_job(job->lane, job);
}

void deliver_pool_push(struct deliver_pool *pool, struct parsed_message *p, guint64 seq)
{
	const struct envelope envelope = {.source = "import"};

	deliver_pool_push_envelope(pool, p, &envelope, seq);
}

/* The lanes are idle: what they did last reached this thread through the results queue. */
void deliver_pool_forget_failures(struct deliver_pool *pool)
{
	g_hash_table_remove_all(pool->failed);
	for (guint i = 0; i < pool->lanes->len; i++)
		g_hash_table_remove_all(((struct lane *)g_ptr_array_index(pool->lanes, i))->failed);
}

guint deliver_pool_in_flight(const struct deliver_pool *pool)
{
	return pool->in_flight;
}

gboolean deliver_pool_pop(struct deliver_pool *pool, struct finished_delivery *out)
{
	struct job *job;

	if (pool->in_flight == 0)
		return FALSE;
	job = g_async_queue_pop(pool->results);
	pool->in_flight--;
	job->lane->queued--;
	for (guint i = 0; i < job->pins->len; i++) {
		const char *id = g_ptr_array_index(job->pins, i);
		struct pin *pin = g_hash_table_lookup(pool->pins, id);
		if (--pin->count == 0)
			g_hash_table_remove(pool->pins, id);
	}
	g_ptr_array_unref(job->pins);
	if (!job->d.ok)
		add_all(pool->failed, job->ids);
	g_ptr_array_unref(job->ids);
	*out = job->d;
	g_free(job);
	return TRUE;
}

gboolean deliver_pool_gave_up(const struct deliver_pool *pool)
{
	return pool->clock && retry_clock_gave_up(pool->clock);
}
