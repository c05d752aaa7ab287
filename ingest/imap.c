/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IMAP through libetpan: implicit TLS or required STARTTLS, the certificate checked before the
 * login, UID-based listing and fetching with BODY.PEEK[], MOVE (or COPY, \Deleted and UID
 * EXPUNGE) and IDLE. */
#include <string.h>

#include <libetpan/libetpan.h>

#include "ingest/mailbox.h"
#include "ingest/mailbox_module.h"
#include "ingest/tls_verify.h"

struct imap_mailbox {
	struct mailbox base;
	mailimap *imap;
	gboolean has_move;
	gboolean has_uidplus;
	gboolean has_idle;
	gboolean idling;
};

static void drop_connection(struct imap_mailbox *m)
{
	if (m->imap) {
		mailimap_free(m->imap);
		m->imap = NULL;
	}
	m->base.connected = FALSE;
	m->idling = FALSE;
}

/* The connection is gone after these; after the others the server only said no. */
static gboolean is_connection_error(int rc)
{
	return rc == MAILIMAP_ERROR_STREAM || rc == MAILIMAP_ERROR_CONNECTION_REFUSED ||
	       rc == MAILIMAP_ERROR_FATAL || rc == MAILIMAP_ERROR_PARSE ||
	       rc == MAILIMAP_ERROR_SSL || rc == MAILIMAP_ERROR_MEMORY ||
	       rc == MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION || rc == MAILIMAP_ERROR_BAD_STATE;
}

static gboolean imap_fail(struct imap_mailbox *m, int rc, const char *what, GError **error)
{
	const struct mailbox_config *c = m->base.config;
	const char *said = m->imap && m->imap->imap_response ? m->imap->imap_response : NULL;

	if (is_connection_error(rc)) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_CONNECT,
			    "mailbox %s: %s:%d: %s: %s", c->name, c->host, c->port, what,
			    rc == MAILIMAP_ERROR_CONNECTION_REFUSED ? "cannot connect"
			    : rc == MAILIMAP_ERROR_SSL		    ? "the TLS handshake failed"
								    : "the connection was lost");
		drop_connection(m);
	} else {
		g_set_error(error, MAILBOX_ERROR,
			    rc == MAILIMAP_ERROR_LOGIN || rc == MAILIMAP_ERROR_SASL
				? MAILBOX_ERROR_AUTH
				: MAILBOX_ERROR_REFUSED,
			    "mailbox %s: %s: the server said no%s%s", c->name, what,
			    said ? ": " : "", said ? said : "");
	}
	return FALSE;
}

/* A folder name as IMAP writes it: non-ASCII text and '&' in modified UTF-7 (RFC 3501, 5.1.3),
 * which glibc's iconv knows as UTF-7-IMAP. The config holds names as the user reads them
 * ("Archiv/Entwürfe"), the server takes "Archiv/Entw&APw-rfe". Newly allocated. */
static char *wire_folder_name(const char *name)
{
	/* Names in the config are UTF-8 (GKeyFile and GUri check), which always converts. */
	char *wire = g_convert(name, -1, "UTF-7-IMAP", "UTF-8", NULL, NULL, NULL);

	return wire ? wire : g_strdup(name);
}

static void refresh_capabilities(struct imap_mailbox *m)
{
	struct mailimap_capability_data *cap = NULL;

	if (mailimap_capability(m->imap, &cap) == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(cap);
}

static gboolean start_tls(struct imap_mailbox *m, GError **error)
{
	const struct mailbox_config *c = m->base.config;
	int rc;

	refresh_capabilities(m);
	if (!mailimap_has_extension(m->imap, "STARTTLS")) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_TLS,
			    "mailbox %s: %s:%d does not offer STARTTLS, and TLS is required (only "
			    "tls = none allows a plain-text login)",
			    c->name, c->host, c->port);
		drop_connection(m);
		return FALSE;
	}
	/* Sends STARTTLS, then makes the TLS handshake on the same socket. */
	rc = mailimap_socket_starttls_with_callback(m->imap, tls_set_server_name, c->host);
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(m, rc == MAILIMAP_ERROR_STREAM ? MAILIMAP_ERROR_SSL : rc,
				 "STARTTLS", error);
	return TRUE;
}

