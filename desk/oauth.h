/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A desk API's login by OAuth 2.0's password grant (RFC 6749 section 4.3), as Keliweb's API v2
 * has it: a bearer token got on first need and got again before it runs out. The token lives
 * in memory only, and is cleared when dropped. */
#ifndef M2T_DESK_OAUTH_H
#define M2T_DESK_OAUTH_H

#include <glib.h>

#include "desk/http.h"

struct oauth_settings {
	const char *title;         /* the desk, in messages: "Keliweb" */
	const char *token_url;     /* POST here */
	const char *client_id;     /* the API key */
	const char *client_secret; /* never shown */
	const char *username;
	const char *password; /* never shown */
	/* More headers for the token request ("Name: value", ended by NULL; static); NULL: none */
	const char *const *headers;
};

struct oauth_login;

/* Newly allocated, settings copied; no request is made yet. */
struct oauth_login *oauth_login_new(const struct oauth_settings *settings);
void oauth_login_free(struct oauth_login *login);

/* The bearer token, logging in through http first when there is none or it is about to run out.
 * Borrowed until the next call on login. NULL with DESK_ERROR_AUTH when the login is refused
 * (the message names the desk's reason), DESK_ERROR_TEMPORARY when it could not be made. */
const char *oauth_login_token(struct oauth_login *login, struct http_client *http, GError **error);
/* The secrets login holds now, borrowed (NULL for none): the client secret and the token, for
 * desk_quote() of a desk's answer that may echo a request. */
void oauth_login_secrets(const struct oauth_login *login, const char *out[2]);
/* The desk refused the token (HTTP 401): forget it, so that the next call logs in again. */
void oauth_login_drop(struct oauth_login *login);
/* Log in now, whatever token is held, and say so for `check`: "logged in at URL as USER (the
 * token lasts N s)". Newly allocated; NULL with the errors of oauth_login_token(). */
char *oauth_login_check(struct oauth_login *login, struct http_client *http, GError **error);

#endif
