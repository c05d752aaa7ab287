/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A desk that does nothing: every ticket it opens is number 1, every reply is taken, and it has
 * no keys of its own. tests/arch/new_desk.sh adds it as desk/null.c, with one line in the desk
 * table, to show that a new kind of desk needs nothing else. */
#include "desk/desk_backend.h"

static gboolean null_open_ticket(struct desk *desk, const struct desk_ticket_request *req,
				 struct desk_ticket *out, GError **error)
{
	(void)desk, (void)error;
	out->id = g_strdup("1");
	out->tid = g_strdup("1");
	out->subject = g_strdup(req->subject);
	return TRUE;
}

static gboolean null_add_reply(struct desk *desk, const struct desk_reply_request *req,
			       GError **error)
{
	(void)desk, (void)req, (void)error;
	return TRUE;
}

static gboolean null_get_ticket(struct desk *desk, const char *tid, struct desk_ticket *out,
				GError **error)
{
	(void)desk, (void)error;
	out->id = g_strdup(tid);
	out->tid = g_strdup(tid);
	out->status = g_strdup("Open");
	return TRUE;
}

static gboolean null_find_opened_ticket(struct desk *desk, const struct desk_ticket_request *req,
					const struct desk_ticket_filter *others,
					struct desk_ticket *out, gboolean *found, GError **error)
{
	(void)desk, (void)req, (void)others, (void)out, (void)error;
	*found = FALSE;
	return TRUE;
}

static gboolean null_check_access(struct desk *desk, GError **error)
{
	(void)desk, (void)error;
	return TRUE;
}

static gboolean null_is_client_contact(struct desk *desk, const char *userid, const char *email,
				       gboolean *yes, GError **error)
{
	(void)desk, (void)userid, (void)email, (void)error;
	*yes = FALSE;
	return TRUE;
}

static void null_destroy(struct desk *desk)
{
	g_free(desk);
}

static const struct desk_ops null_ops = {
    .open_ticket = null_open_ticket,
    .add_reply = null_add_reply,
    .get_ticket = null_get_ticket,
    .find_opened_ticket = null_find_opened_ticket,
    .check_access = null_check_access,
    .is_client_contact = null_is_client_contact,
    .destroy = null_destroy,
};

static struct desk *null_desk_new(const struct config *config, FILE *dry_run, GError **error)
{
	struct desk *desk = g_new0(struct desk, 1);

	(void)config, (void)dry_run, (void)error;
	desk->ops = &null_ops;
	return desk;
}

const struct desk_backend null_backend = {
    .name = "null",
    .title = "Null",
    .desk_new = null_desk_new,
};
