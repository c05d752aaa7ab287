/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON form of a parsed mail, as `mail2ticket parse` prints it. */
#ifndef M2T_PARSERS_MAIL_JSON_H
#define M2T_PARSERS_MAIL_JSON_H

#include <jansson.h>

#include "parsers/mail.h"

/* A new JSON object (caller json_decref()s). Attachments carry size and SHA-256; their bytes are
 * included as base64 only when with_data is set. */
json_t *mail_to_json(const struct mail *mail, gboolean with_data);

#endif
