/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `mail2ticket import`: archives through the parser and desk lanes, resumable from checkpoints. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "flow/claim_keeper.h"
#include "flow/deliver.h"
#include "flow/deliver_pool.h"
#include "cli/log.h"
#include "flow/import_plan.h"
#include "flow/parse_pool.h"
#include "flow/retry_clock.h"
#include "ingest/archive.h"
#include "parsers/mail_key.h"
#include "parsers/sha256.h"

static const char import_usage[] =
    "mail2ticket import [--dry-run] [--since DATE] [--until DATE] [--report FILE] PATH...\n"
    "       mail2ticket import --worker [--unit-size N] [--lease SECONDS] [--report FILE] "
    "PATH...";

/* The mails of a unit of work: enough that claiming one is a small part of its time, few
 * enough that the last units spread over the workers. */
#define UNIT_SIZE_DEFAULT 500
/* How long a claim lasts unless renewed: how long a dead worker's unit waits for another. */
#define LEASE_SECONDS_DEFAULT 30

static void import_help(void)
{
	printf("usage: %s\n\n"
	       "Turn the mail in archives into tickets: mbox files (also gzipped), Maildir\n"
	       "folders (with their subfolders), .eml files, and folders holding any of them.\n"
	       "Each ticket and reply keeps the mail's own date. Mail the journal knows is not\n"
	       "sent again, so a run that stopped can simply be started again. A temporary desk\n"
	       "failure stops the run with exit 75.\n\n"
	       "  --dry-run        print the API calls as JSON lines (secrets redacted); change\n"
	       "                   nothing\n"
	       "  --since DATE     only mail dated on or after DATE (YYYY-MM-DD or ISO 8601)\n"
	       "  --until DATE     only mail dated before DATE\n"
	       "  --report FILE    write the mails not turned into tickets or replies (dropped,\n"
	       "                   quarantined, failed) as JSON lines, with the reason\n"
	       "  --worker         share the import with the other workers given the same PATH\n"
	       "                   and journal (on this host or others): the first plans it in\n"
	       "                   units of whole threads, each worker takes units until none is\n"
	       "                   left, a dead worker's unit goes to another\n"
	       "  --unit-size N    mails in a unit, when this worker plans (default %d)\n"
	       "  --lease SECONDS  how long a dead worker's claim keeps its unit (default %d)\n"
	       "  -h, --help       this text\n",
	       import_usage, UNIT_SIZE_DEFAULT, LEASE_SECONDS_DEFAULT);
}

struct import_run {
	struct deliver d; /* this thread's journal, for the checkpoints */
	struct parse_pool *parsers;
	struct deliver_pool *deliveries;
	guint in_flight_max;
	GDateTime *since, *until;
	FILE *report;
	guint outcomes[DELIVER_DRY_RUN + 1];
	guint messages, skipped;
	guint waiting;		/* mails the desk kept failing: they wait for the next run */
	GError *first_waiting;	/* why the first of them was not delivered */
	guint64 bytes, total_bytes;
	gint64 started, last_progress;
	gboolean tty;
	struct claim_keeper *keeper; /* import --worker: the claim of the unit being delivered */
};

/* import --worker: what this worker is and did. */
struct worker {
	gboolean on;
	guint unit_size;
	int lease_seconds;
	char *owner;	   /* its name in the journal's claims: host, process, a random tag */
	GArray *given_back; /* of guint: units it gave back with mail waiting: not taken again */
	GString *done;	   /* the numbers of the units it finished of the archive it is on */
	guint units_done;  /* of every archive */
};

/* YYYY-MM-DD (midnight UTC) or a full ISO 8601 time. New reference, or NULL. */
static GDateTime *parse_date_option(const char *text)
{
	GTimeZone *utc = g_time_zone_new_utc();
	GDateTime *t = g_date_time_new_from_iso8601(text, utc);

	if (!t) {
		char *midnight = g_strconcat(text, "T00:00:00", NULL);
		t = g_date_time_new_from_iso8601(midnight, utc);
		g_free(midnight);
	}
	g_time_zone_unref(utc);
	return t;
}

