#include "ingest/mailbox.h"

#include <string.h>

G_DEFINE_QUARK(mail2ticket-mailbox-error-quark, mailbox_error)

struct mailbox *mailbox_new(const struct mailbox_config *config)
{
	return config->protocol == MAILBOX_IMAP ? imap_mailbox_new(config)
						: pop3_mailbox_new(config);
}

void mailbox_free(struct mailbox *mb)
{
	if (mb)
		mb->ops->free(mb);
}

void mailbox_message_clear(struct mailbox_message *msg)
{
	g_free(msg->id);
	msg->id = NULL;
}

GArray *mailbox_message_array_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct mailbox_message));

	g_array_set_clear_func(a, (GDestroyNotify)mailbox_message_clear);
	return a;
}

void mailbox_secret_free(char *secret)
{
	if (secret) {
		memset(secret, 0, strlen(secret));
		g_free(secret);
	}
}

/* The token command runs without a shell. What it prints on standard error goes into the message
 * an admin sees; what it prints on standard output, the token, never does. */
static char *run_token_command(const struct mailbox_config *config, GError **error)
{
	char **argv = NULL;
	char *out = NULL;
	char *err_text = NULL;
	int status = 0;
	GError *err = NULL;

	if (!g_shell_parse_argv(config->oauth2_token_command, NULL, &argv, &err) ||
	    !g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err_text,
			  &status, &err)) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_CONFIG,
			    "mailbox %s: oauth2_token_command cannot run: %s", config->name,
			    err->message);
		g_error_free(err);
		g_strfreev(argv);
		return NULL;
	}
	g_strfreev(argv);
	if (!g_spawn_check_wait_status(status, NULL) || !out || !*g_strstrip(out)) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_AUTH,
			    "mailbox %s: oauth2_token_command printed no token%s%s", config->name,
			    err_text && *g_strstrip(err_text) ? ": " : "", err_text ? err_text : "");
		mailbox_secret_free(out);
		g_free(err_text);
		return NULL;
	}
	g_free(err_text);
	return out;
}

char *mailbox_login_secret(const struct mailbox_config *config, GError **error)
{
	if (config->auth == MAILBOX_AUTH_XOAUTH2)
		return run_token_command(config, error);
	return g_strdup(config->password);
}
