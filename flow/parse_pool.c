/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing on several cores, in order, with a time limit per mail (parse_pool.h). */
#include "flow/parse_pool.h"

/* The caller sleeps until this many messages at the head are parsed (or all pushed are): waking
 * it for each one cost more than parsing a small message on a machine with few cores (import on
 * 2 cores: 13,700 context switches for 12,900 mails, 10% slower). While it works through them,
 * the workers need the rest of the window to go on with. */
#define WAKE_BATCH 8
#define WINDOW(workers) (2 * WAKE_BATCH + 2 * (workers))
/* Beyond one message per worker and one more, big mails are not read ahead past this: 20 mails
 * with 20 MB attachments would otherwise be 400 MB before they are parsed. */
#define WINDOW_BYTES (32 * 1024 * 1024)

/* A job goes QUEUED -> RUNNING when a worker takes it, then RUNNING -> DONE when the parser
 * returns, or RUNNING -> ABANDONED when the caller stops waiting for it, whichever comes first
 * (an atomic exchange decides). An abandoned job belongs to its worker, which frees it when the
 * parser returns and then ends without touching the pool, which may be gone by then. */
enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

struct worker {
	struct parse_pool *pool;
	GThread *thread;
};

struct job {
	struct parsed_message result;
	gint state;			/* enum job_state, changed atomically */
	gint64 started;			/* monotonic time a worker took it; under the pool's lock */
	struct worker *worker;		/* the worker parsing it; under the pool's lock */
	struct parse_options *options;	/* a reference to the pool's copy */
};

struct parse_pool {
	struct parse_options *options; /* a reference-counted copy: see options_share() */
	gint64 timeout_us;	       /* 0: no limit */
	struct worker *workers;
	int n_workers;
	guint pending;		/* pushed and not popped; only the caller's thread touches it */
	gsize pending_bytes;	/* their size, the same */
	GMutex lock;		/* guards everything below */
	GCond work;		/* a job to take, or closing */
	GCond parsed;		/* the caller may go on */
	GQueue jobs;		/* of struct job *, pushed and not popped, in push order */
	GList *next;		/* the first link of jobs not taken by a worker, or NULL */
	guint idle;		/* workers waiting on work */
	/* Of them, those already woken for a job pushed: a burst of pushes wakes each idle
	 * worker once, not once a push (a futex call each). */
	guint woken;
	gboolean caller_waits;
	gboolean closing;
};

void parsed_message_clear(struct parsed_message *p)
{
	source_message_clear(&p->msg);
	mail_free(p->mail);
	p->mail = NULL;
	p->timed_out = FALSE;
}

static void options_clear(gpointer data)
{
	g_strfreev((char **)((struct parse_options *)data)->reply_markers);
}

/* A copy of options that lives as long as its last user: a parser left running past its time
 * may outlive the pool and the caller's options. */
static struct parse_options *options_share(const struct parse_options *options)
{
	struct parse_options *copy = g_atomic_rc_box_new0(struct parse_options);

	*copy = *options;
	copy->reply_markers = (const char *const *)g_strdupv((char **)options->reply_markers);
	return copy;
}

static void options_release(struct parse_options *options)
{
	g_atomic_rc_box_release_full(options, options_clear);
}

static void job_free(struct job *job)
{
	parsed_message_clear(&job->result);
	options_release(job->options);
	g_free(job);
}

static gboolean job_done(struct job *job)
{
	return g_atomic_int_get(&job->state) == JOB_DONE;
}

/* Whether the caller, waiting for the head, has enough to go on. Under the lock. */
static gboolean head_batch_parsed(const struct parse_pool *pool)
{
	guint run = 0;

	for (GList *l = pool->jobs.head; l && job_done(l->data); l = l->next)
		if (++run == WAKE_BATCH)
			return TRUE;
	return run > 0 && run == pool->jobs.length;
}

static gpointer parse_worker(gpointer data)
{
	struct worker *me = data;
	struct parse_pool *pool = me->pool;

	g_mutex_lock(&pool->lock);
	for (;;) {
		struct job *job;
		while (!pool->next && !pool->closing) {
			pool->idle++;
			g_cond_wait(&pool->work, &pool->lock);
			pool->idle--;
			if (pool->woken)
				pool->woken--;
		}
		if (!pool->next)
			break;
		job = pool->next->data;
		pool->next = pool->next->next;
		job->started = g_get_monotonic_time();
		job->worker = me;
		g_atomic_int_set(&job->state, JOB_RUNNING);
		g_mutex_unlock(&pool->lock);
		job->result.mail = mail_parse_bytes(job->result.msg.raw, job->options);
		if (!g_atomic_int_compare_and_exchange(&job->state, JOB_RUNNING, JOB_DONE)) {
			/* Abandoned: another worker has taken this one's place. */
			job_free(job);
			return NULL;
		}
		g_mutex_lock(&pool->lock);
		if (pool->caller_waits && head_batch_parsed(pool))
			g_cond_signal(&pool->parsed);
	}
	g_mutex_unlock(&pool->lock);
	return NULL;
}

struct parse_pool *parse_pool_new(const struct parse_options *options, int threads,
				  int timeout_seconds)
{
	struct parse_pool *pool = g_new0(struct parse_pool, 1);

	pool->options = options_share(options);
	pool->timeout_us = (gint64)MAX(timeout_seconds, 0) * G_USEC_PER_SEC;
	g_queue_init(&pool->jobs);
	g_mutex_init(&pool->lock);
	g_cond_init(&pool->work);
	g_cond_init(&pool->parsed);
	/* Private threads: they exist only while an import runs. */
	pool->n_workers = MAX(threads, 1);
	pool->workers = g_new0(struct worker, pool->n_workers);
	for (int i = 0; i < pool->n_workers; i++) {
		pool->workers[i].pool = pool;
		pool->workers[i].thread = g_thread_new("parser", parse_worker, &pool->workers[i]);
	}
	return pool;
}

