/* WHMCS through its API (includes/api.php): OpenTicket, AddTicketReply, GetTicket, GetTickets,
 * GetSupportDepartments. */
#ifndef M2T_DESK_WHMCS_H
#define M2T_DESK_WHMCS_H

#include "desk/desk.h"

struct desk *whmcs_desk_new(const struct config *config, FILE *dry_run, GError **error);

/* The text sent as a ticket's message: the mail's text, with the cc addresses in a short block on
 * top when cc_mode is CC_MODE_TEXT. Newly allocated. */
char *whmcs_compose_message(const struct desk_ticket_request *req, enum cc_mode cc_mode);

#endif
