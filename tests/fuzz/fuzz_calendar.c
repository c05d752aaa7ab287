/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any text through the invitation summary (as mail_parse hands a text/calendar
 * part over, converted to UTF-8) must neither crash, leak nor hang. */
#include <stdint.h>
#include <stdlib.h>

#include "parsers/calendar.h"
#include "parsers/charset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *ics = charset_to_utf8((const char *)data, size, "utf-8", NULL);

	g_free(calendar_summary(ics));
	g_free(ics);
	return 0;
}
