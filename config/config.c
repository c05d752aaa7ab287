#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parsers/mail_parse.h"
#include "config/config_loader.h"

G_DEFINE_QUARK(mail2ticket-config-error-quark, config_error)

#define ENV_SECRET "MAIL2TICKET_SECRET"

/* What a section may hold. A key not listed here stops the load: a typo must not silently turn
 * into a default. */
static const char *const desk_keys[] = {
    "kind",	 "url",	       "identifier",	  "secret",	     "secret_file",
    "accesskey", "department", "default_department", "priority",     "ca_file",
    "connect_timeout", "timeout", "cc",		  "markdown",	     "noemail",
    "priority_from_headers", "concurrency", "open_ticket_endpoint", "add_reply_endpoint",
    "get_ticket_endpoint", "get_tickets_endpoint", "departments_endpoint", "contacts_endpoint",
    "create_ticket_path", "customer_response_path", "ticket_path", "tickets_path",
    "temporary_files_path", "mailbox", "allow_plain_http", "give_up_after", NULL};

/* Keliweb's API v2 documents only get-ticket; the other endpoints are inferred siblings, so each
 * is a key: config key, the WHMCS action it stands for, the default endpoint. */
static const char *const keliweb_endpoints[][3] = {
    {"open_ticket_endpoint", "OpenTicket", "open-ticket"},
    {"add_reply_endpoint", "AddTicketReply", "add-ticket-reply"},
    {"get_ticket_endpoint", "GetTicket", "get-ticket"},
    {"get_tickets_endpoint", "GetTickets", "get-tickets"},
    {"departments_endpoint", "GetSupportDepartments", "get-support-departments"},
    {"contacts_endpoint", "GetContacts", "get-contacts"},
    {NULL, NULL, NULL},
};

/* Thulium's documented calls (api.thulium.com/docs/api/), each path a key for a server mounted
 * elsewhere: config key, the call it stands for, the default path ("{id}": the ticket's id). */
static const char *const thulium_paths[][3] = {
    {"create_ticket_path", "create_ticket", "tickets"},
    {"customer_response_path", "customer_response", "tickets/{id}/customer_response"},
    {"ticket_path", "ticket", "tickets/{id}"},
    {"tickets_path", "tickets", "tickets"},
    {"temporary_files_path", "temporary_files", "temporary_files"},
    {NULL, NULL, NULL},
};
static const char *const state_keys[] = {"path", "quarantine", "busy_timeout_ms", NULL};
static const char *const pipe_keys[] = {"spool", NULL};
static const char *const loop_keys[] = {"own_addresses", "banned", "rate_limit", "rate_window", NULL};
static const char *const threading_keys[] = {"ticket_pattern", "stranger", "closed", "agents",
					     "per_department", NULL};
static const char *const auth_keys[] = {"authserv_id", "replies", "agents", "agent_recipients",
					NULL};
static const char *const parser_keys[] = {"max_attachment_bytes", "max_total_bytes", "reply_marker",
					  "parse_timeout", NULL};


static int line_of(const struct loader *ld, const char *section, const char *key)
{
	gboolean in_section = FALSE;
	int section_line = 0;

	for (int i = 0; ld->lines && ld->lines[i]; i++) {
		const char *l = ld->lines[i];
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '[') {
			const char *end = strchr(l, ']');
			in_section = end && (gsize)(end - l - 1) == strlen(section) &&
				     strncmp(l + 1, section, end - l - 1) == 0;
			if (in_section)
				section_line = i + 1;
			continue;
		}
		if (in_section && key && g_str_has_prefix(l, key)) {
			const char *rest = l + strlen(key);
			while (*rest == ' ' || *rest == '\t')
				rest++;
			if (*rest == '=')
				return i + 1;
		}
	}
	return section_line;
}

gboolean loader_fail(struct loader *ld, const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *what;
	int line = line_of(ld, section, key);

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line > 0)
		g_set_error(ld->error, CONFIG_ERROR, CONFIG_ERROR_INVALID, "%s:%d: [%s]%s%s: %s",
			    ld->path, line, section, key ? " " : "", key ? key : "", what);
	else
		g_set_error(ld->error, CONFIG_ERROR, CONFIG_ERROR_INVALID, "%s: [%s]%s%s: %s",
			    ld->path, section, key ? " " : "", key ? key : "", what);
	g_free(what);
	return FALSE;
}

/* GKeyFile knows only '#' comment lines; the documented format also has ';' lines and
 * "key = value ; comment". Rewritten in place, line for line, so line numbers stay true. An inline
 * '#' is kept: helpdesk markers such as "## Please reply above this line ##" start with one. */
