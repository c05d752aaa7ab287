/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One interface for every helpdesk: open a ticket, add a reply, read a ticket, find the ticket an
 * unanswered attempt may have opened, list departments. Backends fill in struct desk_ops; the
 * table of desk kinds (desk/desk_backend.h) makes them. */
#ifndef M2T_DESK_DESK_H
#define M2T_DESK_DESK_H

#include <glib.h>
#include <stdio.h>

#include "config/config.h"

#define DESK_ERROR (desk_error_quark())
GQuark desk_error_quark(void);
enum desk_error_code {
	DESK_ERROR_TEMPORARY, /* network, timeout, HTTP 5xx, unreadable answer: try again later */
	DESK_ERROR_AUTH,      /* credentials refused: the mail waits until an admin fixes them */
	DESK_ERROR_REFUSED,   /* the desk answered and said no to this request */
	DESK_ERROR_NOT_FOUND, /* no such ticket */
	DESK_ERROR_UNSUPPORTED, /* the server lacks an undocumented call (HTTP 404): do without */
	/* A write was sent and timed out: the desk may have done it, or may still be doing it
	 * (temporary, as TEMPORARY) */
	DESK_ERROR_TIMED_OUT,
};

/* Whether the mail should be left where it is and tried again later. */
gboolean desk_error_is_temporary(const GError *error);

struct desk_address {
	const char *name; /* may be NULL */
	const char *email;
};

struct desk_attachment {
	const char *name;
	const void *data; /* NULL in a dry run, which shows len alone */
	gsize len;
};

struct desk_field {
	int id;		  /* WHMCS and Keliweb number their custom fields */
	const char *name; /* Thulium names them */
	const char *value;
};

/* Everything borrowed: the request lives only for the call. */
struct desk_ticket_request {
	int deptid;	/* 0: the mailbox's own queue (Thulium) */
	const char *to; /* Thulium: the mailbox the ticket is sent to; NULL: [desk] mailbox */
	const char *subject;
	const char *message;
	const char *name;
	const char *email;
	int clientid; /* 0: a guest identified by name and email */
	int serviceid; /* 0: none */
	int category;  /* 0: none (DESK_CAN_CATEGORY) */
	int status;    /* 0: the desk's default (DESK_CAN_CATEGORY) */
	const char *const *tags; /* NULL: none (DESK_CAN_CATEGORY) */
	int customer_id;	 /* 0: none (DESK_CAN_CATEGORY) */
	int markdown;  /* -1: as the config says */
	const char *priority;
	const struct desk_address *cc;
	gsize n_cc;
	const struct desk_attachment *attachments;
	gsize n_attachments;
	const struct desk_field *fields;
	gsize n_fields;
	const char *created; /* ISO 8601, for imported mail; else NULL */
};

struct desk_reply_request {
	const char *ticket_id; /* the desk's internal id */
	const char *message;
	const char *name;
	const char *email;
	int clientid;
	const struct desk_attachment *attachments;
	gsize n_attachments;
	const char *created;
};

/* A ticket as the desk reports it. Owned strings; release with desk_ticket_clear(). */
struct desk_ticket {
	char *id;  /* internal id that write calls take */
	char *tid; /* public number shown to people */
	char *c;   /* client access hash, may be NULL */
	char *deptid;
	char *status;
	char *name;
	char *email;
	char *cc;
	char *userid;
	char *subject;
	GPtrArray *messages; /* of char *, oldest first; NULL when not fetched */
};
void desk_ticket_clear(struct desk_ticket *ticket);
/* A deep copy of from into out (cleared with desk_ticket_clear()). */
void desk_ticket_copy(const struct desk_ticket *from, struct desk_ticket *out);

/* The text sent as a ticket's message: the mail's text, with the cc addresses in a short block on
 * top when cc_mode is CC_MODE_TEXT. Newly allocated. */
char *desk_compose_message(const struct desk_ticket_request *req, enum cc_mode cc_mode);

/* Whether two message texts are the same in the form compare_text_form() gives them (entities
 * decoded, tags stripped as PHP's strip_tags() strips them, blanks collapsed): how a message sent
 * in an attempt whose answer was lost is recognized at the desk, which may give it back stripped
 * (WHMCS 7) or HTML-escaped (WHMCS 8). */
gboolean desk_same_text(const char *a, const char *b);
/* How many of ticket's messages have text, as desk_same_text() compares (0 when its messages
 * were not fetched). */
guint desk_ticket_count_text(const struct desk_ticket *ticket, const char *text);

struct desk_department {
	char *id;
	char *name;
};
void desk_department_free(struct desk_department *dept);

struct desk;

/* What a backend's API can carry beyond a ticket's text. Where it cannot, the flow says so in a
 * log line (and the backend names left-out files in the text) instead of failing. */
