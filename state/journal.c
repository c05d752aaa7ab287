#include "state/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(mail2ticket-journal-error-quark, journal_error)


struct journal {
	sqlite3 *db;
	char *path;
	int lock_fd; /* <path>.lock, for journal_lock_mail(); -1 when read-only */
};

/* Mail locks are bytes of the lock file chosen by the key's hash: 65536 of them make two keys
 * sharing one rare, and sharing only makes one wait. */
#define MAIL_LOCK_SLOTS 65536

static const char *const state_names[] = {
    [JOURNAL_PENDING] = "pending",	   [JOURNAL_DELIVERED] = "delivered",
    [JOURNAL_FAILED] = "failed",	   [JOURNAL_QUARANTINED] = "quarantined",
    [JOURNAL_DROPPED] = "dropped",
};

const char *journal_state_name(enum journal_state state)
{
	return state_names[state];
}

static enum journal_state state_from_name(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(state_names); i++)
		if (g_strcmp0(state_names[i], name) == 0)
			return (enum journal_state)i;
	return JOURNAL_PENDING;
}

static gboolean db_fail(struct journal *j, int rc, const char *what, GError **error)
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

static gboolean exec(struct journal *j, const char *sql, GError **error)
{
	int rc = sqlite3_exec(j->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TRUE : db_fail(j, rc, sql, error);
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
};

#define SCHEMA_VERSION ((int)G_N_ELEMENTS(migrations))

static gboolean read_version(struct journal *j, int *version, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE name = 'schema_version'", -1,
				    &st, NULL);

	*version = 0;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "reading the schema version", error);
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return TRUE;
}

/* Bring the journal up to SCHEMA_VERSION; an older mail2ticket refuses a newer journal. A
 * read-only journal is only checked. */
static gboolean check_schema(struct journal *j, gboolean read_only, GError **error)
{
	int version;
	char *set;
	gboolean ok;

	if (!read_only &&
	    (!exec(j, "BEGIN IMMEDIATE", error) ||
	     !exec(j, "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
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
	if (ok && exec(j, "COMMIT", error))
		return TRUE;
fail:
	if (!read_only)
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	return FALSE;
}

/* WAL is a property of the file, set once. Two processes creating the journal at once (an MTA
 * delivering to two recipients) race for it, and SQLite answers that race with SQLITE_BUSY at
 * once instead of waiting, so the wait is done here. */
static gboolean use_wal(struct journal *j, int busy_timeout_ms, GError **error)
{
	gint64 until = g_get_monotonic_time() + (gint64)busy_timeout_ms * 1000;
	int rc;

	while ((rc = sqlite3_exec(j->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) ==
		   SQLITE_BUSY &&
	       g_get_monotonic_time() < until)
		g_usleep(10 * 1000);
	return rc == SQLITE_OK ? TRUE : db_fail(j, rc, "PRAGMA journal_mode=WAL", error);
}

struct journal *journal_open(const char *path, gboolean read_only, int busy_timeout_ms,
			     GError **error)
{
	struct journal *j = g_new0(struct journal, 1);
	int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc, fd;

	j->path = g_strdup(path);
	j->lock_fd = -1;
	if (!read_only) {
		char *dir = g_path_get_dirname(path);
		char *lock = g_strconcat(path, ".lock", NULL);
		g_mkdir_with_parents(dir, 0750);
		g_free(dir);
		j->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (j->lock_fd < 0) {
			int e = errno;
			g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO,
				    "journal %s: cannot open %s: %s", path, lock, g_strerror(e));
			g_free(lock);
			journal_close(j);
			return NULL;
		}
		g_free(lock);
		/* SQLite would create the file 0644 (less the umask), and its -wal and -shm files
		 * like it: the journal holds senders, subjects and ticket numbers, for this user
		 * only. An empty file is an empty database to SQLite. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	rc = sqlite3_open_v2(path, &j->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO, "journal %s: cannot open: %s",
			    path, j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
		journal_close(j);
		return NULL;
	}
	sqlite3_busy_timeout(j->db, busy_timeout_ms);
	/* WAL lets readers (stats, route) run beside a writer; FULL makes a commit durable before
	 * we acknowledge the source on the strength of it. */
	if ((!read_only && (!use_wal(j, busy_timeout_ms, error) ||
			    !exec(j, "PRAGMA synchronous=FULL", error))) ||
	    !check_schema(j, read_only, error)) {
		journal_close(j);
		return NULL;
	}
	return j;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	sqlite3_close(j->db);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	g_free(j->path);
	g_free(j);
}

static gboolean lock_slot(struct journal *j, const char *key, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_len = 1};
	int rc;

	fl.l_start = g_str_hash(key) % MAIL_LOCK_SLOTS;
	while ((rc = fcntl(j->lock_fd, F_SETLKW, &fl)) != 0 && errno == EINTR)
		;
	return rc == 0;
}

gboolean journal_lock_mail(struct journal *j, const char *key, GError **error)
{
	if (j->lock_fd < 0 || lock_slot(j, key, F_WRLCK))
		return TRUE;
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO, "journal %s: cannot lock a mail: %s",
		    j->path, g_strerror(errno));
	return FALSE;
}

void journal_unlock_mail(struct journal *j, const char *key)
{
	if (j->lock_fd >= 0)
		lock_slot(j, key, F_UNLCK);
}

void journal_entry_clear(struct journal_entry *e)
{
	g_free(e->key);
	g_free(e->ticket_id);
	g_free(e->ticket_tid);
	g_free(e->last_error);
	*e = (struct journal_entry){0};
}

static char *column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? g_strdup((const char *)t) : NULL;
}

gboolean journal_lookup(struct journal *j, const char *key, struct journal_entry *out,
			gboolean *found, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT state, ticket_id, ticket_tid, attempts, last_error, updated "
				    "FROM mails WHERE key = ?",
				    -1, &st, NULL);

	*found = FALSE;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "lookup", error);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = TRUE;
		*out = (struct journal_entry){0};
		out->key = g_strdup(key);
		out->state = state_from_name((const char *)sqlite3_column_text(st, 0));
		out->ticket_id = column_text(st, 1);
		out->ticket_tid = column_text(st, 2);
		out->attempts = sqlite3_column_int(st, 3);
		out->last_error = column_text(st, 4);
		out->updated = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(j, rc, "lookup", error);
	return TRUE;
}

