/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing on several cores while everything with side effects (journal, desk, quarantine) stays on
 * the calling thread, in the order the messages were read; and parsing with a time limit. The
 * parser cannot be stopped: a mail it takes too long over is handed back unparsed, and its
 * thread is left to finish it and free what it made, while a new thread goes on with the rest. */
#ifndef M2T_FLOW_PARSE_POOL_H
#define M2T_FLOW_PARSE_POOL_H

#include "ingest/source.h"
#include "parsers/mail_parse.h"

struct parsed_message {
	struct source_message msg;
	struct mail *mail;  /* NULL when timed_out */
	gboolean timed_out; /* the parser ran past the time limit */
};
void parsed_message_clear(struct parsed_message *p);

struct parse_pool;

/* threads parsers using options (copied), each mail allowed timeout_seconds (0: no limit). Free
 * with parse_pool_free(). */
struct parse_pool *parse_pool_new(const struct parse_options *options, int threads,
				  int timeout_seconds);
void parse_pool_free(struct parse_pool *pool);

/* Hand a message to the workers (takes msg's contents, clearing msg). */
void parse_pool_push(struct parse_pool *pool, struct source_message *msg);
/* Whether to push more: the messages pushed and not yet popped are kept to a few per worker and,
 * past one per worker, to 32 MB, so memory stays bounded. */
gboolean parse_pool_has_room(const struct parse_pool *pool);
/* The oldest pushed message, parsed (or timed out), waiting for it if need be; FALSE when none
 * is pending. */
gboolean parse_pool_pop(struct parse_pool *pool, struct parsed_message *out);

/* raw parsed on a thread of its own within seconds (0: no limit): the mail (free with
 * mail_free()), or NULL when the parser did not finish in time. */
struct mail *parse_within(GBytes *raw, const struct parse_options *options, int seconds);

#endif
