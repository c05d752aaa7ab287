/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* poll: the long-running service. Every configured mailbox is watched from one thread: IMAP
 * mailboxes wait in IDLE (re-issued before servers drop it), others are polled at their interval;
 * a mailbox whose server or desk fails backs off on its own, the others go on. Instances that
 * share a journal share the mailboxes: each one is read by the instance that holds its lease
 * (flow/mailbox_lease.h), and one instance alone holds them all. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "cli/commands.h"
#include "flow/deliver.h"
#include "flow/deliver_pool.h"
#include "cli/log.h"
#include "flow/mailbox_lease.h"
#include "flow/retry_clock.h"
#include "flow/poll_pass.h"
#include "cli/service_notify.h"
#include "ingest/mailbox_driver.h"

static const char poll_usage[] = "mail2ticket poll [--once] [--dry-run] [--mailbox NAME]";

/* Backoff after a failure: 1 s, doubling up to this cap. */
#define BACKOFF_MAX_SECONDS 300
/* After this many failed passes in a row, an error line; repeated at most this often. */
#define ALERT_AFTER 5
#define ALERT_EVERY_SECONDS 3600

static void poll_help(void)
{
	printf(
	    "usage: %s\n\n"
	    "Watch the [mailbox NAME] sections of the config (IMAP with IDLE, or POP3) and turn\n"
	    "each new mail into a ticket or reply. A mail is moved, flagged or deleted on the\n"
	    "server only after the journal has the desk's answer. Runs until SIGTERM or SIGINT\n"
	    "(the mail in hand is finished first); SIGHUP reloads the config. Instances that\n"
	    "share a journal share the mailboxes: each is read by one of them at a time, and\n"
	    "another takes it over within [state] lease_seconds when that one dies.\n\n"
	    "  --once          handle what is there now and exit: 0 when all of it was handled,\n"
	    "                  75 when some waits for a server or desk that failed for\n"
	    "                  [desk] give_up_after in a row (mail is tried again until then),\n"
	    "                  or for another instance that held a mailbox for lease_seconds\n"
	    "  --dry-run       print the API calls as JSON (secrets redacted); change nothing,\n"
	    "                  take no lease (implies --once)\n"
	    "  --mailbox NAME  only this mailbox\n"
	    "  -h, --help      this text\n",
	    poll_usage);
}

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
	if (write(wake_pipe[1], &c, 1) < 0) {
		/* The pipe is full: a wake-up is pending already. */
	}
	errno = saved;
}

static gboolean install_signals(GError **error)
{
	struct sigaction sa = {0};

	if (!g_unix_open_pipe(wake_pipe, FD_CLOEXEC, error))
		return FALSE;
	fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Restarted calls let the mail in hand finish; the flags are read between mails. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return TRUE;
}

