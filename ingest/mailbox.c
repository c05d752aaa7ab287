/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mailbox interface (mailbox.h): what every server kind shares, secrets included. */
#include "ingest/mailbox.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ingest/mailbox_driver.h"

G_DEFINE_QUARK(mail2ticket-mailbox-error-quark, mailbox_error)

struct mailbox *mailbox_new(const struct mailbox_config *config)
{
	return config->driver->mailbox_new(config);
}

void mailbox_free(struct mailbox *mb)
{
	if (mb)
		mb->ops->free(mb);
}

void mailbox_message_clear(struct mailbox_message *msg)
{
	g_free(msg->id);
	envelope_kept_clear(&msg->envelope);
	*msg = (struct mailbox_message){0};
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

/* How long the token command may take: an identity provider that hangs must not stall the
 * mailbox for ever. */
#define TOKEN_COMMAND_SECONDS 30
/* An access token is a few kilobytes; what the command prints past these is not kept. */
#define TOKEN_OUTPUT_MAX (64 * 1024)
#define TOKEN_ERROR_MAX 2048

/* Output past max is read (so the command does not block on a full pipe) and dropped. */
static void append_capped(GString *into, const char *buf, gsize n, gsize max)
{
	if (into->len < max)
		g_string_append_len(into, buf, MIN(n, max - into->len));
}

/* The token command's environment: PATH, HOME, LANG and the variables the config names, nothing
 * else (mail2ticket's own environment holds the desk's secret and mailbox passwords). Newly
 * allocated. */
static char **token_command_env(const struct mailbox_config *config)
{
	static const char *const always[] = {"PATH", "HOME", "LANG", NULL};
	char **env = NULL;

	for (const char *const *name = always; *name; name++)
		if (g_getenv(*name))
			env = g_environ_setenv(env, *name, g_getenv(*name), TRUE);
	for (char **name = config->oauth2_token_env; name && *name; name++)
		if (g_getenv(*name))
			env = g_environ_setenv(env, *name, g_getenv(*name), TRUE);
	return env ? env : g_new0(char *, 1);
}

/* Read out_fd and err_fd to their ends, or until the deadline; FALSE on timeout. */
static gboolean read_outputs(int out_fd, int err_fd, GString *out, GString *err, gint64 deadline)
{
	struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	char buf[4096];

	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0 || poll(fds, 2, (int)left) == 0)
			return FALSE;
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			n = read(fds[i].fd, buf, sizeof(buf));
			if (n > 0)
				append_capped(i == 0 ? out : err, buf, n,
					      i == 0 ? TOKEN_OUTPUT_MAX + 1 : TOKEN_ERROR_MAX);
			else if (n == 0 || errno != EINTR)
				fds[i].fd = -1;
		}
	}
	return TRUE;
}

/* The token command runs without a shell, with no input, for at most TOKEN_COMMAND_SECONDS.
 * What it prints on standard error goes into the message an admin sees; what it prints on
 * standard output, the token, never does. */
static char *run_token_command(const struct mailbox_config *config, GError **error)
{
	char **argv = NULL;
	char **env = token_command_env(config);
	GString *out = g_string_new(NULL);
	GString *err_text = g_string_new(NULL);
	GError *err = NULL;
	GError *failed = NULL;
	int out_fd = -1, err_fd = -1;
	int status = 0;
	gboolean finished;
	GPid pid;

	if (!g_shell_parse_argv(config->oauth2_token_command, NULL, &argv, &err) ||
	    !g_spawn_async_with_pipes(NULL, argv, env,
				      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
					  G_SPAWN_STDIN_FROM_DEV_NULL,
				      NULL, NULL, &pid, NULL, &out_fd, &err_fd, &err)) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_CONFIG,
			    "mailbox %s: oauth2_token_command cannot run: %s", config->name,
			    err->message);
		g_error_free(err);
		g_strfreev(argv);
		g_strfreev(env);
		g_string_free(out, TRUE);
		g_string_free(err_text, TRUE);
		return NULL;
	}
	g_strfreev(argv);
	g_strfreev(env);
	finished = read_outputs(out_fd, err_fd, out, err_text,
				g_get_monotonic_time() + TOKEN_COMMAND_SECONDS * G_USEC_PER_SEC);
	if (!finished)
		kill(pid, SIGKILL);
	close(out_fd);
	close(err_fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	g_spawn_close_pid(pid);
	g_strstrip(out->str);
	g_strstrip(err_text->str);
	if (!finished)
		g_set_error(&failed, MAILBOX_ERROR, MAILBOX_ERROR_AUTH,
			    "mailbox %s: oauth2_token_command did not finish within %d s",
			    config->name, TOKEN_COMMAND_SECONDS);
	else if (out->len > TOKEN_OUTPUT_MAX)
		g_set_error(&failed, MAILBOX_ERROR, MAILBOX_ERROR_AUTH,
			    "mailbox %s: oauth2_token_command printed more than %d bytes, which is "
			    "no access token",
			    config->name, TOKEN_OUTPUT_MAX);
	else if (!g_spawn_check_wait_status(status, &err) || !*out->str)
		g_set_error(&failed, MAILBOX_ERROR, MAILBOX_ERROR_AUTH,
			    "mailbox %s: oauth2_token_command printed no token (%s)%s%s",
			    config->name, err ? err->message : "its output was empty",
			    *err_text->str ? ": " : "", err_text->str);
	g_clear_error(&err);
	g_string_free(err_text, TRUE);
	if (failed) {
		g_propagate_error(error, failed);
		mailbox_secret_free(g_string_free(out, FALSE));
		return NULL;
	}
	return g_string_free(out, FALSE);
}

char *mailbox_login_secret(const struct mailbox_config *config, GError **error)
{
	if (config->auth == MAILBOX_AUTH_XOAUTH2)
		return run_token_command(config, error);
	return g_strdup(config->password);
}
