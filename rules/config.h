/* The configuration file, read once into plain structs (nothing else reads the file). */
#ifndef M2T_RULES_CONFIG_H
#define M2T_RULES_CONFIG_H

#include <glib.h>

#define CONFIG_ERROR (config_error_quark())
GQuark config_error_quark(void);
enum config_error_code { CONFIG_ERROR_INVALID };

/* How cc addresses reach the desk: a short block at the top of the ticket text, the API's cc
 * parameter (newer WHMCS), or not at all. */
enum cc_mode { CC_MODE_TEXT, CC_MODE_PARAM, CC_MODE_NONE };

struct department_route {
	char *address; /* lower case; "@domain" matches a whole domain */
	int deptid;
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
	int id;
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
	GArray *fields; /* of struct rule_field_value: customfield.ID = value */
	int markdown;	/* -1, 0 or 1 */
	char *drop;	/* a reason: the mail is dropped */
	gboolean reply_only;
};

struct config {
	char *path;
	struct {
		char *kind;
		char *url;
		char *identifier;
		char *secret; /* never printed or logged */
		char *accesskey;
		gboolean department_auto;
		int department; /* used when !department_auto */
		int default_department;
		char *priority;
		char *ca_file;
		int connect_timeout; /* seconds */
		int timeout;	     /* seconds, whole request */
		enum cc_mode cc;
		gboolean markdown;
		gboolean noemail;
		gboolean priority_from_headers; /* X-Priority, Importance, Priority raise it */
	} desk;
	GPtrArray *departments; /* of struct department_route, in file order */
	GPtrArray *rules;	/* of struct rule, in file order */
	struct {
		char *path;
		char *quarantine;
		int busy_timeout_ms;
	} state;
	struct {
		char **own_addresses; /* lower case; mail from these is never a ticket */
		char **banned;	      /* lower-case addresses, or "@domain" */
		int rate_limit;	      /* tickets per sender per window; 0: no limit */
		int rate_window;      /* minutes */
	} loop;
	struct {
		GPtrArray *ticket_patterns; /* of GRegex *, group 1 the ticket number */
		gboolean stranger_opens;    /* a stranger's reply opens a ticket (else dropped) */
		gboolean closed_reopens;    /* a reply to a closed ticket goes to it (else a new one) */
		char **agents; /* lower-case addresses or "@domain" whose forwards are on behalf of
				* the original sender */
		gboolean per_department; /* one ticket in each department the mail was sent to */
	} threading;
	struct {
		gsize max_attachment_bytes; /* 0: no limit */
		gsize max_total_bytes;	    /* 0: no limit */
		char **reply_markers;	    /* NULL-terminated, never NULL */
	} parser;
};

/* Load and check path. On error returns NULL and sets CONFIG_ERROR with a message that names the
 * file, line, section and key. Free with config_free(). */
struct config *config_load(const char *path, GError **error);
void config_free(struct config *config);

/* The department a recipient address maps to in [departments], or 0. */
int config_department_for_address(const struct config *config, const char *address);

#endif
