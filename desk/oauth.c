/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OAuth 2.0 password grant of a desk API (oauth.h): the token request, its answer, and when
 * to ask again. */
#include "desk/oauth.h"

#include <jansson.h>
#include <string.h>

#include "desk/desk.h"
#include "desk/desk_answer.h"

/* A lifetime past this is taken for this: a year is far past any token a desk gives. */
#define LIFETIME_MAX_S (365 * 24 * 3600)
/* RFC 6749 section 5.1 makes expires_in optional; Keliweb's page says an hour. */
#define LIFETIME_DEFAULT_S 3600
/* How much of a token's life is left unused: a tenth, at most this. A call begun just before the
 * end would be refused on arrival, and a refused write waits for the journal's next attempt. */
#define RENEW_MARGIN_MAX_S 60
/* Of a refusal's text, as much as a log line shows. */
#define REASON_MAX_CHARS 200

struct oauth_login {
	char *title;
	char *token_url;
	char *client_id;
	char *client_secret;
	char *username;
	char *password;
	const char *const *headers;
	char *token;       /* NULL: none yet, or dropped */
	gint64 renew_at;   /* monotonic time, µs: log in again from here on */
	gint64 lifetime_s; /* of the token held */
};

static void clear_string(char **s)
{
	if (*s) {
		memset(*s, 0, strlen(*s));
		g_free(*s);
		*s = NULL;
	}
}

struct oauth_login *oauth_login_new(const struct oauth_settings *s)
{
	struct oauth_login *login = g_new0(struct oauth_login, 1);

	login->title = g_strdup(s->title);
	login->token_url = g_strdup(s->token_url);
	login->client_id = g_strdup(s->client_id);
	login->client_secret = g_strdup(s->client_secret);
	login->username = g_strdup(s->username);
	login->password = g_strdup(s->password);
	login->headers = s->headers;
	return login;
}

void oauth_login_free(struct oauth_login *login)
{
	if (!login)
		return;
	g_free(login->title);
	g_free(login->token_url);
	g_free(login->client_id);
	clear_string(&login->client_secret);
	g_free(login->username);
	clear_string(&login->password);
	clear_string(&login->token);
	g_free(login);
}

void oauth_login_drop(struct oauth_login *login)
{
	clear_string(&login->token);
}

/* expires_in as a number of seconds; Laravel Passport writes a number, some servers a string. */
static gboolean lifetime_of(const json_t *answer, gint64 *out)
{
	const json_t *v = json_object_get(answer, "expires_in");
	double seconds;
	char *end;

	if (!v) {
		*out = LIFETIME_DEFAULT_S;
		return TRUE;
	}
	if (json_is_number(v)) {
		seconds = json_number_value(v);
	} else if (json_is_string(v)) {
		seconds = g_ascii_strtod(json_string_value(v), &end);
		if (end == json_string_value(v) || *end)
			return FALSE;
	} else {
		return FALSE;
	}
	if (!(seconds >= 1))
		return FALSE;
	*out = (gint64)MIN(seconds, (double)LIFETIME_MAX_S);
	return TRUE;
}

void oauth_login_secrets(const struct oauth_login *login, const char *out[2])
{
	out[0] = login->client_secret;
	out[1] = login->token;
}

/* Why the token endpoint said no, from its OAuth error ("invalid_grant") and Laravel's message
 * or the RFC's error_description, without the secrets the request carried (a front may echo
 * it). Newly allocated. */
static char *refusal_reason(const struct oauth_login *login, const json_t *answer, long status)
{
	const char *secrets[] = {login->client_secret, login->password};
	const char *code = json_string_value(json_object_get(answer, "error"));
	const char *text = json_string_value(json_object_get(answer, "message"));
	char *reason;
	char *valid;

	if (!text)
		text = json_string_value(json_object_get(answer, "error_description"));
	if (code && text)
		reason = g_strdup_printf("%s: %s", code, text);
	else if (code || text)
		reason = g_strdup(code ? code : text);
	else
		reason = g_strdup_printf("HTTP %ld", status);
	valid = g_utf8_make_valid(reason, -1);
	g_free(reason);
	if (g_utf8_strlen(valid, -1) > REASON_MAX_CHARS)
		*g_utf8_offset_to_pointer(valid, REASON_MAX_CHARS) = '\0';
	reason = desk_quote(valid, strlen(valid), G_MAXSIZE, secrets, G_N_ELEMENTS(secrets));
	g_free(valid);
	return reason;
}

/* The token of a successful answer into login; FALSE with DESK_ERROR_TEMPORARY when the answer
 * is not one. asked_at: when the request left, which the token's life counts from. */
