/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keliweb's API v2: a REST front for a WHMCS installation (bearer token, multipart/form-data, one
 * endpoint per action under https://apiv2.keliweb.it/api/v2/keliweb). Its answers carry WHMCS's
 * field names, so the WHMCS backend reads them; only the way there differs. The token comes from
 * an OAuth password grant (apiv2.keliweb.it/docs/auth/v2/access-token) and lasts an hour. */
#include "desk/whmcs.h"

#define ENV_CLIENT_SECRET "MAIL2TICKET_CLIENT_SECRET"

/* Keliweb's API v2 documents only get-ticket; the other endpoints are inferred siblings, so each
 * is a key: the key, the WHMCS action it stands for, the default endpoint. */
static const struct desk_key keliweb_keys[] = {
    {"open_ticket_endpoint", "OpenTicket", "open-ticket"},
    {"add_reply_endpoint", "AddTicketReply", "add-ticket-reply"},
    {"get_ticket_endpoint", "GetTicket", "get-ticket"},
    {"get_tickets_endpoint", "GetTickets", "get-tickets"},
    {"departments_endpoint", "GetSupportDepartments", "get-support-departments"},
    {"contacts_endpoint", "GetContacts", "get-contacts"},
    /* The login: the API key, the account's e-mail address, the client secret's file, and
     * where tokens come from (default: /oauth/token on url's host). */
    {"client_id", NULL, NULL},
    {"username", NULL, NULL},
    {"client_secret_file", NULL, NULL},
    {"token_url", NULL, NULL},
    {NULL, NULL, NULL},
};

/* Both of the vendor's examples send X-Requested-With, and with it and Accept, Laravel answers a
 * refused token with a 401 and JSON rather than a redirect to a login page. */
static const char *const keliweb_headers[] = {
    "X-Requested-With: XMLHttpRequest",
    "Accept: application/json",
    NULL,
};

/* With client_id, mail2ticket logs in: the account's password is the secret, the client secret
 * comes from client_secret_file or the environment. Without, the secret is a bearer token, as
 * before there was a login, and it stops working within the hour. */
static gboolean keliweb_check_login(struct loader *ld)
{
	struct config *c = ld->config;
	const char *env = g_getenv(ENV_CLIENT_SECRET);
	const char *token_url = desk_backend_key_value(c, "token_url");

	if (!desk_backend_key_value(c, "client_id")) {
		static const char *const needing_client_id[] = {"username", "client_secret_file",
								"token_url", NULL};
		for (gsize i = 0; needing_client_id[i]; i++)
			if (desk_backend_key_value(c, needing_client_id[i]))
				return loader_fail(ld, "desk", needing_client_id[i],
						   "is for Keliweb's login, which needs client_id");
		g_ptr_array_add(
		    c->warnings,
		    g_strdup("[desk] Keliweb without client_id: the secret is sent as "
			     "a fixed bearer token, and Keliweb's tokens last an hour; "
			     "set client_id, username and client_secret_file to log in"));
		return TRUE;
	}
	if (!desk_backend_key_value(c, "username"))
		return loader_fail(ld, "desk", "username",
				   "missing: Keliweb's login (client_id) needs the account's "
				   "e-mail address");
	if (!loader_read_secret_file(ld, "desk", "client_secret_file", &c->desk.client_secret))
		return FALSE;
	if (env && *env) {
		g_free(c->desk.client_secret);
		c->desk.client_secret = g_strdup(env);
	}
	if (!c->desk.client_secret)
		return loader_fail(ld, "desk", "client_secret_file",
				   "missing: Keliweb's login (client_id) needs the client secret: "
				   "set client_secret_file here, or " ENV_CLIENT_SECRET
				   " in the environment");
	return !token_url ||
	       loader_check_secret_url(ld, "desk", "token_url", token_url, "allow_plain_http");
}

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
	return keliweb_check_login(ld);
}

extern const struct desk_backend keliweb_backend;

/* token_url, or /oauth/token on the host of url, where Keliweb's page has it. Newly allocated. */
static char *keliweb_token_url(const struct config *config)
{
	const char *set = desk_backend_key_value(config, "token_url");
	GUri *uri;
	char *url;

	if (set)
		return g_strdup(set);
	uri = g_uri_parse(config->desk.url, G_URI_FLAGS_NONE, NULL);
	if (!uri)
		return g_strdup(config->desk.url); /* the load checked it; a request will say */
	url = g_uri_join(G_URI_FLAGS_NONE, g_uri_get_scheme(uri), NULL, g_uri_get_host(uri),
			 g_uri_get_port(uri), "/oauth/token", NULL, NULL);
	g_uri_unref(uri);
	return url;
}

static struct desk *keliweb_desk_new(const struct config *config, FILE *dry_run, GError **error)
{
	struct whmcs_rest rest = {.headers = keliweb_headers};
	char *token_url;

	if (desk_backend_key_value(config, "client_id")) {
		token_url = keliweb_token_url(config);
		rest.login = oauth_login_new(&(struct oauth_settings){
		    .title = keliweb_backend.title,
		    .token_url = token_url,
		    .client_id = desk_backend_key_value(config, "client_id"),
		    .client_secret = config->desk.client_secret,
		    .username = desk_backend_key_value(config, "username"),
		    .password = config->desk.secret,
		    .headers = keliweb_headers,
		});
		g_free(token_url);
	}
	return whmcs_rest_desk_new(config, dry_run, &keliweb_backend, &rest, error);
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