/* Run one statement with text parameters (NULL binds SQL NULL) and, with_time, a trailing
 * integer: the time now. */
static gboolean run_with(struct journal *j, const char *what, const char *sql, int n,
			 const char *const *params, gboolean with_time, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, what, error);
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	if (with_time)
		sqlite3_bind_int64(st, n + 1, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		db_fail(j, rc, what, error);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE;
}

static gboolean run(struct journal *j, const char *what, const char *sql, int n,
		    const char *const *params, GError **error)
{
	return run_with(j, what, sql, n, params, TRUE, error);
}

static gboolean in_transaction(struct journal *j, const char *what, const char *mail_sql, int n,
			       const char *const *params, const char *key, const char *outcome,
			       const char *detail, GError **error)
{
	const char *attempt[] = {key, outcome, detail};
	int rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, what, error);
	if (!run(j, what, mail_sql, n, params, error) ||
	    !run(j, what, "INSERT INTO attempts (key, outcome, detail, at) VALUES (?, ?, ?, ?)", 3,
		 attempt, error)) {
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return FALSE;
	}
	rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* The cause first: the ROLLBACK's own message ("no transaction is active", when
		 * SQLite already rolled back after a full disk) would replace it. */
		db_fail(j, rc, what, error);
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		return FALSE;
	}
	return TRUE;
}

gboolean journal_begin_attempt(struct journal *j, const char *key,
			       const struct journal_mail_info *info, const char *write,
			       GError **error)
{
	const char *params[] = {key, info->source, info->message_id, info->sender, info->subject};

	return in_transaction(
	    j, "recording an attempt",
	    "INSERT INTO mails (key, state, source, message_id, sender, subject, attempts, "
	    "first_seen, updated) VALUES (?1, 'pending', ?2, ?3, ?4, ?5, 1, ?6, ?6) "
	    "ON CONFLICT(key) DO UPDATE SET state = 'pending', attempts = attempts + 1, "
	    "updated = ?6",
	    5, params, key, "attempt", write, error);
}

/* The rows filed under ?1 or its per-department copies (?1#dept:ID), as a range of the key's
 * index: a substr() of key is not searchable and scanned every row for each mail, which made an
 * import quadratic in the journal's size. ';' is the byte after ':'. */
#define LEGACY_KEYS "(key = ?1 OR (key >= ?1 || '#dept:' AND key < ?1 || '#dept;'))"

