/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The desk interface (desk.h): what every backend shares, and the message composed for it. */
#include "desk/desk.h"

#include <stdlib.h>
#include <string.h>

#include "desk/compare_text.h"
#include "desk/desk_backend.h"
#include "desk/http.h"
#include "desk/json_write.h"

G_DEFINE_QUARK(mail2ticket-desk-error-quark, desk_error)

gboolean desk_error_is_temporary(const GError *error)
{
	return error && error->domain == DESK_ERROR &&
	       (error->code == DESK_ERROR_TEMPORARY || error->code == DESK_ERROR_AUTH ||
		error->code == DESK_ERROR_TIMED_OUT);
}

gboolean desk_same_text(const char *a, const char *b)
{
	char *fa = compare_text_form(a, strlen(a));
	char *fb = compare_text_form(b, strlen(b));
	gboolean same = strcmp(fa, fb) == 0;

	g_free(fa);
	g_free(fb);
	return same;
}

guint desk_ticket_count_text(const struct desk_ticket *ticket, const char *text)
{
	char *form = compare_text_form(text, strlen(text));
	guint same = 0;

	for (guint i = 0; ticket->messages && i < ticket->messages->len; i++) {
		const char *m = g_ptr_array_index(ticket->messages, i);
		char *fm = compare_text_form(m, strlen(m));
		same += strcmp(fm, form) == 0;
		g_free(fm);
	}
	g_free(form);
	return same;
}

void desk_ticket_clear(struct desk_ticket *t)
{
	g_free(t->id);
	g_free(t->tid);
	g_free(t->c);
	g_free(t->deptid);
	g_free(t->status);
	g_free(t->name);
	g_free(t->email);
	g_free(t->cc);
	g_free(t->userid);
	g_free(t->subject);
	if (t->messages)
		g_ptr_array_unref(t->messages);
	*t = (struct desk_ticket){0};
}

void desk_ticket_copy(const struct desk_ticket *from, struct desk_ticket *out)
{
	*out = (struct desk_ticket){
	    .id = g_strdup(from->id),
	    .tid = g_strdup(from->tid),
	    .c = g_strdup(from->c),
	    .deptid = g_strdup(from->deptid),
	    .status = g_strdup(from->status),
	    .name = g_strdup(from->name),
	    .email = g_strdup(from->email),
	    .cc = g_strdup(from->cc),
	    .userid = g_strdup(from->userid),
	    .subject = g_strdup(from->subject),
	};
	if (from->messages) {
		out->messages = g_ptr_array_new_full(from->messages->len, g_free);
		for (guint i = 0; i < from->messages->len; i++)
			g_ptr_array_add(out->messages,
					g_strdup(g_ptr_array_index(from->messages, i)));
	}
}

void desk_department_free(struct desk_department *dept)
{
	g_free(dept->id);
	g_free(dept->name);
	g_free(dept);
}

void desk_print_dry_run_call(FILE *out, const char *kind, const char *url, const char *action,
			     json_t *params)
{
	json_t *line = json_pack("{s:s, s:s, s:s, s:o}", "desk", kind, "url", url, "action",
				 action, "params", params);
	/* One string, one write: jansson writing to a FILE hands it each token on its own
	 * (a locked fwrite each). */
	GString *text = g_string_sized_new(4096);

	json_write_compact(text, line);
	g_string_append_c(text, '\n');
	fwrite(text->str, 1, text->len, out);
	fflush(out);
	g_string_free(text, TRUE);
	json_decref(line);
}

void desk_load_early(void)
{
	/* Every desk speaks HTTP. */
	http_load_early();
}

struct desk *desk_new(const struct config *config, FILE *dry_run, GError **error)
{
	const struct desk_backend *backend = desk_backend_lookup(config->desk.kind);
	struct desk *desk;

	/* config_load() admits only kinds that have a backend. */
	if (!backend) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_REFUSED, "no backend for desk kind '%s'",
			    config->desk.kind);
		return NULL;
	}
	desk = backend->desk_new(config, dry_run, error);
	if (desk)
		desk->capabilities = backend->capabilities;
	return desk;
}

void desk_free(struct desk *desk)
{
	if (desk)
		desk->ops->destroy(desk);
}

gboolean desk_can(const struct desk *desk, enum desk_capability capability)
{
	return (desk->capabilities & capability) != 0;
}

gboolean desk_open_ticket(struct desk *desk, const struct desk_ticket_request *req,
			  struct desk_ticket *out, GError **error)
{
	return desk->ops->open_ticket(desk, req, out, error);
}

gboolean desk_add_reply(struct desk *desk, const struct desk_reply_request *req, GError **error)
{
	return desk->ops->add_reply(desk, req, error);
}

gboolean desk_get_ticket(struct desk *desk, const char *tid, struct desk_ticket *out,
			 GError **error)
{
	return desk->ops->get_ticket(desk, tid, out, error);
}

gboolean desk_find_opened_ticket(struct desk *desk, const struct desk_ticket_request *req,
				 const struct desk_ticket_filter *others, struct desk_ticket *out,
				 gboolean *found, GError **error)
{
	return desk->ops->find_opened_ticket(desk, req, others, out, found, error);
}

gboolean desk_ticket_filter_names(const struct desk_ticket_filter *others, const char *id,
				  gboolean *yes, GError **error)
{
	*yes = FALSE;
	return !others || !id || others->names(others, id, yes, error);
}

gboolean desk_list_departments(struct desk *desk, GPtrArray **out, GError **error)
{
	*out = NULL;
	if (!desk->ops->list_departments)
		return desk->ops->check_access(desk, error);
	return desk->ops->list_departments(desk, out, error);
}

gboolean desk_is_client_contact(struct desk *desk, const char *userid, const char *email,
				gboolean *yes, GError **error)
{
	return desk->ops->is_client_contact(desk, userid, email, yes, error);
}

gboolean desk_log_in(struct desk *desk, char **said, GError **error)
{
	*said = NULL;
	return !desk->ops->log_in || desk->ops->log_in(desk, said, error);
}

static char *address_text(const struct desk_address *a)
{
	return a->name && *a->name ? g_strdup_printf("%s <%s>", a->name, a->email)
				   : g_strdup(a->email);
}

char *desk_compose_message(const struct desk_ticket_request *req, enum cc_mode cc_mode)
{
	GString *text = g_string_new(NULL);

	if (cc_mode == CC_MODE_TEXT && req->n_cc > 0) {
		g_string_append(text, "Cc: ");
		for (gsize i = 0; i < req->n_cc; i++) {
			char *a = address_text(&req->cc[i]);
			g_string_append_printf(text, "%s%s", i ? ", " : "", a);
			g_free(a);
		}
		g_string_append(text, "\n\n");
	}
	g_string_append(text, req->message);
	return g_string_free(text, FALSE);
}
