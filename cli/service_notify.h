/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Telling systemd how the poll service is doing (Type=notify): ready, reloading, stopping, and the
 * watchdog's "still alive". Through libsystemd's sd_notify where it was built in; otherwise, and
 * when not started by systemd, these do nothing. */
#ifndef M2T_CLI_SERVICE_NOTIFY_H
#define M2T_CLI_SERVICE_NOTIFY_H

#include <glib.h>

/* status: a line for `systemctl status`. */
void service_notify_ready(const char *status);
void service_notify_reloading(void);
void service_notify_stopping(void);

/* How often the watchdog wants to hear from us, in microseconds (half its timeout); 0 when there
 * is no watchdog. */
gint64 service_watchdog_every(void);
/* "Still alive", at most as often as the watchdog needs it; cheap to call between mails. */
void service_watchdog_ping(void);

#endif
