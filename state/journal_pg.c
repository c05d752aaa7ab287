/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal in a PostgreSQL database that several hosts share: connecting (and connecting
 * again after the server went away), the schema and its migrations, the mail locks (session
 * advisory locks, which the server drops with the session), and the helpers the other
 * journal_pg_*.c files run their statements with (state/journal_pg.h). */
#include "state/journal_pg.h"

#include <string.h>

#include "modules/module.h"

/* Migrations are serialized between hosts by a transaction's advisory lock in the space of two
 * numbers, apart from the mail locks' space of one: "m2t" and 0. */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(1832023040, 0)"

/* A host that vanished (no FIN, no RST) is found dead by TCP keepalives: idle 15 s, then 3
 * probes 5 s apart. Set on both ends: the client notices a server gone, and the server drops
 * the session of a client gone, and with it the mail locks, about 30 s after the last word.
 * A query sent to a server that vanished is not idle but unacknowledged: the client gives up on
 * it after USER_TIMEOUT_MS instead of TCP's retransmissions for a quarter of an hour. */
#define KEEPALIVE_IDLE "15"
#define KEEPALIVE_INTERVAL "5"
#define KEEPALIVE_COUNT "3"
#define USER_TIMEOUT_MS "30000"

/* The journal's schema, one step per version, as journal_sqlite.c's and with its numbers: step
 * N brings a journal from version N to N + 1. A released step never changes; a new version is a
 * new step at the end. Keys compare byte by byte (COLLATE "C"), as the range that finds a key's
 * per-department copies needs, whatever the database's collation. */
static const char *const migrations[] = {
    /* 0 -> 1: mails, their attempts, and import checkpoints. id is the order rows were made
     * in, which breaks ties between mails changed in the same second. */
    "CREATE TABLE mails ("
    "  key text COLLATE \"C\" PRIMARY KEY,"
    "  id bigint GENERATED ALWAYS AS IDENTITY,"
    "  state text NOT NULL,"
    "  source text, message_id text, sender text, subject text,"
    "  action text, ticket_id text, ticket_tid text,"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  first_seen bigint NOT NULL, updated bigint NOT NULL,"
    "  last_error text, quarantine_path text);"
    "CREATE INDEX mails_message_id ON mails (message_id);"
    "CREATE INDEX mails_sender ON mails (lower(sender), updated);"
    "CREATE INDEX mails_updated ON mails (updated);"
    "CREATE TABLE attempts ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  key text COLLATE \"C\" NOT NULL,"
    "  at bigint NOT NULL,"
    "  outcome text NOT NULL,"
    "  detail text);"
    "CREATE INDEX attempts_key ON attempts (key);"
    "CREATE TABLE checkpoints ("
    "  archive text PRIMARY KEY,"
    "  fingerprint text NOT NULL,"
    "  handled bigint NOT NULL,"
    "  updated bigint NOT NULL);",
    /* 1 -> 2: where each polled mailbox stands, and its mails' failures. */
    "CREATE TABLE mailbox_marks ("
    "  mailbox text PRIMARY KEY,"
    "  uidvalidity bigint NOT NULL,"
    "  last_uid bigint NOT NULL,"
    "  unseen_below bigint NOT NULL,"
    "  updated bigint NOT NULL);"
    "CREATE TABLE mailbox_items ("
    "  mailbox text NOT NULL,"
    "  item text NOT NULL,"
    "  failures integer NOT NULL DEFAULT 0,"
    "  reason text,"
    "  seen boolean NOT NULL DEFAULT false,"
    "  updated bigint NOT NULL,"
    "  PRIMARY KEY (mailbox, item));",
    /* 2 -> 3: leases: which poll instance reads which mailbox, until when, in the server's
     * clock, which every host compares with. */
    "CREATE TABLE leases ("
    "  name text PRIMARY KEY,"
    "  owner text NOT NULL,"
    "  expires timestamptz NOT NULL);",
    /* 3 -> 4: import work: the plans of imports shared by workers (import --worker), one per
     * archive, and their units, each claimed by one worker at a time until its claim expires
     * (expires NULL: not claimed) or it is finished. A plan's id comes from an identity,
     * which never gives a number twice, so a worker still on a replaced plan finds it gone. */
    "CREATE TABLE work_plans ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  archive text NOT NULL,"
    "  fingerprint text NOT NULL,"
    "  created timestamptz NOT NULL DEFAULT now(),"
    "  UNIQUE (archive, fingerprint));"
    "CREATE TABLE work_units ("
    "  plan bigint NOT NULL,"
    "  unit integer NOT NULL,"
    "  mails text NOT NULL,"
    "  owner text,"
    "  expires timestamptz,"
    "  claims integer NOT NULL DEFAULT 0,"
    "  finished timestamptz,"
    "  PRIMARY KEY (plan, unit));",
};