static char *strip_comments(const char *text)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_sized_new(strlen(text));

	for (char **l = lines; *l; l++) {
		char *line = *l;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ';' || *p == '#') {
			g_string_append(out, "#");
		} else {
			for (char *c = line; *c; c++) {
				if (*c == ';' && c > line && (c[-1] == ' ' || c[-1] == '\t')) {
					*c = '\0';
					break;
				}
			}
			g_string_append(out, g_strchomp(line));
		}
		if (l[1])
			g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

gboolean loader_check_known_keys(struct loader *ld, const char *section, const char *const *known)
{
	gsize n;
	char **keys = g_key_file_get_keys(ld->kf, section, &n, NULL);
	gboolean ok = TRUE;

	for (gsize i = 0; ok && keys && i < n; i++)
		if (!g_strv_contains(known, keys[i]))
			ok = loader_fail(ld, section, keys[i], "unknown key");
	g_strfreev(keys);
	return ok;
}

/* The value of section/key, or NULL when absent. Newly allocated. */
char *loader_get_raw(struct loader *ld, const char *section, const char *key)
{
	char *value = g_key_file_get_value(ld->kf, section, key, NULL);

	if (value)
		g_strstrip(value);
	return value;
}

gboolean loader_get_string(struct loader *ld, const char *section, const char *key,
			   gboolean required, char **out)
{
	char *value = loader_get_raw(ld, section, key);

	if (value && !*value) {
		g_free(value);
		return loader_fail(ld, section, key, "empty value");
	}
	if (!value && required)
		return loader_fail(ld, section, key, "missing (required)");
	if (value) {
		g_free(*out);
		*out = value;
	}
	return TRUE;
}

gboolean loader_get_int(struct loader *ld, const char *section, const char *key, int min, int max,
			int *out)
{
	char *value = loader_get_raw(ld, section, key);
	char *end;
	long n;

	if (!value)
		return TRUE;
	errno = 0;
	n = strtol(value, &end, 10);
	if (!*value || *end || errno || n < min || n > max) {
		loader_fail(ld, section, key, "'%s' is not a whole number from %d to %d", value, min, max);
		g_free(value);
		return FALSE;
	}
	*out = (int)n;
	g_free(value);
	return TRUE;
}

/* "1024", "512K", "10M", "2G" (powers of 1024), blanks around allowed. */
static gboolean parse_byte_size(const char *text, guint64 *out)
{
	char *end;
	guint64 n;
	guint64 unit = 1;

	while (*text == ' ' || *text == '\t')
		text++;
	if (!g_ascii_isdigit(*text))
		return FALSE;
	errno = 0;
	n = g_ascii_strtoull(text, &end, 10);
	switch (g_ascii_toupper(*end)) {
	case 'K':
		unit = 1024, end++;
		break;
	case 'M':
		unit = 1024 * 1024, end++;
		break;
	case 'G':
		unit = 1024 * 1024 * 1024, end++;
		break;
	}
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end || errno || n > G_MAXUINT64 / unit)
		return FALSE;
	*out = n * unit;
	return TRUE;
}

/* A byte count: a whole number, optionally with K, M or G. */
gboolean loader_get_size(struct loader *ld, const char *section, const char *key, gsize *out)
{
	char *value = loader_get_raw(ld, section, key);
	guint64 n;

	if (!value)
		return TRUE;
	if (!parse_byte_size(value, &n) || n > G_MAXSIZE) {
		loader_fail(ld, section, key, "'%s' is not a size (a number of bytes, or with K, M or G)",
		     value);
		g_free(value);
		return FALSE;
	}
	*out = n;
	g_free(value);
	return TRUE;
}

gboolean loader_get_bool(struct loader *ld, const char *section, const char *key, gboolean *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};
	char *value = loader_get_raw(ld, section, key);
	char *lower;
	gboolean ok = TRUE;

	if (!value)
		return TRUE;
	lower = g_ascii_strdown(value, -1);
	if (g_strv_contains(yes, lower))
		*out = TRUE;
	else if (g_strv_contains(no, lower))
		*out = FALSE;
	else
		ok = loader_fail(ld, section, key, "'%s' is not true or false", value);
	g_free(lower);
	g_free(value);
	return ok;
}

