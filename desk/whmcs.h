/* WHMCS through its API (includes/api.php): OpenTicket, AddTicketReply, GetTicket, GetTickets,
 * GetSupportDepartments. */
#ifndef M2T_DESK_WHMCS_H
#define M2T_DESK_WHMCS_H

#include "desk/desk.h"

struct desk *whmcs_desk_new(const struct config *config, FILE *dry_run, GError **error);

/* A REST front for WHMCS (such as Keliweb's API v2): the same actions, parameters and answers,
 * but each action posted to its own endpoint under the config's url, as multipart/form-data,
 * with the config's secret as a bearer token. */
struct whmcs_rest {
	const char *kind; /* the config's kind, shown in dry-run lines */
	const char *name; /* the desk's name in messages */
	/* Pairs of WHMCS action and endpoint ("GetTicket", "get-ticket", ...), NULL-terminated;
	 * every action the backend calls must be there. */
	const char *const *endpoints;
};
struct desk *whmcs_rest_desk_new(const struct config *config, FILE *dry_run,
				 const struct whmcs_rest *rest, GError **error);

#endif