#define SCHEMA_VERSION ((int)G_N_ELEMENTS(migrations))

const char *pg_number(char buffer[PG_NUMBER_SIZE], gint64 n)
{
	g_snprintf(buffer, PG_NUMBER_SIZE, "%" G_GINT64_FORMAT, n);
	return buffer;
}

const char *pg_now(char buffer[PG_NUMBER_SIZE])
{
	return pg_number(buffer, g_get_real_time() / G_USEC_PER_SEC);
}

char *pg_value_dup(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : g_strdup(PQgetvalue(res, row, col));
}

gint64 pg_value_int(const PGresult *res, int row, int col)
{
	return g_ascii_strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* libpq's messages span lines, with tabs: one line for a log. Newly allocated. */
static char *one_line(const char *message)
{
	char **words = g_strsplit_set(message, " \t\r\n", -1);
	GString *line = g_string_new(NULL);

	for (char **w = words; *w; w++)
		if (**w)
			g_string_append_printf(line, "%s%s", line->len ? " " : "", *w);
	g_strfreev(words);
	return g_string_free(line, FALSE);
}

static gboolean answered(const PGresult *res)
{
	ExecStatusType status = PQresultStatus(res);

	return res && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
}

/* A failure that may heal by itself: the server or the connection is gone, or the server is
 * starting, stopping or out of connections. */
static gboolean unavailable(struct pg_journal *j, const char *sqlstate)
{
	static const char *const states[] = {"57P01", "57P02", "57P03", "53300", NULL};

	if (PQstatus(j->conn) != CONNECTION_OK)
		return TRUE;
	return sqlstate && (g_str_has_prefix(sqlstate, "08") || g_strv_contains(states, sqlstate));
}

gboolean pg_fail(struct pg_journal *j, const PGresult *res, const char *what, GError **error)
{
	static const char *const busy_states[] = {"55P03", "40001", "40P01", NULL};
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *message = one_line(primary ? primary : PQerrorMessage(j->conn));
	int code = JOURNAL_ERROR_IO;

	if (unavailable(j, sqlstate))
		code = JOURNAL_ERROR_UNAVAILABLE;
	else if (sqlstate && g_strv_contains(busy_states, sqlstate))
		code = JOURNAL_ERROR_BUSY;
	g_set_error(error, JOURNAL_ERROR, code, "journal %s: %s: %s%s", j->where, what,
		    code == JOURNAL_ERROR_BUSY ? "busy (locked by another process past the busy "
						 "timeout): "
		    : code == JOURNAL_ERROR_UNAVAILABLE ? "the server cannot be reached: "
							: "",
		    message);
	g_free(message);
	return FALSE;
}

/* A statement with parameters that this connection runs a second time is prepared, and then
 * only executed: parsing and planning every statement anew was a third of the server's CPU in an
 * import. Not the first time, since preparing costs a round trip of its own, and a pipe's
 * connection runs each statement once. (A prepared statement outlives a rolled-back
 * transaction; a new connection starts an empty set.) Statements without parameters (BEGIN,
 * reads at open) are run as they come. */
static PGresult *execute(struct pg_journal *j, const char *sql, int n, const char *const *params)
{
	gpointer name = NULL;
	PGresult *res;

	if (n == 0)
		return PQexecParams(j->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (!g_hash_table_lookup_extended(j->statements, sql, NULL, &name)) {
		g_hash_table_insert(j->statements, g_strdup(sql), NULL);
		return PQexecParams(j->conn, sql, n, NULL, params, NULL, NULL, 0);
	}
	if (!name) {
		name = g_strdup_printf("m2t_%u", ++j->prepared);
		res = PQprepare(j->conn, name, sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			g_free(name);
			return res;
		}
		PQclear(res);
		g_hash_table_insert(j->statements, g_strdup(sql), name);
	}
	return PQexecPrepared(j->conn, name, n, params, NULL, NULL, 0);
}

/* What this session needs of the server, set anew on every connection: the busy timeout for
 * every lock wait (a mail's, or a row's), the server's end of the keepalives, a commit that is
 * on disk before it is answered even where the server's default is not, and read-only
 * transactions for a journal opened to read. */
static gboolean set_up_session(struct pg_journal *j, GError **error)
{
	char *lock_timeout = g_strdup_printf("%dms", MAX(j->busy_timeout_ms, 1));
	const char *params[] = {lock_timeout, j->read_only ? "on" : "off"};
	PGresult *res = execute(
	    j,
	    "SELECT set_config('lock_timeout', $1, false),"
	    " set_config('default_transaction_read_only', $2, false),"
	    " set_config('tcp_keepalives_idle', '" KEEPALIVE_IDLE "', false),"
	    " set_config('tcp_keepalives_interval', '" KEEPALIVE_INTERVAL "', false),"
	    " set_config('tcp_keepalives_count', '" KEEPALIVE_COUNT "', false),"
	    " set_config('synchronous_commit', CASE current_setting('synchronous_commit')"
	    " WHEN 'off' THEN 'on' ELSE current_setting('synchronous_commit') END, false)",
	    2, params);
	gboolean ok = answered(res) ? TRUE : pg_fail(j, res, "setting up the session", error);

	PQclear(res);
	g_free(lock_timeout);
	return ok;
}

/* The connection broke: make it again, unless a mail lock went with it (then the mail must be
 * looked at afresh under a new lock). */
static gboolean reconnect(struct pg_journal *j, GError **error)
{
	char *message;

	if (g_hash_table_size(j->locks) > 0) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_UNAVAILABLE,
			    "journal %s: the connection to the server was lost while a mail was "
			    "locked, and the lock with it",
			    j->where);
		return FALSE;
	}
	PQreset(j->conn);
	g_hash_table_remove_all(j->statements);
	if (PQstatus(j->conn) == CONNECTION_OK)
		return set_up_session(j, error);
	message = one_line(PQerrorMessage(j->conn));
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_UNAVAILABLE,
		    "journal %s: the server cannot be reached: %s", j->where, message);
	g_free(message);
	return FALSE;
}

