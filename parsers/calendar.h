/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calendar invitations (text/calendar, RFC 5545) as a few lines a support agent can read. */
#ifndef M2T_PARSERS_CALENDAR_H
#define M2T_PARSERS_CALENDAR_H

#include <glib.h>

/* "Invitation: SUMMARY\nWhen: ...\nWhere: ...\nOrganizer: ..." for the first VEVENT of ics, or
 * NULL when it holds none. Newly allocated. */
char *calendar_summary(const char *ics);

#endif
