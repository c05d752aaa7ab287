/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The INI reader under the section loaders (loader.h): one helper per kind of value. */
#include "config/loader.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

gboolean loader_open(struct loader *ld, const char *path)
{
	char *text = NULL;
	char *stripped;
	GError *err = NULL;

	ld->path = path;
	if (!g_file_get_contents(path, &text, NULL, &err)) {
		g_set_error(ld->error, CONFIG_ERROR, CONFIG_ERROR_INVALID, "%s: cannot read: %s",
			    path, err->message);
		g_error_free(err);
		return FALSE;
	}
	ld->lines = g_strsplit(text, "\n", -1);
	stripped = strip_comments(text);
	g_free(text);
	ld->kf = g_key_file_new();
	if (!g_key_file_load_from_data(ld->kf, stripped, -1, G_KEY_FILE_NONE, &err)) {
		g_set_error(ld->error, CONFIG_ERROR, CONFIG_ERROR_INVALID, "%s: %s", path,
			    err->message);
		g_error_free(err);
		g_free(stripped);
		loader_close(ld);
		return FALSE;
	}
	g_free(stripped);
	return TRUE;
}

void loader_close(struct loader *ld)
{
	if (ld->kf)
		g_key_file_free(ld->kf);
	g_strfreev(ld->lines);
	ld->kf = NULL;
	ld->lines = NULL;
}

gboolean loader_check_known_keys(struct loader *ld, const char *section, const char *const *known,
				 gboolean (*also_known)(const char *key))
{
	gsize n;
	char **keys = g_key_file_get_keys(ld->kf, section, &n, NULL);
	gboolean ok = TRUE;

	for (gsize i = 0; ok && keys && i < n; i++)
		if (!g_strv_contains(known, keys[i]) && !(also_known && also_known(keys[i])))
			ok = loader_fail(ld, section, keys[i], "unknown key");
	g_strfreev(keys);
	return ok;
}

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
		loader_fail(ld, section, key, "'%s' is not a whole number from %d to %d", value,
			    min, max);
		g_free(value);
		return FALSE;
	}
	*out = (int)n;
	g_free(value);
	return TRUE;
}

gboolean loader_parse_size(const char *text, guint64 *out)
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

gboolean loader_get_size(struct loader *ld, const char *section, const char *key, gsize *out)
{
	char *value = loader_get_raw(ld, section, key);
	guint64 n;

	if (!value)
		return TRUE;
	if (!loader_parse_size(value, &n) || n > G_MAXSIZE) {
		loader_fail(ld, section, key,
			    "'%s' is not a size (a number of bytes, or with K, M or G)", value);
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
void loader_check_private(struct loader *ld, const char *path, const char *what)
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
	loader_check_private(ld, path, "the secret file");
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

char **loader_address_list(const char *value)
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
static gboolean check_plain_http(struct loader *ld, const char *section, const char *key,
				 const char *url, const char *allow_key)
{
	GUri *uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	const char *host = uri ? g_uri_get_host(uri) : NULL;
	gboolean allowed = FALSE;
	gboolean ok = TRUE;

	if (!loader_get_bool(ld, section, allow_key, &allowed)) {
		ok = FALSE;
	} else if (host && is_loopback(host)) {
		g_ptr_array_add(ld->config->warnings,
				g_strdup_printf("[%s] %s %s is plain http: the API secret goes to "
						"%s unencrypted (this machine only)",
						section, key, url, host));
	} else if (allowed) {
		g_ptr_array_add(ld->config->warnings,
				g_strdup_printf("[%s] %s %s is plain http (%s = true): "
						"the API secret crosses the network unencrypted",
						section, key, url, allow_key));
	} else {
		ok = loader_fail(ld, section, key,
				 "%s would send the API secret unencrypted to %s: use https://, or "
				 "set %s = true",
				 url, host ? host : "the desk", allow_key);
	}
	if (uri)
		g_uri_unref(uri);
	return ok;
}

gboolean loader_check_secret_url(struct loader *ld, const char *section, const char *key,
				 const char *url, const char *allow_key)
{
	if (!g_str_has_prefix(url, "https://") && !g_str_has_prefix(url, "http://"))
		return loader_fail(ld, section, key, "'%s' is not an http:// or https:// address",
				   url);
	return !g_str_has_prefix(url, "http://") ||
	       check_plain_http(ld, section, key, url, allow_key);
}
