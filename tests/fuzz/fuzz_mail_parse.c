/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any bytes through the parser and its JSON form must neither crash, leak,
 * nor hang. Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined). */
#include <gmime/gmime.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "parsers/mail_json.h"
#include "parsers/mail_parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_mime_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail *mail = mail_parse((const char *)data, size, NULL);
	json_t *json = mail_to_json(mail, TRUE);
	char *text = json_dumps(json, JSON_COMPACT);

	free(text);
	json_decref(json);
	mail_free(mail);
	return 0;
}