/* The sender and subject of the first row filed under legacy (or its per-department copies). */
static gboolean legacy_row(struct journal *j, const char *legacy, char **sender, char **subject,
			   gboolean *found, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT sender, subject FROM mails WHERE " LEGACY_KEYS
				    " LIMIT 1",
				    -1, &st, NULL);

	*found = FALSE;
	*sender = *subject = NULL;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "looking up an older key", error);
	sqlite3_bind_text(st, 1, legacy, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = TRUE;
		*sender = column_text(st, 0);
		*subject = column_text(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(j, rc, "looking up an older key", error);
	return TRUE;
}

gboolean journal_claim_legacy_key(struct journal *j, const char *legacy, const char *key,
				  const struct journal_mail_info *info, gboolean *claimed,
				  GError **error)
{
	static const char *const renames[] = {
	    "UPDATE mails SET key = ?2 || substr(key, length(?1) + 1) WHERE " LEGACY_KEYS,
	    "UPDATE attempts SET key = ?2 || substr(key, length(?1) + 1) WHERE " LEGACY_KEYS,
	};
	char *sender = NULL, *subject = NULL;
	gboolean found, ok;

	*claimed = FALSE;
	if (!legacy_row(j, legacy, &sender, &subject, &found, error))
		return FALSE;
	/* Another mail with the same Message-ID is not this one. */
	ok = TRUE;
	if (found && g_ascii_strcasecmp(sender ? sender : "", info->sender ? info->sender : "") == 0 &&
	    g_strcmp0(subject, info->subject) == 0) {
		const char *params[] = {legacy, key};
		int rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		ok = rc == SQLITE_OK ? TRUE : db_fail(j, rc, "renaming an older key", error);
		for (gsize i = 0; ok && i < G_N_ELEMENTS(renames); i++)
			ok = run_with(j, "renaming an older key", renames[i], 2, params, FALSE,
				      error);
		if (ok && (rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
			ok = db_fail(j, rc, "renaming an older key", error);
		if (!ok)
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		*claimed = ok;
	}
	g_free(sender);
	g_free(subject);
	return ok;
}

gboolean journal_earlier_writes(struct journal *j, const char *key, GPtrArray **writes,
				GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT DISTINCT coalesce(detail, '') FROM attempts "
				    "WHERE key = ? AND outcome = 'attempt' ORDER BY id",
				    -1, &st, NULL);

	*writes = NULL;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "reading earlier attempts", error);
	*writes = g_ptr_array_new_with_free_func(g_free);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(*writes, g_strdup((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		g_clear_pointer(writes, g_ptr_array_unref);
		return db_fail(j, rc, "reading earlier attempts", error);
	}
	return TRUE;
}

gboolean journal_mark_delivered(struct journal *j, const char *key, const char *action,
				const char *ticket_id, const char *ticket_tid, const char *why,
				GError **error)
{
	const char *params[] = {key, action, ticket_id, ticket_tid};
	char *detail = g_strdup_printf("%s ticket %s (#%s)%s%s", action, ticket_id ? ticket_id : "?",
				       ticket_tid ? ticket_tid : "?", why ? ": " : "",
				       why ? why : "");
	gboolean ok = in_transaction(j, "recording a delivery",
				     "UPDATE mails SET state = 'delivered', action = ?2, "
				     "ticket_id = ?3, ticket_tid = ?4, last_error = NULL, "
				     "updated = ?5 WHERE key = ?1",
				     4, params, key, "delivered", detail, error);

	g_free(detail);
	return ok;
}

gboolean journal_mark_failed(struct journal *j, const char *key, const char *reason,
			     GError **error)
{
	const char *params[] = {key, reason};

	return in_transaction(j, "recording a failure",
			      "UPDATE mails SET state = 'failed', last_error = ?2, updated = ?3 "
			      "WHERE key = ?1",
			      2, params, key, "failed", reason, error);
}

static gboolean mark_final(struct journal *j, const char *key, const char *state,
			   const struct journal_mail_info *info, const char *where,
			   const char *reason, GError **error)
{
	const char *params[] = {key,	       state,	     info->source, info->message_id,
				info->sender, info->subject, reason,	   where};

	return in_transaction(
	    j, state,
	    "INSERT INTO mails (key, state, source, message_id, sender, subject, last_error, "
	    "quarantine_path, first_seen, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) "
	    "ON CONFLICT(key) DO UPDATE SET state = ?2, last_error = ?7, quarantine_path = ?8, "
	    "updated = ?9",
	    8, params, key, state, reason, error);
}

gboolean journal_mark_quarantined(struct journal *j, const char *key,
				  const struct journal_mail_info *info, const char *where,
				  const char *reason, GError **error)
{
	return mark_final(j, key, "quarantined", info, where, reason, error);
}

gboolean journal_mark_dropped(struct journal *j, const char *key,
			      const struct journal_mail_info *info, const char *reason,
			      GError **error)
{
	return mark_final(j, key, "dropped", info, NULL, reason, error);
}

gboolean journal_ticket_of_message(struct journal *j, const char *message_id, char **tid,
				   char **id, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT ticket_tid, ticket_id FROM mails WHERE message_id = ? "
				    "AND state = 'delivered' AND ticket_tid IS NOT NULL "
				    "ORDER BY updated LIMIT 1",
				    -1, &st, NULL);

	*tid = *id = NULL;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "thread lookup", error);
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*tid = column_text(st, 0);
		*id = column_text(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TRUE : db_fail(j, rc, "thread lookup", error);
}

gboolean journal_count_opened_since(struct journal *j, const char *sender, gint64 since,
				    guint *count, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT count(*) FROM mails WHERE sender = ? COLLATE NOCASE "
				    "AND state = 'delivered' AND action IN ('opened', 'adopted') "
				    "AND updated >= ?",
				    -1, &st, NULL);

	*count = 0;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "counting a sender's tickets", error);
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = (guint)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? TRUE : db_fail(j, rc, "counting a sender's tickets", error);
}

