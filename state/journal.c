/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal's interface (journal.h): the backend table and the calls every backend serves. */
#include "state/journal.h"

#include <string.h>

#include "modules/module.h"

G_DEFINE_QUARK(mail2ticket-journal-error-quark, journal_error)

/* PostgreSQL is a module (modules/module.h), loaded when a journal of its kind is opened: this
 * entry has its name, and the journal opened has the module's ops. */
static const struct journal_pg_module *pg_module(GError **error)
{
	GError *load_error = NULL;
	const struct journal_pg_module *module =
	    module_table(M2T_MODULE_POSTGRESQL, &load_error);

	if (!module) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_UNAVAILABLE, "%s",
			    load_error->message);
		g_error_free(load_error);
	}
	return module;
}

static struct journal *pg_open(const struct journal_settings *settings, GError **error)
{
	const struct journal_pg_module *module = pg_module(error);

	return module ? module->ops->open(settings, error) : NULL;
}

gboolean journal_pg_parse_url(const char *url, gboolean *parsed, gboolean *has_password,
			      GError **error)
{
	const struct journal_pg_module *module = pg_module(error);

	if (!module)
		return FALSE;
	*parsed = module->parse_url(url, has_password);
	return TRUE;
}

const struct journal_ops journal_pg = {
    .name = "postgresql",
    .open = pg_open,
};

const struct journal_ops *const journal_backends[] = {
    &journal_sqlite,
    &journal_pg,
    NULL,
};

static const char *const state_names[] = {
    [JOURNAL_PENDING] = "pending",	   [JOURNAL_DELIVERED] = "delivered",
    [JOURNAL_FAILED] = "failed",	   [JOURNAL_QUARANTINED] = "quarantined",
    [JOURNAL_DROPPED] = "dropped",
};

const char *journal_state_name(enum journal_state state)
{
	return state_names[state];
}

enum journal_state journal_state_from_name(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(state_names); i++)
		if (g_strcmp0(state_names[i], name) == 0)
			return (enum journal_state)i;
	return JOURNAL_PENDING;
}

void journal_entry_clear(struct journal_entry *e)
{
	g_free(e->key);
	g_free(e->ticket_id);
	g_free(e->ticket_tid);
	g_free(e->last_error);
	*e = (struct journal_entry){0};
}

void journal_count_free(struct journal_count *count)
{
	g_free(count->source);
	g_free(count->outcome);
	g_free(count);
}

void journal_problem_free(struct journal_problem *problem)
{
	g_free(problem->key);
	g_free(problem->source);
	g_free(problem->subject);
	g_free(problem->error);
	g_free(problem);
}

void journal_work_unit_clear(struct journal_work_unit *unit)
{
	g_free(unit->mails);
	g_free(unit->former_owner);
	*unit = (struct journal_work_unit){0};
}

const struct journal_ops *journal_backend_find(const char *kind)
{
	if (!kind)
		return journal_backends[0];
	for (gsize i = 0; journal_backends[i]; i++)
		if (strcmp(journal_backends[i]->name, kind) == 0)
			return journal_backends[i];
	return NULL;
}

struct journal *journal_open_with(const struct journal_settings *settings, GError **error)
{
	const struct journal_ops *ops = journal_backend_find(settings->kind);
	GString *known;

	if (ops)
		return ops->open(settings, error);
	known = g_string_new(NULL);
	for (gsize i = 0; journal_backends[i]; i++)
		g_string_append_printf(known, "%s%s", i ? ", " : "", journal_backends[i]->name);
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_KIND,
		    "no journal of kind \"%s\" (this mail2ticket knows %s)", settings->kind,
		    known->str);
	g_string_free(known, TRUE);
	return NULL;
}

struct journal *journal_open(const char *path, gboolean read_only, int busy_timeout_ms,
			     GError **error)
{
	const struct journal_settings settings = {
	    .kind = journal_sqlite.name,
	    .path = path,
	    .read_only = read_only,
	    .busy_timeout_ms = busy_timeout_ms,
	};

	return journal_open_with(&settings, error);
}

void journal_close(struct journal *journal)
{
	if (journal)
		journal->ops->close(journal);
}

gboolean journal_lock_mail(struct journal *journal, const char *key, GError **error)
{
	return journal->ops->lock_mail(journal, key, error);
}

void journal_unlock_mail(struct journal *journal, const char *key)
{
	journal->ops->unlock_mail(journal, key);
}

gboolean journal_lookup(struct journal *journal, const char *key, struct journal_entry *out,
			gboolean *found, GError **error)
{
	return journal->ops->lookup(journal, key, out, found, error);
}

gboolean journal_begin_attempt(struct journal *journal, const char *key,
			       const struct journal_mail_info *info, const char *write,
			       GError **error)
{
	return journal->ops->begin_attempt(journal, key, info, write, error);
}

gboolean journal_claim_legacy_key(struct journal *journal, const char *legacy, const char *key,
				  const struct journal_mail_info *info, gboolean *claimed,
				  GError **error)
{
	return journal->ops->claim_legacy_key(journal, legacy, key, info, claimed, error);
}

gboolean journal_earlier_writes(struct journal *journal, const char *key, GPtrArray **writes,
				GError **error)
{
	return journal->ops->earlier_writes(journal, key, writes, error);
}

gboolean journal_mark_delivered(struct journal *journal, const char *key, const char *action,
				const char *ticket_id, const char *ticket_tid, const char *why,
				GError **error)
{
	return journal->ops->mark_delivered(journal, key, action, ticket_id, ticket_tid, why,
					    error);
}