/* The rows sql answers; with may_reconnect, asked again once on a new connection when the
 * connection turned out to be broken (never inside a transaction, which went with it). */
static PGresult *read_rows(struct pg_journal *j, gboolean may_reconnect, const char *what,
			   const char *sql, int n, const char *const *params, GError **error)
{
	gboolean reconnected = may_reconnect && PQstatus(j->conn) != CONNECTION_OK;
	PGresult *res;

	if (reconnected && !reconnect(j, error))
		return NULL;
	res = execute(j, sql, n, params);
	if (!answered(res) && may_reconnect && !reconnected &&
	    PQstatus(j->conn) != CONNECTION_OK && g_hash_table_size(j->locks) == 0) {
		PQclear(res);
		if (!reconnect(j, error))
			return NULL;
		res = execute(j, sql, n, params);
	}
	if (answered(res))
		return res;
	pg_fail(j, res, what, error);
	PQclear(res);
	return NULL;
}

PGresult *pg_read(struct pg_journal *j, const char *what, const char *sql, int n,
		  const char *const *params, GError **error)
{
	return read_rows(j, TRUE, what, sql, n, params, error);
}

void pg_roll_back(struct pg_journal *j)
{
	if (PQstatus(j->conn) == CONNECTION_OK &&
	    PQtransactionStatus(j->conn) != PQTRANS_IDLE)
		PQclear(PQexec(j->conn, "ROLLBACK"));
}

