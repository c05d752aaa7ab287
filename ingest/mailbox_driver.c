/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of mailbox kinds (mailbox_driver.h): url schemes, ports, features, constructors. */
#include "ingest/mailbox_driver.h"

/* Every kind of mailbox, one line each, in the order messages list them. A line both declares
 * the driver, defined in ingest/NAME.c (IMAP and POP3: ingest/mailbox_remote.c), and puts it in
 * mailbox_drivers[]. */
#define MAILBOX_DRIVERS(DRIVER) \
	DRIVER(imap)            \
	DRIVER(pop3)            \
	DRIVER(spool)

#define DECLARE_DRIVER(name) extern const struct mailbox_driver name##_driver;
MAILBOX_DRIVERS(DECLARE_DRIVER)
#define LIST_DRIVER(name) &name##_driver,
static const struct mailbox_driver *const mailbox_drivers[] = {MAILBOX_DRIVERS(LIST_DRIVER) NULL};

const struct mailbox_driver *mailbox_driver_for_scheme(const char *scheme, gboolean *implicit_tls)
{
	for (gsize i = 0; scheme && mailbox_drivers[i]; i++) {
		const struct mailbox_driver *d = mailbox_drivers[i];
		if (!d->scheme)
			continue;
		*implicit_tls = g_ascii_strcasecmp(scheme, d->tls_scheme) == 0;
		if (*implicit_tls || g_ascii_strcasecmp(scheme, d->scheme) == 0)
			return d;
	}
	return NULL;
}

const struct mailbox_driver *mailbox_driver_lookup(const char *name)
{
	for (gsize i = 0; name && mailbox_drivers[i]; i++)
		if (g_ascii_strcasecmp(mailbox_drivers[i]->name, name) == 0)
			return mailbox_drivers[i];
	return NULL;
}

/* items joined as "a, b or c". Newly allocated. */
static char *spoken_list(GPtrArray *items)
{
	GString *text = g_string_new(NULL);

	for (guint i = 0; i < items->len; i++) {
		const char *separator = i == 0 ? "" : i + 1 < items->len ? ", " : " or ";
		g_string_append_printf(text, "%s%s", separator,
				       (const char *)g_ptr_array_index(items, i));
	}
	return g_string_free(text, FALSE);
}

char *mailbox_driver_url_forms(gboolean tls_only)
{
	GPtrArray *forms = g_ptr_array_new_with_free_func(g_free);
	char *text;

	for (gsize i = 0; mailbox_drivers[i]; i++) {
		const struct mailbox_driver *d = mailbox_drivers[i];
		const char *folder;
		if (!d->scheme)
			continue;
		if (tls_only) {
			g_ptr_array_add(forms, g_strconcat(d->tls_scheme, "://", NULL));
			continue;
		}
		folder = d->features & MAILBOX_HAS_FOLDERS ? "/FOLDER" : "";
		g_ptr_array_add(forms, g_strconcat(d->tls_scheme, "://HOST", folder, NULL));
		g_ptr_array_add(forms, g_strconcat(d->scheme, "://", NULL));
	}
	text = spoken_list(forms);
	g_ptr_array_unref(forms);
	return text;
}

char *mailbox_driver_names(unsigned feature)
{
	GPtrArray *names = g_ptr_array_new();
	char *text;

	for (gsize i = 0; mailbox_drivers[i]; i++)
		if (mailbox_drivers[i]->scheme && (mailbox_drivers[i]->features & feature))
			g_ptr_array_add(names, (char *)mailbox_drivers[i]->name);
	text = spoken_list(names);
	g_ptr_array_unref(names);
	return text;
}