/* The bytes under path, for the progress line's estimate. */
static guint64 size_of(const char *path)
{
	struct stat st;
	guint64 total = 0;
	GDir *dir;
	const char *name;

	if (stat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return st.st_size;
	dir = g_dir_open(path, 0, NULL);
	while (dir && (name = g_dir_read_name(dir))) {
		char *sub = g_build_filename(path, name, NULL);
		total += size_of(sub);
		g_free(sub);
	}
	if (dir)
		g_dir_close(dir);
	return total;
}

static char *outcome_counts(const struct import_run *r)
{
	GString *counts = g_string_new(NULL);

	for (int i = 0; i <= DELIVER_DRY_RUN; i++)
		if (r->outcomes[i] || i == DELIVER_OPENED)
			g_string_append_printf(counts, "%s%s=%u", counts->len ? " " : "",
					       deliver_outcome_name(i), r->outcomes[i]);
	if (r->skipped)
		g_string_append_printf(counts, " outside-dates=%u", r->skipped);
	if (r->waiting)
		g_string_append_printf(counts, " waiting=%u", r->waiting);
	return g_string_free(counts, FALSE);
}

/* On a terminal a line redrawn twice a second; elsewhere a log line every ten seconds. */
static void show_progress(struct import_run *r, gboolean last)
{
	gint64 now = g_get_monotonic_time();
	double seconds = (now - r->started) / 1e6;
	double rate = seconds > 0 ? r->messages / seconds : 0;
	double mb = r->bytes / 1048576.0;
	char *counts;
	char line[256];

	if (!last && now - r->last_progress < (r->tty ? 500000 : 10000000))
		return;
	r->last_progress = now;
	counts = outcome_counts(r);
	if (r->total_bytes && r->bytes && r->bytes < r->total_bytes && seconds > 1) {
		double eta = seconds * (r->total_bytes - r->bytes) / r->bytes;
		g_snprintf(line, sizeof(line), "%u mails, %.1f MB, %.0f mails/s, ETA %d:%02d, %s",
			   r->messages, mb, rate, (int)eta / 60, (int)eta % 60, counts);
	} else {
		g_snprintf(line, sizeof(line), "%u mails, %.1f MB, %.0f mails/s, %s", r->messages,
			   mb, rate, counts);
	}
	if (r->tty) {
		fprintf(stderr, "\r\033[K%s%s", line, last ? "\n" : "");
		fflush(stderr);
	} else if (!last) {
		log_msg(M2T_LOG_INFO, "import: %s", line);
	}
	g_free(counts);
}

static void report_line(const struct import_run *r, const struct parsed_message *p,
			const char *outcome, const char *reason)
{
	char *key;
	json_t *line;

	if (!r->report)
		return;
	if (p->mail) {
		key = mail_key(p->mail);
	} else {
		gsize len;
		const guchar *raw = g_bytes_get_data(p->msg.raw, &len);
		char *digest =
		    g_compute_checksum_for_data(G_CHECKSUM_SHA256, raw ? raw : NULL, len);
		key = g_strconcat("sha256:", digest, NULL);
		g_free(digest);
	}
	line = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s?}", "location", p->msg.location, "key",
			 key, "message_id", p->mail ? p->mail->message_id : NULL, "subject",
			 p->mail ? p->mail->subject : NULL, "outcome", outcome, "reason", reason);
	json_dumpf(line, r->report, JSON_COMPACT);
	fputc('\n', r->report);
	json_decref(line);
	g_free(key);
}

static gboolean within_dates(const struct import_run *r, const struct mail *mail)
{
	/* Mail without a readable date cannot be placed: it is imported. */
	if (!mail->date)
		return TRUE;
	if (r->since && g_date_time_compare(mail->date, r->since) < 0)
		return FALSE;
	return !r->until || g_date_time_compare(mail->date, r->until) < 0;
}

/* Count a finished delivery; FALSE when it failed. A mail the desk kept failing (its thread's
 * mails with it) waits for the next run, and the run goes on (*waiting set); any other failure,
 * or a desk that failed for give_up_after in a row, stops the run (the first kept in *stop). */
