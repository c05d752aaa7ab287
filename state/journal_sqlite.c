/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal in one SQLite file: opening it, its schema and migrations, and the mail locks,
 * which are a record lock on a file beside it. What is stored lives in the other
 * journal_sqlite_*.c files (state/journal_sqlite.h). */
#include "state/journal_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Mail locks are bytes of the lock file chosen by the key's hash: 65536 of them make two keys
 * sharing one rare, and sharing only makes one wait. */
#define MAIL_LOCK_SLOTS 65536

gboolean sqlite_fail(struct sqlite_journal *j, int rc, const char *what, GError **error)
{
	gboolean busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
	/* SQLite's own words for a failed write are "disk I/O error"; the system's name the cause
	 * (No space left on device, Permission denied). */
	int primary = rc & 0xff;
	int sys = primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN ||
			  primary == SQLITE_READONLY
		      ? sqlite3_system_errno(j->db)
		      : 0;

	g_set_error(error, JOURNAL_ERROR, busy ? JOURNAL_ERROR_BUSY : JOURNAL_ERROR_IO,
		    "journal %s: %s: %s%s%s%s", j->path, what,
		    busy ? "busy (locked by another process)" : sqlite3_errmsg(j->db),
		    !busy && sys ? " (" : "", !busy && sys ? g_strerror(sys) : "",
		    !busy && sys ? ")" : "");
	return FALSE;
}

static gboolean exec(struct sqlite_journal *j, const char *sql, GError **error)
{
	int rc = sqlite3_exec(j->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TRUE : sqlite_fail(j, rc, sql, error);
}

static void finalize_statement(gpointer st)
{
	sqlite3_finalize(st);
}

sqlite3_stmt *sqlite_statement(struct sqlite_journal *j, const char *sql, const char *what,
			       GError **error)
{
	sqlite3_stmt *st = g_hash_table_lookup(j->statements, sql);
	int rc;

	if (st)
		return st;
	rc = sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		sqlite_fail(j, rc, what, error);
		return NULL;
	}
	g_hash_table_insert(j->statements, g_strdup(sql), st);
	return st;
}

void sqlite_statement_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

char *sqlite_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? g_strdup((const char *)t) : NULL;
}

/* The journal's schema, one step per version: step N brings a journal from version N to N + 1.
 * A released step never changes; a new version is a new step, so every older journal is brought
 * forward by running the steps it has not seen, in one transaction. */
static const char *const migrations[] = {
    /* 0 -> 1: mails, their attempts, and import checkpoints. */
    "CREATE TABLE IF NOT EXISTS mails ("
    "  key TEXT PRIMARY KEY,"
    "  state TEXT NOT NULL,"
    "  source TEXT, message_id TEXT, sender TEXT, subject TEXT,"
    "  action TEXT, ticket_id TEXT, ticket_tid TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  first_seen INTEGER NOT NULL, updated INTEGER NOT NULL,"
    "  last_error TEXT, quarantine_path TEXT);"
    "CREATE INDEX IF NOT EXISTS mails_message_id ON mails(message_id);"
    "CREATE INDEX IF NOT EXISTS mails_sender ON mails(sender COLLATE NOCASE, updated);"
    "CREATE TABLE IF NOT EXISTS attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  detail TEXT);"
    "CREATE INDEX IF NOT EXISTS attempts_key ON attempts(key);"
    "CREATE TABLE IF NOT EXISTS checkpoints ("
    "  archive TEXT PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL,"
    "  handled INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);",
    /* 1 -> 2: where each polled mailbox stands, and its mails' failures. */
    "CREATE TABLE IF NOT EXISTS mailbox_marks ("
    "  mailbox TEXT PRIMARY KEY,"
    "  uidvalidity INTEGER NOT NULL,"
    "  last_uid INTEGER NOT NULL,"
    "  unseen_below INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS mailbox_items ("
    "  mailbox TEXT NOT NULL,"
    "  item TEXT NOT NULL,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  reason TEXT,"
    "  seen INTEGER NOT NULL DEFAULT 0,"
    "  updated INTEGER NOT NULL,"
    "  PRIMARY KEY (mailbox, item));",
    /* 2 -> 3: leases: which poll instance reads which mailbox, until when (Unix time in
     * milliseconds). */
    "CREATE TABLE IF NOT EXISTS leases ("
    "  name TEXT PRIMARY KEY,"
    "  owner TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL);",
    /* 3 -> 4: import work: the plans of imports shared by workers (import --worker), one per
     * archive, and their units, each claimed by one worker at a time until its claim expires
     * (expires 0: not claimed) or it is finished. A plan's id is never used again, so a worker
     * still on a replaced plan finds it gone. */
    "CREATE TABLE IF NOT EXISTS work_plans ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  archive TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  UNIQUE (archive, fingerprint));"
    "CREATE TABLE IF NOT EXISTS work_units ("
    "  plan INTEGER NOT NULL,"
    "  unit INTEGER NOT NULL,"
    "  mails TEXT NOT NULL,"
    "  owner TEXT,"
    "  expires INTEGER NOT NULL DEFAULT 0,"
    "  claims INTEGER NOT NULL DEFAULT 0,"
    "  finished INTEGER,"
    "  PRIMARY KEY (plan, unit));",
};

