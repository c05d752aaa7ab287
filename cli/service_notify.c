/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify for the poll service (service_notify.h); nothing when built without libsystemd. */
#include "cli/service_notify.h"

#ifdef M2T_HAVE_SYSTEMD
#include <dlfcn.h>
#include <stdint.h>

#include "cli/log.h"

/* libsystemd is loaded only where systemd listens (NOTIFY_SOCKET is set), as systemd documents
 * for programs that may run without it: the nine libraries it brings cost every pipe run
 * otherwise. NULL members: not loaded, and every call does nothing, as sd_notify does when not
 * started by systemd. */
static struct {
	int (*notify)(int unset_environment, const char *state);
	int (*watchdog_enabled)(int unset_environment, uint64_t *usec);
} sd;

static void load_libsystemd(void)
{
	static gsize done;
	void *handle;

	if (!g_once_init_enter(&done))
		return;
	if (g_getenv("NOTIFY_SOCKET")) {
		handle = dlopen(M2T_LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);
		if (handle) {
			sd.notify = (int (*)(int, const char *))dlsym(handle, "sd_notify");
			sd.watchdog_enabled =
			    (int (*)(int, uint64_t *))dlsym(handle, "sd_watchdog_enabled");
		}
		if (!sd.notify || !sd.watchdog_enabled) {
			log_msg(M2T_LOG_WARN, "cannot tell systemd how poll is doing: %s",
				dlerror());
			sd.notify = NULL;
			sd.watchdog_enabled = NULL;
		}
	}
	g_once_init_leave(&done, 1);
}

static void notify(const char *state)
{
	load_libsystemd();
	if (sd.notify)
		sd.notify(0, state);
}

static gint64 last_ping;

void service_notify_ready(const char *status)
{
	char *state = g_strdup_printf("READY=1\nSTATUS=%s", status);

	notify(state);
	g_free(state);
}

void service_notify_reloading(void)
{
	/* MONOTONIC_USEC lets systemd match this reload with the READY=1 that ends it. */
	char *state = g_strdup_printf("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT,
				      g_get_monotonic_time());

	notify(state);
	g_free(state);
}

void service_notify_stopping(void)
{
	notify("STOPPING=1");
}

gint64 service_watchdog_every(void)
{
	uint64_t usec = 0;

	load_libsystemd();
	if (!sd.watchdog_enabled || sd.watchdog_enabled(0, &usec) <= 0)
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
	notify("WATCHDOG=1");
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
