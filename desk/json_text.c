/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Ids and numbers from desk answers as text, whichever JSON type the API chose (json_text.h). */
#include "desk/json_text.h"

char *json_text(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		return g_strdup(json_string_value(v));
	if (json_is_integer(v))
		return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return g_strdup_printf("%.0f", json_real_value(v));
	return NULL;
}
