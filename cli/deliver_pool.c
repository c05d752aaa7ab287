#include "cli/deliver_pool.h"

struct job {
	struct delivery d;
	struct lane *lane;
	GPtrArray *pins; /* the Message-IDs this job holds to its lane */
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
};

struct deliver_pool {
	GPtrArray *lanes;     /* of struct lane * */
	GAsyncQueue *results; /* of struct job * */
	guint in_flight;
	/* Message-ID -> struct pin, for every ID named by mail in flight (main thread only). */
	GHashTable *pins;
};

void delivery_clear(struct delivery *d)
{
	parsed_message_clear(&d->parsed);
	g_clear_error(&d->error);
	g_free(d->reason);
	d->reason = NULL;
}

static void run_job(struct lane *lane, struct job *job)
{
	struct delivery *d = &job->d;
	struct envelope envelope = {.source = "import", .item = d->parsed.msg.location};
	gsize len;
	const char *raw = g_bytes_get_data(d->parsed.msg.raw, &len);

	d->ok = deliver_parsed_message(&lane->d, d->parsed.mail, raw ? raw : "", len, &envelope,
				       &d->outcome, &d->error);
	d->reason = g_strdup(lane->d.last_reason);
	g_async_queue_push(lane->pool->results, job);
}

static gpointer lane_run(gpointer data)
{
	struct lane *lane = data;
	struct job *job;

	while ((job = g_async_queue_pop(lane->jobs))->d.parsed.mail)
		run_job(lane, job);
	g_free(job);
	return NULL;
}

struct deliver_pool *deliver_pool_new(const struct config *config, gboolean dry_run,
				      gboolean original_dates, int lanes, GError **error)
{
	struct deliver_pool *pool = g_new0(struct deliver_pool, 1);

	pool->lanes = g_ptr_array_new();
	pool->results = g_async_queue_new();
	pool->pins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (int i = 0; i < MAX(lanes, 1); i++) {
		struct lane *lane = g_new0(struct lane, 1);
		lane->pool = pool;
		g_ptr_array_add(pool->lanes, lane);
		if (!deliver_open(&lane->d, config, dry_run, error)) {
			deliver_pool_free(pool);
			return NULL;
		}
		lane->d.original_dates = original_dates;
		/* A single lane delivers on the caller's thread: handing each mail to another
		 * thread and back would only cost time. */
		if (lanes > 1) {
			lane->jobs = g_async_queue_new();
			lane->thread = g_thread_new("deliver", lane_run, lane);
		}
	}
	return pool;
}

void deliver_pool_free(struct deliver_pool *pool)
{
	struct delivery done;

	if (!pool)
		return;
	while (deliver_pool_pop(pool, &done))
		delivery_clear(&done);
	for (guint i = 0; i < pool->lanes->len; i++) {
		struct lane *lane = g_ptr_array_index(pool->lanes, i);
		if (lane->thread) {
			g_async_queue_push(lane->jobs, g_new0(struct job, 1));
			g_thread_join(lane->thread);
		}
		if (lane->jobs)
			g_async_queue_unref(lane->jobs);
		deliver_close(&lane->d);
		g_free(lane);
	}
	g_ptr_array_unref(pool->lanes);
	g_async_queue_unref(pool->results);
	g_hash_table_unref(pool->pins);
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

static struct lane *choose_lane(struct deliver_pool *pool, GPtrArray *ids)
{
	struct lane *lane = NULL;

	for (guint i = 0; i < ids->len && !lane; i++) {
		struct pin *pin = g_hash_table_lookup(pool->pins, g_ptr_array_index(ids, i));
		if (pin)
			lane = pin->lane;
	}
	if (lane)
		return lane;
	/* Not tied to mail in flight: the least busy lane. */
	for (guint i = 0; i < pool->lanes->len; i++) {
		struct lane *l = g_ptr_array_index(pool->lanes, i);
		if (!lane || l->queued < lane->queued)
			lane = l;
	}
	return lane;
}

/* Every mail of a thread goes to the lane where one of them is in flight, so the thread's mails
 * reach the desk in the order they were pushed: the first opens the ticket, the rest follow. */
void deliver_pool_push(struct deliver_pool *pool, struct parsed_message *p, guint64 seq)
{
	struct job *job = g_new0(struct job, 1);
	GPtrArray *ids = g_ptr_array_new();

	thread_ids(p->mail, ids);
	job->lane = choose_lane(pool, ids);
	job->pins = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < ids->len; i++) {
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
	job->lane->queued++;
	pool->in_flight++;
	if (job->lane->thread)
		g_async_queue_push(job->lane->jobs, job);
	else
		run_job(job->lane, job);
}

guint deliver_pool_in_flight(const struct deliver_pool *pool)
{
	return pool->in_flight;
}

gboolean deliver_pool_pop(struct deliver_pool *pool, struct delivery *out)
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
	*out = job->d;
	g_free(job);
	return TRUE;
}