static gboolean take_delivery(struct import_run *r, struct finished_delivery *done,
			      GError **stop)
{
	if (!done->ok) {
		report_line(r, &done->parsed, "failed", done->error->message);
		if (retry_clock_may_heal(done->error) && !deliver_pool_gave_up(r->deliveries)) {
			r->waiting++;
			if (!r->first_waiting)
				r->first_waiting = g_steal_pointer(&done->error);
		} else if (!*stop) {
			*stop = g_steal_pointer(&done->error);
		}
		return FALSE;
	}
	r->outcomes[done->result.outcome]++;
	r->messages++;
	if (done->result.outcome == DELIVER_DROPPED || done->result.outcome == DELIVER_QUARANTINED)
		report_line(r, &done->parsed, deliver_outcome_name(done->result.outcome),
			    done->result.reason);
	return TRUE;
}

/* Every 100 mails the journal notes how far into an archive the run got, so a run that stopped is
 * continued without reading and parsing again what was handled. A run limited by dates takes no
 * notes: the mails it passed over are not handled. */
#define CHECKPOINT_EVERY 100

struct checkpoint {
	char *archive; /* the canonical path */
	char *fingerprint;
	guint64 handled;
};

static gboolean checkpoints_apply(const struct import_run *r)
{
	return r->d.journal && !r->d.dry_run && !r->since && !r->until;
}

static gboolean checkpoint_resume(struct import_run *r, struct source *src, const char *path,
				  struct checkpoint *cp, GError **error)
{
	char count[32];

	cp->archive = g_canonicalize_filename(path, NULL);
	cp->fingerprint = archive_fingerprint(src);
	if (!journal_checkpoint_get(r->d.journal, cp->archive, cp->fingerprint, &cp->handled,
				    error))
		return FALSE;
	if (cp->handled == 0)
		return TRUE;
	archive_skip(src, cp->handled);
	g_snprintf(count, sizeof(count), "%" G_GUINT64_FORMAT, cp->handled);
	log_event(M2T_LOG_INFO, "continuing where the last run stopped", "archive", cp->archive,
		  "handled", count, NULL);
	return TRUE;
}

static void checkpoint_clear(struct checkpoint *cp)
{
	g_free(cp->archive);
	g_free(cp->fingerprint);
}

/* The messages of an archive finish out of order; the checkpoint counts those handled without a
 * gap from the start. */
static void mark_handled(GHashTable *finished, guint64 seq, struct checkpoint *cp)
{
	g_hash_table_add(finished, GSIZE_TO_POINTER(seq));
	while (g_hash_table_remove(finished, GSIZE_TO_POINTER(cp->handled)))
		cp->handled++;
}

static gint compare_seq(gconstpointer a, gconstpointer b, gpointer unused)
{
	gsize x = GPOINTER_TO_SIZE(a), y = GPOINTER_TO_SIZE(b);

	(void)unused;
	return (x > y) - (x < y);
}

/* A dry run on several lanes: the calls of a finished delivery wait in unprinted (by seq) until
 * those of every mail before it are printed, so that the output is in the archive's order as on
 * one lane. */
static void keep_calls(GTree *unprinted, struct finished_delivery *done)
{
	if (done->calls)
		g_tree_insert(unprinted, GSIZE_TO_POINTER(done->seq),
			      g_steal_pointer(&done->calls));
}

/* Print the calls of the mails before seq number handled (all when G_MAXUINT64). */
static void print_calls_before(GTree *unprinted, guint64 handled)
{
	GTreeNode *first;
	gboolean printed = FALSE;

	while ((first = g_tree_node_first(unprinted)) &&
	       GPOINTER_TO_SIZE(g_tree_node_key(first)) < handled) {
		gpointer seq = g_tree_node_key(first);
		fputs(g_tree_node_value(first), stdout);
		g_tree_remove(unprinted, seq);
		printed = TRUE;
	}
	if (printed)
		fflush(stdout);
}

/* A mail the parser did not finish in time goes into the quarantine from this thread: there is no
 * parsed mail to hand to a lane. FALSE when it could not be kept (the first failure in *stop). */
