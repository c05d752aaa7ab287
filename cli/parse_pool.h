/* Parsing on several cores while everything with side effects (journal, desk, quarantine) stays on
 * the calling thread, in the order the messages were read. */
#ifndef M2T_CLI_PARSE_POOL_H
#define M2T_CLI_PARSE_POOL_H

#include "ingest/source.h"
#include "parsers/mail_parse.h"

struct parsed_message {
	struct source_message msg;
	struct mail *mail;
};
void parsed_message_clear(struct parsed_message *p);

struct parse_pool;

/* threads parsers using options (borrowed; must outlive the pool). Free with parse_pool_free(). */
struct parse_pool *parse_pool_new(const struct parse_options *options, int threads);
void parse_pool_free(struct parse_pool *pool);

/* Hand a message to the workers (takes msg's contents, clearing msg). */
void parse_pool_push(struct parse_pool *pool, struct source_message *msg);
/* Whether to push more: the messages pushed and not yet popped are kept to a few per worker and,
 * past one per worker, to 32 MB, so memory stays bounded. */
gboolean parse_pool_has_room(const struct parse_pool *pool);
/* The oldest pushed message, parsed, waiting for it if need be; FALSE when none is pending. */
gboolean parse_pool_pop(struct parse_pool *pool, struct parsed_message *out);

#endif