#define SCHEMA_VERSION ((int)G_N_ELEMENTS(migrations))

static gboolean read_version(struct sqlite_journal *j, int *version, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE name = 'schema_version'",
				    -1, &st, NULL);

	*version = 0;
	if (rc != SQLITE_OK)
		return sqlite_fail(j, rc, "reading the schema version", error);
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return TRUE;
}

/* Bring the journal up to SCHEMA_VERSION; an older mail2ticket refuses a newer journal. A
 * read-only journal is only checked. */
static gboolean check_schema(struct sqlite_journal *j, gboolean read_only, GError **error)
{
	int version;
	char *set;
	gboolean ok;

	if (!read_only &&
	    (!exec(j, "BEGIN IMMEDIATE", error) ||
	     !exec(j,
		   "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
		   error)))
		goto fail;
	if (!read_version(j, &version, error))
		goto fail;
	if (version > SCHEMA_VERSION) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_VERSION,
			    "journal %s has schema version %d, newer than this mail2ticket knows "
			    "(%d): use the newer mail2ticket",
			    j->path, version, SCHEMA_VERSION);
		goto fail;
	}
	j->base.schema_version = version;
	if (read_only)
		return TRUE;
	for (int v = version; v < SCHEMA_VERSION; v++)
		if (!exec(j, migrations[v], error))
			goto fail;
	set = g_strdup_printf("INSERT INTO meta (name, value) VALUES ('schema_version', '%d') "
			      "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
			      SCHEMA_VERSION);
	ok = exec(j, set, error);
	g_free(set);
	if (ok && exec(j, "COMMIT", error)) {
		j->base.schema_version = SCHEMA_VERSION;
		return TRUE;
	}
fail:
	if (!read_only)
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	return FALSE;
}

/* WAL is a property of the file, set once. Two processes creating the journal at once (an MTA
 * delivering to two recipients) race for it, and SQLite answers that race with SQLITE_BUSY at
 * once instead of waiting, so the wait is done here. */
static gboolean use_wal(struct sqlite_journal *j, int busy_timeout_ms, GError **error)
{
	gint64 until = g_get_monotonic_time() + (gint64)busy_timeout_ms * 1000;
	int rc;

	while ((rc = sqlite3_exec(j->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) ==
		   SQLITE_BUSY &&
	       g_get_monotonic_time() < until)
		g_usleep(10 * 1000);
	return rc == SQLITE_OK ? TRUE
			       : sqlite_fail(j, rc, "PRAGMA journal_mode=WAL", error);
}

static void sqlite_journal_close(struct journal *journal)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;

	/* A connection with statements left open does not close. */
	g_hash_table_destroy(j->statements);
	sqlite3_close(j->db);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	g_free(j->path);
	g_free(j);
}

/* A journal that may be written: its folder, the lock file beside it, and the file itself, made
 * for this user only. */
static gboolean prepare_files(struct sqlite_journal *j, GError **error)
{
	char *dir = g_path_get_dirname(j->path);
	char *lock = g_strconcat(j->path, ".lock", NULL);
	int fd;

	g_mkdir_with_parents(dir, 0750);
	g_free(dir);
	j->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lock_fd < 0) {
		int e = errno;
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO,
			    "journal %s: cannot open %s: %s", j->path, lock, g_strerror(e));
		g_free(lock);
		return FALSE;
	}
	g_free(lock);
	/* SQLite would create the file 0644 (less the umask), and its -wal and -shm files like
	 * it: the journal holds senders, subjects and ticket numbers, for this user only. An
	 * empty file is an empty database to SQLite. Only a file that is not there yet is opened
	 * here: closing a descriptor of the file drops every lock this process holds on it, those
	 * of its connections already open too, and then another process's last connection to
	 * close took the file for its own and removed the WAL the others were writing (a pipe
	 * while an import ran: a corrupt journal). */
	fd = open(j->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return TRUE;
}

