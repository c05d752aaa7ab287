/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration file, read once into plain structs (nothing else reads the file). */
#ifndef M2T_CONFIG_CONFIG_H
#define M2T_CONFIG_CONFIG_H

#include <glib.h>

#define CONFIG_ERROR (config_error_quark())
GQuark config_error_quark(void);
enum config_error_code { CONFIG_ERROR_INVALID };

/* How cc addresses reach the desk: a short block at the top of the ticket text, the API's cc
 * parameter (newer WHMCS), or not at all. */
enum cc_mode { CC_MODE_TEXT, CC_MODE_PARAM, CC_MODE_NONE };

struct department_route {
	char *address; /* lower case; "@domain" matches a whole domain */
	int deptid;    /* 0 when mailbox is set */
	char *mailbox; /* Thulium: the mailbox address sent as `to` (its queue follows), or NULL */
};

enum rule_field {
	RULE_FROM,
	RULE_TO,
	RULE_CC,
	RULE_RECIPIENT, /* envelope recipient and Delivered-To */
	RULE_SUBJECT,
	RULE_BODY,
	RULE_HEADER, /* header.NAME */
	RULE_ATTACHMENT,
	RULE_ATTACHMENT_TYPE,
	RULE_SIZE,
	RULE_MAILBOX,
};

struct rule_condition {
	enum rule_field field;
	char *header;	  /* RULE_HEADER: the header's name */
	gboolean negate;  /* "!": the condition holds when nothing matches */
	GRegex *regex;	  /* "~": a regular expression, else NULL */
	char **values;	  /* without "~": lower case; any may match */
	gboolean greater; /* RULE_SIZE: "> N", else "< N" */
	gsize size;	  /* RULE_SIZE */
};

struct rule_field_value {
	int id;		  /* WHMCS and Keliweb: customfield.ID */
	char *name;	  /* Thulium: customfield.NAME; the config's rule owns it, copies borrow */
	char *value;
};

struct rule {
	char *name;
	GPtrArray *conditions; /* of struct rule_condition */
	gboolean any;	       /* match = any: one condition suffices */
	gboolean next;	       /* continue = true: later rules are still evaluated */
	/* Actions; 0, NULL or -1 when the rule does not set them. */
	int department;
	char *priority;
	int clientid;
	int serviceid;
	int category;	 /* Thulium's ticket category */
	int status;	 /* Thulium's ticket status */
	char **tags;	 /* Thulium's ticket tags */
	int customer_id; /* Thulium's CRM customer */
	GArray *fields; /* of struct rule_field_value: customfield.ID (or NAME) = value */
	int markdown;	/* -1, 0 or 1 */
	char *drop;	/* a reason: the mail is dropped */
	gboolean reply_only;
};

enum mailbox_tls {
	MAILBOX_TLS_IMPLICIT, /* imaps://, pop3s:// */
	MAILBOX_TLS_STARTTLS, /* imap://, pop3://: the server must offer it */
	MAILBOX_TLS_NONE,     /* plain text, only when the config says tls = none */
};
enum mailbox_auth { MAILBOX_AUTH_LOGIN, MAILBOX_AUTH_PLAIN, MAILBOX_AUTH_XOAUTH2 };
/* What becomes of a mail on the server once the journal has the desk's answer. */
enum mailbox_after {
	MAILBOX_AFTER_MOVE,
	MAILBOX_AFTER_FLAG,
	MAILBOX_AFTER_DELETE,
	MAILBOX_AFTER_KEEP
};
/* Which mail a mailbox's first poll takes. */
enum mailbox_start { MAILBOX_START_UNSEEN, MAILBOX_START_ALL, MAILBOX_START_NEW };

struct mailbox_driver;

/* A [mailbox NAME] section. */
struct mailbox_config {
	char *name;
	char *url; /* as written, for logs (it holds no password) */
	/* Its kind, from ingest/mailbox_driver.c's table (borrowed): what it can do and how it is
	 * opened. */
	const struct mailbox_driver *driver;
	char *host;
	int port;
	char *folder; /* IMAP */
	enum mailbox_tls tls;
	char *ca_file; /* NULL: the system's trusted authorities */
	char *user;
	char *password; /* never printed or logged; NULL with XOAUTH2 */
	enum mailbox_auth auth;
	char *oauth2_token_command; /* prints an access token on its standard output */
	/* Variables the token command gets besides PATH, HOME and LANG: nothing else of
	 * mail2ticket's environment (its secrets) reaches it. NULL-terminated, or NULL. */
	char **oauth2_token_env;
	enum mailbox_after after;
	char *after_folder; /* MAILBOX_AFTER_MOVE */
	char *after_flag;   /* MAILBOX_AFTER_FLAG: "\\Seen" or a keyword */
	char *failed_folder; /* NULL: failed mail goes to the local quarantine */
	int max_failures;    /* failures of one mail before it is set aside */
	enum mailbox_start start;
	int interval;	  /* seconds between polls without IDLE */
	gboolean idle;	  /* use IDLE where the server has it */
	int idle_restart; /* seconds before an IDLE is re-issued */
	int timeout;	  /* network timeout, seconds */
	int parse_timeout; /* seconds the parser may take on one mail */
	gsize max_message_bytes; /* 0: no limit */
};