static gboolean quarantine_unparsed(struct import_run *r, struct parsed_message *p, GError **stop)
{
	struct envelope envelope = {.source = "import", .item = p->msg.location,
				    .started = g_get_monotonic_time()};
	struct finished_delivery done = {.parsed = *p};
	char *reason = deliver_parse_timeout_reason(r->d.config->parser.parse_timeout);
	gboolean ok;

	*p = (struct parsed_message){0};
	done.ok = deliver_quarantine_unparsed(&r->d, done.parsed.msg.raw, &envelope, reason,
					      &done.result, &done.error);
	ok = take_delivery(r, &done, stop);
	finished_delivery_clear(&done);
	g_free(reason);
	return ok;
}

/* Hand parsed messages to the delivery lanes until enough are in flight; FALSE when none is left.
 * Mail outside --since/--until is counted and passed over here; mail the parser did not finish in
 * time is quarantined here. */
static gboolean dispatch(struct import_run *r, struct source *src, gboolean *more,
			 GError **read_error, guint64 *next_seq, GHashTable *finished,
			 struct checkpoint *cp, GError **stop)
{
	struct parsed_message parsed;

	while (deliver_pool_in_flight(r->deliveries) < r->in_flight_max) {
		gsize len;
		while (*more && parse_pool_has_room(r->parsers)) {
			struct source_message msg = {0};
			*more = source_next(src, &msg, read_error);
			if (*more)
				parse_pool_push(r->parsers, &msg);
		}
		if (!parse_pool_pop(r->parsers, &parsed))
			return FALSE;
		g_bytes_get_data(parsed.msg.raw, &len);
		r->bytes += len;
		if (parsed.timed_out) {
			if (!quarantine_unparsed(r, &parsed, stop))
				return TRUE;
			mark_handled(finished, (*next_seq)++, cp);
			continue;
		}
		if (within_dates(r, parsed.mail)) {
			deliver_pool_push(r->deliveries, &parsed, (*next_seq)++);
			continue;
		}
		r->skipped++;
		mark_handled(finished, (*next_seq)++, cp);
		parsed_message_clear(&parsed);
	}
	return TRUE;
}

/* The archive's notes on how its mboxes were split, from *shown on: logged and reported. */
static void show_notes(struct import_run *r, struct source *src, guint *shown)
{
	const GPtrArray *notes = archive_notes(src);

	for (; *shown < notes->len; (*shown)++) {
		const char *note = g_ptr_array_index(notes, *shown);
		log_event(M2T_LOG_WARN, "how an mbox was split", "note", note, NULL);
		if (r->report) {
			json_t *line = json_pack("{s:s, s:s}", "outcome", "split", "reason", note);
			json_dumpf(line, r->report, JSON_COMPACT);
			fputc('\n', r->report);
			json_decref(line);
		}
	}
}

/* Every message of src from cp->handled on, parsed ahead on the parser threads, handed to the
 * delivery lanes in src's order; cp counts those handled without a gap from the first, and
 * with noting the journal keeps it every CHECKPOINT_EVERY and at the end. *all: every message
 * of src was handled. FALSE (error set) when the run must stop. Then nothing more is handed
 * out, the deliveries in flight finish, and the rest is simply not acknowledged: the next run
 * reads it again. The same when the worker's claim of the unit src holds was lost, without an
 * error. */