static gboolean refuse_read_only(struct pg_journal *j, const char *what, GError **error)
{
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO,
		    "journal %s: %s: refused, the journal is open read-only", j->where, what);
	return FALSE;
}

gboolean pg_begin(struct pg_journal *j, const char *what, GError **error)
{
	PGresult *res;

	if (j->read_only)
		return refuse_read_only(j, what, error);
	/* Nothing is written before BEGIN is answered: it alone may be sent again. */
	if (!(res = pg_read(j, what, "BEGIN", 0, NULL, error)))
		return FALSE;
	PQclear(res);
	return TRUE;
}

PGresult *pg_step(struct pg_journal *j, const char *what, const char *sql, int n,
		  const char *const *params, GError **error)
{
	PGresult *res = execute(j, sql, n, params);

	if (answered(res))
		return res;
	pg_fail(j, res, what, error);
	PQclear(res);
	pg_roll_back(j);
	return NULL;
}

gboolean pg_commit(struct pg_journal *j, const char *what, GError **error)
{
	PGresult *res = PQexec(j->conn, "COMMIT");

	if (answered(res)) {
		PQclear(res);
		return TRUE;
	}
	if (PQstatus(j->conn) != CONNECTION_OK) {
		char *unknown = g_strdup_printf("%s (no answer to its commit: it may have been "
						"recorded)",
						what);
		pg_fail(j, res, unknown, error);
		g_free(unknown);
	} else {
		pg_fail(j, res, what, error);
	}
	PQclear(res);
	pg_roll_back(j);
	return FALSE;
}

gboolean pg_write(struct pg_journal *j, const char *what, const struct pg_statement *steps,
		  int n_steps, GError **error)
{
	if (!pg_begin(j, what, error))
		return FALSE;
	for (int i = 0; i < n_steps; i++) {
		PGresult *res = pg_step(j, what, steps[i].sql, steps[i].n, steps[i].params, error);
		if (!res)
			return FALSE;
		PQclear(res);
	}
	return pg_commit(j, what, error);
}

/* The schema version the journal has; 0 when it has none yet. */
static gboolean read_version(struct pg_journal *j, gboolean in_transaction, int *version,
			     GError **error)
{
	PGresult *res = read_rows(j, !in_transaction, "reading the schema version",
				  "SELECT to_regclass('meta') IS NOT NULL", 0, NULL, error);
	gboolean has_meta;

	*version = 0;
	if (!res)
		return FALSE;
	has_meta = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!has_meta)
		return TRUE;
	res = read_rows(j, !in_transaction, "reading the schema version",
			"SELECT value FROM meta WHERE name = 'schema_version'", 0, NULL, error);
	if (!res)
		return FALSE;
	if (PQntuples(res) == 1)
		*version = (int)pg_value_int(res, 0, 0);
	PQclear(res);
	return TRUE;
}

static gboolean refuse_newer(struct pg_journal *j, int version, GError **error)
{
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_VERSION,
		    "journal %s has schema version %d, newer than this mail2ticket knows (%d): "
		    "use the newer mail2ticket",
		    j->where, version, SCHEMA_VERSION);
	return FALSE;
}

static gboolean run(struct pg_journal *j, const char *what, const char *sql, GError **error)
{
	PGresult *res = PQexec(j->conn, sql);
	gboolean ok = answered(res) ? TRUE : pg_fail(j, res, what, error);

	PQclear(res);
	return ok;
}

/* The steps the journal has not seen, in one transaction, under a lock that makes a second
 * host opening a new database wait for the first one's steps and then find nothing to do. */
