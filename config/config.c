/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config file's plain sections ([desk], [departments], [state], [pipe], [parser], [loop],
 * [threading], [auth]) read over config_defaults; the [rule NAME] and [mailbox NAME] sections
 * have files of their own (config_rules.c, config_mailbox.c), and each desk kind reads its own
 * [desk] keys through the desk table. */
#include "config/config.h"

#include <stdlib.h>
#include <string.h>

#include "config/loader.h"
#include "config/sections.h"
#include "desk/desk_backend.h"
#include "parsers/mail_parse.h"
#include "state/journal.h"

G_DEFINE_QUARK(mail2ticket-config-error-quark, config_error)

#define ENV_SECRET "MAIL2TICKET_SECRET"

/* What a section may hold. A key not listed here stops the load: a typo must not silently turn
 * into a default. [desk] also takes every desk kind's own keys (desk/desk_backend.h). */
static const char *const desk_keys[] = {
    "kind", "url", "identifier", "secret", "secret_file", "department", "default_department",
    "priority", "ca_file", "connect_timeout", "timeout", "cc", "markdown", "noemail",
    "priority_from_headers", "concurrency", "mailbox", "allow_plain_http", "give_up_after",
    NULL};
static const char *const state_keys[] = {"kind", "path", "url", "password_file", "quarantine",
					 "busy_timeout_ms", "lease_seconds", NULL};
static const char *const pipe_keys[] = {"spool", NULL};
static const char *const loop_keys[] = {"own_addresses", "banned", "rate_limit", "rate_window",
					NULL};
static const char *const threading_keys[] = {"ticket_pattern", "stranger", "closed", "agents",
					     "per_department", NULL};
static const char *const auth_keys[] = {"authserv_id", "replies", "agents", "agent_recipients",
					NULL};
static const char *const parser_keys[] = {"max_attachment_bytes", "max_total_bytes",
					  "reply_marker", "parse_timeout", NULL};

/* What a key left out means, where it is a plain value. The strings here are not the config's:
 * config_new() copies them, so that a config owns every string it holds. */
static const struct config config_defaults = {
    .desk = {.priority = "Medium",
	     .connect_timeout = 10,
	     .timeout = 60,
	     .concurrency = 4,
	     .give_up_after = 300,
	     .cc = CC_MODE_TEXT,
	     .priority_from_headers = TRUE},
    .state = {.kind = "sqlite",
	      .path = "/var/lib/mail2ticket/journal.db",
	      .busy_timeout_ms = 5000,
	      .lease_seconds = 30},
    .loop = {.rate_limit = 10, .rate_window = 15},
    .threading = {.stranger_opens = TRUE, .closed_reopens = TRUE},
    .parser = {.parse_timeout = PARSE_TIMEOUT_DEFAULT},
};

static gboolean load_secret(struct loader *ld)
{
	struct config *c = ld->config;
	const char *env = g_getenv(ENV_SECRET);
	gboolean has_inline = g_key_file_has_key(ld->kf, "desk", "secret", NULL);
	gboolean has_file = g_key_file_has_key(ld->kf, "desk", "secret_file", NULL);

	if (has_inline && has_file)
		return loader_fail(ld, "desk", "secret", "give secret or secret_file, not both");
	if (!loader_get_string(ld, "desk", "secret", FALSE, &c->desk.secret) ||
	    !loader_read_secret_file(ld, "desk", "secret_file", &c->desk.secret))
		return FALSE;
	if (env && *env) {
		g_free(c->desk.secret);
		c->desk.secret = g_strdup(env);
	}
	if (!c->desk.secret)
		return loader_fail(ld, "desk", "secret",
			    "missing: set secret_file (or secret) here, or " ENV_SECRET
			    " in the environment");
	return TRUE;
}

/* A password in [desk] url would be shown wherever the url is: the warning at every start,
 * "no answer from URL", the journal, check. It is taken out of the url into url_password, which
 * only libcurl sees; the url keeps its user. Nothing of a password that does not decode is
 * echoed. */
static gboolean take_url_password(struct loader *ld)
{
	struct config *c = ld->config;
	GUri *uri = g_uri_parse(c->desk.url, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED, NULL);
	const char *password = uri ? g_uri_get_password(uri) : NULL;
	gboolean ok = TRUE;

	if (password) {
		c->desk.url_password = g_uri_unescape_string(password, NULL);
		g_free(c->desk.url);
		c->desk.url = g_uri_to_string_partial(uri, G_URI_HIDE_PASSWORD);
		if (!c->desk.url_password)
			ok = loader_fail(ld, "desk", "url", "its password is not percent-encoded");
	}
	if (uri)
		g_uri_unref(uri);
	return ok;
}