static struct journal *sqlite_journal_open(const struct journal_settings *settings,
					   GError **error)
{
	gboolean read_only = settings->read_only;
	int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct sqlite_journal *j;
	int rc;

	if (!settings->path || settings->url || settings->password_file) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_KIND,
			    "the sqlite journal is a file: it takes a path, and no url or "
			    "password");
		return NULL;
	}
	if (read_only && !g_file_test(settings->path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_MISSING,
			    "no journal at %s yet: nothing has been recorded", settings->path);
		return NULL;
	}
	j = g_new0(struct sqlite_journal, 1);
	j->base.ops = &journal_sqlite;
	j->path = g_strdup(settings->path);
	j->base.where = j->path;
	j->lock_fd = -1;
	j->statements = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, finalize_statement);
	if (!read_only && !prepare_files(j, error))
		goto fail;
	rc = sqlite3_open_v2(j->path, &j->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO, "journal %s: cannot open: %s",
			    j->path, j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(j->db, settings->busy_timeout_ms);
	/* WAL lets readers (stats, route) run beside a writer; FULL makes a commit durable before
	 * we acknowledge the source on the strength of it. */
	if ((!read_only && (!use_wal(j, settings->busy_timeout_ms, error) ||
			    !exec(j, "PRAGMA synchronous=FULL", error))) ||
	    !check_schema(j, read_only, error))
		goto fail;
	return &j->base;
fail:
	sqlite_journal_close(&j->base);
	return NULL;
}

/* Open file description locks, not the older process-wide record locks (F_SETLKW), which
 * belong to the process: the kernel's deadlock check then took two lanes of two imports
 * waiting on each other's slots for one process waiting on itself (EDEADLK, the import
 * stopped with exit 75), and a connection closing its descriptor dropped the locks of every
 * other connection of the process. These belong to this connection's descriptor, as a
 * PostgreSQL session's advisory locks belong to its session. */
static gboolean lock_slot(struct sqlite_journal *j, const char *key, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_len = 1};
	int rc;

	fl.l_start = g_str_hash(key) % MAIL_LOCK_SLOTS;
	while ((rc = fcntl(j->lock_fd, F_OFD_SETLKW, &fl)) != 0 && errno == EINTR)
		;
	return rc == 0;
}

/* A lock on a byte of <path>.lock, which the kernel drops when the descriptor is closed (or the
 * process dies); no-ops on a read-only journal. */
static gboolean sqlite_journal_lock_mail(struct journal *journal, const char *key,
					 GError **error)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;

	if (j->lock_fd < 0 || lock_slot(j, key, F_WRLCK))
		return TRUE;
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO, "journal %s: cannot lock a mail: %s",
		    j->path, g_strerror(errno));
	return FALSE;
}

static void sqlite_journal_unlock_mail(struct journal *journal, const char *key)
{
	struct sqlite_journal *j = (struct sqlite_journal *)journal;

	if (j->lock_fd >= 0)
		lock_slot(j, key, F_UNLCK);
}

const struct journal_ops journal_sqlite = {
    .name = "sqlite",
    .open = sqlite_journal_open,
    .close = sqlite_journal_close,
    .lock_mail = sqlite_journal_lock_mail,
    .unlock_mail = sqlite_journal_unlock_mail,
    .lookup = sqlite_journal_lookup,
    .begin_attempt = sqlite_journal_begin_attempt,
    .claim_legacy_key = sqlite_journal_claim_legacy_key,
    .earlier_writes = sqlite_journal_earlier_writes,
    .mark_delivered = sqlite_journal_mark_delivered,
    .mark_failed = sqlite_journal_mark_failed,
    .mark_unanswered = sqlite_journal_mark_unanswered,
    .mark_quarantined = sqlite_journal_mark_quarantined,
    .mark_dropped = sqlite_journal_mark_dropped,
    .ticket_of_message = sqlite_journal_ticket_of_message,
    .ticket_opened_by_another = sqlite_journal_ticket_opened_by_another,
    .count_opened_since = sqlite_journal_count_opened_since,
    .checkpoint_get = sqlite_journal_checkpoint_get,
    .checkpoint_set = sqlite_journal_checkpoint_set,
    .mailbox_mark_get = sqlite_journal_mailbox_mark_get,
    .mailbox_mark_set = sqlite_journal_mailbox_mark_set,
    .item_get = sqlite_journal_item_get,
    .item_count_failure = sqlite_journal_item_count_failure,
    .item_finish = sqlite_journal_item_finish,
    .items_seen = sqlite_journal_items_seen,
    .items_forget_absent = sqlite_journal_items_forget_absent,
    .stats = sqlite_journal_stats,
    .lease_take = sqlite_journal_lease_take,
    .lease_release = sqlite_journal_lease_release,
    .work_plan = sqlite_journal_work_plan,
    .work_claim = sqlite_journal_work_claim,
    .work_renew = sqlite_journal_work_renew,
    .work_release = sqlite_journal_work_release,
    .work_left = sqlite_journal_work_left,
};