static gboolean migrate(struct pg_journal *j, GError **error)
{
	char number[PG_NUMBER_SIZE];
	const char *params[] = {pg_number(number, SCHEMA_VERSION)};
	PGresult *res;
	int version;

	if (!(res = pg_read(j, "bringing the schema forward", "BEGIN", 0, NULL, error)))
		return FALSE;
	PQclear(res);
	if (!run(j, "waiting for another host's migration", MIGRATION_LOCK, error) ||
	    !run(j, "bringing the schema forward",
		 "CREATE TABLE IF NOT EXISTS meta (name text PRIMARY KEY, value text NOT NULL)",
		 error) ||
	    !read_version(j, TRUE, &version, error))
		goto fail;
	if (version > SCHEMA_VERSION) {
		refuse_newer(j, version, error);
		goto fail;
	}
	for (int v = version; v < SCHEMA_VERSION; v++)
		if (!run(j, "bringing the schema forward", migrations[v], error))
			goto fail;
	res = execute(j,
		      "INSERT INTO meta (name, value) VALUES ('schema_version', $1) "
		      "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
		      1, params);
	if (!answered(res)) {
		pg_fail(j, res, "bringing the schema forward", error);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (!run(j, "bringing the schema forward", "COMMIT", error))
		goto fail;
	j->base.schema_version = SCHEMA_VERSION;
	return TRUE;
fail:
	pg_roll_back(j);
	return FALSE;
}

/* Bring the journal up to SCHEMA_VERSION; an older mail2ticket refuses a newer journal. A
 * read-only journal is only checked. The version is read first without a transaction, so that
 * the usual open (nothing to do) writes nothing. */
static gboolean check_schema(struct pg_journal *j, GError **error)
{
	int version;

	if (!read_version(j, FALSE, &version, error))
		return FALSE;
	j->base.schema_version = version;
	if (version > SCHEMA_VERSION)
		return refuse_newer(j, version, error);
	if (version == SCHEMA_VERSION || (j->read_only && version > 0))
		return TRUE;
	if (!j->read_only)
		return migrate(j, error);
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_MISSING,
		    "journal %s has no tables yet: nothing has been recorded", j->where);
	return FALSE;
}

/* postgresql://USER@HOST:PORT/DB, from what libpq says of a connection or a conninfo; the parts
 * not known are left out. Newly allocated. */
static char *describe(const char *user, const char *host, const char *port, const char *db)
{
	gboolean ipv6 = host && strchr(host, ':');

	return g_strdup_printf("postgresql://%s%s%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
			       ipv6 ? "[" : "", host ? host : "", ipv6 ? "]" : "",
			       port ? ":" : "", port ? port : "", db ? db : "");
}

/* The url, checked: it holds no password (that is password_file's, so that the url can be
 * shown), and it names the journal for messages. */
static gboolean check_url(const char *url, char **where, GError **error)
{
	const char *user = NULL, *host = NULL, *port = NULL, *db = NULL;
	gboolean has_password = FALSE;
	char *message = NULL;
	PQconninfoOption *options = PQconninfoParse(url, &message);

	/* libpq's message may quote the part it could not read, which may be the password. */
	PQfreemem(message);
	if (!options) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_KIND,
			    "the postgresql journal's url is not a libpq connection string or a "
			    "postgresql:// URI");
		return FALSE;
	}
	for (PQconninfoOption *o = options; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "password") == 0)
			has_password = TRUE;
		else if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0 ||
			 (!host && strcmp(o->keyword, "hostaddr") == 0))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	*where = describe(user, host, port, db);
	PQconninfoFree(options);
	if (!has_password)
		return TRUE;
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_KIND,
		    "the postgresql journal's url holds a password: put it in password_file (or "
		    "PGPASSWORD, or ~/.pgpass)");
	g_clear_pointer(where, g_free);
	return FALSE;
}

