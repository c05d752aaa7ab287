/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [mailbox NAME] sections: where mail is fetched, how the server is trusted and logged into,
 * and what becomes of a mail once the desk has it. */
#include <string.h>

#include "config/loader.h"
#include "config/sections.h"
#include "ingest/mailbox_driver.h"

static const char *const mailbox_keys[] = {
    "url",	   "user",	   "password_file",	"tls",		"ca_file",
    "auth",	   "oauth2_token_command", "oauth2_token_env", "after", "failed",
    "max_failures", "start",	   "interval",		"idle",		"idle_restart",
    "timeout",	   "parse_timeout", "max_message_bytes", NULL};

#define ENV_PASSWORD_PREFIX "MAIL2TICKET_PASSWORD_"

static void mailbox_config_free(struct mailbox_config *mb)
{
	g_free(mb->name);
	g_free(mb->url);
	g_free(mb->host);
	g_free(mb->folder);
	g_free(mb->ca_file);
	g_free(mb->user);
	if (mb->password) {
		/* Do not leave the password behind in freed memory. */
		memset(mb->password, 0, strlen(mb->password));
		g_free(mb->password);
	}
	g_free(mb->oauth2_token_command);
	g_strfreev(mb->oauth2_token_env);
	g_free(mb->after_folder);
	g_free(mb->after_flag);
	g_free(mb->failed_folder);
	g_free(mb);
}

/* MAIL2TICKET_PASSWORD_ and the mailbox name in capitals, other characters as '_'. */
static char *password_variable(const char *name)
{
	char *var = g_strconcat(ENV_PASSWORD_PREFIX, name, NULL);

	for (char *c = var + strlen(ENV_PASSWORD_PREFIX); *c; c++)
		*c = g_ascii_isalnum(*c) ? g_ascii_toupper(*c) : '_';
	return var;
}

/* The url names the driver by its scheme, and the host, port, user and folder. */
static gboolean load_url(struct loader *ld, const char *group, struct mailbox_config *mb)
{
	GError *err = NULL;
	GUri *uri;
	const char *path;
	gboolean implicit_tls = FALSE;
	gboolean ok = TRUE;
	char *forms;

	if (!loader_get_string(ld, group, "url", TRUE, &mb->url))
		return FALSE;
	uri = g_uri_parse(mb->url, G_URI_FLAGS_HAS_PASSWORD, &err);
	if (!uri) {
		loader_fail(ld, group, "url", "'%s' is not an address: %s", mb->url, err->message);
		g_error_free(err);
		return FALSE;
	}
	mb->driver = mailbox_driver_for_scheme(g_uri_get_scheme(uri), &implicit_tls);
	if (!mb->driver || !g_uri_get_host(uri) || !*g_uri_get_host(uri)) {
		g_uri_unref(uri);
		forms = mailbox_driver_url_forms(FALSE);
		loader_fail(ld, group, "url", "'%s' is not %s", mb->url, forms);
		g_free(forms);
		return FALSE;
	}
	if (g_uri_get_password(uri)) {
		g_uri_unref(uri);
		return loader_fail(ld, group, "url",
				   "holds a password: put it in password_file or the environment");
	}
	mb->tls = implicit_tls ? MAILBOX_TLS_IMPLICIT : MAILBOX_TLS_STARTTLS;
	mb->port = implicit_tls ? mb->driver->tls_port : mb->driver->port;
	mb->host = g_strdup(g_uri_get_host(uri));
	if (g_uri_get_port(uri) > 0)
		mb->port = g_uri_get_port(uri);
	if (g_uri_get_user(uri))
		mb->user = g_strdup(g_uri_get_user(uri));
	path = g_uri_get_path(uri);
	while (*path == '/')
		path++;
	if (mb->driver->features & MAILBOX_HAS_FOLDERS)
		mb->folder = g_strdup(*path ? path : "INBOX");
	else if (*path)
		ok = loader_fail(ld, group, "url", "%s has no folders: remove '/%s'",
				 mb->driver->name, path);
	g_uri_unref(uri);
	return ok;
}