static gboolean import_source(struct import_run *r, struct source *src, struct checkpoint *cp,
			      gboolean noting, gboolean *all, GError **error)
{
	GHashTable *finished = g_hash_table_new(NULL, NULL);
	GTree *unprinted = g_tree_new_full(compare_seq, NULL, NULL, g_free);
	struct finished_delivery done;
	GError *read_error = NULL;
	GError *stop = NULL;
	gboolean more = TRUE;
	gboolean ok = TRUE;
	guint64 next_seq = cp->handled;
	guint64 noted = cp->handled;

	while (ok) {
		if (!stop && !(r->keeper && claim_keeper_lost(r->keeper)))
			dispatch(r, src, &more, &read_error, &next_seq, finished, cp, &stop);
		if (!deliver_pool_pop(r->deliveries, &done))
			break;
		keep_calls(unprinted, &done);
		if (take_delivery(r, &done, &stop))
			mark_handled(finished, done.seq, cp);
		finished_delivery_clear(&done);
		print_calls_before(unprinted, cp->handled);
		if (noting && cp->handled - noted >= CHECKPOINT_EVERY) {
			ok = journal_checkpoint_set(r->d.journal, cp->archive, cp->fingerprint,
						    cp->handled, error);
			noted = cp->handled;
		}
		show_progress(r, FALSE);
	}
	while (deliver_pool_pop(r->deliveries, &done)) {
		keep_calls(unprinted, &done);
		if (take_delivery(r, &done, &stop))
			mark_handled(finished, done.seq, cp);
		finished_delivery_clear(&done);
	}
	print_calls_before(unprinted, G_MAXUINT64);
	g_tree_unref(unprinted);
	{
		struct parsed_message rest;
		while (parse_pool_pop(r->parsers, &rest))
			parsed_message_clear(&rest);
	}
	if (ok && stop) {
		g_propagate_error(error, stop);
		stop = NULL;
		ok = FALSE;
	}
	g_clear_error(&stop);
	/* Also when the run stops: what was handled stays handled. */
	if (noting && cp->handled != noted)
		journal_checkpoint_set(r->d.journal, cp->archive, cp->fingerprint, cp->handled,
				       ok ? error : NULL);
	g_hash_table_unref(finished);
	*all = ok && !more && !read_error && cp->handled == next_seq;
	if (ok && read_error) {
		g_propagate_error(error, read_error);
		return FALSE;
	}
	if (read_error)
		g_error_free(read_error);
	return ok && !(error && *error);
}

/* Every message of one archive, in the archive's (date) order, resumed from its checkpoint. */
static gboolean import_path(struct import_run *r, const char *path, GError **error)
{
	struct source *src = archive_open(path, error);
	struct checkpoint cp = {0};
	gboolean ok = src != NULL;
	gboolean all;
	guint notes_shown = 0;

	if (!src)
		return FALSE;
	show_notes(r, src, &notes_shown);
	if (checkpoints_apply(r))
		ok = checkpoint_resume(r, src, path, &cp, error);
	if (ok)
		ok = import_source(r, src, &cp, checkpoints_apply(r), &all, error);
	checkpoint_clear(&cp);
	show_notes(r, src, &notes_shown);
	source_close(src);
	return ok;
}

/* One unit claimed: its mails delivered in the archive's order while the keeper renews the
 * claim; then finished, given back (some mail waits: another worker, or the next run, tries
 * again), or left to the worker that took it over. FALSE (error set) when the run must stop;
 * the unit is then given back. */
static gboolean work_unit(struct import_run *r, struct worker *w, struct source *archive,
			  gint64 plan, const char *path, const struct journal_work_unit *unit,
			  GError **error)
{
	GArray *places = import_unit_places(unit->mails, error);
	struct checkpoint cp = {0};
	struct source *src;
	gboolean all = FALSE, held = TRUE, lost, ok = places != NULL;
	char number[16], mails[16];

	claim_keeper_hold(r->keeper, plan, unit->number);
	g_snprintf(number, sizeof(number), "%u", unit->number);
	if (ok) {
		g_snprintf(mails, sizeof(mails), "%u", places->len);
		log_event(M2T_LOG_INFO, "working on a unit", "archive", path, "unit", number,
			  "mails", mails, "claimed_before_by", unit->former_owner, NULL);
		src = import_unit_source(archive, places);
		ok = import_source(r, src, &cp, FALSE, &all, error);
		source_close(src);
	}
	lost = claim_keeper_lost(r->keeper);
	claim_keeper_drop(r->keeper);
	if (!lost && !journal_work_release(r->d.journal, plan, unit->number, w->owner, ok && all,
					   &held, ok ? error : NULL))
		return FALSE;
	if (lost || !held) {
		log_event(M2T_LOG_WARN,
			  "another worker took the unit over: this worker's claim had expired",
			  "archive", path, "unit", number, NULL);
	} else if (ok && all) {
		g_string_append_printf(w->done, "%s%s", w->done->len ? " " : "", number);
		w->units_done++;
		log_event(M2T_LOG_INFO, "unit finished", "archive", path, "unit", number, NULL);
	} else if (ok) {
		g_array_append_val(w->given_back, unit->number);
		log_event(M2T_LOG_WARN, "unit given back: some of its mail waits", "archive", path,
			  "unit", number, NULL);
	}
	return ok;
}