void parse_pool_push(struct parse_pool *pool, struct source_message *msg)
{
	struct job *job = g_new0(struct job, 1);

	job->result.msg = *msg;
	*msg = (struct source_message){0};
	job->options = g_atomic_rc_box_acquire(pool->options);
	pool->pending++;
	pool->pending_bytes += job->result.msg.raw ? g_bytes_get_size(job->result.msg.raw) : 0;
	g_mutex_lock(&pool->lock);
	g_queue_push_tail(&pool->jobs, job);
	if (!pool->next)
		pool->next = pool->jobs.tail;
	if (pool->idle > pool->woken) {
		pool->woken++;
		g_cond_signal(&pool->work);
	}
	g_mutex_unlock(&pool->lock);
}

gboolean parse_pool_has_room(const struct parse_pool *pool)
{
	if (pool->pending <= (guint)pool->n_workers)
		return TRUE;
	return pool->pending < (guint)WINDOW(pool->n_workers) && pool->pending_bytes < WINDOW_BYTES;
}

/* The first job from the head that is not parsed yet. Under the lock. */
static struct job *first_unparsed(const struct parse_pool *pool)
{
	for (GList *l = pool->jobs.head; l; l = l->next)
		if (!job_done(l->data))
			return l->data;
	return NULL;
}

/* Stop waiting for job, running past the time limit: its worker is left to finish it, and a new
 * one takes the worker's place. FALSE when the job finished in the meantime. Under the pool's
 * lock. */
static gboolean abandon(struct job *job)
{
	struct worker *slot = job->worker;

	if (!g_atomic_int_compare_and_exchange(&job->state, JOB_RUNNING, JOB_ABANDONED))
		return FALSE;
	g_thread_unref(slot->thread);
	slot->thread = g_thread_new("parser", parse_worker, slot);
	return TRUE;
}

/* Wait, under the lock, until the head's batch is parsed, or the head has run past the time
 * limit (then it is abandoned), or a job behind a parsed head has (then the head is taken). */
static void wait_for_head(struct parse_pool *pool, struct job *head)
{
	pool->caller_waits = TRUE;
	while (!head_batch_parsed(pool)) {
		struct job *waiting = first_unparsed(pool);
		gint64 deadline;

		if (!pool->timeout_us) {
			g_cond_wait(&pool->parsed, &pool->lock);
			continue;
		}
		deadline = (waiting->started ? waiting->started : g_get_monotonic_time()) +
			   pool->timeout_us;
		if (g_cond_wait_until(&pool->parsed, &pool->lock, deadline) || !waiting->started)
			continue;
		if (waiting != head || abandon(head))
			break;
	}
	pool->caller_waits = FALSE;
}

gboolean parse_pool_pop(struct parse_pool *pool, struct parsed_message *out)
{
	struct job *job;

	if (!pool->pending)
		return FALSE;
	g_mutex_lock(&pool->lock);
	job = pool->jobs.head->data;
	if (!job_done(job))
		wait_for_head(pool, job);
	g_queue_pop_head(&pool->jobs);
	g_mutex_unlock(&pool->lock);
	pool->pending--;
	pool->pending_bytes -= job->result.msg.raw ? g_bytes_get_size(job->result.msg.raw) : 0;
	if (g_atomic_int_get(&job->state) == JOB_ABANDONED) {
		/* The job is its worker's now; the caller gets the message itself. */
		*out = (struct parsed_message){.timed_out = TRUE};
		out->msg.raw = job->result.msg.raw ? g_bytes_ref(job->result.msg.raw) : NULL;
		out->msg.location = g_strdup(job->result.msg.location);
		return TRUE;
	}
	*out = job->result;
	job->result = (struct parsed_message){0};
	job_free(job);
	return TRUE;
}

void parse_pool_free(struct parse_pool *pool)
{
	struct parsed_message rest;

	if (!pool)
		return;
	/* The workers finish what was pushed (a parse past the time limit is abandoned), then
	 * stop; what the caller did not take (a run that stopped) is dropped. */
	g_mutex_lock(&pool->lock);
	pool->closing = TRUE;
	g_cond_broadcast(&pool->work);
	g_mutex_unlock(&pool->lock);
	while (parse_pool_pop(pool, &rest))
		parsed_message_clear(&rest);
	for (int i = 0; i < pool->n_workers; i++)
		g_thread_join(pool->workers[i].thread);
	g_free(pool->workers);
	options_release(pool->options);
	g_mutex_clear(&pool->lock);
	g_cond_clear(&pool->parsed);
	g_cond_clear(&pool->work);
	g_free(pool);
}

struct mail *parse_within(GBytes *raw, const struct parse_options *options, int seconds)
{
	struct parse_pool *pool = parse_pool_new(options, 1, seconds);
	struct source_message msg = {.raw = g_bytes_ref(raw)};
	struct parsed_message parsed;
	struct mail *mail;

	parse_pool_push(pool, &msg);
	parse_pool_pop(pool, &parsed);
	mail = g_steal_pointer(&parsed.mail);
	parsed_message_clear(&parsed);
	parse_pool_free(pool);
	return mail;
}
