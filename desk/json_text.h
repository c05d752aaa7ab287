/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading desk answers, whose APIs send ids and numbers as strings or as numbers as they please. */
#ifndef M2T_DESK_JSON_TEXT_H
#define M2T_DESK_JSON_TEXT_H

#include <glib.h>
#include <jansson.h>

/* The field key of obj as text (a string, or a number written out). Newly allocated, NULL when
 * absent or of another type. */
char *json_text(const json_t *obj, const char *key);

#endif
