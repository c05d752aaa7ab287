#include "cli/parse_pool.h"

struct job {
	struct parsed_message result;
	gboolean done;
};

struct parse_pool {
	const struct parse_options *options;
	GThreadPool *threads;
	GQueue *jobs; /* of struct job *, in push order */
	GMutex lock;
	GCond parsed;
};

void parsed_message_clear(struct parsed_message *p)
{
	source_message_clear(&p->msg);
	mail_free(p->mail);
	p->mail = NULL;
}

static void parse_job(gpointer data, gpointer user_data)
{
	struct job *job = data;
	struct parse_pool *pool = user_data;
	gsize len;
	const char *raw = g_bytes_get_data(job->result.msg.raw, &len);
	struct mail *mail = mail_parse(raw ? raw : "", len, pool->options);

	g_mutex_lock(&pool->lock);
	job->result.mail = mail;
	job->done = TRUE;
	g_cond_broadcast(&pool->parsed);
	g_mutex_unlock(&pool->lock);
}

struct parse_pool *parse_pool_new(const struct parse_options *options, int threads)
{
	struct parse_pool *pool = g_new0(struct parse_pool, 1);

	pool->options = options;
	pool->jobs = g_queue_new();
	g_mutex_init(&pool->lock);
	g_cond_init(&pool->parsed);
	/* A private pool: its threads exist only while an import runs. */
	pool->threads = g_thread_pool_new(parse_job, pool, MAX(threads, 1), TRUE, NULL);
	return pool;
}

void parse_pool_push(struct parse_pool *pool, struct source_message *msg)
{
	struct job *job = g_new0(struct job, 1);

	job->result.msg = *msg;
	*msg = (struct source_message){0};
	g_queue_push_tail(pool->jobs, job);
	g_thread_pool_push(pool->threads, job, NULL);
}

guint parse_pool_pending(const struct parse_pool *pool)
{
	return g_queue_get_length(pool->jobs);
}

gboolean parse_pool_pop(struct parse_pool *pool, struct parsed_message *out)
{
	struct job *job = g_queue_pop_head(pool->jobs);

	if (!job)
		return FALSE;
	g_mutex_lock(&pool->lock);
	while (!job->done)
		g_cond_wait(&pool->parsed, &pool->lock);
	g_mutex_unlock(&pool->lock);
	*out = job->result;
	g_free(job);
	return TRUE;
}

void parse_pool_free(struct parse_pool *pool)
{
	struct parsed_message rest;

	if (!pool)
		return;
	/* Wait for the workers, then drop what the caller did not take (a run that stopped). */
	g_thread_pool_free(pool->threads, FALSE, TRUE);
	while (parse_pool_pop(pool, &rest))
		parsed_message_clear(&rest);
	g_queue_free(pool->jobs);
	g_mutex_clear(&pool->lock);
	g_cond_clear(&pool->parsed);
	g_free(pool);
}
