#include "cli/parse_pool.h"

/* The caller sleeps until this many messages at the head are parsed (or all pushed are): waking
 * it for each one cost more than parsing a small message on a machine with few cores (import on
 * 2 cores: 13,700 context switches for 12,900 mails, 10% slower). While it works through them,
 * the workers need the rest of the window to go on with. */
#define WAKE_BATCH 8
#define WINDOW(workers) (2 * WAKE_BATCH + 2 * (workers))
/* Beyond one message per worker and one more, big mails are not read ahead past this: 20 mails
 * with 20 MB attachments would otherwise be 400 MB before they are parsed. */
#define WINDOW_BYTES (32 * 1024 * 1024)

struct job {
	struct parsed_message result;
	gboolean done;
};

struct parse_pool {
	const struct parse_options *options;
	GThread **workers;
	int n_workers;
	guint pending;		/* pushed and not popped; only the caller's thread touches it */
	gsize pending_bytes;	/* their size, the same */
	GMutex lock;		/* guards everything below */
	GCond work;		/* a job to take, or closing */
	GCond parsed;		/* the caller may go on */
	GQueue jobs;		/* of struct job *, pushed and not popped, in push order */
	GList *next;		/* the first link of jobs not taken by a worker, or NULL */
	guint idle;		/* workers waiting on work */
	gboolean caller_waits;
	gboolean closing;
};

void parsed_message_clear(struct parsed_message *p)
{
	source_message_clear(&p->msg);
	mail_free(p->mail);
	p->mail = NULL;
}

/* Whether the caller, waiting for the head, has enough to go on. Under the lock. */
static gboolean head_batch_parsed(const struct parse_pool *pool)
{
	guint run = 0;

	for (GList *l = pool->jobs.head; l && ((struct job *)l->data)->done; l = l->next)
		if (++run == WAKE_BATCH)
			return TRUE;
	return run > 0 && run == pool->jobs.length;
}

static gpointer parse_worker(gpointer data)
{
	struct parse_pool *pool = data;

	g_mutex_lock(&pool->lock);
	for (;;) {
		struct job *job;
		const char *raw;
		gsize len;
		while (!pool->next && !pool->closing) {
			pool->idle++;
			g_cond_wait(&pool->work, &pool->lock);
			pool->idle--;
		}
		if (!pool->next)
			break;
		job = pool->next->data;
		pool->next = pool->next->next;
		g_mutex_unlock(&pool->lock);
		raw = g_bytes_get_data(job->result.msg.raw, &len);
		job->result.mail = mail_parse(raw ? raw : "", len, pool->options);
		g_mutex_lock(&pool->lock);
		job->done = TRUE;
		if (pool->caller_waits && head_batch_parsed(pool))
			g_cond_signal(&pool->parsed);
	}
	g_mutex_unlock(&pool->lock);
	return NULL;
}

struct parse_pool *parse_pool_new(const struct parse_options *options, int threads)
{
	struct parse_pool *pool = g_new0(struct parse_pool, 1);

	pool->options = options;
	g_queue_init(&pool->jobs);
	g_mutex_init(&pool->lock);
	g_cond_init(&pool->work);
	g_cond_init(&pool->parsed);
	/* Private threads: they exist only while an import runs. */
	pool->n_workers = MAX(threads, 1);
	pool->workers = g_new0(GThread *, pool->n_workers);
	for (int i = 0; i < pool->n_workers; i++)
		pool->workers[i] = g_thread_new("parser", parse_worker, pool);
	return pool;
}

void parse_pool_push(struct parse_pool *pool, struct source_message *msg)
{
	struct job *job = g_new0(struct job, 1);

	job->result.msg = *msg;
	*msg = (struct source_message){0};
	pool->pending++;
	pool->pending_bytes += job->result.msg.raw ? g_bytes_get_size(job->result.msg.raw) : 0;
	g_mutex_lock(&pool->lock);
	g_queue_push_tail(&pool->jobs, job);
	if (!pool->next)
		pool->next = pool->jobs.tail;
	if (pool->idle)
		g_cond_signal(&pool->work);
	g_mutex_unlock(&pool->lock);
}

gboolean parse_pool_has_room(const struct parse_pool *pool)
{
	if (pool->pending <= (guint)pool->n_workers)
		return TRUE;
	return pool->pending < (guint)WINDOW(pool->n_workers) && pool->pending_bytes < WINDOW_BYTES;
}

gboolean parse_pool_pop(struct parse_pool *pool, struct parsed_message *out)
{
	struct job *job;

	if (!pool->pending)
		return FALSE;
	g_mutex_lock(&pool->lock);
	job = pool->jobs.head->data;
	if (!job->done) {
		pool->caller_waits = TRUE;
		while (!head_batch_parsed(pool))
			g_cond_wait(&pool->parsed, &pool->lock);
		pool->caller_waits = FALSE;
	}
	g_queue_pop_head(&pool->jobs);
	g_mutex_unlock(&pool->lock);
	pool->pending--;
	pool->pending_bytes -= job->result.msg.raw ? g_bytes_get_size(job->result.msg.raw) : 0;
	*out = job->result;
	g_free(job);
	return TRUE;
}

void parse_pool_free(struct parse_pool *pool)
{
	struct parsed_message rest;

	if (!pool)
		return;
	/* The workers finish what was pushed, then stop; what the caller did not take (a run that
	 * stopped) is dropped. */
	g_mutex_lock(&pool->lock);
	pool->closing = TRUE;
	g_cond_broadcast(&pool->work);
	g_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->n_workers; i++)
		g_thread_join(pool->workers[i]);
	while (parse_pool_pop(pool, &rest))
		parsed_message_clear(&rest);
	g_free(pool->workers);
	g_mutex_clear(&pool->lock);
	g_cond_clear(&pool->parsed);
	g_cond_clear(&pool->work);
	g_free(pool);
}