/* "move:FOLDER" -> FOLDER (newly allocated), else NULL. */
static char *move_folder(const char *value)
{
	if (g_ascii_strncasecmp(value, "move:", 5) != 0)
		return NULL;
	return g_strstrip(g_strdup(value + 5));
}

static gboolean load_after(struct loader *ld, const char *group, struct mailbox_config *mb)
{
	char *value = NULL;
	char *folder;
	gboolean ok = TRUE;

	if (!loader_get_string(ld, group, "after", FALSE, &value))
		return FALSE;
	if (!value)
		value = g_strdup(mb->driver->after);
	folder = move_folder(value);
	if (!(mb->driver->features & MAILBOX_HAS_FOLDERS)) {
		if (g_ascii_strcasecmp(value, "delete") == 0)
			mb->after = MAILBOX_AFTER_DELETE;
		else if (g_ascii_strcasecmp(value, "keep") == 0)
			mb->after = MAILBOX_AFTER_KEEP;
		else
			ok = loader_fail(ld, group, "after", "'%s' is not delete or keep (%s)",
					 value, mb->driver->name);
	} else if (folder && *folder) {
		mb->after = MAILBOX_AFTER_MOVE;
		mb->after_folder = g_strdup(folder);
	} else if (g_ascii_strcasecmp(value, "flag") == 0) {
		mb->after = MAILBOX_AFTER_FLAG;
		mb->after_flag = g_strdup("\\Seen");
	} else if (g_ascii_strncasecmp(value, "flag:", 5) == 0 && value[5] && value[5] != '\\' &&
		   !strpbrk(value + 5, " ()[]{}%*\"")) {
		mb->after = MAILBOX_AFTER_FLAG;
		mb->after_flag = g_strdup(value + 5);
	} else if (g_ascii_strcasecmp(value, "delete") == 0) {
		mb->after = MAILBOX_AFTER_DELETE;
	} else {
		ok = loader_fail(ld, group, "after",
				 "'%s' is not move:FOLDER, flag, flag:KEYWORD or delete", value);
	}
	g_free(folder);
	g_free(value);
	return ok;
}

static gboolean load_failed(struct loader *ld, const char *group, struct mailbox_config *mb)
{
	char *value = NULL;

	if (!loader_get_string(ld, group, "failed", FALSE, &value))
		return FALSE;
	if (!value)
		return TRUE;
	mb->failed_folder = move_folder(value);
	if (!(mb->driver->features & MAILBOX_HAS_FOLDERS)) {
		loader_fail(ld, group, "failed",
			    "'%s' is not move:FOLDER (and %s has no folders: failed mail goes to "
			    "the quarantine)",
			    value, mb->driver->name);
		g_free(value);
		return FALSE;
	}
	if (!mb->failed_folder || !*mb->failed_folder) {
		loader_fail(ld, group, "failed", "'%s' is not move:FOLDER", value);
		g_free(value);
		return FALSE;
	}
	g_free(value);
	return TRUE;
}