/* The plan of the archive's import: the journal's, else made here (the first worker reads
 * every mail's head to find the threads) and recorded, unless another worker was quicker. */
static gboolean plan_archive(struct import_run *r, const struct worker *w,
			     struct source *archive, const char *path, const char *canonical,
			     const char *fingerprint, gint64 *plan, GError **error)
{
	GPtrArray *units;
	guint64 mails;
	gboolean recorded, ok;
	char count[32], total[32];

	if (!journal_work_plan(r->d.journal, canonical, fingerprint, NULL, plan, &recorded, error))
		return FALSE;
	if (*plan) {
		guint n, left;
		if (!journal_work_left(r->d.journal, *plan, &n, &left, error))
			return FALSE;
		g_snprintf(count, sizeof(count), "%u", n);
		g_snprintf(total, sizeof(total), "%u", left);
		log_event(M2T_LOG_INFO, "taking part in the import as planned", "archive", path,
			  "units", count, "left", total, NULL);
		return TRUE;
	}
	log_event(M2T_LOG_INFO, "planning the import: reading the threads of the archive",
		  "archive", path, NULL);
	units = import_plan_units(archive, w->unit_size, &mails, error);
	if (!units)
		return FALSE;
	ok = journal_work_plan(r->d.journal, canonical, fingerprint, units, plan, &recorded,
			       error);
	g_snprintf(count, sizeof(count), "%u", units->len);
	g_snprintf(total, sizeof(total), "%" G_GUINT64_FORMAT, mails);
	if (ok)
		log_event(M2T_LOG_INFO,
			  recorded ? "planned the import" : "another worker planned it first",
			  "archive", path, "units", recorded ? count : NULL, "mails",
			  recorded ? total : NULL, NULL);
	g_ptr_array_unref(units);
	return ok;
}

/* import --worker: claim the archive's units one at a time until none is left, waiting while
 * other workers hold some (one of them may die, and its unit come free). */
static gboolean work_path(struct import_run *r, struct worker *w, const char *path,
			  GError **error)
{
	/* A claim is one cheap transaction, so at most a second: a worker ends within a second of
	 * the last unit's end (a sixth of the lease, up to 5 s, kept the last workers of an import
	 * waiting that long), and a dead worker's unit is taken within a second of its expiry. */
	gulong pause = CLAMP((gulong)w->lease_seconds * G_USEC_PER_SEC / 30, G_USEC_PER_SEC / 10,
			     G_USEC_PER_SEC);
	struct source *archive = archive_open(path, error);
	char *canonical = g_canonicalize_filename(path, NULL);
	char *fingerprint = NULL;
	guint notes_shown = 0, waited_for = 0;
	gboolean ok = archive != NULL;
	gint64 plan = 0;

	g_array_set_size(w->given_back, 0);
	g_string_truncate(w->done, 0);
	if (ok) {
		show_notes(r, archive, &notes_shown);
		fingerprint = archive_fingerprint(archive);
		ok = plan_archive(r, w, archive, path, canonical, fingerprint, &plan, error);
	}
	while (ok) {
		struct journal_work_unit unit;
		gboolean found;
		guint held;
		char count[16];
		ok = journal_work_claim(r->d.journal, plan, w->owner, w->lease_seconds,
					w->given_back, &unit, &found, &held, error);
		if (!ok || (!found && held == 0))
			break;
		if (found) {
			ok = work_unit(r, w, archive, plan, path, &unit, error);
			journal_work_unit_clear(&unit);
			waited_for = 0;
			continue;
		}
		g_snprintf(count, sizeof(count), "%u", held);
		if (held != waited_for)
			log_event(M2T_LOG_INFO, "waiting for the units other workers hold",
				  "archive", path, "units", count, NULL);
		waited_for = held;
		g_usleep(pause);
	}
	if (ok)
		log_event(M2T_LOG_INFO,
			  w->given_back->len ? "no unit left for this worker: some mail waits"
					     : "no unit left: the archive is imported",
			  "archive", path, "units_done_here", w->done->len ? w->done->str : "none",
			  NULL);
	if (archive)
		show_notes(r, archive, &notes_shown);
	source_close(archive);
	g_free(fingerprint);
	g_free(canonical);
	return ok;
}