gboolean journal_checkpoint_get(struct journal *j, const char *path, const char *fingerprint,
				guint64 *handled, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT handled FROM checkpoints WHERE archive = ? AND "
				    "fingerprint = ?",
				    -1, &st, NULL);

	*handled = 0;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "reading a checkpoint", error);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*handled = (guint64)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TRUE
						     : db_fail(j, rc, "reading a checkpoint", error);
}

gboolean journal_checkpoint_set(struct journal *j, const char *path, const char *fingerprint,
				guint64 handled, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "INSERT INTO checkpoints (archive, fingerprint, handled, updated) "
				    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(archive) DO UPDATE SET "
				    "fingerprint = ?2, handled = ?3, updated = ?4",
				    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, "writing a checkpoint", error);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)handled);
	sqlite3_bind_int64(st, 4, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TRUE : db_fail(j, rc, "writing a checkpoint", error);
}

gboolean journal_mailbox_mark_get(struct journal *j, const char *mailbox,
				  struct journal_mailbox_mark *out, gboolean *found, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT uidvalidity, last_uid, unseen_below FROM mailbox_marks "
				    "WHERE mailbox = ?",
				    -1, &st, NULL);

	*found = FALSE;
	memset(out, 0, sizeof(*out));
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "reading a mailbox mark", error);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = TRUE;
		out->uidvalidity = (guint32)sqlite3_column_int64(st, 0);
		out->last_uid = (guint32)sqlite3_column_int64(st, 1);
		out->unseen_below = (guint32)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? TRUE
		   : db_fail(j, rc, "reading a mailbox mark", error);
}

gboolean journal_mailbox_mark_set(struct journal *j, const char *mailbox,
				  const struct journal_mailbox_mark *mark, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    j->db,
	    "INSERT INTO mailbox_marks (mailbox, uidvalidity, last_uid, unseen_below, updated) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = ?2, "
	    "last_uid = ?3, unseen_below = ?4, updated = ?5",
	    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, "writing a mailbox mark", error);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, mark->uidvalidity);
	sqlite3_bind_int64(st, 3, mark->last_uid);
	sqlite3_bind_int64(st, 4, mark->unseen_below);
	sqlite3_bind_int64(st, 5, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TRUE : db_fail(j, rc, "writing a mailbox mark", error);
}

gboolean journal_item_get(struct journal *j, const char *mailbox, const char *item, int *failures,
			  char **reason, gboolean *seen, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT failures, reason, seen FROM mailbox_items WHERE mailbox = ? "
				    "AND item = ?",
				    -1, &st, NULL);

	*failures = 0;
	*reason = NULL;
	*seen = FALSE;
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "reading a mailbox item", error);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*failures = sqlite3_column_int(st, 0);
		*reason = column_text(st, 1);
		*seen = sqlite3_column_int(st, 2) != 0;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? TRUE
		   : db_fail(j, rc, "reading a mailbox item", error);
}

gboolean journal_item_count_failure(struct journal *j, const char *mailbox, const char *item,
				    int delta, const char *reason, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    j->db,
	    "INSERT INTO mailbox_items (mailbox, item, failures, reason, updated) "
	    "VALUES (?1, ?2, max(?3, 0), ?4, ?5) ON CONFLICT(mailbox, item) DO UPDATE SET "
	    "failures = max(failures + ?3, 0), reason = coalesce(?4, reason), updated = ?5",
	    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, "counting a mailbox item's failure", error);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, delta);
	if (reason)
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TRUE
				 : db_fail(j, rc, "counting a mailbox item's failure", error);
}