/* One of choices (matched without regard to case; *out gets the spelling of choices). */
gboolean loader_get_choice(struct loader *ld, const char *section, const char *key,
			   const char *const *choices, int *index)
{
	char *value = loader_get_raw(ld, section, key);
	char *list;

	if (!value)
		return TRUE;
	for (int i = 0; choices[i]; i++) {
		if (g_ascii_strcasecmp(value, choices[i]) == 0) {
			*index = i;
			g_free(value);
			return TRUE;
		}
	}
	list = g_strjoinv(", ", (char **)choices);
	loader_fail(ld, section, key, "'%s' is not one of: %s", value, list);
	g_free(list);
	g_free(value);
	return FALSE;
}

/* A path as written, relative paths taken from the config file's folder. */
static char *resolve_path(const struct loader *ld, const char *value)
{
	char *dir;
	char *full;

	if (g_path_is_absolute(value))
		return g_strdup(value);
	dir = g_path_get_dirname(ld->path);
	full = g_build_filename(dir, value, NULL);
	g_free(dir);
	return full;
}

gboolean loader_get_path(struct loader *ld, const char *section, const char *key, char **out)
{
	char *value = NULL;

	if (!loader_get_string(ld, section, key, FALSE, &value))
		return FALSE;
	if (value) {
		g_free(*out);
		*out = resolve_path(ld, value);
		g_free(value);
	}
	return TRUE;
}

/* A file holding the config or a secret should be the service user's alone. */
static void check_private(struct loader *ld, const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) != 0 || !(st.st_mode & (S_IRWXG | S_IRWXO)))
		return;
	g_ptr_array_add(ld->config->warnings,
			g_strdup_printf("%s %s can be %s by %s (mode %04o): make it the service "
					"user's alone, e.g. chmod 600 %s",
					what, path,
					st.st_mode & (S_IWGRP | S_IWOTH)   ? "changed"
					: st.st_mode & (S_IRGRP | S_IROTH) ? "read"
									   : "opened",
					st.st_mode & S_IRWXO ? "other users" : "its group",
					(unsigned)(st.st_mode & 07777), path));
}

gboolean loader_read_secret_file(struct loader *ld, const char *section, const char *key,
				 char **out)
{
	char *path = NULL;
	char *contents = NULL;
	GError *err = NULL;

	if (!loader_get_path(ld, section, key, &path))
		return FALSE;
	if (!path)
		return TRUE;
	if (!g_file_get_contents(path, &contents, NULL, &err)) {
		loader_fail(ld, section, key, "cannot read the secret file: %s", err->message);
		g_error_free(err);
		g_free(path);
		return FALSE;
	}
	check_private(ld, path, "the secret file");
	g_free(path);
	g_strchomp(contents);
	if (!*contents) {
		g_free(contents);
		return loader_fail(ld, section, key, "the secret file is empty");
	}
	g_free(*out);
	*out = contents;
	return TRUE;
}

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

/* The endpoints of a REST API, as pairs of the call and its path, from table. */
static gboolean load_endpoints(struct loader *ld, const char *const (*table)[3])
{
	struct config *c = ld->config;
	GPtrArray *pairs = g_ptr_array_new();

	for (gsize i = 0; table[i][0]; i++) {
		char *endpoint = g_strdup(table[i][2]);
		if (!loader_get_string(ld, "desk", table[i][0], FALSE, &endpoint)) {
			g_free(endpoint);
			g_ptr_array_set_free_func(pairs, g_free);
			g_ptr_array_unref(pairs);
			return FALSE;
		}
		g_ptr_array_add(pairs, g_strdup(table[i][1]));
		g_ptr_array_add(pairs, endpoint);
	}
	g_ptr_array_add(pairs, NULL);
	c->desk.endpoints = (char **)g_ptr_array_free(pairs, FALSE);
	return TRUE;
}

/* localhost, 127.0.0.0/8 or ::1. */
static gboolean is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (g_ascii_strcasecmp(host, "localhost") == 0)
		return TRUE;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* http:// sends the API secret in clear text: only to this machine, or when the admin says so,
 * and with a warning either way. */
static gboolean check_plain_http(struct loader *ld)
{
	const struct config *c = ld->config;
	GUri *uri = g_uri_parse(c->desk.url, G_URI_FLAGS_NONE, NULL);
	const char *host = uri ? g_uri_get_host(uri) : NULL;
	gboolean allowed = FALSE;
	gboolean ok = TRUE;

	if (!loader_get_bool(ld, "desk", "allow_plain_http", &allowed)) {
		ok = FALSE;
	} else if (host && is_loopback(host)) {
		g_ptr_array_add(ld->config->warnings,
				g_strdup_printf("[desk] url %s is plain http: the API secret goes to "
						"%s unencrypted (this machine only)",
						c->desk.url, host));
	} else if (allowed) {
		g_ptr_array_add(ld->config->warnings,
				g_strdup_printf("[desk] url %s is plain http (allow_plain_http = true): "
						"the API secret crosses the network unencrypted",
						c->desk.url));
	} else {
		ok = loader_fail(ld, "desk", "url",
				 "%s would send the API secret unencrypted to %s: use https://, or "
				 "set allow_plain_http = true",
				 c->desk.url, host ? host : "the desk");
	}
	if (uri)
		g_uri_unref(uri);
	return ok;
}

