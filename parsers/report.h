/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The machine-readable parts of a multipart/report, read with GMime's header parser. */
#ifndef M2T_PARSERS_REPORT_H
#define M2T_PARSERS_REPORT_H

#include <gmime/gmime.h>

#include "parsers/mail.h"

/* Fill report from a message/delivery-status or message/disposition-notification body: the
 * per-message block, then the first per-recipient block. Fields already set are kept. */
void report_read_status(struct mail_report *report, const char *body, gsize len);

/* The Message-ID in a block of headers (text/rfc822-headers), newly allocated, or NULL. */
char *report_message_id_in_headers(const char *headers, gsize len);

#endif