/* The first line of path, without its line end; FALSE with error set when it cannot be read
 * or is empty. Newly allocated: wipe it after use. */
static gboolean read_password(const char *path, char **password, GError **error)
{
	GError *err = NULL;
	char *contents;

	if (!g_file_get_contents(path, &contents, NULL, &err)) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO,
			    "the journal's password file: %s", err->message);
		g_error_free(err);
		return FALSE;
	}
	contents[strcspn(contents, "\r\n")] = '\0';
	if (*contents) {
		*password = contents;
		return TRUE;
	}
	g_free(contents);
	g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_IO,
		    "the journal's password file %s is empty", path);
	return FALSE;
}

/* Notices (a lock not held, a table there already) are no concern of a log. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Ours first: what the url says overrides them, and the password file overrides the url. */
static PGconn *connect_to(const char *url, const char *password)
{
	const char *const keywords[] = {"connect_timeout",
					"keepalives",
					"keepalives_idle",
					"keepalives_interval",
					"keepalives_count",
					"tcp_user_timeout",
					"fallback_application_name",
					"client_encoding",
					"dbname",
					"password",
					NULL};
	const char *const values[] = {"10",
				      "1",
				      KEEPALIVE_IDLE,
				      KEEPALIVE_INTERVAL,
				      KEEPALIVE_COUNT,
				      USER_TIMEOUT_MS,
				      "mail2ticket",
				      "UTF8",
				      url,
				      password,
				      NULL};

	return PQconnectdbParams(keywords, values, 1);
}

static void pg_journal_close(struct journal *journal)
{
	struct pg_journal *j = (struct pg_journal *)journal;

	PQfinish(j->conn);
	g_hash_table_unref(j->locks);
	g_hash_table_unref(j->statements);
	g_free(j->where);
	g_free(j);
}

static struct journal *pg_journal_open(const struct journal_settings *settings, GError **error)
{
	struct pg_journal *j;
	char *password = NULL;
	char *where = NULL;
	char *message;

	if (!settings->url || settings->path) {
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_KIND,
			    "the postgresql journal is kept by a server: it takes a url and no "
			    "path");
		return NULL;
	}
	if (!check_url(settings->url, &where, error))
		return NULL;
	if (settings->password_file && !read_password(settings->password_file, &password, error)) {
		g_free(where);
		return NULL;
	}
	j = g_new0(struct pg_journal, 1);
	j->base.ops = &journal_pg_ops;
	j->where = where;
	j->base.where = j->where;
	j->read_only = settings->read_only;
	j->busy_timeout_ms = settings->busy_timeout_ms;
	j->locks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	j->statements = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	j->conn = connect_to(settings->url, password);
	if (password) {
		/* Do not leave the password behind in freed memory. */
		memset(password, 0, strlen(password));
		g_free(password);
	}
	if (PQstatus(j->conn) != CONNECTION_OK) {
		message = one_line(PQerrorMessage(j->conn));
		g_set_error(error, JOURNAL_ERROR, JOURNAL_ERROR_UNAVAILABLE,
			    "journal %s: cannot connect: %s", j->where, message);
		g_free(message);
		goto fail;
	}
	PQsetNoticeProcessor(j->conn, ignore_notice, NULL);
	g_free(j->where);
	j->where = describe(PQuser(j->conn), PQhost(j->conn), PQport(j->conn), PQdb(j->conn));
	j->base.where = j->where;
	if (!set_up_session(j, error) || !check_schema(j, error))
		goto fail;
	return &j->base;
fail:
	pg_journal_close(&j->base);
	return NULL;
}

/* The mail lock of key: a 64-bit number from its SHA-256, as the parameter's text. */
static const char *lock_number(const char *key, char buffer[PG_NUMBER_SIZE])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	guint8 digest[32];
	gsize len = sizeof(digest);
	guint64 n = 0;

	g_checksum_update(sum, (const guchar *)key, -1);
	g_checksum_get_digest(sum, digest, &len);
	g_checksum_free(sum);
	for (int i = 0; i < 8; i++)
		n = n << 8 | digest[i];
	return pg_number(buffer, (gint64)n);
}