/* [desk] kind, found in the desk table, and the kind's own keys as the file gives them. */
static gboolean load_desk_kind(struct loader *ld, const struct desk_backend **backend)
{
	struct config *c = ld->config;
	char *names;

	if (!loader_get_string(ld, "desk", "kind", TRUE, &c->desk.kind))
		return FALSE;
	*backend = desk_backend_lookup(c->desk.kind);
	if (!*backend) {
		names = desk_backend_names();
		loader_fail(ld, "desk", "kind", "'%s' is not one of: %s", c->desk.kind, names);
		g_free(names);
		return FALSE;
	}
	g_free(c->desk.kind);
	c->desk.kind = g_strdup((*backend)->name);
	for (const struct desk_key *k = (*backend)->keys; k && k->name; k++) {
		char *value = NULL;
		if (!loader_get_string(ld, "desk", k->name, FALSE, &value))
			return FALSE;
		if (value)
			g_hash_table_insert(c->desk.backend_keys, g_strdup(k->name), value);
	}
	return TRUE;
}

/* department is "auto" (or left out: then default_department is needed) or a department id. */
static gboolean load_desk_department(struct loader *ld, const char *department)
{
	struct config *c = ld->config;
	char *end;
	long n;

	c->desk.department_auto = !department || g_ascii_strcasecmp(department, "auto") == 0;
	if (c->desk.department_auto) {
		if (!c->desk.default_department)
			return loader_fail(ld, "desk", "default_department",
					   "missing: with department = auto, mail to an unmapped "
					   "address goes here");
		return TRUE;
	}
	n = strtol(department, &end, 10);
	if (*end || n < 1 || n > G_MAXINT)
		return loader_fail(ld, "desk", "department",
				   "'%s' is neither auto nor a department id", department);
	c->desk.department = (int)n;
	return TRUE;
}

/* The common [desk] keys, then what the kind checks of them and reads of its own. */
static gboolean load_desk(struct loader *ld)
{
	static const char *const priorities[] = {"Low", "Medium", "High", NULL};
	static const char *const cc_modes[] = {"text", "param", "none", NULL};
	struct config *c = ld->config;
	const struct desk_backend *backend = NULL;
	int priority = -1, cc = c->desk.cc;
	char *department = NULL;
	char *takers;
	gboolean ok;

	if (!g_key_file_has_group(ld->kf, "desk"))
		return loader_fail(ld, "desk", NULL, "missing section");
	if (!loader_check_known_keys(ld, "desk", desk_keys, desk_backend_takes_key) ||
	    !load_desk_kind(ld, &backend) ||
	    !loader_get_string(ld, "desk", "url", TRUE, &c->desk.url) || !take_url_password(ld) ||
	    !loader_get_string(ld, "desk", "identifier", FALSE, &c->desk.identifier) ||
	    !load_secret(ld) ||
	    !loader_get_string(ld, "desk", "mailbox", FALSE, &c->desk.mailbox) ||
	    !loader_get_choice(ld, "desk", "priority", priorities, &priority) ||
	    !loader_get_path(ld, "desk", "ca_file", &c->desk.ca_file) ||
	    !loader_get_int(ld, "desk", "connect_timeout", 1, 600, &c->desk.connect_timeout) ||
	    !loader_get_int(ld, "desk", "timeout", 1, 3600, &c->desk.timeout) ||
	    !loader_get_int(ld, "desk", "concurrency", 1, 32, &c->desk.concurrency) ||
	    !loader_get_int(ld, "desk", "give_up_after", 0, 86400, &c->desk.give_up_after) ||
	    !loader_get_choice(ld, "desk", "cc", cc_modes, &cc) ||
	    !loader_get_bool(ld, "desk", "markdown", &c->desk.markdown) ||
	    !loader_get_bool(ld, "desk", "noemail", &c->desk.noemail) ||
	    !loader_get_bool(ld, "desk", "priority_from_headers", &c->desk.priority_from_headers) ||
	    !loader_get_int(ld, "desk", "default_department", 1, G_MAXINT,
			    &c->desk.default_department) ||
	    !loader_get_string(ld, "desk", "department", FALSE, &department))
		goto fail;
	if (priority >= 0) {
		g_free(c->desk.priority);
		c->desk.priority = g_strdup(priorities[priority]);
	}
	c->desk.cc = cc;
	if (c->desk.mailbox && !(backend->capabilities & DESK_CAN_MAILBOX)) {
		takers = desk_backend_titles(DESK_CAN_MAILBOX);
		loader_fail(ld, "desk", "mailbox", "only %s takes a mailbox", takers);
		g_free(takers);
		goto fail;
	}
	if (backend->check_config && !backend->check_config(ld))
		goto fail;
	if (!loader_check_secret_url(ld, "desk", "url", c->desk.url, "allow_plain_http"))
		goto fail;
	if (c->desk.ca_file && !g_file_test(c->desk.ca_file, G_FILE_TEST_IS_REGULAR)) {
		loader_fail(ld, "desk", "ca_file", "no such file: %s", c->desk.ca_file);
		goto fail;
	}
	ok = load_desk_department(ld, department);
	g_free(department);
	return ok;
fail:
	g_free(department);
	return FALSE;
}

