/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP for the desk backends (http.h): the forms, here, and the requests, in the module that
 * holds libcurl (http_curl.c), mapped at a client's first request, so a run that calls no desk
 * (a dry run of a new mail) never maps libcurl and the 24 libraries it brings. */
#include "desk/http.h"

#include <string.h>

#include "desk/desk.h"
#include "desk/http_module.h"
#include "modules/module.h"

struct http_client {
	struct http_settings settings; /* ca_file and password owned */
	const struct http_module *module;
	struct curl_client *curl; /* NULL until the first request */
};

static void form_field_free(struct form_field *f)
{
	g_free(f->name);
	if (f->value) {
		if (f->secret)
			memset(f->value, 0, f->value_len);
		g_free(f->value);
	}
	json_decref(f->display);
	g_free(f);
}

struct http_form *http_form_new(void)
{
	struct http_form *form = g_new0(struct http_form, 1);

	form->fields = g_ptr_array_new_with_free_func((GDestroyNotify)form_field_free);
	return form;
}

void http_form_free(struct http_form *form)
{
	if (!form)
		return;
	g_ptr_array_unref(form->fields);
	g_free(form);
}

static void form_add(struct http_form *form, const char *name, const char *value,
		     gboolean secret, json_t *display)
{
	struct form_field *f = g_new0(struct form_field, 1);

	f->name = g_strdup(name);
	f->value = g_strdup(value);
	f->value_len = value ? strlen(value) : 0;
	f->secret = secret;
	f->display = display;
	g_ptr_array_add(form->fields, f);
}

void http_form_add(struct http_form *form, const char *name, const char *value)
{
	form_add(form, name, value, FALSE, NULL);
}

void http_form_add_int(struct http_form *form, const char *name, long long value)
{
	char buf[32];

	g_snprintf(buf, sizeof(buf), "%lld", value);
	form_add(form, name, buf, FALSE, NULL);
}

void http_form_add_secret(struct http_form *form, const char *name, const char *value)
{
	form_add(form, name, value, TRUE, NULL);
}

void http_form_add_shown_as(struct http_form *form, const char *name, const char *value,
			    json_t *display)
{
	form_add(form, name, value, FALSE, display);
}

json_t *http_form_to_json(const struct http_form *form)
{
	json_t *obj = json_object();

	for (guint i = 0; i < form->fields->len; i++) {
		const struct form_field *f = g_ptr_array_index(form->fields, i);
		json_t *v = NULL;
		/* GLib checks UTF-8 several times as fast as jansson, and a mail's text is long. */
		if (f->secret)
			v = json_string("REDACTED");
		else if (f->display)
			v = json_incref(f->display);
		else if (f->value && g_utf8_validate_len(f->value, f->value_len, NULL))
			v = json_stringn_nocheck(f->value, f->value_len);
		json_object_set_new(obj, f->name, v);
	}
	return obj;
}

void http_response_clear(struct http_response *resp)
{
	if (resp->body)
		g_string_free(resp->body, TRUE);
	*resp = (struct http_response){0};
}

struct http_client *http_client_new(const struct http_settings *settings, GError **error)
{
	struct http_client *client = g_new0(struct http_client, 1);

	(void)error;
	client->settings = *settings;
	client->settings.ca_file = g_strdup(settings->ca_file);
	client->settings.password = g_strdup(settings->password);
	return client;
}

struct http_client *http_client_for_desk(const struct config *config, GError **error)
{
	struct http_settings settings = {
	    .ca_file = config->desk.ca_file,
	    .connect_timeout = config->desk.connect_timeout,
	    .timeout = config->desk.timeout,
	    .password = config->desk.url_password,
	};

	return http_client_new(&settings, error);
}

void http_client_free(struct http_client *client)
{
	if (!client)
		return;
	if (client->curl)
		client->module->client_free(client->curl);
	g_free((char *)client->settings.ca_file);
	if (client->settings.password) {
		memset((char *)client->settings.password, 0, strlen(client->settings.password));
		g_free((char *)client->settings.password);
	}
	g_free(client);
}

void http_load_early(void)
{
	module_table(M2T_MODULE_HTTP, NULL);
}

/* The module loaded and the libcurl handle made, at the first request. A module that cannot be
 * loaded is a temporary desk error: the mail stays where it is until the install is mended. */
static gboolean client_ready(struct http_client *client, GError **error)
{
	GError *load_error = NULL;

	if (client->curl)
		return TRUE;
	client->module = module_table(M2T_MODULE_HTTP, &load_error);
	if (!client->module) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY, "%s", load_error->message);
		g_error_free(load_error);
		return FALSE;
	}
	client->curl = client->module->client_new(&client->settings, error);
	return client->curl != NULL;
}

gboolean http_post_form(struct http_client *client, const char *url, const struct http_form *form,
			enum http_call call, struct http_response *out, GError **error)
{
	return client_ready(client, error) &&
	       client->module->post_form(client->curl, url, form, call, out, error);
}

gboolean http_post_multipart(struct http_client *client, const char *url,
			     const struct http_form *form, const char *bearer_token,
			     const char *const *headers, enum http_call call,
			     struct http_response *out, GError **error)
{
	return client_ready(client, error) &&
	       client->module->post_multipart(client->curl, url, form, bearer_token, headers, call,
					      out, error);
}

gboolean http_request_basic(struct http_client *client, const char *url, const char *content_type,
			    const void *body, gsize len, const char *user, const char *password,
			    enum http_call call, struct http_response *out, GError **error)
{
	return client_ready(client, error) &&
	       client->module->request_basic(client->curl, url, content_type, body, len, user,
					     password, call, out, error);
}