/* A number option of at least min; FALSE when optarg is not one. */
static gboolean number_option(const char *text, guint64 min, guint64 max, guint64 *out)
{
	char *end;

	errno = 0;
	*out = g_ascii_strtoull(text, &end, 10);
	return g_ascii_isdigit(*text) && !*end && errno == 0 && *out >= min && *out <= max;
}

static int parse_import_options(struct import_run *r, struct worker *w, gboolean *dry_run,
				const char **report, int argc, char **argv)
{
	static const struct option options[] = {{"dry-run", no_argument, NULL, 'n'},
						{"since", required_argument, NULL, 's'},
						{"until", required_argument, NULL, 'u'},
						{"report", required_argument, NULL, 'R'},
						{"worker", no_argument, NULL, 'W'},
						{"unit-size", required_argument, NULL, 'U'},
						{"lease", required_argument, NULL, 'L'},
						{"help", no_argument, NULL, 'h'},
						{NULL, 0, NULL, 0}};
	gboolean worker_options = FALSE;
	guint64 number;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		GDateTime **slot = c == 's' ? &r->since : &r->until;
		switch (c) {
		case 'n':
			*dry_run = TRUE;
			break;
		case 's':
		case 'u':
			if (*slot)
				g_date_time_unref(*slot);
			*slot = parse_date_option(optarg);
			if (!*slot)
				return usage_error(import_usage, "'%s' is not a date (YYYY-MM-DD)",
						   optarg);
			break;
		case 'R':
			*report = optarg;
			break;
		case 'W':
			w->on = TRUE;
			break;
		case 'U':
		case 'L':
			if (!number_option(optarg, 1, c == 'U' ? G_MAXUINT : 86400, &number))
				return usage_error(import_usage, "'%s' is not a number of %s",
						   optarg, c == 'U' ? "mails" : "seconds");
			if (c == 'U')
				w->unit_size = (guint)number;
			else
				w->lease_seconds = (int)number;
			worker_options = TRUE;
			break;
		case 'h':
			import_help();
			return -1;
		default:
			return usage_error(import_usage, NULL);
		}
	}
	if (optind == argc)
		return usage_error(import_usage, "import needs at least one PATH");
	if (worker_options && !w->on)
		return usage_error(import_usage, "--unit-size and --lease go with --worker");
	if (w->on && *dry_run)
		return usage_error(import_usage,
				   "a dry run writes nothing, and a worker must record its claims "
				   "in the journal: see the calls with import --dry-run alone");
	if (w->on && (r->since || r->until))
		return usage_error(import_usage,
				   "--since and --until do not go with --worker: a unit is "
				   "finished for every worker, so mail passed over would never "
				   "be sent");
	return EX_OK;
}

/* A PATH that is not there or not readable when the run starts (a typo, an archive not copied
 * yet) will not heal by itself: exit 66 before anything is opened. A file that vanishes during
 * the run still stops it with 75, and the next run goes on from the checkpoint. */
static int check_paths(int argc, char **argv)
{
	for (int i = optind; i < argc; i++)
		if (access(argv[i], R_OK) != 0) {
			log_msg(M2T_LOG_ERROR, "cannot read %s: %s", argv[i], g_strerror(errno));
			return EX_NOINPUT;
		}
	return EX_OK;
}

