/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Between desk/http.c and the module that holds libcurl (desk/http_curl.c, built as
 * mail2ticket-http.so): the form's insides, which both read, and the table of calls the module
 * serves. Included by no other file. */
#ifndef M2T_DESK_HTTP_MODULE_H
#define M2T_DESK_HTTP_MODULE_H

#include "desk/http.h"

struct form_field {
	char *name;
	char *value;
	gsize value_len; /* kept: a strlen() per piece sent made a 60 MB body quadratic */
	gboolean secret;
	json_t *display;
};

struct http_form {
	GPtrArray *fields;
};

/* One libcurl handle, so connections are reused. */
struct curl_client;

/* The calls of http.h that need libcurl, with the same contracts. */
struct http_module {
	/* Newly allocated; free with client_free. NULL with DESK_ERROR set on failure. */
	struct curl_client *(*client_new)(const struct http_settings *settings, GError **error);
	void (*client_free)(struct curl_client *client);
	gboolean (*post_form)(struct curl_client *client, const char *url,
			      const struct http_form *form, enum http_call call,
			      struct http_response *out, GError **error);
	gboolean (*request_basic)(struct curl_client *client, const char *url,
				  const char *content_type, const void *body, gsize len,
				  const char *user, const char *password, enum http_call call,
				  struct http_response *out, GError **error);
	gboolean (*post_multipart)(struct curl_client *client, const char *url,
				   const struct http_form *form, const char *bearer_token,
				   const char *const *headers, enum http_call call,
				   struct http_response *out, GError **error);
};

/* The module's table (modules/module.h: M2T_MODULE_HTTP). */
extern const struct http_module http_curl_module;

#endif