static gboolean take_token(struct oauth_login *login, json_t *answer, gint64 asked_at,
			   GError **error)
{
	json_t *token = json_object_get(answer, "access_token");
	const char *type = json_string_value(json_object_get(answer, "token_type"));
	gint64 lifetime;
	gint64 margin;

	if (!json_is_string(token) || json_string_length(token) == 0) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s login at %s: the answer has no access_token", login->title,
			    login->token_url);
		return FALSE;
	}
	if (type && g_ascii_strcasecmp(type, "Bearer") != 0) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s login at %s: a token of type '%.40s', not Bearer", login->title,
			    login->token_url, type);
		return FALSE;
	}
	if (!lifetime_of(answer, &lifetime)) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s login at %s: expires_in is not a number of seconds", login->title,
			    login->token_url);
		return FALSE;
	}
	clear_string(&login->token);
	login->token = g_strdup(json_string_value(token));
	login->lifetime_s = lifetime;
	margin = MIN(lifetime * G_USEC_PER_SEC / 10, (gint64)RENEW_MARGIN_MAX_S * G_USEC_PER_SEC);
	login->renew_at = asked_at + lifetime * G_USEC_PER_SEC - margin;
	return TRUE;
}

/* The answer of the token endpoint: a token in login, or the error it means. */
static gboolean read_answer(struct oauth_login *login, const struct http_response *resp,
			    gint64 asked_at, GError **error)
{
	json_t *answer = json_loadb(resp->body->str, resp->body->len, 0, NULL);
	json_t *token = json_object_get(answer, "access_token");
	gboolean ok = FALSE;
	char *reason;

	if (resp->status == 400 || resp->status == 401 || resp->status == 403) {
		reason = refusal_reason(login, answer, resp->status);
		g_set_error(error, DESK_ERROR, DESK_ERROR_AUTH,
			    "%s refused the API credentials at login (%s): check client_id, "
			    "username, the client secret and the password (secret)",
			    login->title, reason);
		g_free(reason);
	} else if (resp->status < 200 || resp->status >= 300) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY, "%s login at %s: HTTP %ld",
			    login->title, login->token_url, resp->status);
	} else if (!json_is_object(answer)) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s login at %s: the answer is not a JSON object", login->title,
			    login->token_url);
	} else {
		ok = take_token(login, answer, asked_at, error);
	}
	/* jansson's copy of the token is cleared as ours is; the answer also held the refresh
	 * token, which is not used (oauth_login_token()). */
	if (json_is_string(token))
		memset((char *)json_string_value(token), 0, json_string_length(token));
	token = json_object_get(answer, "refresh_token");
	if (json_is_string(token))
		memset((char *)json_string_value(token), 0, json_string_length(token));
	json_decref(answer);
	return ok;
}

/* A request to the token endpoint, multipart as the vendor's FormData example sends it (Laravel
 * Passport takes it as it takes a urlencoded form). */
static gboolean log_in(struct oauth_login *login, struct http_client *http, GError **error)
{
	struct http_form *form = http_form_new();
	struct http_response resp;
	gint64 asked_at = g_get_monotonic_time();
	gboolean ok;

	http_form_add(form, "grant_type", "password");
	http_form_add(form, "client_id", login->client_id);
	http_form_add_secret(form, "client_secret", login->client_secret);
	http_form_add(form, "username", login->username);
	http_form_add_secret(form, "password", login->password);
	ok = http_post_multipart(http, login->token_url, form, NULL, login->headers, HTTP_LOOKUP,
				 &resp, error);
	http_form_free(form);
	if (!ok) {
		g_prefix_error(error, "%s login: ", login->title);
		return FALSE;
	}
	ok = read_answer(login, &resp, asked_at, error);
	memset(resp.body->str, 0, resp.body->len);
	http_response_clear(&resp);
	return ok;
}

/* A token is used until a margin before its end, then a new one is got by logging in again with
 * the password, not with the refresh token: that is one request either way, needs only what the
 * config already holds, and still works after the refresh token's ten days (a mailbox quiet for
 * a fortnight), so the refresh token is neither kept nor sent. */
const char *oauth_login_token(struct oauth_login *login, struct http_client *http, GError **error)
{
	if (login->token && g_get_monotonic_time() < login->renew_at)
		return login->token;
	clear_string(&login->token);
	return log_in(login, http, error) ? login->token : NULL;
}

char *oauth_login_check(struct oauth_login *login, struct http_client *http, GError **error)
{
	oauth_login_drop(login);
	if (!oauth_login_token(login, http, error))
		return NULL;
	return g_strdup_printf("logged in at %s as %s (the token lasts %" G_GINT64_FORMAT " s)",
			       login->token_url, login->username, login->lifetime_s);
}