int cmd_import(const struct global_options *g, int argc, char **argv)
{
	/* Parsing is most of an import's work; one parser per core, a few messages read ahead. */
	int threads = CLAMP(g_get_num_processors(), 1, 8);
	struct import_run r = {0};
	struct worker w = {.unit_size = UNIT_SIZE_DEFAULT, .lease_seconds = LEASE_SECONDS_DEFAULT};
	struct parse_options parse_options;
	struct config *config = NULL;
	const char *report = NULL;
	gboolean dry_run = FALSE;
	GError *err = NULL;
	char *counts;
	char units[16];
	int rc = parse_import_options(&r, &w, &dry_run, &report, argc, argv);

	if (rc == EX_OK)
		rc = check_paths(argc, argv);
	if (rc != EX_OK)
		goto out;
	config = cli_config_load(global_config_path(g), &err);
	if (!config || !deliver_open(&r.d, config, dry_run, &err))
		goto fail;
	/* A dry run's look-ups (GetTicket) go through the lanes as real calls do; it prints the
	 * calls in the archive's order all the same (print_calls_before()). */
	r.deliveries =
	    deliver_pool_new(config, dry_run, TRUE, config->desk.concurrency, &err);
	if (!r.deliveries)
		goto fail;
	r.in_flight_max = 2 * config->desk.concurrency;
	if (report && !(r.report = fopen(report, "w"))) {
		g_set_error(&err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot write the report %s: %s", report, g_strerror(errno));
		goto fail;
	}
	if (w.on) {
		struct journal *own = journal_open_from_config(config, FALSE, &err);
		if (!own)
			goto fail;
		w.owner = g_strdup_printf("%s:%d:%04x", g_get_host_name(), (int)getpid(),
					  (unsigned)g_random_int_range(0, 0x10000));
		w.given_back = g_array_new(FALSE, FALSE, sizeof(guint));
		w.done = g_string_new(NULL);
		r.keeper = claim_keeper_new(own, w.owner, w.lease_seconds);
	}
	r.tty = isatty(STDERR_FILENO);
	/* A worker does a share of the archive: its bytes tell no time left. */
	for (int i = optind; i < argc && !w.on; i++)
		r.total_bytes += size_of(argv[i]);
	r.started = r.last_progress = g_get_monotonic_time();
	parse_options_from_config(config, dry_run, &parse_options);
	/* Only a dry run has no journal. Then a key is read only for a line about the mail: the
	 * line each mail gets in the log, a warning, a line of the report (mail not sent). */
	parse_options.keys_on_demand = !r.d.journal && !log_writes(M2T_LOG_INFO);
	if (!parse_options.keys_on_demand)
		sha256_expect(r.total_bytes);
	r.parsers = parse_pool_new(&parse_options, threads, config->parser.parse_timeout);
	for (int i = optind; i < argc; i++)
		if (!(w.on ? work_path(&r, &w, argv[i], &err) : import_path(&r, argv[i], &err)))
			goto fail;
	show_progress(&r, TRUE);
	if (r.waiting) {
		char count[32];
		g_snprintf(count, sizeof(count), "%u", r.waiting);
		rc = EX_TEMPFAIL;
		log_event(M2T_LOG_WARN,
			  "some mail waits for the next run: the desk kept failing on it", "mails",
			  count, "first", r.first_waiting->message, "exit", "75 (run again later)",
			  NULL);
	}
	goto summary;
fail:
	rc = exit_code_for_error(err);
	show_progress(&r, TRUE);
	log_event(M2T_LOG_ERROR, err->message, "exit",
		  rc == EX_TEMPFAIL ? "75 (run again later)" : NULL, NULL);
	g_error_free(err);
summary:
	counts = outcome_counts(&r);
	g_snprintf(units, sizeof(units), "%u", w.units_done);
	log_event(M2T_LOG_INFO, "import finished", "outcomes", counts, "worker", w.owner,
		  "units", w.on ? units : NULL, NULL);
	g_free(counts);
out:
	claim_keeper_free(r.keeper);
	g_free(w.owner);
	if (w.given_back)
		g_array_unref(w.given_back);
	if (w.done)
		g_string_free(w.done, TRUE);
	deliver_pool_free(r.deliveries);
	parse_pool_free(r.parsers);
	if (r.report)
		fclose(r.report);
	if (r.since)
		g_date_time_unref(r.since);
	if (r.until)
		g_date_time_unref(r.until);
	deliver_close(&r.d);
	config_free(config);
	g_clear_error(&r.first_waiting);
	return rc < 0 ? EX_OK : rc;
}