/* A desk that routes by its mailboxes (Thulium) takes a mailbox address (sent as `to`) as a
 * value instead of a queue id. */
static gboolean load_departments(struct loader *ld)
{
	const struct desk_backend *desk = desk_backend_lookup(ld->config->desk.kind);
	gboolean by_mailbox = (desk->capabilities & DESK_CAN_MAILBOX) != 0;
	gsize n;
	char **keys = g_key_file_get_keys(ld->kf, "departments", &n, NULL);
	gboolean ok = TRUE;

	for (gsize i = 0; ok && keys && i < n; i++) {
		struct department_route *route;
		char *value = NULL;
		if (!strchr(keys[i], '@')) {
			ok = loader_fail(ld, "departments", keys[i],
				  "not an address or @domain to route by");
			break;
		}
		route = g_new0(struct department_route, 1);
		route->address = g_ascii_strdown(keys[i], -1);
		g_ptr_array_add(ld->config->departments, route);
		if (by_mailbox &&
		    (ok = loader_get_string(ld, "departments", keys[i], TRUE, &value)) &&
		    strchr(value, '@'))
			route->mailbox = g_steal_pointer(&value);
		else if (ok)
			ok =
			    loader_get_int(ld, "departments", keys[i], 1, G_MAXINT, &route->deptid);
		g_free(value);
	}
	g_strfreev(keys);
	return ok;
}

/* [state] kind, found in the journal table. */
static gboolean load_state_kind(struct loader *ld)
{
	struct config *c = ld->config;
	const struct journal_ops *ops;
	GString *names;

	if (!loader_get_string(ld, "state", "kind", FALSE, &c->state.kind))
		return FALSE;
	ops = journal_backend_find(c->state.kind);
	if (ops) {
		g_free(c->state.kind);
		c->state.kind = g_strdup(ops->name);
		return TRUE;
	}
	names = g_string_new(NULL);
	for (gsize i = 0; journal_backends[i]; i++)
		g_string_append_printf(names, "%s%s", i ? ", " : "", journal_backends[i]->name);
	loader_fail(ld, "state", "kind", "'%s' is not one of: %s", c->state.kind, names->str);
	g_string_free(names, TRUE);
	return FALSE;
}

/* A journal on a server: its url, which is shown in messages and so holds no password (that is
 * password_file's, or libpq's PGPASSWORD or ~/.pgpass). Nothing of a url that does not parse
 * is echoed: the part libpq would name may be the password. */
static gboolean load_state_server(struct loader *ld)
{
	struct config *c = ld->config;
	gboolean parsed = FALSE;
	gboolean has_password = FALSE;
	GError *error = NULL;

	if (g_key_file_has_key(ld->kf, "state", "path", NULL))
		return loader_fail(ld, "state", "path",
				   "kind = %s keeps the journal in a database: give url, not path",
				   c->state.kind);
	g_clear_pointer(&c->state.path, g_free);
	if (!loader_get_string(ld, "state", "url", TRUE, &c->state.url) ||
	    !loader_get_path(ld, "state", "password_file", &c->state.password_file))
		return FALSE;
	if (!journal_pg_parse_url(c->state.url, &parsed, &has_password, &error)) {
		loader_fail(ld, "state", "kind", "%s", error->message);
		g_error_free(error);
		return FALSE;
	}
	if (!parsed)
		return loader_fail(ld, "state", "url",
				   "not a libpq connection string (host=... dbname=...) or a "
				   "postgresql:// URI");
	if (has_password)
		return loader_fail(ld, "state", "url",
				   "holds a password: put it in password_file or the environment "
				   "(PGPASSWORD)");
	if (c->state.password_file) {
		if (!g_file_test(c->state.password_file, G_FILE_TEST_IS_REGULAR))
			return loader_fail(ld, "state", "password_file", "no such file: %s",
					   c->state.password_file);
		loader_check_private(ld, c->state.password_file, "the journal's password file");
	}
	return TRUE;
}