static gboolean log_in(struct imap_mailbox *m, GError **error)
{
	const struct mailbox_config *c = m->base.config;
	char *secret = mailbox_login_secret(c, error);
	char *what;
	int rc;

	if (!secret)
		return FALSE;
	switch (c->auth) {
	case MAILBOX_AUTH_XOAUTH2:
		rc = mailimap_oauth2_authenticate(m->imap, c->user, secret);
		break;
	case MAILBOX_AUTH_PLAIN:
		rc = mailimap_authenticate(m->imap, "PLAIN", c->host, NULL, NULL, c->user, c->user,
					   secret, NULL);
		break;
	default:
		rc = mailimap_login(m->imap, c->user, secret);
		break;
	}
	mailbox_secret_free(secret);
	if (rc == MAILIMAP_NO_ERROR)
		return TRUE;
	what = g_strdup_printf("logging in as %s", c->user);
	if (!is_connection_error(rc))
		rc = MAILIMAP_ERROR_LOGIN;
	imap_fail(m, rc, what, error);
	g_free(what);
	return FALSE;
}

/* The folders mail is moved to exist before the first mail needs them. *created (may be NULL):
 * the folder was missing and is made now. */
static gboolean ensure_folder(struct imap_mailbox *m, const char *folder, gboolean *created,
			      GError **error)
{
	char *wire = wire_folder_name(folder);
	clist *found = NULL;
	int rc = mailimap_list(m->imap, "", wire, &found);
	gboolean exists = rc == MAILIMAP_NO_ERROR && found && clist_count(found) > 0;
	char *what;

	if (found)
		mailimap_list_result_free(found);
	if (rc != MAILIMAP_NO_ERROR && is_connection_error(rc)) {
		g_free(wire);
		return imap_fail(m, rc, "LIST", error);
	}
	if (!exists)
		rc = mailimap_create(m->imap, wire);
	g_free(wire);
	if (created)
		*created = !exists && rc == MAILIMAP_NO_ERROR;
	if (exists || rc == MAILIMAP_NO_ERROR)
		return TRUE;
	what = g_strdup_printf("creating folder %s", folder);
	imap_fail(m, rc, what, error);
	g_free(what);
	return FALSE;
}

static gboolean imap_open(struct mailbox *mb, GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;
	const struct mailbox_config *c = mb->config;
	char *wire;
	int rc;

	drop_connection(m);
	m->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(m->imap, c->timeout);
	if (c->tls == MAILBOX_TLS_IMPLICIT)
		rc = mailimap_ssl_connect_with_callback(m->imap, c->host, c->port,
							tls_set_server_name, c->host);
	else
		rc = mailimap_socket_connect(m->imap, c->host, c->port);
	if (rc != MAILIMAP_NO_ERROR_AUTHENTICATED && rc != MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
		return imap_fail(m, is_connection_error(rc) ? rc : MAILIMAP_ERROR_STREAM,
				 "connecting", error);
	if (c->tls == MAILBOX_TLS_STARTTLS && !start_tls(m, error))
		return FALSE;
	if (c->tls != MAILBOX_TLS_NONE &&
	    !tls_verify_stream(m->imap->imap_stream, c->host, c->ca_file, error)) {
		drop_connection(m);
		return FALSE;
	}
	refresh_capabilities(m);
	if (!log_in(m, error))
		return FALSE;
	refresh_capabilities(m);
	m->has_move = mailimap_has_extension(m->imap, "MOVE");
	m->has_uidplus = mailimap_has_uidplus(m->imap);
	m->has_idle = mailimap_has_idle(m->imap);
	if ((c->after == MAILBOX_AFTER_MOVE && !ensure_folder(m, c->after_folder, NULL, error)) ||
	    (c->failed_folder && !ensure_folder(m, c->failed_folder, NULL, error)))
		return FALSE;
	wire = wire_folder_name(c->folder);
	rc = mailimap_select(m->imap, wire);
	g_free(wire);
	if (rc != MAILIMAP_NO_ERROR) {
		char *what = g_strdup_printf("selecting folder %s", c->folder);
		imap_fail(m, rc, what, error);
		g_free(what);
		return FALSE;
	}
	mb->uidvalidity = m->imap->imap_selection_info->sel_uidvalidity;
	mb->uidnext = m->imap->imap_selection_info->sel_uidnext;
	mb->connected = TRUE;
	return TRUE;
}

static void read_attributes(struct mailimap_msg_att *att, struct mailbox_message *msg,
			    const char **body, gsize *body_len)
{
	for (clistiter *it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
			clist *flags = item->att_data.att_dyn->att_list;
			for (clistiter *f = flags ? clist_begin(flags) : NULL; f;
			     f = clist_next(f)) {
				struct mailimap_flag_fetch *ff = clist_content(f);
				if (ff->fl_type == MAILIMAP_FLAG_FETCH_OTHER &&
				    ff->fl_flag->fl_type == MAILIMAP_FLAG_SEEN)
					msg->seen = TRUE;
			}
			continue;
		}
		switch (item->att_data.att_static->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			msg->uid = item->att_data.att_static->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			msg->size = item->att_data.att_static->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (body) {
				*body = item->att_data.att_static->att_data.att_body_section
					    ->sec_body_part;
				*body_len = item->att_data.att_static->att_data.att_body_section
						->sec_length;
			}
			break;
		}
	}
}