enum desk_capability {
	DESK_CAN_ATTACH = 1 << 0,   /* files with a new ticket */
	DESK_CAN_PRIORITY = 1 << 1, /* a ticket's priority */
	DESK_CAN_CC = 1 << 2,	    /* a ticket keeps its cc list (who else may reply) */
	DESK_CAN_CLIENTS = 1 << 3,  /* client accounts with contacts, client and service ids */
	DESK_CAN_CATEGORY = 1 << 4, /* a ticket's category, status, tags, customer (Thulium) */
	DESK_CAN_ATTACH_REPLY = 1 << 5, /* files with a reply */
	DESK_CAN_MAILBOX = 1 << 6, /* tickets are sent to one of its mailboxes ([desk] mailbox, a
				    * [departments] value naming one) and join its queue */
	DESK_CAN_FIELD_NAMES = 1 << 7, /* custom fields named (customfield.NAME), not numbered */
};

/* Tickets that match a mail by requester, subject and text and yet are other mails' (the journal
 * knows them): a customer who writes the same thing again, a monitor sending the same alert. A
 * look-up for what a lost attempt opened passes them over. */
struct desk_ticket_filter {
	/* *yes when the ticket with the internal id is another mail's; FALSE with error set when
	 * that cannot be told now. */
	gboolean (*names)(const struct desk_ticket_filter *filter, const char *id, gboolean *yes,
			  GError **error);
};

struct desk_ops {
	/* out's id and tid are NULL when the desk opened the ticket without saying them and
	 * has no call to find it by (Keliweb without get-tickets). */
	gboolean (*open_ticket)(struct desk *desk, const struct desk_ticket_request *req,
				struct desk_ticket *out, GError **error);
	gboolean (*add_reply)(struct desk *desk, const struct desk_reply_request *req,
			      GError **error);
	gboolean (*get_ticket)(struct desk *desk, const char *tid, struct desk_ticket *out,
			       GError **error);
	/* After an attempt that got no answer: the ticket that attempt may have opened, matched by
	 * requester, subject and text, the newest such the backend sees that others (NULL: none)
	 * does not name. *found is FALSE when there is none. */
	gboolean (*find_opened_ticket)(struct desk *desk, const struct desk_ticket_request *req,
				       const struct desk_ticket_filter *others,
				       struct desk_ticket *out, gboolean *found, GError **error);
	/* NULL where the API has no such call (Thulium): check_access then tries the
	 * credentials. */
	gboolean (*list_departments)(struct desk *desk, GPtrArray **out, GError **error);
	gboolean (*check_access)(struct desk *desk, GError **error);
	/* Whether email is a contact of the client with id userid. */
	gboolean (*is_client_contact)(struct desk *desk, const char *userid, const char *email,
				      gboolean *yes, GError **error);
	/* Where the API has a login (Keliweb's OAuth): log in now, and set *said to a line for
	 * `check` (newly allocated); *said stays NULL without one. NULL: no login. */
	gboolean (*log_in)(struct desk *desk, char **said, GError **error);
	void (*destroy)(struct desk *desk);
};

struct desk {
	const struct desk_ops *ops;
	unsigned capabilities; /* of enum desk_capability: its backend's, set by desk_new() */
};

/* The backend the config's kind names (desk/desk_backend.c). With dry_run set, calls that would
 * change the desk are written to dry_run as JSON lines (secrets redacted) instead of being sent;
 * look-ups still run. Free with desk_free(). */
struct desk *desk_new(const struct config *config, FILE *dry_run, GError **error);
void desk_free(struct desk *desk);

/* Load now what the desks' calls need (the HTTP module: libcurl, GnuTLS and some 30 libraries,
 * about 10 ms of the dynamic loader), for a thread that has time before its first call: the
 * first call loads it otherwise, and nothing else moves on the run while it does. A module that
 * cannot be loaded is reported by that call. */
void desk_load_early(void);

gboolean desk_can(const struct desk *desk, enum desk_capability capability);

gboolean desk_open_ticket(struct desk *desk, const struct desk_ticket_request *req,
			  struct desk_ticket *out, GError **error);
gboolean desk_add_reply(struct desk *desk, const struct desk_reply_request *req, GError **error);
gboolean desk_get_ticket(struct desk *desk, const char *tid, struct desk_ticket *out,
			 GError **error);
gboolean desk_find_opened_ticket(struct desk *desk, const struct desk_ticket_request *req,
				 const struct desk_ticket_filter *others, struct desk_ticket *out,
				 gboolean *found, GError **error);
/* Whether others names the ticket with the internal id (FALSE with error set when it cannot
 * tell now); *yes is FALSE without others. */
gboolean desk_ticket_filter_names(const struct desk_ticket_filter *others, const char *id,
				  gboolean *yes, GError **error);
gboolean desk_is_client_contact(struct desk *desk, const char *userid, const char *email,
				gboolean *yes, GError **error);
/* Log in where the desk has a login: *said is then what `check` says of it (newly allocated),
 * else NULL. */
gboolean desk_log_in(struct desk *desk, char **said, GError **error);
/* Fills *out with a new array of struct desk_department; *out is NULL when the API has no call
 * that lists them, and then only the credentials were tried. */
gboolean desk_list_departments(struct desk *desk, GPtrArray **out, GError **error);

#endif
