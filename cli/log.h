/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Log lines on standard error: "mail2ticket: LEVEL: message key=value ..." or one JSON object per
 * line; or to syslog. Secrets are never passed here; everything else is escaped, so that one
 * event is one line whatever a mail holds. */
#ifndef M2T_CLI_LOG_H
#define M2T_CLI_LOG_H

#include <glib.h>

enum log_level { M2T_LOG_ERROR, M2T_LOG_WARN, M2T_LOG_INFO, M2T_LOG_DEBUG };

enum log_target { M2T_LOG_TO_STDERR, M2T_LOG_TO_SYSLOG };

/* Where standard error is systemd's journal (it says so in $JOURNAL_STREAM), each line starts
 * with the journal's level prefix instead of the program's name. */
void log_setup(enum log_level max_level, gboolean json, enum log_target target);

/* A message and then name/value string pairs ending with NULL; a NULL value is left out. */
void log_event(enum log_level level, const char *message, ...) G_GNUC_NULL_TERMINATED;

void log_msg(enum log_level level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Whether a line of level is written: for a caller whose line costs work to make. */
gboolean log_writes(enum log_level level);

/* Mail text in a log line must not end the line or fake another: every message and value is
 * passed through this. Appends text to out with the C0 controls, DEL, U+0085, U+2028, U+2029
 * and bytes that are not UTF-8 written as \n, \xNN or \uNNNN, and a backslash (and each ASCII
 * character in also, when not NULL) preceded by a backslash. */
void log_escape_append(GString *out, const char *text, const char *also);
/* The same, newly allocated: for text shown on a terminal (stats, check). */
char *log_escape(const char *text);

#endif