gboolean journal_mark_failed(struct journal *journal, const char *key, const char *reason,
			     GError **error)
{
	return journal->ops->mark_failed(journal, key, reason, error);
}

gboolean journal_mark_unanswered(struct journal *journal, const char *key, const char *reason,
				 GError **error)
{
	return journal->ops->mark_unanswered(journal, key, reason, error);
}

gboolean journal_mark_quarantined(struct journal *journal, const char *key,
				  const struct journal_mail_info *info, const char *where,
				  const char *reason, GError **error)
{
	return journal->ops->mark_quarantined(journal, key, info, where, reason, error);
}

gboolean journal_mark_dropped(struct journal *journal, const char *key,
			      const struct journal_mail_info *info, const char *reason,
			      GError **error)
{
	return journal->ops->mark_dropped(journal, key, info, reason, error);
}

gboolean journal_ticket_opened_by_another(struct journal *journal, const char *ticket_id,
					  const char *key, gboolean *yes, GError **error)
{
	return journal->ops->ticket_opened_by_another(journal, ticket_id, key, yes, error);
}

gboolean journal_ticket_of_message(struct journal *journal, const char *message_id, char **tid,
				   char **id, GError **error)
{
	return journal->ops->ticket_of_message(journal, message_id, tid, id, error);
}

gboolean journal_count_opened_since(struct journal *journal, const char *sender, gint64 since,
				    guint *count, GError **error)
{
	return journal->ops->count_opened_since(journal, sender, since, count, error);
}

gboolean journal_checkpoint_get(struct journal *journal, const char *path, const char *fingerprint,
				guint64 *handled, GError **error)
{
	return journal->ops->checkpoint_get(journal, path, fingerprint, handled, error);
}

gboolean journal_checkpoint_set(struct journal *journal, const char *path, const char *fingerprint,
				guint64 handled, GError **error)
{
	return journal->ops->checkpoint_set(journal, path, fingerprint, handled, error);
}

gboolean journal_mailbox_mark_get(struct journal *journal, const char *mailbox,
				  struct journal_mailbox_mark *out, gboolean *found, GError **error)
{
	return journal->ops->mailbox_mark_get(journal, mailbox, out, found, error);
}

gboolean journal_mailbox_mark_set(struct journal *journal, const char *mailbox,
				  const struct journal_mailbox_mark *mark, GError **error)
{
	return journal->ops->mailbox_mark_set(journal, mailbox, mark, error);
}

gboolean journal_item_get(struct journal *journal, const char *mailbox, const char *item,
			  int *failures, char **reason, gboolean *seen, GError **error)
{
	return journal->ops->item_get(journal, mailbox, item, failures, reason, seen, error);
}

gboolean journal_item_count_failure(struct journal *journal, const char *mailbox, const char *item,
				    int delta, const char *reason, GError **error)
{
	return journal->ops->item_count_failure(journal, mailbox, item, delta, reason, error);
}

gboolean journal_item_finish(struct journal *journal, const char *mailbox, const char *item,
			     gboolean keep_seen, GError **error)
{
	return journal->ops->item_finish(journal, mailbox, item, keep_seen, error);
}

gboolean journal_items_seen(struct journal *journal, const char *mailbox, GHashTable *seen,
			    GError **error)
{
	return journal->ops->items_seen(journal, mailbox, seen, error);
}

gboolean journal_items_forget_absent(struct journal *journal, const char *mailbox,
				     GHashTable *present, GError **error)
{
	return journal->ops->items_forget_absent(journal, mailbox, present, error);
}

gboolean journal_stats(struct journal *journal, gint64 since, guint max_problems,
		       GPtrArray **counts, GPtrArray **problems, guint *waiting, GError **error)
{
	return journal->ops->stats(journal, since, max_problems, counts, problems, waiting, error);
}

gboolean journal_lease_take(struct journal *journal, const char *name, const char *owner,
			    guint seconds, gboolean *held, char **previous, GError **error)
{
	return journal->ops->lease_take(journal, name, owner, seconds, held, previous, error);
}

gboolean journal_lease_release(struct journal *journal, const char *name, const char *owner,
			       GError **error)
{
	return journal->ops->lease_release(journal, name, owner, error);
}

gboolean journal_work_plan(struct journal *journal, const char *archive, const char *fingerprint,
			   const GPtrArray *units, gint64 *plan, gboolean *recorded, GError **error)
{
	return journal->ops->work_plan(journal, archive, fingerprint, units, plan, recorded,
				       error);
}

gboolean journal_work_claim(struct journal *journal, gint64 plan, const char *owner,
			    int lease_seconds, const GArray *skip, struct journal_work_unit *out,
			    gboolean *found, guint *held, GError **error)
{
	return journal->ops->work_claim(journal, plan, owner, lease_seconds, skip, out, found,
					held, error);
}

gboolean journal_work_renew(struct journal *journal, gint64 plan, guint unit, const char *owner,
			    int lease_seconds, gboolean *held, GError **error)
{
	return journal->ops->work_renew(journal, plan, unit, owner, lease_seconds, held, error);
}

gboolean journal_work_release(struct journal *journal, gint64 plan, guint unit,
			      const char *owner, gboolean finished, gboolean *held, GError **error)
{
	return journal->ops->work_release(journal, plan, unit, owner, finished, held, error);
}

gboolean journal_work_left(struct journal *journal, gint64 plan, guint *units, guint *left,
			   GError **error)
{
	return journal->ops->work_left(journal, plan, units, left, error);
}
