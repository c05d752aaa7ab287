/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authentication-Results values (RFC 8601) read in one pass, without backtracking. */
#include "parsers/auth_results.h"

#include <string.h>

/* The value with comments left out and each quoted string's quotes removed; ';' and '=' that
 * separate are marked as '\x01' and '\x02' so that the ones inside quoted strings stay text.
 * One pass; a comment or quote left open runs to the end. Newly allocated. */
static char *tokenized(const char *value)
{
	GString *out = g_string_sized_new(strlen(value));
	int depth = 0;
	gboolean quoted = FALSE;

	for (const char *p = value; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				g_string_append_c(out, *++p);
			else if (*p == '"')
				quoted = FALSE;
			else
				g_string_append_c(out, *p);
		} else if (depth > 0) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(') {
			depth = 1;
			g_string_append_c(out, ' ');
		} else if (*p == '"') {
			quoted = TRUE;
		} else if (*p == ';') {
			g_string_append_c(out, '\x01');
		} else if (*p == '=') {
			g_string_append_c(out, '\x02');
		} else {
			g_string_append_c(out, g_ascii_isspace(*p) ? ' ' : *p);
		}
	}
	return g_string_free(out, FALSE);
}

/* "name = value" pairs of one resinfo, blanks around '=' and '.' allowed (RFC 8601 2.2): the
 * words are joined back where a '=' or '.' stands alone or at a word's edge. */
static char **pairs_of(const char *resinfo)
{
	GString *joined = g_string_sized_new(strlen(resinfo));
	char **words = g_strsplit(resinfo, " ", -1);
	GPtrArray *pairs = g_ptr_array_new();
	char **split;

	for (char **w = words; *w; w++) {
		if (!**w)
			continue;
		if (joined->len && joined->str[joined->len - 1] != '\x02' &&
		    joined->str[joined->len - 1] != '.' && **w != '\x02' && **w != '.')
			g_string_append_c(joined, ' ');
		g_string_append(joined, *w);
	}
	split = g_strsplit(joined->str, " ", -1);
	for (char **s = split; *s; s++)
		if (strchr(*s, '\x02'))
			g_ptr_array_add(pairs, g_strdup(*s));
	g_ptr_array_add(pairs, NULL);
	g_strfreev(split);
	g_strfreev(words);
	g_string_free(joined, TRUE);
	return (char **)g_ptr_array_free(pairs, FALSE);
}

static char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return g_ascii_strdown(at ? at + 1 : address, -1);
}

static struct auth_result *result_from(char **pairs)
{
	struct auth_result *r;
	char *eq = pairs[0] ? strchr(pairs[0], '\x02') : NULL;
	char *helo = NULL;

	if (!eq || eq == pairs[0] || !eq[1])
		return NULL;
	r = g_new0(struct auth_result, 1);
	*eq = '\0';
	/* A method may carry a version: "dkim/1". */
	pairs[0][strcspn(pairs[0], "/")] = '\0';
	r->method = g_ascii_strdown(pairs[0], -1);
	r->result = g_ascii_strdown(eq + 1, -1);
	for (char **p = pairs + 1; *p; p++) {
		char *sep = strchr(*p, '\x02');
		const char *value = sep + 1;
		*sep = '\0';
		if (!*value || r->domain)
			continue;
		if ((strcmp(r->method, "dmarc") == 0 &&
		     g_ascii_strcasecmp(*p, "header.from") == 0) ||
		    (strcmp(r->method, "dkim") == 0 && g_ascii_strcasecmp(*p, "header.d") == 0) ||
		    (strcmp(r->method, "spf") == 0 && g_ascii_strcasecmp(*p, "smtp.mailfrom") == 0))
			r->domain = domain_of(value);
		else if (!helo && ((strcmp(r->method, "dkim") == 0 &&
				    g_ascii_strcasecmp(*p, "header.i") == 0) ||
				   (strcmp(r->method, "spf") == 0 &&
				    g_ascii_strcasecmp(*p, "smtp.helo") == 0)))
			helo = domain_of(value);
	}
	r->domain = r->domain ? r->domain : helo;
	if (r->domain != helo)
		g_free(helo);
	return r;
}

static void auth_result_free(struct auth_result *r)
{
	g_free(r->method);
	g_free(r->result);
	g_free(r->domain);
	g_free(r);
}

struct auth_results *auth_results_parse(const char *value)
{
	char *text = tokenized(value);
	char **parts = g_strsplit(text, "\x01", -1);
	/* g_strsplit() gives no parts at all for an empty value. */
	char *id = g_strstrip(g_strdup(parts[0] ? parts[0] : ""));
	struct auth_results *ar = NULL;

	/* The authserv-id may be followed by a version number. */
	id[strcspn(id, " ")] = '\0';
	if (*id && !strchr(id, '\x02')) {
		ar = g_new0(struct auth_results, 1);
		ar->authserv_id = g_ascii_strdown(id, -1);
		ar->results = g_ptr_array_new_with_free_func((GDestroyNotify)auth_result_free);
		for (char **part = parts + 1; *part; part++) {
			char **pairs = pairs_of(*part);
			struct auth_result *r = result_from(pairs);
			if (r)
				g_ptr_array_add(ar->results, r);
			g_strfreev(pairs);
		}
	}
	g_free(id);
	g_strfreev(parts);
	g_free(text);
	return ar;
}

void auth_results_free(struct auth_results *ar)
{
	if (!ar)
		return;
	g_free(ar->authserv_id);
	g_ptr_array_unref(ar->results);
	g_free(ar);
}