static void drain_wake_pipe(void)
{
	char buf[64];

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/* One mailbox as the service sees it. */
struct watch {
	const struct mailbox_config *config;
	struct mailbox *mb;
	struct mailbox_lease *lease; /* NULL: read without one (the spool, a dry run) */
	gboolean asked;		     /* the lease was asked for once (--once waits only then) */
	gint64 due;	    /* monotonic time of the next pass */
	int fd;		    /* the IDLE socket, or -1 */
	guint backoff;	    /* seconds, after the last failure */
	guint failures;	    /* failed passes in a row */
	gint64 last_alert;  /* when the last error line was written */
	/* Mail a failure that may heal left, and when it is tried again (monotonic): passes that
	 * IDLE's news brings before then leave it alone. */
	struct poll_waiting waiting;
	gint64 retry_at;
};

static void watch_free(struct watch *w)
{
	GError *err = NULL;

	if (w->mb && !w->mb->ops->close(w->mb, &err)) {
		log_event(M2T_LOG_WARN, err->message, "mailbox", w->config->name, NULL);
		g_error_free(err);
	}
	mailbox_free(w->mb);
	/* Released after the connection is closed: nothing is acknowledged once another instance
	 * may hold the mailbox. */
	mailbox_lease_free(w->lease);
	g_hash_table_unref(w->waiting.ids);
	g_free(w);
}

/* The watches of config's mailboxes (only the one named only, when not NULL). A mailbox on a
 * server gets a lease in d's journal for instance, unless d is a dry run (which changes
 * nothing); the spool has none, for it is a folder on this host that this host's pipe fills and
 * no other instance reads. */
static GPtrArray *watches_new(const struct config *config, const char *only,
			      const struct deliver *d, const char *instance, GError **error)
{
	GPtrArray *watches = g_ptr_array_new_with_free_func((GDestroyNotify)watch_free);

	for (guint i = 0; i < config->mailboxes->len; i++) {
		const struct mailbox_config *mc = g_ptr_array_index(config->mailboxes, i);
		struct watch *w;
		if (only && strcmp(only, mc->name) != 0)
			continue;
		w = g_new0(struct watch, 1);
		w->config = mc;
		w->mb = mailbox_new(mc);
		w->fd = -1;
		w->waiting.ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		if (!d->dry_run && !(mc->driver->features & MAILBOX_IS_LOCAL))
			w->lease = mailbox_lease_new(d->journal, mc->name, instance,
						     (guint)config->state.lease_seconds);
		g_ptr_array_add(watches, w);
	}
	if (watches->len == 0) {
		g_set_error(
		    error, CONFIG_ERROR, CONFIG_ERROR_INVALID,
		    only ? "%s: no [mailbox %s] section"
			 : "%s: nothing to watch: no [mailbox NAME] section and no [pipe] spool",
		    config->path, only);
		g_ptr_array_unref(watches);
		return NULL;
	}
	return watches;
}

/* A failed pass: the mailbox waits (1 s, doubling up to the cap) and says so, at error level
 * once it has failed ALERT_AFTER times in a row, and then no more than hourly. */
static void pass_failed(struct watch *w, const char *what, const GError *err)
{
	gint64 now = g_get_monotonic_time();
	char delay[32];
	gboolean alert;

	w->backoff = w->backoff ? MIN(w->backoff * 2, BACKOFF_MAX_SECONDS) : 1;
	w->due = now + (gint64)w->backoff * G_USEC_PER_SEC;
	w->failures++;
	g_snprintf(delay, sizeof(delay), "%u s", w->backoff);
	alert = w->failures >= ALERT_AFTER &&
		(!w->last_alert ||
		 now - w->last_alert >= (gint64)ALERT_EVERY_SECONDS * G_USEC_PER_SEC);
	if (alert) {
		char *count = g_strdup_printf("%u", w->failures);
		w->last_alert = now;
		log_event(M2T_LOG_ERROR, "mailbox keeps failing", "mailbox", w->config->name,
			  "failures", count, "error", err ? err->message : what, NULL);
		g_free(count);
	} else {
		log_event(M2T_LOG_WARN, what, "mailbox", w->config->name, "error",
			  err ? err->message : NULL, "retry in", delay, NULL);
	}
}

static void pass_succeeded(struct watch *w)
{
	if (w->failures >= ALERT_AFTER)
		log_event(M2T_LOG_INFO, "mailbox works again", "mailbox", w->config->name, NULL);
	w->failures = 0;
	w->backoff = 0;
	w->last_alert = 0;
}

/* Wait for news: IDLE where the server has it (and the config allows), with a re-check at least
 * every interval; else the next pass after interval. */
static void wait_for_news(struct watch *w)
{
	const struct mailbox_config *c = w->config;
	gint64 now = g_get_monotonic_time();
	gboolean ready = FALSE;
	GError *err = NULL;

	w->due = now + (gint64)c->interval * G_USEC_PER_SEC;
	if (!w->mb->ops->idle_start || !w->mb->connected)
		return;
	if (!w->mb->ops->idle_start(w->mb, &w->fd, &ready, &err)) {
		pass_failed(w, "cannot wait in IDLE", err);
		g_error_free(err);
		w->mb->ops->close(w->mb, NULL);
		return;
	}
	if (w->fd >= 0)
		w->due = now + (gint64)MIN(c->interval, c->idle_restart) * G_USEC_PER_SEC;
	if (ready)
		w->due = now;
}

/* One pass over the mailbox; FALSE when the process must end (*rc set). *all_done is cleared
 * when mail waits, and *may_heal set when it waits for a failure that may heal. */
static gboolean run_pass(struct deliver *d, struct deliver_pool *lanes, struct watch *w,
			 gboolean once, gboolean *all_done, gboolean *may_heal, int *rc)
{
	GError *err = NULL;
	enum poll_result result;

	if (w->fd >= 0) {
		w->fd = -1;
		if (!w->mb->ops->idle_done(w->mb, &err)) {
			log_event(M2T_LOG_INFO, "IDLE ended with an error; reconnecting", "mailbox",
				  w->config->name, "error", err->message, NULL);
			g_clear_error(&err);
		}
	}
	/* --once tries everything each time: its retry clock paces it. */
	w->waiting.due = once || g_get_monotonic_time() >= w->retry_at;
	result = poll_pass(d, lanes, w->mb, w->lease, &w->waiting, &stop_requested, &err);
	switch (result) {
	case POLL_OK:
		if (w->waiting.skipped > 0) {
			/* Only new mail was taken: the waiting mail's backoff goes on. */
			*all_done = FALSE;
			wait_for_news(w);
			w->due = MIN(w->due, w->retry_at);
			break;
		}
		g_hash_table_remove_all(w->waiting.ids);
		pass_succeeded(w);
		wait_for_news(w);
		break;
	case POLL_RETRY:
		*all_done = FALSE;
		*may_heal = *may_heal || retry_clock_may_heal(err);
		/* A failed pass like the others, so the waiting mail is tried again after a
		 * backoff and an error line names the mailbox; meanwhile the mailbox waits in IDLE
		 * as after a good pass, so new mail does not wait for that backoff. */
		pass_failed(w, "some mail waits for a failure to heal", err);
		w->retry_at = w->due;
		wait_for_news(w);
		w->due = MIN(w->due, w->retry_at);
		break;
	case POLL_DESK_DOWN:
		*all_done = FALSE;
		*may_heal = TRUE;
		w->mb->ops->close(w->mb, NULL);
		pass_failed(w, "the desk is failing; the mailbox pauses", err);
		break;
	case POLL_CONNECTION:
		*all_done = FALSE;
		w->mb->ops->close(w->mb, NULL);
		pass_failed(w, "the mailbox cannot be read", err);
		break;
	case POLL_LEASE_LOST:
		*all_done = FALSE;
		w->mb->ops->close(w->mb, NULL);
		break;
	case POLL_FATAL:
		log_event(M2T_LOG_ERROR, "stopping: a parser thread cannot be stopped",
			  "mailbox", w->config->name, "error", err->message, NULL);
		*rc = EX_SOFTWARE;
		g_clear_error(&err);
		return FALSE;
	}
	g_clear_error(&err);
	return TRUE;
}

/* This process among the poll instances that share a journal, as its leases and logs name it:
 * the host, the pid, and a random part, since a pid comes back after a restart (in a container
 * it is often 1). Newly allocated. */
static char *instance_id_new(void)
{
	return g_strdup_printf("%s:%d:%08" G_GINT32_MODIFIER "x", g_get_host_name(), (int)getpid(),
			       g_random_int());
}

/* Sleep until the monotonic time until, or a signal. */
static void sleep_until(gint64 until)
{
	struct pollfd fd = {.fd = wake_pipe[0], .events = POLLIN};
	gint64 now = g_get_monotonic_time();

	if (until > now && poll(&fd, 1, (int)MIN((until - now + 999) / 1000, G_MAXINT)) > 0)
		drain_wake_pipe();
}

/* --once: a mailbox that another instance holds is waited for up to lease_seconds, by which time
 * the lease of one that died has run out; then it is left to its holder. */
static gboolean once_take_lease(struct watch *w, int lease_seconds)
{
	gint64 until = g_get_monotonic_time() + (gint64)lease_seconds * G_USEC_PER_SEC;

	while (!mailbox_lease_keep(w->lease, TRUE)) {
		if (g_get_monotonic_time() >= until || stop_requested) {
			char *seconds = g_strdup_printf("%d s", lease_seconds);
			log_event(M2T_LOG_WARN, "no lease on the mailbox; its mail waits",
				  "mailbox", w->config->name, "waited", seconds, NULL);
			g_free(seconds);
			return FALSE;
		}
		sleep_until(MIN(until, mailbox_lease_due(w->lease)));
	}
	return TRUE;
}

/* Whether this instance may read the watch's mailbox now: it has no lease, or holds it, taken
 * or renewed here as that falls due (--once waits for it the first time). A mailbox just taken
 * is read at once; one lost has its connection closed at once, so that nothing more is
 * acknowledged there. */
static gboolean watch_holds_mailbox(struct watch *w, gboolean once, int lease_seconds)
{
	gboolean had, held;

	if (!w->lease)
		return TRUE;
	had = mailbox_lease_held(w->lease);
	held = once && !w->asked ? once_take_lease(w, lease_seconds)
				 : mailbox_lease_keep(w->lease, FALSE);
	w->asked = TRUE;
	if (held && !had)
		w->due = 0;
	if (!held && w->mb->connected)
		w->mb->ops->close(w->mb, NULL);
	if (!held)
		w->fd = -1;
	return held;
}

/* Sleep until a watch is due, a lease is to be renewed or asked for again, an IDLE socket has
 * news, or a signal arrives. */
static void wait_for_work(GPtrArray *watches)
{
	struct pollfd *fds = g_new0(struct pollfd, watches->len + 1);
	gint64 now = g_get_monotonic_time();
	gint64 next = now + (gint64)3600 * G_USEC_PER_SEC;
	nfds_t n = 0;
	int timeout_ms;

	fds[n++] = (struct pollfd){.fd = wake_pipe[0], .events = POLLIN};
	for (guint i = 0; i < watches->len; i++) {
		struct watch *w = g_ptr_array_index(watches, i);
		if (w->lease) {
			next = MIN(next, mailbox_lease_due(w->lease));
			/* Another instance reads it: only the lease is asked for again. */
			if (!mailbox_lease_held(w->lease))
				continue;
		}
		next = MIN(next, w->due);
		if (w->fd >= 0)
			fds[n++] = (struct pollfd){.fd = w->fd, .events = POLLIN};
	}
	if (service_watchdog_every() > 0)
		next = MIN(next, now + service_watchdog_every());
	timeout_ms = next <= now ? 0 : (int)MIN((next - now + 999) / 1000, G_MAXINT);
	if (timeout_ms > 0 && poll(fds, n, timeout_ms) > 0) {
		for (nfds_t k = 1; k < n; k++) {
			if (!fds[k].revents)
				continue;
			for (guint i = 0; i < watches->len; i++) {
				struct watch *w = g_ptr_array_index(watches, i);
				if (w->fd == fds[k].fd)
					w->due = 0;
			}
		}
	}
	drain_wake_pipe();
	g_free(fds);
}

struct service {
	const struct global_options *g;
	const char *only;
	const char *instance; /* instance_id_new()'s */
	gboolean dry_run;
	struct config *config;
	struct deliver d;
	/* A backlog's desk lanes ([desk] concurrency > 1, not in a dry run, whose calls are
	 * printed in the mailbox's order), or NULL. */
	struct deliver_pool *lanes;
	GPtrArray *watches;
};

static gboolean service_start(struct service *s, struct config *config, GError **error)
{
	struct deliver d;

	if (!deliver_open(&d, config, s->dry_run, error)) {
		deliver_close(&d);
		return FALSE;
	}
	d.keep_refused = TRUE;
	if (!s->dry_run && config->desk.concurrency > 1 &&
	    !(s->lanes = deliver_pool_new_for_mailbox(config, config->desk.concurrency, error))) {
		deliver_close(&d);
		return FALSE;
	}
	s->watches = watches_new(config, s->only, &d, s->instance, error);
	if (!s->watches) {
		deliver_pool_free(s->lanes);
		s->lanes = NULL;
		deliver_close(&d);
		return FALSE;
	}
	s->config = config;
	s->d = d;
	for (guint i = 0; i < s->watches->len; i++) {
		struct watch *w = g_ptr_array_index(s->watches, i);
		log_event(M2T_LOG_INFO, "watching mailbox", "mailbox", w->config->name, "url",
			  w->config->url, "instance", w->lease ? s->instance : NULL, NULL);
	}
	return TRUE;
}

static void service_stop(struct service *s)
{
	if (s->watches)
		g_ptr_array_unref(s->watches);
	s->watches = NULL;
	deliver_pool_free(s->lanes);
	s->lanes = NULL;
	deliver_close(&s->d);
	config_free(s->config);
	s->config = NULL;
}

/* SIGHUP: the new config replaces the old only when it loads and its desk and journal open;
 * otherwise the service goes on with the old one and says why. */
static void service_reload(struct service *s)
{
	GError *err = NULL;
	struct config *config;
	struct service fresh = {
	    .g = s->g, .only = s->only, .instance = s->instance, .dry_run = s->dry_run};

	service_notify_reloading();
	config = cli_config_load(global_config_path(s->g), &err);
	if (!config || !service_start(&fresh, config, &err)) {
		log_event(M2T_LOG_ERROR, "the config was not reloaded; the old one stays", "error",
			  err->message, NULL);
		g_error_free(err);
		config_free(config);
		service_notify_ready("the config was not reloaded; the old one stays");
		return;
	}
	service_stop(s);
	*s = fresh;
	log_event(M2T_LOG_INFO, "config reloaded", "config", s->config->path, NULL);
	service_notify_ready("config reloaded; watching the mailboxes");
}

int cmd_poll(const struct global_options *g, int argc, char **argv)
{
	static const struct option options[] = {{"once", no_argument, NULL, '1'},
						{"dry-run", no_argument, NULL, 'n'},
						{"mailbox", required_argument, NULL, 'm'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	struct service s = {.g = g};
	char *instance;
	struct retry_clock *clock = NULL;
	gint64 failing_since = 0;
	gboolean once = FALSE;
	gboolean all_done = TRUE;
	gboolean may_heal = FALSE;
	struct config *config;
	GError *err = NULL;
	int rc = EX_OK;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case '1':
			once = TRUE;
			break;
		case 'n':
			s.dry_run = once = TRUE;
			break;
		case 'm':
			s.only = optarg;
			break;
		case 'h':
			poll_help();
			return EX_OK;
		default:
			return usage_error(poll_usage, NULL);
		}
	}
	if (optind != argc)
		return usage_error(poll_usage, "poll takes no arguments");

	s.instance = instance = instance_id_new();
	config = cli_config_load(global_config_path(g), &err);
	if (!config || !install_signals(&err) || !service_start(&s, config, &err)) {
		rc = exit_code_for_error(err);
		log_event(M2T_LOG_ERROR, err->message, NULL);
		g_error_free(err);
		if (!s.config)
			config_free(config);
		service_stop(&s);
		g_free(instance);
		return rc;
	}
	service_notify_ready("watching the mailboxes");
	/* --once waits out a desk that fails (a service simply polls again later). */
	clock = retry_clock_new(once && !s.dry_run ? s.config->desk.give_up_after : 0);
	while (!stop_requested) {
		gint64 now = g_get_monotonic_time();
		gboolean go_on = TRUE;

		service_watchdog_ping();
		for (guint i = 0; go_on && i < s.watches->len && !stop_requested; i++) {
			struct watch *w = g_ptr_array_index(s.watches, i);
			if (!watch_holds_mailbox(w, once, s.config->state.lease_seconds))
				all_done = FALSE;
			else if (once || w->due <= now)
				go_on = run_pass(&s.d, s.lanes, w, once, &all_done, &may_heal, &rc);
		}
		if (!go_on)
			break;
		if (once) {
			if (all_done || !may_heal || !retry_clock_wait(clock, &failing_since))
				break;
			all_done = TRUE;
			may_heal = FALSE;
			continue;
		}
		if (reload_requested) {
			reload_requested = 0;
			service_reload(&s);
			continue;
		}
		wait_for_work(s.watches);
	}
	service_notify_stopping();
	if (stop_requested)
		log_event(M2T_LOG_INFO, "stopped by a signal", NULL);
	service_stop(&s);
	retry_clock_free(clock);
	g_free(instance);
	if (rc == EX_OK && once && !all_done)
		rc = EX_TEMPFAIL;
	return rc;
}
