/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any bytes as a winmail.dat: mail2ticket's own checks of every length, then
 * libytnef on the copy it rebuilt. No crash, leak or hang; every file that comes out has data,
 * and a name that is UTF-8. */
#include <stdint.h>
#include <stdlib.h>

#include "parsers/tnef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)tnef_file_free);
	GError *err = NULL;
	char *body = NULL;

	if (!tnef_unpack(data, size, files, &body, &err))
		g_error_free(err);
	for (guint i = 0; i < files->len; i++) {
		const struct tnef_file *f = g_ptr_array_index(files, i);
		if (!f->data || g_bytes_get_size(f->data) == 0 ||
		    (f->name && !g_utf8_validate(f->name, -1, NULL)))
			abort();
	}
	g_free(body);
	g_ptr_array_unref(files);
	return 0;
}