static gint by_uid(gconstpointer a, gconstpointer b)
{
	guint32 x = ((const struct mailbox_message *)a)->uid;
	guint32 y = ((const struct mailbox_message *)b)->uid;

	return x < y ? -1 : x > y;
}

static gboolean imap_list(struct mailbox *mb, guint32 above_uid, GArray *out, GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;
	struct mailimap_fetch_type *what = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set;
	clist *result = NULL;
	int rc;

	/* The count libetpan keeps is only as fresh as the server's last untagged EXISTS: outside
	 * IDLE nothing brings one between passes, and the EXPUNGE after our own MOVE lowers it,
	 * so an empty folder would look empty for good. NOOP fetches the news first. */
	if (m->imap->imap_selection_info->sel_exists == 0 &&
	    (rc = mailimap_noop(m->imap)) != MAILIMAP_NO_ERROR) {
		mailimap_fetch_type_free(what);
		return imap_fail(m, rc, "checking for new mail (NOOP)", error);
	}
	/* An empty folder needs no UID FETCH. */
	if (m->imap->imap_selection_info->sel_exists == 0) {
		mailimap_fetch_type_free(what);
		return TRUE;
	}
	set = mailimap_set_new_interval(above_uid + 1, 0);
	mailimap_fetch_type_new_fetch_att_list_add(what, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(what, mailimap_fetch_att_new_flags());
	mailimap_fetch_type_new_fetch_att_list_add(what, mailimap_fetch_att_new_rfc822_size());
	rc = mailimap_uid_fetch(m->imap, set, what, &result);
	mailimap_set_free(set);
	mailimap_fetch_type_free(what);
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(m, rc, "listing new mail (UID FETCH)", error);
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		struct mailbox_message msg = {0};
		read_attributes(clist_content(it), &msg, NULL, NULL);
		/* "n:*" also answers with the last message when its UID is below n. */
		if (msg.uid <= above_uid)
			continue;
		msg.id = g_strdup_printf("%u:%u", mb->uidvalidity, msg.uid);
		g_array_append_val(out, msg);
	}
	mailimap_fetch_list_free(result);
	g_array_sort(out, by_uid);
	return TRUE;
}

