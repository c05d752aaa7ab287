/* MIME message -> struct mail, with GMime. */
#ifndef M2T_PARSERS_MAIL_PARSE_H
#define M2T_PARSERS_MAIL_PARSE_H

#include "parsers/mail.h"

/* Parse one raw message. Never fails: what cannot be read is recorded in mail->warnings, and a
 * message GMime cannot build at all comes back with its raw bytes as an attachment. Free with
 * mail_free(). GMime must have been initialised (g_mime_init). */
struct mail *mail_parse(const char *raw, gsize len);

#endif
