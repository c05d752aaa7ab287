/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of desk kinds (desk_backend.h): one line per kind, looked up by [desk] kind. */
#include "desk/desk_backend.h"

/* Every kind of desk, one line each, in the order messages list them. A line both declares the
 * backend, defined in desk/NAME.c, and puts it in desk_backends[]. */
#define DESK_BACKENDS(BACKEND) \
	BACKEND(whmcs)         \
	BACKEND(keliweb)       \
	BACKEND(thulium)

#define DECLARE_BACKEND(name) extern const struct desk_backend name##_backend;
DESK_BACKENDS(DECLARE_BACKEND)
#define LIST_BACKEND(name) &name##_backend,
static const struct desk_backend *const desk_backends[] = {DESK_BACKENDS(LIST_BACKEND) NULL};

const struct desk_backend *desk_backend_lookup(const char *name)
{
	for (gsize i = 0; name && desk_backends[i]; i++)
		if (g_ascii_strcasecmp(desk_backends[i]->name, name) == 0)
			return desk_backends[i];
	return NULL;
}

char *desk_backend_names(void)
{
	GString *names = g_string_new(NULL);

	for (gsize i = 0; desk_backends[i]; i++)
		g_string_append_printf(names, "%s%s", i ? ", " : "", desk_backends[i]->name);
	return g_string_free(names, FALSE);
}

char *desk_backend_titles(unsigned capability)
{
	GString *titles = g_string_new(NULL);

	for (gsize i = 0; desk_backends[i]; i++)
		if (desk_backends[i]->capabilities & capability)
			g_string_append_printf(titles, "%s%s", titles->len ? ", " : "",
					       desk_backends[i]->title);
	return g_string_free(titles, FALSE);
}

gboolean desk_backend_takes_key(const char *key)
{
	for (gsize i = 0; desk_backends[i]; i++)
		for (const struct desk_key *k = desk_backends[i]->keys; k && k->name; k++)
			if (g_strcmp0(k->name, key) == 0)
				return TRUE;
	return FALSE;
}

const char *desk_backend_key_value(const struct config *config, const char *name)
{
	return config->desk.backend_keys ? g_hash_table_lookup(config->desk.backend_keys, name)
					 : NULL;
}

GHashTable *desk_backend_calls(const struct config *config, const struct desk_key *keys)
{
	GHashTable *calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	for (const struct desk_key *k = keys; k->name; k++) {
		const char *value = desk_backend_key_value(config, k->name);
		if (k->call)
			g_hash_table_insert(calls, g_strdup(k->call),
					    g_strdup(value ? value : k->default_value));
	}
	return calls;
}
