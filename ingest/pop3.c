/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* POP3 through libetpan: implicit TLS or required STLS, the certificate checked before the
 * login, messages named by UIDL. Deletions take effect only when the session ends with QUIT, so
 * a session cut short leaves every message on the server. */
#include <string.h>

#include <libetpan/libetpan.h>

#include "ingest/mailbox.h"
#include "ingest/mailbox_module.h"
#include "ingest/tls_verify.h"

struct pop3_mailbox {
	struct mailbox base;
	mailpop3 *pop3;
};

static void drop_connection(struct pop3_mailbox *m)
{
	if (m->pop3) {
		mailpop3_free(m->pop3);
		m->pop3 = NULL;
	}
	m->base.connected = FALSE;
}

static gboolean is_connection_error(int rc)
{
	return rc == MAILPOP3_ERROR_STREAM || rc == MAILPOP3_ERROR_CONNECTION_REFUSED ||
	       rc == MAILPOP3_ERROR_SSL || rc == MAILPOP3_ERROR_MEMORY ||
	       rc == MAILPOP3_ERROR_BAD_STATE;
}

static gboolean pop3_fail(struct pop3_mailbox *m, int rc, const char *what, GError **error)
{
	const struct mailbox_config *c = m->base.config;
	const char *said = m->pop3 && m->pop3->pop3_response ? m->pop3->pop3_response : NULL;

	if (is_connection_error(rc)) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_CONNECT,
			    "mailbox %s: %s:%d: %s: %s", c->name, c->host, c->port, what,
			    rc == MAILPOP3_ERROR_CONNECTION_REFUSED ? "cannot connect"
			    : rc == MAILPOP3_ERROR_SSL		    ? "the TLS handshake failed"
								    : "the connection was lost");
		drop_connection(m);
	} else {
		g_set_error(error, MAILBOX_ERROR,
			    rc == MAILPOP3_ERROR_BAD_USER || rc == MAILPOP3_ERROR_BAD_PASSWORD ||
				    rc == MAILPOP3_ERROR_DENIED
				? MAILBOX_ERROR_AUTH
				: MAILBOX_ERROR_REFUSED,
			    "mailbox %s: %s: the server said no%s%s", c->name, what,
			    said ? ": " : "", said ? said : "");
	}
	return FALSE;
}

static gboolean offers_stls(struct pop3_mailbox *m)
{
	clist *caps = NULL;
	gboolean found = FALSE;

	if (mailpop3_capa(m->pop3, &caps) != MAILPOP3_NO_ERROR)
		return FALSE;
	for (clistiter *it = clist_begin(caps); it; it = clist_next(it)) {
		struct mailpop3_capa *cap = clist_content(it);
		if (g_ascii_strcasecmp(cap->cap_name, "STLS") == 0)
			found = TRUE;
	}
	mailpop3_capa_resp_free(caps);
	return found;
}

static gboolean start_tls(struct pop3_mailbox *m, GError **error)
{
	const struct mailbox_config *c = m->base.config;
	int rc;

	if (!offers_stls(m)) {
		g_set_error(
		    error, MAILBOX_ERROR, MAILBOX_ERROR_TLS,
		    "mailbox %s: %s:%d does not offer STLS, and TLS is required (only tls = "
		    "none allows a plain-text login)",
		    c->name, c->host, c->port);
		drop_connection(m);
		return FALSE;
	}
	/* Sends STLS, then makes the TLS handshake on the same socket. */
	rc = mailpop3_socket_starttls_with_callback(m->pop3, tls_set_server_name, c->host);
	return rc == MAILPOP3_NO_ERROR
		   ? TRUE
		   : pop3_fail(m, rc == MAILPOP3_ERROR_STREAM ? MAILPOP3_ERROR_SSL : rc, "STLS",
			       error);
}

