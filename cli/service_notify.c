/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify for the poll service (service_notify.h); nothing when built without libsystemd. */
#include "cli/service_notify.h"

#ifdef M2T_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static gint64 last_ping;

void service_notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void service_notify_reloading(void)
{
	/* MONOTONIC_USEC lets systemd match this reload with the READY=1 that ends it. */
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time());
}

void service_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

gint64 service_watchdog_every(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return (gint64)(usec / 2);
}

void service_watchdog_ping(void)
{
	gint64 every = service_watchdog_every();
	gint64 now = g_get_monotonic_time();

	if (every == 0 || now - last_ping < every / 2)
		return;
	last_ping = now;
	sd_notify(0, "WATCHDOG=1");
}

#else

void service_notify_ready(const char *status)
{
	(void)status;
}

void service_notify_reloading(void)
{
}

void service_notify_stopping(void)
{
}

gint64 service_watchdog_every(void)
{
	return 0;
}

void service_watchdog_ping(void)
{
}

#endif