static gboolean load_state(struct loader *ld)
{
	struct config *c = ld->config;
	gboolean file;

	if (!loader_check_known_keys(ld, "state", state_keys, NULL) || !load_state_kind(ld) ||
	    !loader_get_path(ld, "state", "quarantine", &c->state.quarantine) ||
	    !loader_get_int(ld, "state", "busy_timeout_ms", 0, 600000, &c->state.busy_timeout_ms) ||
	    !loader_get_int(ld, "state", "lease_seconds", LEASE_SECONDS_MIN, 3600,
			    &c->state.lease_seconds))
		return FALSE;
	file = strcmp(c->state.kind, journal_sqlite.name) == 0;
	if (file) {
		static const char *const server_only[] = {"url", "password_file", NULL};
		for (int i = 0; server_only[i]; i++)
			if (g_key_file_has_key(ld->kf, "state", server_only[i], NULL))
				return loader_fail(ld, "state", server_only[i],
						   "only a journal on a server (kind = "
						   "postgresql) takes it");
		if (!loader_get_path(ld, "state", "path", &c->state.path))
			return FALSE;
	} else if (!load_state_server(ld)) {
		return FALSE;
	}
	if (!c->state.quarantine) {
		/* The quarantine is this host's, beside a journal file or where one would be. */
		char *dir = g_path_get_dirname(file ? c->state.path : config_defaults.state.path);
		c->state.quarantine = g_build_filename(dir, "quarantine", NULL);
		g_free(dir);
	}
	return TRUE;
}

static gboolean load_pipe(struct loader *ld)
{
	return loader_check_known_keys(ld, "pipe", pipe_keys, NULL) &&
	       loader_get_path(ld, "pipe", "spool", &ld->config->pipe.spool);
}

static gboolean load_loop(struct loader *ld)
{
	struct config *c = ld->config;
	char *own = NULL, *banned = NULL;
	gboolean ok = loader_check_known_keys(ld, "loop", loop_keys, NULL) &&
		      loader_get_string(ld, "loop", "own_addresses", FALSE, &own) &&
		      loader_get_string(ld, "loop", "banned", FALSE, &banned) &&
		      loader_get_int(ld, "loop", "rate_limit", 0, 100000, &c->loop.rate_limit) &&
		      loader_get_int(ld, "loop", "rate_window", 1, 100000, &c->loop.rate_window);

	if (ok) {
		g_strfreev(c->loop.own_addresses);
		g_strfreev(c->loop.banned);
		c->loop.own_addresses = loader_address_list(own);
		c->loop.banned = loader_address_list(banned);
	}
	g_free(own);
	g_free(banned);
	return ok;
}

/* WHMCS's subject tag, "[Ticket ID: 123456]", and whatever the config adds. */
#define WHMCS_TICKET_PATTERN "\\[Ticket ID: ?#?([A-Za-z0-9-]+)\\]"

static gboolean add_ticket_pattern(struct loader *ld, const char *pattern)
{
	GError *err = NULL;
	GRegex *re = g_regex_new(pattern, G_REGEX_CASELESS, 0, &err);

	if (!re) {
		gboolean r = loader_fail(ld, "threading", "ticket_pattern",
					 "bad regular expression: %s", err->message);
		g_error_free(err);
		return r;
	}
	if (g_regex_get_capture_count(re) < 1) {
		g_regex_unref(re);
		return loader_fail(ld, "threading", "ticket_pattern",
			    "needs a group, ( ), around the ticket number");
	}
	g_ptr_array_add(ld->config->threading.ticket_patterns, re);
	return TRUE;
}

