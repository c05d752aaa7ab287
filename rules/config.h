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
	} desk;
	GPtrArray *departments; /* of struct department_route, in file order */
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
