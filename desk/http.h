/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP for desk backends, with libcurl: one handle per client so connections are reused. */
#ifndef M2T_DESK_HTTP_H
#define M2T_DESK_HTTP_H

#include <glib.h>
#include <jansson.h>

#include "config/config.h"

struct http_settings {
	const char *ca_file; /* NULL: the system's trust store */
	int connect_timeout; /* seconds */
	int timeout;	     /* seconds, whole request */
	/* HTTP Basic authentication, with the url's user, for a proxy in front of the desk ([desk]
	 * url's password); never shown. NULL: none */
	const char *password;
};

struct http_client;

/* Newly allocated; free with http_client_free(). NULL with DESK_ERROR set on failure. */
struct http_client *http_client_new(const struct http_settings *settings, GError **error);
void http_client_free(struct http_client *client);
/* A client with the [desk] section's CA file and timeouts. */
struct http_client *http_client_for_desk(const struct config *config, GError **error);

/* Load the HTTP module now rather than at a client's first request (see desk_load_early()); a
 * module that cannot be loaded is reported by that request. */
void http_load_early(void);

/* Form fields in order. A secret field is never shown (dry run, logs); a field with a display
 * value shows that instead of its (long) value. */
struct http_form;
struct http_form *http_form_new(void);
void http_form_free(struct http_form *form);
void http_form_add(struct http_form *form, const char *name, const char *value);
void http_form_add_int(struct http_form *form, const char *name, long long value);
void http_form_add_secret(struct http_form *form, const char *name, const char *value);
void http_form_add_shown_as(struct http_form *form, const char *name, const char *value,
			    json_t *display);
/* The form as a JSON object for a dry run, secrets redacted. New reference. */
json_t *http_form_to_json(const struct http_form *form);

/* What a request does at the desk. A write is never sent twice by the transport (see perform()
 * in http.c); a look-up may be. */
enum http_call { HTTP_LOOKUP, HTTP_WRITE };

struct http_response {
	long status;
	GString *body;
};
void http_response_clear(struct http_response *resp);

/* POST form as application/x-www-form-urlencoded, streamed (no field has a size limit). FALSE
 * with DESK_ERROR_TEMPORARY when no HTTP answer came (connection, TLS, timeout); any answer,
 * whatever its status, is TRUE. */
gboolean http_post_form(struct http_client *client, const char *url, const struct http_form *form,
			enum http_call call, struct http_response *out, GError **error);

/* A request with HTTP Basic authentication (user and password never shown anywhere): GET when
 * body is NULL, else POST of len bytes of body (not copied) as content_type. Results as for
 * http_post_form(). */
gboolean http_request_basic(struct http_client *client, const char *url, const char *content_type,
			    const void *body, gsize len, const char *user, const char *password,
			    enum http_call call, struct http_response *out, GError **error);

/* POST form as multipart/form-data with "Authorization: Bearer token" (never shown anywhere;
 * NULL: no such header) and headers ("Name: value" lines ended by NULL; NULL: none). Results as
 * for http_post_form(). */
gboolean http_post_multipart(struct http_client *client, const char *url,
			     const struct http_form *form, const char *bearer_token,
			     const char *const *headers, enum http_call call,
			     struct http_response *out, GError **error);

#endif
