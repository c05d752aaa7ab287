/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The drivers of the mailboxes on a server, IMAP and POP3 (mailbox_driver.h): what the config
 * and messages need to know of them is here, the code that talks to the server is in the module
 * mail2ticket-mailbox.so (mailbox_module.h), loaded when the first of their mailboxes is made. */
#include "ingest/mailbox_driver.h"
#include "ingest/mailbox_module.h"
#include "modules/module.h"

/* A mailbox whose module could not be loaded: opening it fails with why, as a connection that
 * failed does, so poll keeps its mail where it is and tries again later. */
struct unloaded_mailbox {
	struct mailbox base;
	GError *why;
};

static gboolean unloaded_open(struct mailbox *mb, GError **error)
{
	const struct unloaded_mailbox *m = (const struct unloaded_mailbox *)mb;

	g_set_error_literal(error, MAILBOX_ERROR, MAILBOX_ERROR_CONNECT, m->why->message);
	return FALSE;
}

static gboolean unloaded_close(struct mailbox *mb, GError **error)
{
	(void)mb;
	(void)error;
	return TRUE;
}

static void unloaded_free(struct mailbox *mb)
{
	struct unloaded_mailbox *m = (struct unloaded_mailbox *)mb;

	g_error_free(m->why);
	g_free(m);
}

/* Never opened, so nothing but open, close and free is called. */
static const struct mailbox_ops unloaded_ops = {
    .open = unloaded_open,
    .close = unloaded_close,
    .free = unloaded_free,
};

static struct mailbox *unloaded_mailbox_new(const struct mailbox_config *config, GError *why)
{
	struct unloaded_mailbox *m = g_new0(struct unloaded_mailbox, 1);

	m->base.ops = &unloaded_ops;
	m->base.config = config;
	m->why = why;
	return &m->base;
}

static struct mailbox *remote_imap_new(const struct mailbox_config *config)
{
	GError *error = NULL;
	const struct mailbox_module *module = module_table(M2T_MODULE_MAILBOX, &error);

	return module ? module->imap_new(config) : unloaded_mailbox_new(config, error);
}

static struct mailbox *remote_pop3_new(const struct mailbox_config *config)
{
	GError *error = NULL;
	const struct mailbox_module *module = module_table(M2T_MODULE_MAILBOX, &error);

	return module ? module->pop3_new(config) : unloaded_mailbox_new(config, error);
}

const struct mailbox_driver imap_driver = {
    .name = "IMAP",
    .scheme = "imap",
    .tls_scheme = "imaps",
    .port = 143,
    .tls_port = 993,
    .item_name = "UID",
    .features = MAILBOX_HAS_FOLDERS | MAILBOX_HAS_FLAGS | MAILBOX_HAS_XOAUTH2 | MAILBOX_HAS_UIDS |
		MAILBOX_HAS_LOGIN,
    .after = "move:Processed",
    .mailbox_new = remote_imap_new,
};

/* No folders and no flags: what was delivered is deleted, or kept and known by its UIDL. */
const struct mailbox_driver pop3_driver = {
    .name = "POP3",
    .scheme = "pop3",
    .tls_scheme = "pop3s",
    .port = 110,
    .tls_port = 995,
    .item_name = "UIDL",
    .features = MAILBOX_ACKS_AT_CLOSE | MAILBOX_HAS_LOGIN,
    .after = "keep",
    .mailbox_new = remote_pop3_new,
};