static gboolean load_desk(struct loader *ld)
{
	static const char *const kinds[] = {"whmcs", "keliweb", "thulium", NULL};
	static const char *const priorities[] = {"Low", "Medium", "High", NULL};
	static const char *const cc_modes[] = {"text", "param", "none", NULL};
	struct config *c = ld->config;
	int kind = 0, priority = 1, cc = CC_MODE_TEXT;
	char *department = NULL;

	if (!g_key_file_has_group(ld->kf, "desk"))
		return loader_fail(ld, "desk", NULL, "missing section");
	if (!loader_check_known_keys(ld, "desk", desk_keys) ||
	    !loader_get_string(ld, "desk", "kind", TRUE, &c->desk.kind) ||
	    !loader_get_choice(ld, "desk", "kind", kinds, &kind) ||
	    !loader_get_string(ld, "desk", "url", TRUE, &c->desk.url) ||
	    !loader_get_string(ld, "desk", "identifier", kind != 1, &c->desk.identifier) ||
	    !load_secret(ld) || (kind == 1 && !load_endpoints(ld, keliweb_endpoints)) ||
	    (kind == 2 && !load_endpoints(ld, thulium_paths)) ||
	    !loader_get_string(ld, "desk", "mailbox", kind == 2, &c->desk.mailbox) ||
	    !loader_get_string(ld, "desk", "accesskey", FALSE, &c->desk.accesskey) ||
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
	    !loader_get_int(ld, "desk", "default_department", 1, G_MAXINT, &c->desk.default_department) ||
	    !loader_get_string(ld, "desk", "department", FALSE, &department))
		goto fail;

	g_free(c->desk.kind);
	c->desk.kind = g_strdup(kinds[kind]);
	c->desk.priority = g_strdup(priorities[priority]);
	c->desk.cc = cc;
	/* Keliweb's pages document neither; the copies then head the text as with cc = text. */
	if (kind == 1 && cc == CC_MODE_PARAM) {
		c->desk.cc = CC_MODE_TEXT;
		g_ptr_array_add(c->warnings, g_strdup("[desk] cc = param: Keliweb's open-ticket "
						      "takes no cc; the addresses head the text"));
	}
	if (kind == 1 && c->desk.noemail)
		g_ptr_array_add(c->warnings, g_strdup("[desk] noemail: Keliweb's open-ticket "
						      "takes no noemail; not sent"));
	if (!g_str_has_prefix(c->desk.url, "https://") && !g_str_has_prefix(c->desk.url, "http://")) {
		loader_fail(ld, "desk", "url", "'%s' is not an http:// or https:// address", c->desk.url);
		goto fail;
	}
	if (g_str_has_prefix(c->desk.url, "http://") && !check_plain_http(ld))
		goto fail;
	if (c->desk.mailbox && (kind != 2 || !strchr(c->desk.mailbox, '@'))) {
		loader_fail(ld, "desk", "mailbox",
			    kind != 2 ? "only Thulium takes a mailbox"
				      : "'%s' is not the address of a Thulium mailbox",
			    c->desk.mailbox);
		goto fail;
	}
	if (c->desk.ca_file && !g_file_test(c->desk.ca_file, G_FILE_TEST_IS_REGULAR)) {
		loader_fail(ld, "desk", "ca_file", "no such file: %s", c->desk.ca_file);
		goto fail;
	}
	c->desk.department_auto = !department || g_ascii_strcasecmp(department, "auto") == 0;
	if (!c->desk.department_auto) {
		char *end;
		long n = strtol(department, &end, 10);
		if (*end || n < 1 || n > G_MAXINT) {
			loader_fail(ld, "desk", "department", "'%s' is neither auto nor a department id",
			     department);
			goto fail;
		}
		c->desk.department = (int)n;
	} else if (!c->desk.default_department) {
		loader_fail(ld, "desk", "default_department",
		     "missing: with department = auto, mail to an unmapped address goes here");
		goto fail;
	}
	g_free(department);
	return TRUE;
fail:
	g_free(department);
	return FALSE;
}

/* Thulium routes by its mailboxes: a value may be a mailbox address (sent as `to`) instead of a
 * queue id. */
