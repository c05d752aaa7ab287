/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WHMCS through its API (includes/api.php): OpenTicket, AddTicketReply, GetTicket, GetTickets,
 * GetSupportDepartments. The backend is whmcs_backend in the desk table; REST fronts for WHMCS
 * build on it. */
#ifndef M2T_DESK_WHMCS_H
#define M2T_DESK_WHMCS_H

#include "desk/desk_backend.h"
#include "desk/oauth.h"

extern const struct desk_backend whmcs_backend;

/* How a REST front is reached besides its endpoints. */
struct whmcs_rest {
	/* Sent with every call ("Name: value", ended by NULL; static); NULL: none */
	const char *const *headers;
	/* Where the bearer token comes from, taken over by the desk; NULL: the config's secret
	 * is the token */
	struct oauth_login *login;
};

/* A REST front for WHMCS (such as Keliweb's API v2): the same actions, parameters and answers,
 * but each action posted to its own endpoint under the config's url, as multipart/form-data,
 * with a bearer token as rest says. backend (borrowed, static) names it in dry-run lines and
 * messages, and its keys that name a call give the endpoints: the call is the WHMCS action, and
 * every action the desk is asked for must be there. rest->login is the desk's, also on
 * failure. */
struct desk *whmcs_rest_desk_new(const struct config *config, FILE *dry_run,
				 const struct desk_backend *backend, struct whmcs_rest *rest,
				 GError **error);

#endif