static gboolean load_threading(struct loader *ld)
{
	/* Each first choice is its boolean's TRUE. */
	static const char *const stranger[] = {"open", "drop", NULL};
	static const char *const closed[] = {"reply", "open_new", NULL};
	struct config *c = ld->config;
	char *pattern = NULL, *agents = NULL;
	int stranger_choice = !c->threading.stranger_opens;
	int closed_choice = !c->threading.closed_reopens;
	gboolean ok =
	    loader_check_known_keys(ld, "threading", threading_keys, NULL) &&
	    loader_get_string(ld, "threading", "agents", FALSE, &agents) &&
	    loader_get_bool(ld, "threading", "per_department", &c->threading.per_department) &&
	    loader_get_choice(ld, "threading", "stranger", stranger, &stranger_choice) &&
	    loader_get_choice(ld, "threading", "closed", closed, &closed_choice) &&
	    loader_get_string(ld, "threading", "ticket_pattern", FALSE, &pattern) &&
	    add_ticket_pattern(ld, WHMCS_TICKET_PATTERN) &&
	    (!pattern || add_ticket_pattern(ld, pattern));

	c->threading.stranger_opens = stranger_choice == 0;
	c->threading.closed_reopens = closed_choice == 0;
	g_strfreev(c->threading.agents);
	c->threading.agents = loader_address_list(agents);
	g_free(agents);
	g_free(pattern);
	return ok;
}

/* A careful default: replies must be proven once a verdict can be read (authserv_id set), and an
 * agent's forward always. */
static gboolean load_auth(struct loader *ld)
{
	static const char *const replies[] = {"any", "aligned", NULL};
	static const char *const agents[] = {"aligned", "route", NULL};
	struct config *c = ld->config;
	char *ids = NULL, *recipients = NULL;
	int replies_choice = -1, agents_choice = 0; /* -1: as authserv_id decides */
	gboolean ok = loader_check_known_keys(ld, "auth", auth_keys, NULL) &&
		      loader_get_string(ld, "auth", "authserv_id", FALSE, &ids) &&
		      loader_get_string(ld, "auth", "agent_recipients", FALSE, &recipients) &&
		      loader_get_choice(ld, "auth", "agents", agents, &agents_choice) &&
		      loader_get_choice(ld, "auth", "replies", replies, &replies_choice);

	c->auth.authserv_ids = loader_address_list(ids);
	if (!c->auth.authserv_ids[0])
		g_clear_pointer(&c->auth.authserv_ids, g_strfreev);
	c->auth.replies_aligned =
	    replies_choice == 1 || (replies_choice < 0 && c->auth.authserv_ids != NULL);
	c->auth.agents_by_route = agents_choice == 1;
	c->auth.agent_recipients = loader_address_list(recipients);
	if (ok && c->auth.agents_by_route && !c->auth.agent_recipients[0])
		ok = loader_fail(ld, "auth", "agents",
				 "route needs agent_recipients: the addresses only agents send to");
	if (ok && replies_choice == 1 && !c->auth.authserv_ids)
		ok = loader_fail(
		    ld, "auth", "replies",
		    "aligned needs authserv_id: the receiving server whose verdict counts");
	g_free(ids);
	g_free(recipients);
	return ok;
}

static gboolean load_parser(struct loader *ld)
{
	struct config *c = ld->config;
	char *marker = NULL;

	if (!loader_check_known_keys(ld, "parser", parser_keys, NULL) ||
	    !loader_get_size(ld, "parser", "max_attachment_bytes",
			     &c->parser.max_attachment_bytes) ||
	    !loader_get_size(ld, "parser", "max_total_bytes", &c->parser.max_total_bytes) ||
	    !loader_get_string(ld, "parser", "reply_marker", FALSE, &marker) ||
	    !loader_get_int(ld, "parser", "parse_timeout", 1, 3600, &c->parser.parse_timeout))
		return FALSE;
	g_strfreev(c->parser.reply_markers);
	c->parser.reply_markers = g_new0(char *, 2);
	c->parser.reply_markers[0] = marker;
	return TRUE;
}

static gboolean check_sections(struct loader *ld)
{
	static const char *const known[] = {"desk", "departments", "state", "pipe", "parser",
					    "loop", "threading", "auth", NULL};
	char **groups = g_key_file_get_groups(ld->kf, NULL);
	gboolean ok = TRUE;

	for (int i = 0; ok && groups[i]; i++)
		if (!g_strv_contains(known, groups[i]) && !g_str_has_prefix(groups[i], "rule ") &&
		    !g_str_has_prefix(groups[i], "mailbox "))
			ok = loader_fail(ld, groups[i], NULL, "unknown section");
	g_strfreev(groups);
	return ok;
}

static void department_route_free(struct department_route *route)
{
	g_free(route->address);
	g_free(route->mailbox);
	g_free(route);
}

/* A config holding the defaults, every string and array its own. Free with config_free(). */
static struct config *config_new(const char *path)
{
	static const struct parse_options parse_defaults = PARSE_OPTIONS_DEFAULT;
	struct config *c = g_new(struct config, 1);

