/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keliweb's API v2: a REST front for a WHMCS installation (bearer token, multipart/form-data, one
 * endpoint per action under https://apiv2.keliweb.it/api/v2/keliweb). Its answers carry WHMCS's
 * field names, so the WHMCS backend reads them; only the way there differs. */
#include "desk/whmcs.h"

/* Keliweb's API v2 documents only get-ticket; the other endpoints are inferred siblings, so each
 * is a key: the key, the WHMCS action it stands for, the default endpoint. */
static const struct desk_key keliweb_keys[] = {
    {"open_ticket_endpoint", "OpenTicket", "open-ticket"},
    {"add_reply_endpoint", "AddTicketReply", "add-ticket-reply"},
    {"get_ticket_endpoint", "GetTicket", "get-ticket"},
    {"get_tickets_endpoint", "GetTickets", "get-tickets"},
    {"departments_endpoint", "GetSupportDepartments", "get-support-departments"},
    {"contacts_endpoint", "GetContacts", "get-contacts"},
    {NULL, NULL, NULL},
};

/* Keliweb's pages document neither a cc list nor noemail: the copies then head the text as with
 * cc = text, and noemail is not sent. */
static gboolean keliweb_check_config(struct loader *ld)
{
	struct config *c = ld->config;

	/* The one Authorization header of a request is the token's: a proxy's would never go. */
	if (c->desk.url_password)
		return loader_fail(ld, "desk", "url",
				   "holds a password, which Keliweb's requests cannot carry (they "
				   "carry the token as Authorization: Bearer): leave it out, and "
				   "put the token in secret_file");
	if (c->desk.cc == CC_MODE_PARAM) {
		c->desk.cc = CC_MODE_TEXT;
		g_ptr_array_add(c->warnings, g_strdup("[desk] cc = param: Keliweb's open-ticket "
						      "takes no cc; the addresses head the text"));
	}
	if (c->desk.noemail)
		g_ptr_array_add(c->warnings, g_strdup("[desk] noemail: Keliweb's open-ticket "
						      "takes no noemail; not sent"));
	return TRUE;
}

extern const struct desk_backend keliweb_backend;

static struct desk *keliweb_desk_new(const struct config *config, FILE *dry_run, GError **error)
{
	return whmcs_rest_desk_new(config, dry_run, &keliweb_backend, error);
}

/* Its open-ticket and add-ticket-reply take only the fields its pages document: no clientid,
 * serviceid, priority, cc, date or noemail. */
const struct desk_backend keliweb_backend = {
    .name = "keliweb",
    .title = "Keliweb",
    .keys = keliweb_keys,
    .check_config = keliweb_check_config,
    .desk_new = keliweb_desk_new,
    .capabilities = DESK_CAN_ATTACH | DESK_CAN_ATTACH_REPLY,
};
