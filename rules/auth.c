/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sender proof (auth.h): verdicts of the trusted servers, aligned with From. */
#include "rules/auth.h"

#include <string.h>

#include "parsers/auth_results.h"
#include "rules/loop_guard.h"

/* Relaxed alignment (RFC 7489 3.1) without the public suffix list: the same domain, or one a
 * subdomain of the other, never of a bare top-level name ("example", "com"). */
static gboolean aligned(const char *a, const char *b)
{
	gsize la = strlen(a), lb = strlen(b);

	if (g_ascii_strcasecmp(a, b) == 0)
		return TRUE;
	if (la > lb)
		return strchr(b, '.') && a[la - lb - 1] == '.' &&
		       g_ascii_strcasecmp(a + la - lb, b) == 0;
	return lb > la && strchr(a, '.') && b[lb - la - 1] == '.' &&
	       g_ascii_strcasecmp(b + lb - la, a) == 0;
}

/* The topmost Authentication-Results header a configured server added: the one it wrote last,
 * on top of whatever the sender or other hops put below. NULL when there is none. */
static struct auth_results *verdict_of(const struct config *config, const struct mail *mail)
{
	for (guint i = 0; i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);
		struct auth_results *ar;
		if (g_ascii_strcasecmp(h->name, "Authentication-Results") != 0)
			continue;
		ar = auth_results_parse(h->value);
		if (ar && g_strv_contains((const char *const *)config->auth.authserv_ids,
					  ar->authserv_id))
			return ar;
		auth_results_free(ar);
	}
	return NULL;
}

static const struct auth_result *result_for(const struct auth_results *ar, const char *method)
{
	for (guint i = 0; i < ar->results->len; i++) {
		const struct auth_result *r = g_ptr_array_index(ar->results, i);
		if (strcmp(r->method, method) == 0)
			return r;
	}
	return NULL;
}

char *auth_from_unproven(const struct config *config, const struct mail *mail)
{
	const char *from = mail->from.email;
	const char *at = from ? strrchr(from, '@') : NULL;
	struct auth_results *ar;
	const struct auth_result *dmarc;
	char *why;

	if (!config->auth.authserv_ids)
		return g_strdup("no [auth] authserv_id is set: nothing proves the From header");
	if (!at)
		return g_strdup("the mail has no From address to prove");
	ar = verdict_of(config, mail);
	if (!ar)
		return g_strdup_printf("From is %s, but no Authentication-Results from %s "
				       "vouch for it",
				       from, config->auth.authserv_ids[0]);
	for (guint i = 0; i < ar->results->len; i++) {
		const struct auth_result *r = g_ptr_array_index(ar->results, i);
		if (strcmp(r->result, "pass") == 0 && r->domain && aligned(r->domain, at + 1) &&
		    (strcmp(r->method, "dmarc") == 0 || strcmp(r->method, "dkim") == 0 ||
		     strcmp(r->method, "spf") == 0)) {
			auth_results_free(ar);
			return NULL;
		}
	}
	dmarc = result_for(ar, "dmarc");
	if (dmarc)
		why = g_strdup_printf("From is %s, but DMARC %s at %s", from,
				      strcmp(dmarc->result, "fail") == 0 ? "failed" : dmarc->result,
				      ar->authserv_id);
	else
		why = g_strdup_printf("From is %s, but %s saw no DMARC, DKIM or SPF pass aligned "
				      "with %s",
				      from, ar->authserv_id, at + 1);
	auth_results_free(ar);
	return why;
}

char *auth_agent_unproven(const struct config *config, const struct mail *mail,
			  const struct envelope *envelope)
{
	const char *recipient = envelope ? envelope->recipient : NULL;

	if (!config->auth.agents_by_route)
		return auth_from_unproven(config, mail);
	if (recipient && address_listed(config->auth.agent_recipients, recipient))
		return NULL;
	return g_strdup_printf("an agent's forward counts only on %s, and this one came to %s",
			       config->auth.agent_recipients[0],
			       recipient ? recipient : "no known recipient");
}