	*c = config_defaults;
	c->path = g_strdup(path);
	c->desk.priority = g_strdup(config_defaults.desk.priority);
	c->desk.backend_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	c->state.kind = g_strdup(config_defaults.state.kind);
	c->state.path = g_strdup(config_defaults.state.path);
	/* The parser's own limits, which are no constant expression for config_defaults. */
	c->parser.max_attachment_bytes = parse_defaults.max_attachment_bytes;
	c->parser.max_total_bytes = parse_defaults.max_total_bytes;
	c->parser.reply_markers = g_new0(char *, 1);
	c->warnings = g_ptr_array_new_with_free_func(g_free);
	c->departments = g_ptr_array_new_with_free_func((GDestroyNotify)department_route_free);
	c->threading.ticket_patterns =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);
	return c;
}

struct config *config_load(const char *path, GError **error)
{
	struct loader ld = {.error = error};
	gboolean ok;

	if (!loader_open(&ld, path))
		return NULL;
	ld.config = config_new(path);
	loader_check_private(&ld, path, "the config file");
	ok = check_sections(&ld) && load_desk(&ld) && load_departments(&ld) && load_state(&ld) &&
	     load_pipe(&ld) && load_parser(&ld) && load_loop(&ld) && load_threading(&ld) &&
	     load_auth(&ld) && config_load_rules(&ld) && config_load_mailboxes(&ld);
	loader_close(&ld);
	if (!ok) {
		config_free(ld.config);
		return NULL;
	}
	return ld.config;
}

void config_free(struct config *config)
{
	if (!config)
		return;
	g_free(config->path);
	g_free(config->desk.kind);
	g_free(config->desk.url);
	if (config->desk.url_password) {
		memset(config->desk.url_password, 0, strlen(config->desk.url_password));
		g_free(config->desk.url_password);
	}
	g_free(config->desk.identifier);
	if (config->desk.secret) {
		/* Do not leave the secret behind in freed memory. */
		memset(config->desk.secret, 0, strlen(config->desk.secret));
		g_free(config->desk.secret);
	}
	if (config->desk.client_secret) {
		memset(config->desk.client_secret, 0, strlen(config->desk.client_secret));
		g_free(config->desk.client_secret);
	}
	g_free(config->desk.mailbox);
	if (config->desk.backend_keys)
		g_hash_table_unref(config->desk.backend_keys);
	g_strfreev(config->auth.authserv_ids);
	g_strfreev(config->auth.agent_recipients);
	g_free(config->desk.priority);
	g_free(config->desk.ca_file);
	g_ptr_array_unref(config->departments);
	g_free(config->state.kind);
	g_free(config->state.path);
	g_free(config->state.url);
	g_free(config->state.password_file);
	g_free(config->state.quarantine);
	g_free(config->pipe.spool);
	if (config->warnings)
		g_ptr_array_unref(config->warnings);
	g_strfreev(config->parser.reply_markers);
	g_strfreev(config->loop.own_addresses);
	g_strfreev(config->loop.banned);
	if (config->threading.ticket_patterns)
		g_ptr_array_unref(config->threading.ticket_patterns);
	g_strfreev(config->threading.agents);
	if (config->rules)
		g_ptr_array_unref(config->rules);
	if (config->mailboxes)
		g_ptr_array_unref(config->mailboxes);
	g_free(config);
}

/* An address without its "+tag": "support+billing@x" -> "support@x". NULL when it has none. */
static char *without_plus_tag(const char *address, const char *at)
{
	const char *plus = memchr(address, '+', at - address);

	char *local;
	char *joined;

	if (!plus)
		return NULL;
	local = g_strndup(address, plus - address);
	joined = g_strconcat(local, at, NULL);
	g_free(local);
	return joined;
}

const struct department_route *config_department_for_address(const struct config *config,
							      const char *address)
{
	const struct department_route *found = NULL;
	const char *at;
	char *base;

	if (!address || !(at = strchr(address, '@')))
		return NULL;
	/* Most specific first: the address as written, then without its +tag, then its domain. */
	base = without_plus_tag(address, at);
	for (int pass = 0; pass < 3 && !found; pass++) {
		const char *want = pass == 0 ? address : pass == 1 ? base : at;
		for (guint i = 0; want && i < config->departments->len && !found; i++) {
			const struct department_route *r =
			    g_ptr_array_index(config->departments, i);
			if (g_ascii_strcasecmp(r->address, want) == 0)
				found = r;
		}
	}
	g_free(base);
	return found;
}