/* Every value the file can leave out has its default in config.c's config_defaults. */
struct config {
	char *path;
	struct {
		char *kind; /* the name of a backend in desk/desk_backend.c's table */
		char *url; /* without a password: shown in messages, the journal, check */
		/* The password url was written with, taken out of it: HTTP Basic authentication
		 * (with url's user) for a proxy in front of the desk, for libcurl alone. NULL:
		 * none */
		char *url_password;
		char *identifier; /* NULL where the kind needs none (Keliweb) */
		char *secret;	  /* never printed or logged */
		/* An OAuth client's secret (Keliweb's login); NULL: none. Never printed or
		 * logged */
		char *client_secret;
		gboolean department_auto;
		int department; /* used when !department_auto */
		int default_department;
		char *priority;
		char *ca_file;
		int connect_timeout; /* seconds */
		int timeout;	     /* seconds, whole request */
		int concurrency;     /* desk calls in flight at once: import, a poll backlog */
		/* import and poll --once try a mail the desk failed on again, ever later, until
		 * the desk has failed for this many seconds in a row; 0: stop at once */
		int give_up_after;
		/* A desk that takes tickets by mailbox (DESK_CAN_MAILBOX): the address sent as `to`
		 * unless a route says; else NULL */
		char *mailbox;
		enum cc_mode cc;
		gboolean markdown;
		gboolean noemail;
		gboolean priority_from_headers; /* X-Priority, Importance, Priority raise it */
		/* The kind's own keys (its desk_backend.keys) the file sets: name -> value, both
		 * strings owned by the table; defaults are the backend's. NULL: none set. */
		GHashTable *backend_keys;
	} desk;
	GPtrArray *departments; /* of struct department_route, in file order */
	GPtrArray *rules;	/* of struct rule, in file order */
	GPtrArray *mailboxes;	/* of struct mailbox_config, in file order */
	GPtrArray *warnings;	/* of char *: what loaded but should be changed */
	struct {
		/* The name of a journal in state/journal.c's table: "sqlite" or "postgresql". */
		char *kind;
		char *path; /* sqlite: the journal's file; NULL for postgresql */
		/* postgresql: a libpq conninfo or postgresql:// URI, with no password */
		char *url;
		char *password_file; /* postgresql: read by the journal when it opens, or NULL */
		char *quarantine;    /* this host's own Maildir, whatever the journal */
		int busy_timeout_ms;
		/* How long a poll instance's hold on a mailbox lasts unless renewed: another
		 * instance takes over the mailbox of one that died within this time. */
		int lease_seconds;
	} state;
	struct {
		char *spool; /* NULL: pipe delivers at once */
	} pipe;
	struct {
		char **own_addresses; /* lower case; mail from these is never a ticket */
		char **banned;	      /* lower-case addresses, or "@domain" */
		int rate_limit;	      /* tickets per sender per window; 0: no limit */
		int rate_window;      /* minutes */
	} loop;
	struct {
		GPtrArray *ticket_patterns; /* of GRegex *, group 1 the ticket number */
		gboolean stranger_opens;    /* a stranger's reply opens a ticket (else dropped) */
		gboolean closed_reopens;    /* a reply to a closed ticket goes to it (else new) */
		char **agents; /* lower-case addresses or "@domain" whose forwards are on behalf of
				* the original sender */
		gboolean per_department; /* one ticket in each department the mail was sent to */
	} threading;
	struct {
		char **authserv_ids; /* lower case: the receiving servers whose verdicts count; NULL
				      * when none is set (then nothing proves a sender) */
		gboolean replies_aligned;   /* a reply into a ticket needs a proven From */
		gboolean agents_by_route;   /* an agent's forward counts by its recipient */
		char **agent_recipients;    /* lower case: addresses only agents send to */
	} auth;
	struct {
		gsize max_attachment_bytes; /* 0: no limit */
		gsize max_total_bytes;	    /* 0: no limit */
		char **reply_markers;	    /* NULL-terminated, never NULL */
		int parse_timeout;	    /* seconds per mail (mailboxes: their own) */
	} parser;
};

/* The shortest [state] lease_seconds: renewed every third of it, a lease shorter than that would
 * leave no room for a busy journal. */
#define LEASE_SECONDS_MIN 3

/* Seconds the parser may take on one mail unless [parser] parse_timeout says otherwise. */
#define PARSE_TIMEOUT_DEFAULT 60

/* Load and check path. On error returns NULL and sets CONFIG_ERROR with a message that names the
 * file, line, section and key. Free with config_free(). */
struct config *config_load(const char *path, GError **error);
void config_free(struct config *config);

/* The [departments] entry a recipient address maps to (borrowed), or NULL. */
const struct department_route *config_department_for_address(const struct config *config,
							      const char *address);

#endif
