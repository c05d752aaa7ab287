/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The answer of any desk (desk_answer.h): statuses, and the desk's text quoted without secrets. */
#include "desk/desk_answer.h"

#include <string.h>

#include "desk/desk.h"

/* A shorter tail that begins a secret tells too little of it to hide, and would otherwise turn
 * the end of many an honest quote into REDACTED. */
#define PARTIAL_SECRET_MIN 3

gboolean desk_status_refuses_request(long status)
{
	return status == 413 || status == 414;
}

gboolean desk_status_may_heal(long status)
{
	return status == 408 || status == 421 || status == 423 || status == 425 ||
	       status == 429 || status >= 500;
}

void desk_set_refused_request(GError **error, const char *call, const char *desk, long status)
{
	g_set_error(error, DESK_ERROR, DESK_ERROR_REFUSED,
		    "%s refused by %s: HTTP %ld, the request is %s than the desk's web server "
		    "takes; lower [parser] max_total_bytes and max_attachment_bytes below the "
		    "server's body limit (or raise it), then reprocess the mail",
		    call, desk, status, status == 414 ? "longer" : "larger");
}

/* s percent-encoded as http_curl.c's form does (hex upper or lower case, as a server may echo
 * it). Newly allocated. */
static char *percent_encoded(const char *s, gboolean upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	GString *out = g_string_new(NULL);

	for (const guchar *p = (const guchar *)s; *p; p++) {
		if (g_ascii_isalnum(*p) || strchr("-._~", *p)) {
			g_string_append_c(out, *p);
		} else {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[*p >> 4]);
			g_string_append_c(out, hex[*p & 15]);
		}
	}
	return g_string_free(out, FALSE);
}

/* A form held a secret: it is cleared, not only freed. */
static void form_free(char *form)
{
	memset(form, 0, strlen(form));
	g_free(form);
}

/* Each secret as the desk may show it. */
static GPtrArray *secret_forms(const char *const *secrets, gsize n)
{
	GPtrArray *forms = g_ptr_array_new_with_free_func((GDestroyNotify)form_free);

	for (gsize i = 0; i < n; i++) {
		if (!secrets[i] || !*secrets[i])
			continue;
		g_ptr_array_add(forms, g_strdup(secrets[i]));
		g_ptr_array_add(forms, percent_encoded(secrets[i], TRUE));
		g_ptr_array_add(forms, percent_encoded(secrets[i], FALSE));
	}
	return forms;
}

/* How many bytes of text at a secret's form, 0 when none: a whole form, or to the end of
 * text the start of one. */
static gsize secret_at(const char *text, gsize left, const GPtrArray *forms)
{
	for (guint k = 0; k < forms->len; k++) {
		const char *form = g_ptr_array_index(forms, k);
		gsize n = strlen(form);
		if (left >= n && memcmp(text, form, n) == 0)
			return n;
		if (left < n && left >= PARTIAL_SECRET_MIN && memcmp(text, form, left) == 0)
			return left;
	}
	return 0;
}

char *desk_quote(const char *text, gsize len, gsize max, const char *const *secrets, gsize n)
{
	GPtrArray *forms = secret_forms(secrets, n);
	GString *out = g_string_new(NULL);
	gsize end = MIN(len, max);

	for (gsize i = 0; i < end;) {
		gsize hidden = secret_at(text + i, end - i, forms);
		if (hidden) {
			g_string_append(out, "REDACTED");
			i += hidden;
		} else {
			g_string_append_c(out, text[i++]);
		}
	}
	g_ptr_array_unref(forms);
	g_strstrip(out->str);
	return g_string_free(out, FALSE);
}