gboolean journal_item_finish(struct journal *j, const char *mailbox, const char *item,
			     gboolean keep_seen, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    j->db,
	    keep_seen ? "INSERT INTO mailbox_items (mailbox, item, seen, updated) VALUES (?1, ?2, 1, "
			"?3) ON CONFLICT(mailbox, item) DO UPDATE SET seen = 1, failures = 0, "
			"updated = ?3"
		      : "DELETE FROM mailbox_items WHERE mailbox = ?1 AND item = ?2",
	    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, "finishing a mailbox item", error);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	if (keep_seen)
		sqlite3_bind_int64(st, 3, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TRUE : db_fail(j, rc, "finishing a mailbox item", error);
}

gboolean journal_items_seen(struct journal *j, const char *mailbox, GHashTable *seen,
			    GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT item FROM mailbox_items WHERE mailbox = ? AND seen = 1", -1,
				    &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, "reading a mailbox's seen items", error);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_hash_table_add(seen, column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TRUE
				 : db_fail(j, rc, "reading a mailbox's seen items", error);
}

gboolean journal_items_forget_absent(struct journal *j, const char *mailbox, GHashTable *present,
				     GError **error)
{
	GHashTable *known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTableIter it;
	gpointer item;
	gboolean ok = TRUE;

	if (!journal_items_seen(j, mailbox, known, error)) {
		g_hash_table_unref(known);
		return FALSE;
	}
	g_hash_table_iter_init(&it, known);
	while (ok && g_hash_table_iter_next(&it, &item, NULL))
		if (!g_hash_table_contains(present, item))
			ok = journal_item_finish(j, mailbox, item, FALSE, error);
	g_hash_table_unref(known);
	return ok;
}

void journal_count_free(struct journal_count *count)
{
	g_free(count->source);
	g_free(count->outcome);
	g_free(count);
}

void journal_problem_free(struct journal_problem *problem)
{
	g_free(problem->key);
	g_free(problem->source);
	g_free(problem->subject);
	g_free(problem->error);
	g_free(problem);
}

static gboolean stats_counts(struct journal *j, gint64 since, GPtrArray *out, GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    j->db,
	    "SELECT coalesce(source, ''), CASE WHEN state = 'delivered' THEN coalesce(action, state) "
	    "ELSE state END AS outcome, count(*) FROM mails WHERE updated >= ? "
	    "GROUP BY 1, 2 ORDER BY 1, 2",
	    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, "counting outcomes", error);
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_count *c = g_new0(struct journal_count, 1);
		c->source = column_text(st, 0);
		c->outcome = column_text(st, 1);
		c->count = (guint)sqlite3_column_int(st, 2);
		g_ptr_array_add(out, c);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TRUE : db_fail(j, rc, "counting outcomes", error);
}

static gboolean stats_problems(struct journal *j, gint64 since, guint max, GPtrArray *out,
			       GError **error)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(j->db,
				    "SELECT key, source, subject, state, last_error, updated FROM mails "
				    "WHERE updated >= ? AND last_error IS NOT NULL AND state IN "
				    "('failed', 'pending', 'quarantined') "
				    "ORDER BY updated DESC, rowid DESC LIMIT ?",
				    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(j, rc, "listing errors", error);
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int(st, 2, (int)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_problem *p = g_new0(struct journal_problem, 1);
		p->key = column_text(st, 0);
		p->source = column_text(st, 1);
		p->subject = column_text(st, 2);
		p->state = state_from_name((const char *)sqlite3_column_text(st, 3));
		p->error = column_text(st, 4);
		p->when = sqlite3_column_int64(st, 5);
		g_ptr_array_add(out, p);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? TRUE : db_fail(j, rc, "listing errors", error);
}

gboolean journal_stats(struct journal *j, gint64 since, guint max_problems, GPtrArray **counts,
		       GPtrArray **problems, guint *waiting, GError **error)
{
	sqlite3_stmt *st;
	int rc;

	*counts = g_ptr_array_new_with_free_func((GDestroyNotify)journal_count_free);
	*problems = g_ptr_array_new_with_free_func((GDestroyNotify)journal_problem_free);
	*waiting = 0;
	if (!stats_counts(j, since, *counts, error) ||
	    !stats_problems(j, since, max_problems, *problems, error))
		return FALSE;
	rc = sqlite3_prepare_v2(j->db,
				"SELECT count(*) FROM mails WHERE state IN ('failed', 'pending')", -1,
				&st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(j, rc, "counting waiting mail", error);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*waiting = (guint)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? TRUE : db_fail(j, rc, "counting waiting mail", error);
}