/* A session advisory lock: the wait ends with BUSY at the busy timeout (lock_timeout), and the
 * server drops the lock with the session, when the process dies or its host is found gone. */
static gboolean pg_journal_lock_mail(struct journal *journal, const char *key, GError **error)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	char number[PG_NUMBER_SIZE];
	const char *params[] = {lock_number(key, number)};
	PGresult *res;

	if (j->read_only || g_hash_table_contains(j->locks, key))
		return TRUE;
	/* Taken on a connection that then broke, the lock went with it: taking it again on a new
	 * one is safe, so it counts as a read. */
	res = pg_read(j, "locking a mail", "SELECT pg_advisory_lock($1::bigint)", 1, params, error);
	if (!res)
		return FALSE;
	PQclear(res);
	g_hash_table_add(j->locks, g_strdup(key));
	return TRUE;
}

static void pg_journal_unlock_mail(struct journal *journal, const char *key)
{
	struct pg_journal *j = (struct pg_journal *)journal;
	char number[PG_NUMBER_SIZE];
	const char *params[] = {lock_number(key, number)};

	/* On a broken connection the lock has gone already. */
	if (g_hash_table_remove(j->locks, key) && PQstatus(j->conn) == CONNECTION_OK)
		PQclear(execute(j, "SELECT pg_advisory_unlock($1::bigint)", 1, params));
}

const struct journal_ops journal_pg_ops = {
    .name = "postgresql",
    .open = pg_journal_open,
    .close = pg_journal_close,
    .lock_mail = pg_journal_lock_mail,
    .unlock_mail = pg_journal_unlock_mail,
    .lookup = pg_journal_lookup,
    .begin_attempt = pg_journal_begin_attempt,
    .claim_legacy_key = pg_journal_claim_legacy_key,
    .earlier_writes = pg_journal_earlier_writes,
    .mark_delivered = pg_journal_mark_delivered,
    .mark_failed = pg_journal_mark_failed,
    .mark_unanswered = pg_journal_mark_unanswered,
    .mark_quarantined = pg_journal_mark_quarantined,
    .mark_dropped = pg_journal_mark_dropped,
    .ticket_of_message = pg_journal_ticket_of_message,
    .ticket_opened_by_another = pg_journal_ticket_opened_by_another,
    .count_opened_since = pg_journal_count_opened_since,
    .checkpoint_get = pg_journal_checkpoint_get,
    .checkpoint_set = pg_journal_checkpoint_set,
    .mailbox_mark_get = pg_journal_mailbox_mark_get,
    .mailbox_mark_set = pg_journal_mailbox_mark_set,
    .item_get = pg_journal_item_get,
    .item_count_failure = pg_journal_item_count_failure,
    .item_finish = pg_journal_item_finish,
    .items_seen = pg_journal_items_seen,
    .items_forget_absent = pg_journal_items_forget_absent,
    .stats = pg_journal_stats,
    .lease_take = pg_journal_lease_take,
    .lease_release = pg_journal_lease_release,
    .work_plan = pg_journal_work_plan,
    .work_claim = pg_journal_work_claim,
    .work_renew = pg_journal_work_renew,
    .work_release = pg_journal_work_release,
    .work_left = pg_journal_work_left,
};

static gboolean parse_url(const char *url, gboolean *has_password)
{
	char *message = NULL;
	PQconninfoOption *options = PQconninfoParse(url, &message);

	/* The message may quote the url, password and all: it is not shown. */
	PQfreemem(message);
	*has_password = FALSE;
	if (!options)
		return FALSE;
	for (PQconninfoOption *o = options; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			*has_password = TRUE;
	PQconninfoFree(options);
	return TRUE;
}

M2T_MODULE_EXPORT const struct journal_pg_module journal_pg_module = {
    .ops = &journal_pg_ops,
    .parse_url = parse_url,
};