static gboolean imap_fetch(struct mailbox *mb, struct mailbox_message *msg, GBytes **raw,
			   GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;
	struct mailimap_fetch_type *what = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_set *set = mailimap_set_new_single(msg->uid);
	clist *result = NULL;
	const char *body = NULL;
	gsize len = 0;
	int rc;

	mailimap_fetch_type_new_fetch_att_list_add(what, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(
	    what, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	rc = mailimap_uid_fetch(m->imap, set, what, &result);
	mailimap_set_free(set);
	mailimap_fetch_type_free(what);
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(m, rc, "fetching a message (UID FETCH BODY.PEEK[])", error);
	for (clistiter *it = clist_begin(result); it && !body; it = clist_next(it)) {
		struct mailbox_message got = {0};
		const char *b = NULL;
		gsize l = 0;
		read_attributes(clist_content(it), &got, &b, &l);
		if (got.uid == msg->uid)
			body = b, len = l;
	}
	if (!body) {
		mailimap_fetch_list_free(result);
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_REFUSED,
			    "mailbox %s: UID %u is gone from %s", mb->config->name, msg->uid,
			    mb->config->folder);
		return FALSE;
	}
	*raw = g_bytes_new(body, len);
	mailimap_fetch_list_free(result);
	return TRUE;
}

static gboolean add_flag(struct imap_mailbox *m, guint32 uid, struct mailimap_flag *flag,
			 GError **error)
{
	struct mailimap_flag_list *flags = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *store;
	struct mailimap_set *set = mailimap_set_new_single(uid);
	int rc;

	mailimap_flag_list_add(flags, flag);
	store = mailimap_store_att_flags_new_add_flags_silent(flags);
	rc = mailimap_uid_store(m->imap, set, store);
	mailimap_store_att_flags_free(store);
	mailimap_set_free(set);
	return rc == MAILIMAP_NO_ERROR ? TRUE
				       : imap_fail(m, rc, "setting a flag (UID STORE)", error);
}

/* Without UIDPLUS, EXPUNGE also removes what others marked \Deleted; that is what they asked. */
static gboolean expunge(struct imap_mailbox *m, guint32 uid, GError **error)
{
	struct mailimap_set *set;
	int rc;

	if (!add_flag(m, uid, mailimap_flag_new_deleted(), error))
		return FALSE;
	if (!m->has_uidplus) {
		rc = mailimap_expunge(m->imap);
	} else {
		set = mailimap_set_new_single(uid);
		rc = mailimap_uid_expunge(m->imap, set);
		mailimap_set_free(set);
	}
	return rc == MAILIMAP_NO_ERROR ? TRUE : imap_fail(m, rc, "EXPUNGE", error);
}

static gboolean imap_move_to(struct mailbox *mb, const struct mailbox_message *msg,
			     const char *folder, GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;
	struct mailimap_set *set = mailimap_set_new_single(msg->uid);
	char *what = g_strdup_printf("moving UID %u to %s", msg->uid, folder);
	char *wire = wire_folder_name(folder);
	gboolean created = FALSE;
	gboolean ok = TRUE;
	int rc;

	rc = m->has_move ? mailimap_uid_move(m->imap, set, wire)
			 : mailimap_uid_copy(m->imap, set, wire);
	/* Another client may have deleted the folder since imap_open() made it. A MOVE or COPY
	 * the server refused (NO, not a lost connection) changed nothing, so once the folder is
	 * made again it is tried once more. */
	if (rc != MAILIMAP_NO_ERROR && !is_connection_error(rc) &&
	    !ensure_folder(m, folder, &created, error)) {
		mailimap_set_free(set);
		g_free(wire);
		g_free(what);
		return FALSE;
	}
	if (created)
		rc = m->has_move ? mailimap_uid_move(m->imap, set, wire)
				 : mailimap_uid_copy(m->imap, set, wire);
	mailimap_set_free(set);
	g_free(wire);
	if (rc != MAILIMAP_NO_ERROR)
		ok = imap_fail(m, rc, what, error);
	else if (!m->has_move)
		ok = expunge(m, msg->uid, error);
	g_free(what);
	return ok;
}

static gboolean imap_acknowledge(struct mailbox *mb, const struct mailbox_message *msg,
				 GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;
	const struct mailbox_config *c = mb->config;

	switch (c->after) {
	case MAILBOX_AFTER_MOVE:
		return imap_move_to(mb, msg, c->after_folder, error);
	case MAILBOX_AFTER_FLAG:
		return add_flag(m, msg->uid,
				g_ascii_strcasecmp(c->after_flag, "\\Seen") == 0
				    ? mailimap_flag_new_seen()
				    : mailimap_flag_new_flag_keyword(g_strdup(c->after_flag)),
				error);
	case MAILBOX_AFTER_DELETE:
		return expunge(m, msg->uid, error);
	case MAILBOX_AFTER_KEEP:
		break;
	}
	return TRUE;
}

static gboolean imap_idle_start(struct mailbox *mb, int *fd, gboolean *ready, GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;
	int rc;

	*fd = -1;
	*ready = FALSE;
	if (!mb->config->idle || !m->has_idle)
		return TRUE;
	rc = mailimap_idle(m->imap);
	if (rc != MAILIMAP_NO_ERROR)
		return imap_fail(m, rc, "IDLE", error);
	m->idling = TRUE;
	*fd = mailimap_idle_get_fd(m->imap);
	*ready = m->imap->imap_stream->read_buffer_len > 0;
	return TRUE;
}

static gboolean imap_idle_done(struct mailbox *mb, GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;
	int rc;

	if (!m->idling)
		return TRUE;
	m->idling = FALSE;
	rc = mailimap_idle_done(m->imap);
	return rc == MAILIMAP_NO_ERROR ? TRUE : imap_fail(m, rc, "ending IDLE", error);
}

static gboolean imap_close(struct mailbox *mb, GError **error)
{
	struct imap_mailbox *m = (struct imap_mailbox *)mb;

	(void)error;
	if (m->imap && mb->connected) {
		if (m->idling)
			mailimap_idle_done(m->imap);
		mailimap_logout(m->imap);
	}
	drop_connection(m);
	return TRUE;
}

static void imap_free(struct mailbox *mb)
{
	imap_close(mb, NULL);
	g_free(mb);
}

static const struct mailbox_ops imap_ops = {
    .open = imap_open,
    .list = imap_list,
    .fetch = imap_fetch,
    .acknowledge = imap_acknowledge,
    .move_to = imap_move_to,
    .idle_start = imap_idle_start,
    .idle_done = imap_idle_done,
    .close = imap_close,
    .free = imap_free,
};

struct mailbox *imap_mailbox_new(const struct mailbox_config *config)
{
	struct imap_mailbox *m = g_new0(struct imap_mailbox, 1);

	m->base.ops = &imap_ops;
	m->base.config = config;
	return &m->base;
}
