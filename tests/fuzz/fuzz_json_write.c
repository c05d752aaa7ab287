/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the fast JSON writer (desk/json_write.c) must write byte for byte what
 * jansson's json_dumps() writes, for any JSON text jansson reads and for the input itself as one
 * string when it is UTF-8 (a mail's text in a dry-run line or a Thulium request). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk/json_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(json_t *value)
{
	GString *out = g_string_new(NULL);
	char *want;

	if (!value) {
		g_string_free(out, TRUE);
		return;
	}
	want = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	json_write_compact(out, value);
	if (!want || strcmp(out->str, want) != 0)
		abort();
	free(want);
	g_string_free(out, TRUE);
	json_decref(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL));
	check(json_stringn((const char *)data, size));
	return 0;
}