static gboolean load_departments(struct loader *ld)
{
	gboolean thulium = g_strcmp0(ld->config->desk.kind, "thulium") == 0;
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
		if (thulium && (ok = loader_get_string(ld, "departments", keys[i], TRUE, &value)) &&
		    strchr(value, '@'))
			route->mailbox = g_steal_pointer(&value);
		else if (ok)
			ok = loader_get_int(ld, "departments", keys[i], 1, G_MAXINT, &route->deptid);
		g_free(value);
	}
	g_strfreev(keys);
	return ok;
}

static gboolean load_state(struct loader *ld)
{
	struct config *c = ld->config;

	if (!loader_check_known_keys(ld, "state", state_keys) || !loader_get_path(ld, "state", "path", &c->state.path) ||
	    !loader_get_path(ld, "state", "quarantine", &c->state.quarantine) ||
	    !loader_get_int(ld, "state", "busy_timeout_ms", 0, 600000, &c->state.busy_timeout_ms))
		return FALSE;
	if (!c->state.quarantine) {
		char *dir = g_path_get_dirname(c->state.path);
		c->state.quarantine = g_build_filename(dir, "quarantine", NULL);
		g_free(dir);
	}
	return TRUE;
}

static gboolean load_pipe(struct loader *ld)
{
	return loader_check_known_keys(ld, "pipe", pipe_keys) &&
	       loader_get_path(ld, "pipe", "spool", &ld->config->pipe.spool);
}

/* "a@x, @y.example  b@z" -> lower-case entries. Newly allocated, NULL-terminated. */
static char **address_list(const char *value)
{
	char **parts = g_strsplit_set(value ? value : "", ", \t", -1);
	GPtrArray *out = g_ptr_array_new();

	for (char **p = parts; *p; p++)
		if (**p)
			g_ptr_array_add(out, g_ascii_strdown(*p, -1));
	g_ptr_array_add(out, NULL);
	g_strfreev(parts);
	return (char **)g_ptr_array_free(out, FALSE);
}

