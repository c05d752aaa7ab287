/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loop guard's signals (loop_guard.h), each with the reason it gives. */
#include "rules/loop_guard.h"

#include <string.h>

gboolean address_listed(char *const *list, const char *address)
{
	const char *at = address ? strchr(address, '@') : NULL;

	for (; list && *list && address; list++) {
		if (g_ascii_strcasecmp(*list, address) == 0)
			return TRUE;
		if ((*list)[0] == '@' && at && g_ascii_strcasecmp(*list, at) == 0)
			return TRUE;
	}
	return FALSE;
}

/* A header's value up to a ';' (parameters), trimmed; "" when absent. Newly allocated. */
static char *header_word(const struct mail *mail, const char *name)
{
	const char *v = mail_header_value(mail, name);
	char *word = g_strdup(v ? v : "");
	char *semi = strchr(word, ';');

	if (semi)
		*semi = '\0';
	return g_strstrip(word);
}

/* RFC 3834 and the headers mailers use instead of it. */
static char *auto_reply_reason(const struct mail *mail)
{
	static const char *const precedences[] = {"bulk", "junk", "list", NULL};
	char *v;

	v = header_word(mail, "Auto-Submitted");
	if (*v && g_ascii_strcasecmp(v, "no") != 0) {
		char *why = g_strdup_printf("auto-submitted mail (Auto-Submitted: %s)", v);
		g_free(v);
		return why;
	}
	g_free(v);
	v = header_word(mail, "Precedence");
	for (const char *const *p = precedences; *p; p++) {
		if (g_ascii_strcasecmp(v, *p) == 0) {
			char *why = g_strdup_printf("bulk or list mail (Precedence: %s)", v);
			g_free(v);
			return why;
		}
	}
	g_free(v);
	if (mail_header_value(mail, "X-Autoreply") || mail_header_value(mail, "X-Autorespond"))
		return g_strdup("auto-reply (X-Autoreply/X-Autorespond)");
	v = header_word(mail, "X-Auto-Response-Suppress");
	if (strcasestr(v, "all") || strcasestr(v, "autoreply") || strcasestr(v, "oof")) {
		char *why = g_strdup_printf("auto-reply (X-Auto-Response-Suppress: %s)", v);
		g_free(v);
		return why;
	}
	g_free(v);
	return NULL;
}

static gboolean is_daemon(const char *address)
{
	return address && (g_ascii_strncasecmp(address, "mailer-daemon@", 14) == 0 ||
			   g_ascii_strncasecmp(address, "postmaster@", 11) == 0 ||
			   g_ascii_strcasecmp(address, "mailer-daemon") == 0);
}

/* Our own addresses: the configured ones and every address [departments] routes. */
static gboolean is_own(const struct config *config, const char *address)
{
	if (address_listed(config->loop.own_addresses, address))
		return TRUE;
	for (guint i = 0; address && i < config->departments->len; i++) {
		const struct department_route *r = g_ptr_array_index(config->departments, i);
		if (r->address[0] != '@' && g_ascii_strcasecmp(r->address, address) == 0)
			return TRUE;
	}
	return FALSE;
}

char *loop_guard_reason(const struct config *config, const struct mail *mail,
			const struct envelope *envelope)
{
	const char *from = mail->from.email;
	char *why = auto_reply_reason(mail);
	char *return_path;

	if (why)
		return why;
	if (mail->report) {
		gboolean receipt =
			g_strcmp0(mail->report->type, "disposition-notification") == 0;
		return g_strdup_printf("%s report (%s %s)",
				       receipt ? "read receipt" : "delivery status",
				       mail->report->action ? mail->report->action : "",
				       mail->report->status ? mail->report->status : "");
	}
	return_path = header_word(mail, "Return-Path");
	if (strcmp(return_path, "<>") == 0 ||
	    (envelope && envelope->sender && !*envelope->sender)) {
		g_free(return_path);
		return g_strdup("empty return path (a bounce or a notification)");
	}
	g_free(return_path);
	if (is_daemon(from) || (envelope && is_daemon(envelope->sender)))
		return g_strdup_printf("sent by a mail system (%s)",
				       from ? from : envelope->sender);
	if (is_own(config, from))
		return g_strdup_printf("sent from our own address %s", from);
	if (address_listed(config->loop.banned, from))
		return g_strdup_printf("banned sender %s", from);
	return NULL;
}

gboolean loop_guard_rate_allows(const struct config *config, guint recent)
{
	return config->loop.rate_limit == 0 || recent < (guint)config->loop.rate_limit;
}