/* "NAME, NAME": variables handed on to the token command. */
static gboolean load_token_env(struct loader *ld, const char *group, struct mailbox_config *mb)
{
	char *value = NULL;
	GPtrArray *names;
	char **words;

	if (!loader_get_string(ld, group, "oauth2_token_env", FALSE, &value))
		return FALSE;
	if (!value)
		return TRUE;
	names = g_ptr_array_new_with_free_func(g_free);
	words = g_strsplit_set(value, ", \t", -1);
	for (char **w = words; *w; w++) {
		if (!**w)
			continue;
		if (strspn(*w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(*w)) {
			loader_fail(ld, group, "oauth2_token_env", "'%s' is not a variable name",
				    *w);
			g_ptr_array_free(names, TRUE);
			g_strfreev(words);
			g_free(value);
			return FALSE;
		}
		g_ptr_array_add(names, g_strdup(*w));
	}
	g_ptr_array_add(names, NULL);
	g_strfreev(mb->oauth2_token_env);
	mb->oauth2_token_env = (char **)g_ptr_array_free(names, FALSE);
	g_strfreev(words);
	g_free(value);
	return TRUE;
}

static gboolean load_credentials(struct loader *ld, const char *group, struct mailbox_config *mb)
{
	static const char *const auths[] = {"login", "plain", "xoauth2", NULL};
	int auth = -1;
	char *var = password_variable(mb->name);
	const char *env = g_getenv(var);
	gboolean ok = FALSE;

	if (!loader_get_string(ld, group, "user", mb->user == NULL, &mb->user) ||
	    !loader_get_choice(ld, group, "auth", auths, &auth) ||
	    !loader_get_string(ld, group, "oauth2_token_command", FALSE,
			       &mb->oauth2_token_command) ||
	    !load_token_env(ld, group, mb) ||
	    !loader_read_secret_file(ld, group, "password_file", &mb->password))
		goto out;
	if (env && *env) {
		g_free(mb->password);
		mb->password = g_strdup(env);
	}
	if (auth < 0)
		auth = mb->oauth2_token_command ? MAILBOX_AUTH_XOAUTH2 : MAILBOX_AUTH_LOGIN;
	mb->auth = auth;
	if (mb->auth == MAILBOX_AUTH_XOAUTH2) {
		if (!(mb->driver->features & MAILBOX_HAS_XOAUTH2)) {
			char *names = mailbox_driver_names(MAILBOX_HAS_XOAUTH2);
			loader_fail(ld, group, "auth", "XOAUTH2 is for %s here", names);
			g_free(names);
			goto out;
		}
		if (!mb->oauth2_token_command) {
			loader_fail(
			    ld, group, "oauth2_token_command",
			    "missing: XOAUTH2 needs a command that prints the access token");
			goto out;
		}
	} else if (!mb->password) {
		loader_fail(ld, group, "password_file",
			    "missing: set password_file here, or %s in the environment", var);
		goto out;
	}
	ok = TRUE;
out:
	g_free(var);
	return ok;
}

/* tls as the config says it: implicit only where the url's scheme says so, which it cannot undo;
 * STARTTLS may be turned off. */
static gboolean load_tls(struct loader *ld, const char *group, struct mailbox_config *mb,
			 enum mailbox_tls tls)
{
	char *schemes = mailbox_driver_url_forms(TRUE);
	gboolean ok = TRUE;

	if (tls == MAILBOX_TLS_IMPLICIT && mb->tls != MAILBOX_TLS_IMPLICIT)
		ok = loader_fail(ld, group, "tls", "implicit TLS is written %s in url", schemes);
	else if (tls != MAILBOX_TLS_IMPLICIT && mb->tls == MAILBOX_TLS_IMPLICIT)
		ok = loader_fail(ld, group, "tls", "an %s url always uses TLS", schemes);
	mb->tls = tls;
	g_free(schemes);
	return ok;
}

static gboolean load_mailbox(struct loader *ld, const char *group, struct mailbox_config *mb)
{
	static const char *const tls_modes[] = {"implicit", "starttls", "none", NULL};
	static const char *const starts[] = {"unseen", "all", "new", NULL};
	int tls = -1;
	int start = -1;

	if (!*mb->name)
		return loader_fail(ld, group, NULL,
				   "a mailbox section needs a name: [mailbox NAME]");
	if (!loader_check_known_keys(ld, group, mailbox_keys, NULL) || !load_url(ld, group, mb) ||
	    !loader_get_choice(ld, group, "tls", tls_modes, &tls) ||
	    !loader_get_path(ld, group, "ca_file", &mb->ca_file) ||
	    !load_credentials(ld, group, mb) || !load_after(ld, group, mb) ||
	    !load_failed(ld, group, mb) ||
	    !loader_get_int(ld, group, "max_failures", 1, 1000, &mb->max_failures) ||
	    !loader_get_choice(ld, group, "start", starts, &start) ||
	    !loader_get_int(ld, group, "interval", 1, 86400, &mb->interval) ||
	    !loader_get_bool(ld, group, "idle", &mb->idle) ||
	    !loader_get_int(ld, group, "idle_restart", 10, 1740, &mb->idle_restart) ||
	    !loader_get_int(ld, group, "timeout", 1, 3600, &mb->timeout) ||
	    !loader_get_int(ld, group, "parse_timeout", 1, 3600, &mb->parse_timeout) ||
	    !loader_get_size(ld, group, "max_message_bytes", &mb->max_message_bytes))
		return FALSE;
	if (tls >= 0 && !load_tls(ld, group, mb, tls))
		return FALSE;
	if (mb->ca_file && !g_file_test(mb->ca_file, G_FILE_TEST_IS_REGULAR))
		return loader_fail(ld, group, "ca_file", "no such file: %s", mb->ca_file);
	if (start >= 0)
		mb->start = start;
	else
		mb->start = mb->driver->features & MAILBOX_HAS_FLAGS ? MAILBOX_START_UNSEEN
								     : MAILBOX_START_ALL;
	if (!(mb->driver->features & MAILBOX_HAS_FLAGS) && mb->start == MAILBOX_START_UNSEEN)
		return loader_fail(ld, group, "start", "%s knows no seen flag: use all or new",
				   mb->driver->name);
	return TRUE;
}

/* What a [mailbox] key left out means, where it is a plain value (parse_timeout: [parser]'s; the
 * rest is the driver's). */
static const struct mailbox_config mailbox_defaults = {
    .max_failures = 3,
    .interval = 60,
    .idle = TRUE,
    .idle_restart = 25 * 60,
    .timeout = 60,
    .max_message_bytes = 50 * 1024 * 1024,
};

/* A mailbox with the defaults of every [mailbox] key; free with mailbox_config_free(). */
static struct mailbox_config *mailbox_config_new(const struct config *config, const char *name)
{
	struct mailbox_config *mb = g_new(struct mailbox_config, 1);

	*mb = mailbox_defaults;
	mb->name = g_strstrip(g_strdup(name));
	mb->parse_timeout = config->parser.parse_timeout;
	return mb;
}

/* [pipe] spool is watched by poll like a mailbox named "spool": its files are deleted once
 * delivered, and mail that keeps failing goes to the quarantine. */
static struct mailbox_config *spool_mailbox(const struct config *config, const char *dir)
{
	struct mailbox_config *mb = mailbox_config_new(config, "spool");

	mb->url = g_strdup(dir);
	mb->driver = mailbox_driver_lookup("spool");
	mb->folder = g_strdup(dir);
	mb->host = g_strdup("");
	mb->user = g_strdup("");
	mb->tls = MAILBOX_TLS_NONE;
	mb->after = MAILBOX_AFTER_DELETE;
	mb->start = MAILBOX_START_ALL;
	/* The MTA has applied its own size limit already. */
	mb->max_message_bytes = 0;
	return mb;
}

gboolean config_load_mailboxes(struct loader *ld)
{
	char **groups = g_key_file_get_groups(ld->kf, NULL);
	gboolean ok = TRUE;

	ld->config->mailboxes = g_ptr_array_new_with_free_func((GDestroyNotify)mailbox_config_free);
	for (int i = 0; ok && groups[i]; i++) {
		struct mailbox_config *mb;
		if (!g_str_has_prefix(groups[i], "mailbox "))
			continue;
		mb = mailbox_config_new(ld->config, groups[i] + 8);
		g_ptr_array_add(ld->config->mailboxes, mb);
		for (guint k = 0; ok && k + 1 < ld->config->mailboxes->len; k++)
			if (strcmp(((struct mailbox_config *)ld->config->mailboxes->pdata[k])->name,
				   mb->name) == 0)
				ok = loader_fail(ld, groups[i], NULL, "a second mailbox named %s",
						 mb->name);
		if (ok && ld->config->pipe.spool && strcmp(mb->name, "spool") == 0)
			ok = loader_fail(ld, groups[i], NULL,
					 "the name spool is taken by [pipe] spool; choose another");
		ok = ok && load_mailbox(ld, groups[i], mb);
	}
	g_strfreev(groups);
	if (ok && ld->config->pipe.spool)
		g_ptr_array_add(ld->config->mailboxes,
				spool_mailbox(ld->config, ld->config->pipe.spool));
	return ok;
}