static gboolean load_loop(struct loader *ld)
{
	struct config *c = ld->config;
	char *own = NULL, *banned = NULL;
	gboolean ok = loader_check_known_keys(ld, "loop", loop_keys) &&
		      loader_get_string(ld, "loop", "own_addresses", FALSE, &own) &&
		      loader_get_string(ld, "loop", "banned", FALSE, &banned) &&
		      loader_get_int(ld, "loop", "rate_limit", 0, 100000, &c->loop.rate_limit) &&
		      loader_get_int(ld, "loop", "rate_window", 1, 100000, &c->loop.rate_window);

	if (ok) {
		g_strfreev(c->loop.own_addresses);
		g_strfreev(c->loop.banned);
		c->loop.own_addresses = address_list(own);
		c->loop.banned = address_list(banned);
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
		gboolean r = loader_fail(ld, "threading", "ticket_pattern", "bad regular expression: %s",
				  err->message);
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
	static const char *const stranger[] = {"open", "drop", NULL};
	static const char *const closed[] = {"reply", "open_new", NULL};
	struct config *c = ld->config;
	char *pattern = NULL, *agents = NULL;
	int stranger_choice = 0, closed_choice = 0;
	gboolean ok = loader_check_known_keys(ld, "threading", threading_keys) &&
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
	c->threading.agents = address_list(agents);
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
	gboolean ok = loader_check_known_keys(ld, "auth", auth_keys) &&
		      loader_get_string(ld, "auth", "authserv_id", FALSE, &ids) &&
		      loader_get_string(ld, "auth", "agent_recipients", FALSE, &recipients) &&
		      loader_get_choice(ld, "auth", "agents", agents, &agents_choice) &&
		      loader_get_choice(ld, "auth", "replies", replies, &replies_choice);

	c->auth.authserv_ids = address_list(ids);
	if (!c->auth.authserv_ids[0])
		g_clear_pointer(&c->auth.authserv_ids, g_strfreev);
	c->auth.replies_aligned =
	    replies_choice == 1 || (replies_choice < 0 && c->auth.authserv_ids != NULL);
	c->auth.agents_by_route = agents_choice == 1;
	c->auth.agent_recipients = address_list(recipients);
	if (ok && c->auth.agents_by_route && !c->auth.agent_recipients[0])
		ok = loader_fail(ld, "auth", "agents",
				 "route needs agent_recipients: the addresses only agents send to");
	if (ok && replies_choice == 1 && !c->auth.authserv_ids)
		ok = loader_fail(ld, "auth", "replies",
				 "aligned needs authserv_id: the receiving server whose verdict counts");
	g_free(ids);
	g_free(recipients);
	return ok;
}

static gboolean load_parser(struct loader *ld)
{
	struct config *c = ld->config;
	char *marker = NULL;

	if (!loader_check_known_keys(ld, "parser", parser_keys) ||
	    !loader_get_size(ld, "parser", "max_attachment_bytes", &c->parser.max_attachment_bytes) ||
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

static void rule_condition_free(struct rule_condition *cond)
{
	g_free(cond->header);
	if (cond->regex)
		g_regex_unref(cond->regex);
	g_strfreev(cond->values);
	g_free(cond);
}

static void rule_free(struct rule *rule)
{
	g_free(rule->name);
	g_ptr_array_unref(rule->conditions);
	g_free(rule->priority);
	for (guint i = 0; i < rule->fields->len; i++) {
		g_free(g_array_index(rule->fields, struct rule_field_value, i).name);
		g_free(g_array_index(rule->fields, struct rule_field_value, i).value);
	}
	g_array_unref(rule->fields);
	g_strfreev(rule->tags);
	g_free(rule->drop);
	g_free(rule);
}

/* A condition key: "FIELD", "FIELD !", "FIELD ~" or "FIELD !~"; FIELD may be header.NAME.
 * FALSE when the key is not a condition (it may still be an action); *regex tells "~". */
static gboolean parse_condition_key(const char *key, struct rule_condition *cond, gboolean *regex)
{
	static const struct {
		const char *name;
		enum rule_field field;
	} fields[] = {
	    {"from", RULE_FROM},
	    {"to", RULE_TO},
	    {"cc", RULE_CC},
	    {"recipient", RULE_RECIPIENT},
	    {"subject", RULE_SUBJECT},
	    {"body", RULE_BODY},
	    {"attachment", RULE_ATTACHMENT},
	    {"attachment_type", RULE_ATTACHMENT_TYPE},
	    {"size", RULE_SIZE},
	    {"mailbox", RULE_MAILBOX},
	};
	char **words = g_strsplit(key, " ", 2);
	const char *name = words[0];
	const char *op = words[1] ? g_strstrip(words[1]) : "";
	gboolean known = FALSE;

	if (g_str_has_prefix(name, "header.") && name[7]) {
		cond->field = RULE_HEADER;
		cond->header = g_strdup(name + 7);
		known = TRUE;
	}
	for (gsize i = 0; !known && i < G_N_ELEMENTS(fields); i++) {
		if (strcmp(name, fields[i].name) == 0) {
			cond->field = fields[i].field;
			known = TRUE;
		}
	}
	if (known && strcmp(op, "") != 0 && strcmp(op, "!") != 0 && strcmp(op, "~") != 0 &&
	    strcmp(op, "!~") != 0)
		known = FALSE;
	cond->negate = known && op[0] == '!';
	*regex = known && strchr(op, '~');
	g_strfreev(words);
	if (!known) {
		g_free(cond->header);
		cond->header = NULL;
	}
	return known;
}

static char **address_list_or_words(const char *value, enum rule_field field);

/* "> 5M" or "< 100K" for the size condition. */
static gboolean parse_size_condition(const char *value, struct rule_condition *cond)
{
	guint64 n;

	while (*value == ' ')
		value++;
	if ((*value != '>' && *value != '<') || !parse_byte_size(value + 1, &n) || n > G_MAXSIZE)
		return FALSE;
	cond->greater = *value == '>';
	cond->size = n;
	return TRUE;
}

static gboolean load_condition(struct loader *ld, const char *group, const char *key,
			       struct rule *rule, gboolean *is_condition)
{
	struct rule_condition *cond = g_new0(struct rule_condition, 1);
	char *value;
	GError *err = NULL;
	gboolean regex;

	*is_condition = parse_condition_key(key, cond, &regex);
	if (!*is_condition) {
		g_free(cond);
		return TRUE;
	}
	value = loader_get_raw(ld, group, key);
	if (!*value) {
		/* "subject =" would contain "" and so match every mail. */
		loader_fail(ld, group, key, "empty value");
		goto fail;
	}
	if (regex) {
		cond->regex = g_regex_new(value, G_REGEX_CASELESS, 0, &err);
		if (!cond->regex) {
			loader_fail(ld, group, key, "bad regular expression: %s", err->message);
			g_error_free(err);
			goto fail;
		}
	} else if (cond->field == RULE_SIZE) {
		if (!parse_size_condition(value, cond)) {
			loader_fail(ld, group, key, "'%s' is not '> SIZE' or '< SIZE' (K, M or G allowed)",
			     value);
			goto fail;
		}
	} else {
		char *lower = g_utf8_strdown(value, -1);
		cond->values = address_list_or_words(lower, cond->field);
		g_free(lower);
	}
	g_ptr_array_add(rule->conditions, cond);
	g_free(value);
	return TRUE;
fail:
	g_free(value);
	rule_condition_free(cond);
	return FALSE;
}

/* "a, b c": Thulium's tags, each trimmed, the empty ones left out. */
static gboolean load_tags(struct loader *ld, const char *group, const char *key, struct rule *rule)
{
	char *value = NULL;
	char **parts;
	GPtrArray *tags = g_ptr_array_new();

	if (!loader_get_string(ld, group, key, TRUE, &value)) {
		g_ptr_array_unref(tags);
		return FALSE;
	}
	parts = g_strsplit(value, ",", -1);
	for (char **p = parts; *p; p++)
		if (*g_strstrip(*p))
			g_ptr_array_add(tags, g_strdup(*p));
	g_ptr_array_add(tags, NULL);
	g_strfreev(rule->tags);
	rule->tags = (char **)g_ptr_array_free(tags, FALSE);
	g_strfreev(parts);
	g_free(value);
	return TRUE;
}

/* Address fields take a list ("a@x, @y.example"); text fields one phrase. */
static char **address_list_or_words(const char *value, enum rule_field field)
{
	if (field == RULE_FROM || field == RULE_TO || field == RULE_CC || field == RULE_RECIPIENT)
		return address_list(value);
	{
		char **one = g_new0(char *, 2);
		one[0] = g_strdup(value);
		return one;
	}
}

static gboolean load_action(struct loader *ld, const char *group, const char *key,
			    struct rule *rule)
{
	static const char *const priorities[] = {"Low", "Medium", "High", NULL};
	int priority = -1;
	gboolean flag;

	/* Thulium's queues are what the other desks call departments. */
	if (strcmp(key, "department") == 0 || strcmp(key, "queue") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->department);
	if (strcmp(key, "category") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->category);
	if (strcmp(key, "status") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->status);
	if (strcmp(key, "customer_id") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->customer_id);
	if (strcmp(key, "tags") == 0)
		return load_tags(ld, group, key, rule);
	if (strcmp(key, "clientid") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->clientid);
	if (strcmp(key, "serviceid") == 0)
		return loader_get_int(ld, group, key, 1, G_MAXINT, &rule->serviceid);
	if (strcmp(key, "priority") == 0) {
		if (!loader_get_choice(ld, group, key, priorities, &priority))
			return FALSE;
		rule->priority = g_strdup(priorities[priority]);
		return TRUE;
	}
	if (strcmp(key, "markdown") == 0) {
		flag = FALSE;
		if (!loader_get_bool(ld, group, key, &flag))
			return FALSE;
		rule->markdown = flag;
		return TRUE;
	}
	if (strcmp(key, "reply_only") == 0)
		return loader_get_bool(ld, group, key, &rule->reply_only);
	if (strcmp(key, "continue") == 0)
		return loader_get_bool(ld, group, key, &rule->next);
	if (strcmp(key, "match") == 0) {
		static const char *const modes[] = {"all", "any", NULL};
		int mode = 0;
		if (!loader_get_choice(ld, group, key, modes, &mode))
			return FALSE;
		rule->any = mode == 1;
		return TRUE;
	}
	if (strcmp(key, "drop") == 0)
		return loader_get_string(ld, group, key, TRUE, &rule->drop);
	if (g_str_has_prefix(key, "customfield.")) {
		struct rule_field_value f = {0};
		char *end;
		long id = strtol(key + 12, &end, 10);
		/* Thulium names its custom fields; the WHMCS APIs number them. */
		if (g_strcmp0(ld->config->desk.kind, "thulium") == 0 && key[12])
			f.name = g_strdup(key + 12);
		else if (!key[12] || *end || id < 1 || id > G_MAXINT)
			return loader_fail(ld, group, key, "customfield.ID needs a numeric field id");
		if (!loader_get_string(ld, group, key, TRUE, &f.value)) {
			g_free(f.name);
			return FALSE;
		}
		f.id = f.name ? 0 : (int)id;
		g_array_append_val(rule->fields, f);
		return TRUE;
	}
	return loader_fail(ld, group, key, "unknown condition or action");
}

static gboolean load_rules(struct loader *ld)
{
	char **groups = g_key_file_get_groups(ld->kf, NULL);
	gboolean ok = TRUE;

	for (int i = 0; ok && groups[i]; i++) {
		struct rule *rule;
		char **keys;
		if (!g_str_has_prefix(groups[i], "rule "))
			continue;
		rule = g_new0(struct rule, 1);
		rule->name = g_strstrip(g_strdup(groups[i] + 5));
		rule->conditions =
		    g_ptr_array_new_with_free_func((GDestroyNotify)rule_condition_free);
		rule->fields = g_array_new(FALSE, TRUE, sizeof(struct rule_field_value));
		rule->markdown = -1;
		g_ptr_array_add(ld->config->rules, rule);
		keys = g_key_file_get_keys(ld->kf, groups[i], NULL, NULL);
		for (int k = 0; ok && keys && keys[k]; k++) {
			gboolean is_condition;
			ok = load_condition(ld, groups[i], keys[k], rule, &is_condition) &&
			     (is_condition || load_action(ld, groups[i], keys[k], rule));
		}
		g_strfreev(keys);
	}
	g_strfreev(groups);
	return ok;
}

static void department_route_free(struct department_route *route)
{
	g_free(route->address);
	g_free(route->mailbox);
	g_free(route);
}

struct config *config_load(const char *path, GError **error)
{
	static const struct parse_options parse_defaults = PARSE_OPTIONS_DEFAULT;
	struct loader ld = {.path = path, .error = error};
	char *text = NULL;
	char *stripped;
	GError *err = NULL;
	gboolean ok;

	if (!g_file_get_contents(path, &text, NULL, &err)) {
		g_set_error(error, CONFIG_ERROR, CONFIG_ERROR_INVALID, "%s: cannot read: %s", path,
			    err->message);
		g_error_free(err);
		return NULL;
	}
	ld.lines = g_strsplit(text, "\n", -1);
	stripped = strip_comments(text);
	g_free(text);
	ld.kf = g_key_file_new();
	if (!g_key_file_load_from_data(ld.kf, stripped, -1, G_KEY_FILE_NONE, &err)) {
		g_set_error(error, CONFIG_ERROR, CONFIG_ERROR_INVALID, "%s: %s", path, err->message);
		g_error_free(err);
		g_free(stripped);
		g_key_file_free(ld.kf);
		g_strfreev(ld.lines);
		return NULL;
	}
	g_free(stripped);

	ld.config = g_new0(struct config, 1);
	ld.config->path = g_strdup(path);
	ld.config->warnings = g_ptr_array_new_with_free_func(g_free);
	check_private(&ld, path, "the config file");
	ld.config->departments =
	    g_ptr_array_new_with_free_func((GDestroyNotify)department_route_free);
	ld.config->desk.connect_timeout = 10;
	ld.config->desk.priority_from_headers = TRUE;
	ld.config->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);
	ld.config->desk.timeout = 60;
	ld.config->desk.concurrency = 4;
	ld.config->desk.give_up_after = 300;
	ld.config->state.path = g_strdup("/var/lib/mail2ticket/journal.db");
	ld.config->state.busy_timeout_ms = 5000;
	ld.config->parser.max_attachment_bytes = parse_defaults.max_attachment_bytes;
	ld.config->parser.max_total_bytes = parse_defaults.max_total_bytes;
	ld.config->parser.reply_markers = g_new0(char *, 1);
	ld.config->parser.parse_timeout = PARSE_TIMEOUT_DEFAULT;

	ld.config->loop.rate_limit = 10;
	ld.config->loop.rate_window = 15;
	ld.config->threading.ticket_patterns =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);

	ok = check_sections(&ld) && load_desk(&ld) && load_departments(&ld) && load_state(&ld) &&
	     load_pipe(&ld) && load_parser(&ld) && load_loop(&ld) && load_threading(&ld) && load_auth(&ld) && load_rules(&ld) &&
	     config_load_mailboxes(&ld);
	g_key_file_free(ld.kf);
	g_strfreev(ld.lines);
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
	g_free(config->desk.identifier);
	if (config->desk.secret) {
		/* Do not leave the secret behind in freed memory. */
		memset(config->desk.secret, 0, strlen(config->desk.secret));
		g_free(config->desk.secret);
	}
	g_free(config->desk.accesskey);
	g_strfreev(config->desk.endpoints);
	g_free(config->desk.mailbox);
	g_strfreev(config->auth.authserv_ids);
	g_strfreev(config->auth.agent_recipients);
	g_free(config->desk.priority);
	g_free(config->desk.ca_file);
	g_ptr_array_unref(config->departments);
	g_free(config->state.path);
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
			const struct department_route *r = g_ptr_array_index(config->departments, i);
			if (g_ascii_strcasecmp(r->address, want) == 0)
				found = r;
		}
	}
	g_free(base);
	return found;
}