static gboolean pop3_open(struct mailbox *mb, GError **error)
{
	struct pop3_mailbox *m = (struct pop3_mailbox *)mb;
	const struct mailbox_config *c = mb->config;
	char *secret;
	char *what;
	int rc;

	drop_connection(m);
	m->pop3 = mailpop3_new(0, NULL);
	mailpop3_set_timeout(m->pop3, c->timeout);
	if (c->tls == MAILBOX_TLS_IMPLICIT)
		rc = mailpop3_ssl_connect_with_callback(m->pop3, c->host, c->port,
							tls_set_server_name, c->host);
	else
		rc = mailpop3_socket_connect(m->pop3, c->host, c->port);
	if (rc != MAILPOP3_NO_ERROR)
		return pop3_fail(m, is_connection_error(rc) ? rc : MAILPOP3_ERROR_STREAM,
				 "connecting", error);
	if (c->tls == MAILBOX_TLS_STARTTLS && !start_tls(m, error))
		return FALSE;
	if (c->tls != MAILBOX_TLS_NONE &&
	    !tls_verify_stream(m->pop3->pop3_stream, c->host, c->ca_file, error)) {
		drop_connection(m);
		return FALSE;
	}
	secret = mailbox_login_secret(c, error);
	if (!secret)
		return FALSE;
	rc = mailpop3_user(m->pop3, c->user);
	if (rc == MAILPOP3_NO_ERROR)
		rc = mailpop3_pass(m->pop3, secret);
	mailbox_secret_free(secret);
	if (rc != MAILPOP3_NO_ERROR) {
		what = g_strdup_printf("logging in as %s", c->user);
		pop3_fail(m, is_connection_error(rc) ? rc : MAILPOP3_ERROR_DENIED, what, error);
		g_free(what);
		return FALSE;
	}
	mb->connected = TRUE;
	return TRUE;
}

static gboolean pop3_list(struct mailbox *mb, guint32 above_uid, GArray *out, GError **error)
{
	struct pop3_mailbox *m = (struct pop3_mailbox *)mb;
	carray *list = NULL;
	int rc = mailpop3_list(m->pop3, &list);

	(void)above_uid;
	if (rc != MAILPOP3_NO_ERROR)
		return pop3_fail(m, rc, "listing mail (LIST, UIDL)", error);
	for (guint i = 0; i < carray_count(list); i++) {
		struct mailpop3_msg_info *info = carray_get(list, i);
		struct mailbox_message msg = {0};
		if (!info || info->msg_deleted)
			continue;
		if (!info->msg_uidl) {
			g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_REFUSED,
				    "mailbox %s: the server gives no UIDL, without which mail "
				    "cannot be told apart between sessions",
				    mb->config->name);
			return FALSE;
		}
		msg.id = g_strdup(info->msg_uidl);
		msg.index = info->msg_index;
		msg.size = info->msg_size;
		g_array_append_val(out, msg);
	}
	return TRUE;
}

static gboolean pop3_fetch(struct mailbox *mb, struct mailbox_message *msg, GBytes **raw,
			   GError **error)
{
	struct pop3_mailbox *m = (struct pop3_mailbox *)mb;
	char *text = NULL;
	size_t len = 0;
	int rc = mailpop3_retr(m->pop3, msg->index, &text, &len);

	if (rc != MAILPOP3_NO_ERROR)
		return pop3_fail(m, rc, "fetching a message (RETR)", error);
	*raw = g_bytes_new(text, len);
	mailpop3_retr_free(text);
	return TRUE;
}

static gboolean pop3_acknowledge(struct mailbox *mb, const struct mailbox_message *msg,
				 GError **error)
{
	struct pop3_mailbox *m = (struct pop3_mailbox *)mb;
	int rc;

	if (mb->config->after != MAILBOX_AFTER_DELETE)
		return TRUE;
	rc = mailpop3_dele(m->pop3, msg->index);
	return rc == MAILPOP3_NO_ERROR ? TRUE : pop3_fail(m, rc, "DELE", error);
}

static gboolean pop3_close(struct mailbox *mb, GError **error)
{
	struct pop3_mailbox *m = (struct pop3_mailbox *)mb;
	gboolean ok = TRUE;

	if (m->pop3 && mb->connected) {
		int rc = mailpop3_quit(m->pop3);
		if (rc != MAILPOP3_NO_ERROR)
			ok = pop3_fail(m, rc, "QUIT (deletions are kept for the next session)",
				       error);
	}
	drop_connection(m);
	return ok;
}

static void pop3_free(struct mailbox *mb)
{
	struct pop3_mailbox *m = (struct pop3_mailbox *)mb;

	/* Without QUIT, nothing marked for deletion is deleted. */
	drop_connection(m);
	g_free(mb);
}

static const struct mailbox_ops pop3_ops = {
    .open = pop3_open,
    .list = pop3_list,
    .fetch = pop3_fetch,
    .acknowledge = pop3_acknowledge,
    .close = pop3_close,
    .free = pop3_free,
};

struct mailbox *pop3_mailbox_new(const struct mailbox_config *config)
{
	struct pop3_mailbox *m = g_new0(struct pop3_mailbox, 1);

	m->base.ops = &pop3_ops;
	m->base.config = config;
	return &m->base;
}
