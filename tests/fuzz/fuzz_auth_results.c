/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any Authentication-Results value (a sender can write one, and the receiving
 * server's own are mail text too) through the RFC 8601 reader must neither crash, leak nor hang. */
#include <stdint.h>
#include <stdlib.h>

#include "parsers/auth_results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = g_strndup((const char *)data, size);

	auth_results_free(auth_results_parse(value));
	g_free(value);
	return 0;
}
