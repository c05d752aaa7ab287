/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 3676 format=flowed text, joined back into the paragraphs its sender typed. */
#ifndef M2T_PARSERS_FLOWED_H
#define M2T_PARSERS_FLOWED_H

#include <glib.h>

/* Join soft-broken lines (ending in a space) of one quote depth into one line; undo space
 * stuffing; with delsp, drop the space that marked the soft break. Quoted paragraphs come back
 * prefixed "> " per level. Newly allocated. */
char *flowed_decode(const char *text, gboolean delsp);

#endif
