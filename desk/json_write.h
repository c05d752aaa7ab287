/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON text of a value, written fast: a dry run's lines and Thulium's requests are mostly mail
 * text, which jansson's json_dumps() escapes a code point at a time (about 100 MB/s). */
#ifndef M2T_DESK_JSON_WRITE_H
#define M2T_DESK_JSON_WRITE_H

#include <glib.h>
#include <jansson.h>

/* Appends to out the bytes json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) returns, for a
 * value whose strings are UTF-8 (jansson checks all but json_*_nocheck ones, which must be
 * checked before) and that holds no loop. */
void json_write_compact(GString *out, const json_t *value);

#endif
