/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PHP serialize() of custom fields, the form WHMCS takes them in (php_serialize.h). */
#include "desk/php_serialize.h"

#include <string.h>

char *php_serialize_fields(const struct desk_field *fields, gsize n)
{
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, "a:%" G_GSIZE_FORMAT ":{", n);
	for (gsize i = 0; i < n; i++) {
		const char *v = fields[i].value ? fields[i].value : "";
		/* PHP reads exactly LEN bytes between the quotes, so nothing inside is escaped. */
		g_string_append_printf(out, "i:%d;s:%" G_GSIZE_FORMAT ":\"%s\";", fields[i].id,
				       strlen(v), v);
	}
	g_string_append_c(out, '}');
	return g_string_free(out, FALSE);
}
