/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WHMCS backend (whmcs.h): OpenTicket, AddTicketReply, GetTicket, GetTickets, departments. */
#include "desk/whmcs.h"

#include <jansson.h>
#include <string.h>

#include "desk/desk_answer.h"
#include "desk/http.h"
#include "desk/json_text.h"
#include "desk/php_serialize.h"

/* How many tickets of one requester and subject to read back when looking for the one an
 * unanswered attempt opened; the newest come first. */
#define ADOPT_CANDIDATES 5

/* A flag's "yes" as PHP's http_build_query() writes true, WHMCS's own examples included: WHMCS
 * 7 reads markdown as (bool)(int), to which "true" is false, and Laravel's boolean rule
 * (Keliweb) refuses "true". */
#define FLAG_TRUE "1"

struct whmcs {
	struct desk base;
	struct http_client *http;
	const char *kind; /* the config's kind, in dry-run lines */
	const char *name; /* in messages: "WHMCS", "Keliweb" */
	/* A REST front: WHMCS action -> endpoint under url; NULL for WHMCS's own api.php. */
	GHashTable *endpoints;
	const char *const *headers; /* a REST front's own, on every call */
	struct oauth_login *login;  /* a REST front's login; NULL: the secret is the token */
	char *url;
	char *identifier;
	char *secret;
	char *accesskey;
	enum cc_mode cc_mode;
	gboolean markdown;
	gboolean noemail;
	FILE *dry_run;
};

static struct http_form *whmcs_form(const struct whmcs *w, const char *action)
{
	struct http_form *form = http_form_new();

	/* A REST front names the action by its endpoint and takes the token as a header. */
	if (w->endpoints)
		return form;
	http_form_add(form, "action", action);
	http_form_add(form, "responsetype", "json");
	http_form_add(form, "identifier", w->identifier);
	http_form_add_secret(form, "secret", w->secret);
	if (w->accesskey)
		http_form_add_secret(form, "accesskey", w->accesskey);
	return form;
}

/* WHMCS nests lists one level ("tickets": {"ticket": [...]}) and leaves them out when empty. */
static const json_t *nested_list(const json_t *obj, const char *outer, const char *inner)
{
	const json_t *list = json_object_get(json_object_get(obj, outer), inner);

	return json_is_array(list) ? list : NULL;
}

static gboolean is_auth_message(const char *message)
{
	return g_str_has_prefix(message, "Authentication Failed") ||
	       g_str_has_prefix(message, "Invalid IP") ||
	       g_str_has_prefix(message, "Invalid Access Key");
}

/* The calls a REST front may lack: Keliweb's pages document only GetTicket, OpenTicket and
 * AddTicketReply. */
static gboolean is_undocumented(const char *action)
{
	return strcmp(action, "GetTickets") == 0 || strcmp(action, "GetSupportDepartments") == 0 ||
	       strcmp(action, "GetContacts") == 0;
}

/* How much of an answer that is not what the API says an error quotes. */
#define QUOTED_ANSWER_BYTES 80

/* The desk's text to quote in an error, without the secrets this backend sends (a desk, proxy or
 * WAF may echo the request). Newly allocated. */
static char *whmcs_quote(const struct whmcs *w, const char *text, gsize len, gsize max)
{
	const char *secrets[] = {w->secret, w->accesskey, NULL, NULL};

	if (w->login)
		oauth_login_secrets(w->login, &secrets[2]);
	return desk_quote(text, len, max, secrets, G_N_ELEMENTS(secrets));
}

/* A 4xx that is the API's own "no" to this request: its error answer ({"result": "error"}), as
 * a REST front may send it with a 4xx, or Laravel's 422 of a field it does not take ({"message",
 * "errors"}). Sent again, the same request gets the same answer, so the mail is quarantined
 * rather than retried for ever. A bare 4xx, which a proxy may send after the desk acted, is not
 * one. */
static gboolean api_says_no(long status, const char *result, const json_t *root)
{
	if (status < 400 || status >= 500 || desk_status_may_heal(status))
		return FALSE;
	return g_strcmp0(result, "error") == 0 ||
	       (status == 422 && json_is_object(json_object_get(root, "errors")));
}

/* Turn an HTTP answer into the API's JSON object, or the error that says what went wrong. */
static json_t *whmcs_answer(const struct whmcs *w, const char *action,
			    const struct http_response *resp, GError **error)
{
	json_error_t jerr;
	json_t *root = json_loadb(resp->body->str, resp->body->len, 0, &jerr);
	const char *result = json_string_value(json_object_get(root, "result"));
	const char *said = json_string_value(json_object_get(root, "message"));
	char *message = said ? whmcs_quote(w, said, strlen(said), G_MAXSIZE) : NULL;

	if (root && result && g_strcmp0(result, "error") == 0 && message &&
	    is_auth_message(message)) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_AUTH,
			    "%s refused the API credentials (%s): check identifier and secret, "
			    "and the API IP allow-list",
			    w->name, message);
	} else if (resp->status == 401 || resp->status == 403) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_AUTH,
			    "%s refused the API credentials (HTTP %ld)%s%s", w->name, resp->status,
			    message ? ": " : "", message ? message : "");
	} else if (resp->status == 404 && w->endpoints && is_undocumented(action)) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_UNSUPPORTED,
			    "%s has no %s endpoint (HTTP 404; its pages document only get-ticket, "
			    "open-ticket and add-ticket-reply)",
			    w->name, (const char *)g_hash_table_lookup(w->endpoints, action));
	} else if (desk_status_refuses_request(resp->status)) {
		desk_set_refused_request(error, action, w->name, resp->status);
	} else if ((resp->status >= 300 || resp->status < 200) &&
		   !api_says_no(resp->status, result, root)) {
		/* Whatever else it is, it is not the API saying no to this mail. */
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY, "%s: desk answered HTTP %ld",
			    action, resp->status);
	} else if (!root || !json_is_object(root) || (!result && resp->status < 300)) {
		/* Not the API's answer: whether the desk did the work cannot be told, so the mail
		 * waits, and the next attempt looks for what this one did. */
		char *why = root ? g_strdup(json_is_object(root) ? "no result" : "not an object")
				 : whmcs_quote(w, jerr.text, strlen(jerr.text), G_MAXSIZE);
		char *start = whmcs_quote(w, resp->body->str, resp->body->len, QUOTED_ANSWER_BYTES);
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s: the desk's answer is not %s (%s): \"%s\"", action,
			    json_is_object(root) ? "the API's" : "JSON", why, start);
		g_free(start);
		g_free(why);
	} else if (g_strcmp0(result, "success") != 0 || resp->status >= 300) {
		const char *why = message ? message : "no message given";
		gboolean missing = g_str_has_suffix(why, "Not Found") && strstr(why, "Ticket");
		g_set_error(error, DESK_ERROR, missing ? DESK_ERROR_NOT_FOUND : DESK_ERROR_REFUSED,
			    "%s refused by %s: %s", action, w->name, why);
	} else {
		g_free(message);
		return root;
	}
	g_free(message);
	json_decref(root);
	return NULL;
}

/* Where an action is sent. Newly allocated. */
static char *action_url(const struct whmcs *w, const char *action)
{
	if (!w->endpoints)
		return g_strdup(w->url);
	return g_strconcat(w->url, "/", (const char *)g_hash_table_lookup(w->endpoints, action),
			   NULL);
}

static json_t *whmcs_call(struct whmcs *w, const char *action, const struct http_form *form,
			  enum http_call call, GError **error)
{
	struct http_response resp;
	const char *token = w->secret;
	char *url;
	json_t *answer;
	GError *err = NULL;
	gboolean ok;

	if (w->login && !(token = oauth_login_token(w->login, w->http, error)))
		return NULL;
	url = action_url(w, action);
	ok = w->endpoints
		 ? http_post_multipart(w->http, url, form, token, w->headers, call, &resp, error)
		 : http_post_form(w->http, url, form, call, &resp, error);
	g_free(url);
	if (!ok) {
		g_prefix_error(error, "%s: ", action);
		return NULL;
	}
	answer = whmcs_answer(w, action, &resp, &err);
	http_response_clear(&resp);
	/* A token refused before its time (revoked, a clock running fast) is dropped, so that the
	 * next call logs in again. This call is not sent again here: a write may have been done,
	 * and only the journal decides that one goes again. */
	if (w->login && g_error_matches(err, DESK_ERROR, DESK_ERROR_AUTH))
		oauth_login_drop(w->login);
	if (err)
		g_propagate_error(error, err);
	return answer;
}

/* Calls that change the desk: in a dry run they are printed, not sent. */
static json_t *whmcs_write(struct whmcs *w, const char *action, const struct http_form *form,
			   GError **error)
{
	char *url;

	if (!w->dry_run)
		return whmcs_call(w, action, form, HTTP_WRITE, error);
	url = action_url(w, action);
	desk_print_dry_run_call(w->dry_run, w->kind, url, action, http_form_to_json(form));
	g_free(url);
	return json_pack("{s:s}", "result", "success");
}

/* WHMCS takes attachments as base64 of a JSON array of {"name", "data": base64 of the bytes}.
 * The array is written here rather than by jansson: base64 never needs escaping, and jansson
 * scanning megabytes of it character by character was most of an import's time. A dry run shows
 * names and sizes only, so the value is not built at all. */
static void add_attachments(const struct whmcs *w, struct http_form *form,
			    const struct desk_attachment *atts, gsize n)
{
	json_t *shown;
	GString *list;
	char *b64;

	if (n == 0)
		return;
	shown = json_array();
	for (gsize i = 0; i < n; i++)
		json_array_append_new(shown, json_pack("{s:s, s:I}", "name", atts[i].name, "size",
						       (json_int_t)atts[i].len));
	if (w->dry_run) {
		http_form_add_shown_as(form, "attachments", "", shown);
		return;
	}
	list = g_string_new("[");
	for (gsize i = 0; i < n; i++) {
		json_t *name = json_string(atts[i].name);
		char *quoted = json_dumps(name, JSON_ENCODE_ANY);
		char *data = g_base64_encode(atts[i].data, atts[i].len);
		g_string_append_printf(list, "%s{\"name\":%s,\"data\":\"%s\"}", i ? "," : "",
				       quoted, data);
		g_free(data);
		free(quoted);
		json_decref(name);
	}
	g_string_append_c(list, ']');
	b64 = g_base64_encode((const guchar *)list->str, list->len);
	http_form_add_shown_as(form, "attachments", b64, shown);
	g_free(b64);
	g_string_free(list, TRUE);
}

static void add_fields(struct http_form *form, const struct desk_field *fields, gsize n)
{
	char *serialized;
	char *b64;
	json_t *shown;

	if (n == 0)
		return;
	serialized = php_serialize_fields(fields, n);
	b64 = g_base64_encode((const guchar *)serialized, strlen(serialized));
	shown = json_object();
	for (gsize i = 0; i < n; i++) {
		char key[16];
		g_snprintf(key, sizeof(key), "%d", fields[i].id);
		json_object_set_new(shown, key,
				    json_string(fields[i].value ? fields[i].value : ""));
	}
	http_form_add_shown_as(form, "customfields", b64, shown);
	g_free(b64);
	g_free(serialized);
}

/* What OpenTicket and AddTicketReply take alike for the message they carry; markdown -1: as the
 * config says. */
static void add_message_options(const struct whmcs *w, struct http_form *form, int markdown,
				const char *created, const struct desk_attachment *atts,
				gsize n_atts)
{
	/* Keliweb's pages list neither a date nor noemail. */
	if (created && !w->endpoints)
		http_form_add(form, "created", created);
	if (markdown > 0 || (markdown < 0 && w->markdown))
		http_form_add(form, "markdown", FLAG_TRUE);
	if (w->noemail && !w->endpoints)
		http_form_add(form, "noemail", FLAG_TRUE);
	add_attachments(w, form, atts, n_atts);
}

static struct http_form *open_ticket_form(struct whmcs *w, const struct desk_ticket_request *req)
{
	struct http_form *form = whmcs_form(w, "OpenTicket");
	char *message = desk_compose_message(req, w->cc_mode);

	http_form_add_int(form, "deptid", req->deptid);
	http_form_add(form, "subject", req->subject);
	http_form_add(form, "message", message);
	if (req->clientid > 0 && desk_can(&w->base, DESK_CAN_CLIENTS)) {
		http_form_add_int(form, "clientid", req->clientid);
	} else {
		http_form_add(form, "name", req->name);
		http_form_add(form, "email", req->email);
	}
	if (req->priority && desk_can(&w->base, DESK_CAN_PRIORITY))
		http_form_add(form, "priority", req->priority);
	if (req->serviceid > 0 && desk_can(&w->base, DESK_CAN_CLIENTS))
		http_form_add_int(form, "serviceid", req->serviceid);
	if (w->cc_mode == CC_MODE_PARAM && req->n_cc > 0 && desk_can(&w->base, DESK_CAN_CC)) {
		GString *cc = g_string_new(NULL);
		for (gsize i = 0; i < req->n_cc; i++)
			g_string_append_printf(cc, "%s%s", i ? "," : "", req->cc[i].email);
		http_form_add(form, "cc", cc->str);
		g_string_free(cc, TRUE);
	}
	add_fields(form, req->fields, req->n_fields);
	add_message_options(w, form, req->markdown, req->created, req->attachments,
			    req->n_attachments);
	g_free(message);
	return form;
}

static gboolean whmcs_find_opened_ticket(struct desk *desk, const struct desk_ticket_request *req,
					 const struct desk_ticket_filter *others,
					 struct desk_ticket *out, gboolean *found, GError **error);

/* The desk said success without the ticket's id (Keliweb's page lists none): the ticket is looked
 * up. Where the server has no list call, it was opened all the same and is recorded without
 * its number rather than opened again. */
static gboolean find_ticket_just_opened(struct whmcs *w, const struct desk_ticket_request *req,
					struct desk_ticket *out, GError **error)
{
	GError *err = NULL;
	gboolean found = FALSE;

	if (whmcs_find_opened_ticket(&w->base, req, NULL, out, &found, &err) && found)
		return TRUE;
	if (g_error_matches(err, DESK_ERROR, DESK_ERROR_UNSUPPORTED)) {
		g_error_free(err);
		*out = (struct desk_ticket){0};
		return TRUE;
	}
	/* Something was created, but we cannot say what: adopt it on the retry. */
	g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
		    "OpenTicket: the desk's answer has no ticket id%s%s", err ? ", and " : "",
		    err ? err->message : "");
	g_clear_error(&err);
	return FALSE;
}

static gboolean whmcs_open_ticket(struct desk *desk, const struct desk_ticket_request *req,
				 struct desk_ticket *out, GError **error)
{
	struct whmcs *w = (struct whmcs *)desk;
	struct http_form *form = open_ticket_form(w, req);
	json_t *answer = whmcs_write(w, "OpenTicket", form, error);

	http_form_free(form);
	if (!answer)
		return FALSE;
	*out = (struct desk_ticket){0};
	out->id = json_text(answer, "id");
	out->tid = json_text(answer, "tid");
	out->c = json_text(answer, "c");
	json_decref(answer);
	if (!w->dry_run && (!out->id || !out->tid)) {
		desk_ticket_clear(out);
		return find_ticket_just_opened(w, req, out, error);
	}
	return TRUE;
}

static gboolean whmcs_add_reply(struct desk *desk, const struct desk_reply_request *req,
				GError **error)
{
	struct whmcs *w = (struct whmcs *)desk;
	struct http_form *form = whmcs_form(w, "AddTicketReply");
	json_t *answer;
	gboolean ok;

	http_form_add(form, "ticketid", req->ticket_id);
	http_form_add(form, "message", req->message);
	if (req->clientid > 0 && desk_can(&w->base, DESK_CAN_CLIENTS)) {
		http_form_add_int(form, "clientid", req->clientid);
	} else {
		if (req->name)
			http_form_add(form, "name", req->name);
		if (req->email)
			http_form_add(form, "email", req->email);
	}
	add_message_options(w, form, -1, req->created, req->attachments, req->n_attachments);
	answer = whmcs_write(w, "AddTicketReply", form, error);
	http_form_free(form);
	ok = answer != NULL;
	json_decref(answer);
	return ok;
}

static void ticket_from_json(const json_t *obj, struct desk_ticket *out)
{
	const json_t *replies = nested_list(obj, "replies", "reply");
	size_t i;
	const json_t *reply;

	*out = (struct desk_ticket){0};
	out->id = json_text(obj, "ticketid");
	if (!out->id)
		out->id = json_text(obj, "id");
	out->tid = json_text(obj, "tid");
	out->c = json_text(obj, "c");
	out->deptid = json_text(obj, "deptid");
	out->status = json_text(obj, "status");
	out->name = json_text(obj, "name");
	out->email = json_text(obj, "email");
	out->cc = json_text(obj, "cc");
	out->userid = json_text(obj, "userid");
	out->subject = json_text(obj, "subject");
	if (!replies)
		return;
	out->messages = g_ptr_array_new_with_free_func(g_free);
	json_array_foreach(replies, i, reply)
	{
		char *m = json_text(reply, "message");
		g_ptr_array_add(out->messages, m ? m : g_strdup(""));
	}
}

static gboolean get_ticket_by(struct whmcs *w, const char *param, const char *value,
			      struct desk_ticket *out, GError **error)
{
	struct http_form *form = whmcs_form(w, "GetTicket");
	json_t *answer;

	http_form_add(form, param, value);
	http_form_add(form, "repliessort", "ASC");
	answer = whmcs_call(w, "GetTicket", form, HTTP_LOOKUP, error);
	http_form_free(form);
	if (!answer)
		return FALSE;
	ticket_from_json(answer, out);
	json_decref(answer);
	return TRUE;
}

static gboolean whmcs_get_ticket(struct desk *desk, const char *tid, struct desk_ticket *out,
				 GError **error)
{
	return get_ticket_by((struct whmcs *)desk, "ticketnum", tid, out, error);
}

/* WHMCS's ids count up as tickets are opened; 0 for none. */
static guint64 id_number(const char *id)
{
	return id ? g_ascii_strtoull(id, NULL, 10) : 0;
}

/* candidate (as GetTicket gave it) becomes *best when it began with message, others does not
 * name it, and it is newer than *best (*found: *best holds one). Takes candidate; FALSE with
 * error set when others cannot tell. */
static gboolean keep_newest_match(struct desk_ticket *candidate, const char *message,
				  const struct desk_ticket_filter *others, struct desk_ticket *best,
				  gboolean *found, GError **error)
{
	gboolean other = FALSE;
	gboolean match = candidate->messages && candidate->messages->len > 0 &&
			 desk_same_text(g_ptr_array_index(candidate->messages, 0), message);

	if (match && !desk_ticket_filter_names(others, candidate->id, &other, error)) {
		desk_ticket_clear(candidate);
		return FALSE;
	}
	if (match && !other && (!*found || id_number(candidate->id) > id_number(best->id))) {
		if (*found)
			desk_ticket_clear(best);
		*best = *candidate;
		*found = TRUE;
		return TRUE;
	}
	desk_ticket_clear(candidate);
	return TRUE;
}

/* Of the requester's newest tickets with the subject, the newest (by id: the list comes in the
 * order of their last reply) whose first message is the text: one with the same text opened
 * before, and since replied to, must not pass for the one just opened. */
static gboolean whmcs_find_opened_ticket(struct desk *desk, const struct desk_ticket_request *req,
					 const struct desk_ticket_filter *others,
					 struct desk_ticket *out, gboolean *found, GError **error)
{
	struct whmcs *w = (struct whmcs *)desk;
	struct http_form *form = whmcs_form(w, "GetTickets");
	char *message = desk_compose_message(req, w->cc_mode);
	const json_t *tickets;
	json_t *answer;
	int checked = 0;
	gboolean ok = TRUE;
	size_t i;
	const json_t *t;

	*found = FALSE;
	if (req->clientid > 0)
		http_form_add_int(form, "clientid", req->clientid);
	else
		http_form_add(form, "email", req->email);
	http_form_add(form, "subject", req->subject);
	/* Not by department: an agent may have moved the ticket since. An API user limited to
	 * some departments must still see the ticket it opened. */
	http_form_add(form, "ignore_dept_assignments", FLAG_TRUE);
	http_form_add_int(form, "limitnum", 25);
	answer = whmcs_call(w, "GetTickets", form, HTTP_LOOKUP, error);
	http_form_free(form);
	if (!answer) {
		g_free(message);
		return FALSE;
	}
	tickets = nested_list(answer, "tickets", "ticket");
	json_array_foreach(tickets, i, t)
	{
		const char *subject = json_string_value(json_object_get(t, "subject"));
		char *id;
		struct desk_ticket candidate;
		if (checked >= ADOPT_CANDIDATES || g_strcmp0(subject, req->subject) != 0)
			continue;
		checked++;
		id = json_text(t, "id");
		if (!id)
			continue;
		ok = get_ticket_by(w, "ticketid", id, &candidate, error) &&
		     keep_newest_match(&candidate, message, others, out, found, error);
		g_free(id);
		if (!ok)
			break;
	}
	if (!ok && *found) {
		desk_ticket_clear(out);
		*found = FALSE;
	}
	json_decref(answer);
	g_free(message);
	return ok;
}

static gboolean whmcs_list_departments(struct desk *desk, GPtrArray **out, GError **error)
{
	struct whmcs *w = (struct whmcs *)desk;
	struct http_form *form = whmcs_form(w, "GetSupportDepartments");
	json_t *answer = whmcs_call(w, "GetSupportDepartments", form, HTTP_LOOKUP, error);
	const json_t *list;
	size_t i;
	const json_t *d;

	http_form_free(form);
	if (!answer)
		return FALSE;
	*out = g_ptr_array_new_with_free_func((GDestroyNotify)desk_department_free);
	list = nested_list(answer, "departments", "department");
	json_array_foreach(list, i, d)
	{
		struct desk_department *dept = g_new0(struct desk_department, 1);
		dept->id = json_text(d, "id");
		dept->name = json_text(d, "name");
		g_ptr_array_add(*out, dept);
	}
	json_decref(answer);
	return TRUE;
}

static gboolean whmcs_is_client_contact(struct desk *desk, const char *userid, const char *email,
					gboolean *yes, GError **error)
{
	struct whmcs *w = (struct whmcs *)desk;
	struct http_form *form;
	json_t *answer;
	size_t i;
	const json_t *contact;

	*yes = FALSE;
	if (!userid || !*userid || strcmp(userid, "0") == 0)
		return TRUE; /* a guest's ticket has no client, so no contacts */
	form = whmcs_form(w, "GetContacts");
	http_form_add(form, "userid", userid);
	/* The address is asked for: a page holds 25 contacts (limitnum's default), so a list of
	 * them all would miss the 26th. */
	http_form_add(form, "email", email);
	answer = whmcs_call(w, "GetContacts", form, HTTP_LOOKUP, error);
	http_form_free(form);
	if (!answer)
		return FALSE;
	json_array_foreach(nested_list(answer, "contacts", "contact"), i, contact)
	{
		const char *e = json_string_value(json_object_get(contact, "email"));
		if (e && g_ascii_strcasecmp(e, email) == 0)
			*yes = TRUE;
	}
	json_decref(answer);
	return TRUE;
}

static void whmcs_destroy(struct desk *desk)
{
	struct whmcs *w = (struct whmcs *)desk;

	http_client_free(w->http);
	g_free(w->url);
	g_free(w->identifier);
	if (w->secret) {
		memset(w->secret, 0, strlen(w->secret));
		g_free(w->secret);
	}
	g_free(w->accesskey);
	if (w->endpoints)
		g_hash_table_unref(w->endpoints);
	oauth_login_free(w->login);
	g_free(w);
}

/* `check`: a REST front with a login logs in, whatever token it holds. */
static gboolean whmcs_log_in(struct desk *desk, char **said, GError **error)
{
	struct whmcs *w = (struct whmcs *)desk;

	*said = NULL;
	if (!w->login)
		return TRUE;
	*said = oauth_login_check(w->login, w->http, error);
	return *said != NULL;
}

/* WHMCS's api.php and its REST fronts: the same calls and answers. */
static const struct desk_ops whmcs_ops = {
    .open_ticket = whmcs_open_ticket,
    .add_reply = whmcs_add_reply,
    .get_ticket = whmcs_get_ticket,
    .find_opened_ticket = whmcs_find_opened_ticket,
    .list_departments = whmcs_list_departments,
    .is_client_contact = whmcs_is_client_contact,
    .log_in = whmcs_log_in,
    .destroy = whmcs_destroy,
};

/* The backend's own keys: WHMCS's API credentials may need an access key besides them. */
static const struct desk_key whmcs_keys[] = {
    {"accesskey", NULL, NULL},
    {NULL, NULL, NULL},
};

static struct whmcs *whmcs_new(const struct config *config, FILE *dry_run,
			       const struct desk_backend *backend, GError **error)
{
	struct http_client *http = http_client_for_desk(config, error);
	struct whmcs *w;

	if (!http)
		return NULL;
	w = g_new0(struct whmcs, 1);
	w->base.ops = &whmcs_ops;
	w->kind = backend->name;
	w->name = backend->title;
	w->http = http;
	w->url = g_strdup(config->desk.url);
	w->identifier = g_strdup(config->desk.identifier);
	w->secret = g_strdup(config->desk.secret);
	w->accesskey = g_strdup(desk_backend_key_value(config, "accesskey"));
	w->cc_mode = config->desk.cc;
	w->markdown = config->desk.markdown;
	w->noemail = config->desk.noemail;
	w->dry_run = dry_run;
	return w;
}

static struct desk *whmcs_desk_new(const struct config *config, FILE *dry_run, GError **error)
{
	struct whmcs *w = whmcs_new(config, dry_run, &whmcs_backend, error);

	return w ? &w->base : NULL;
}

struct desk *whmcs_rest_desk_new(const struct config *config, FILE *dry_run,
				 const struct desk_backend *backend, struct whmcs_rest *rest,
				 GError **error)
{
	struct whmcs *w = whmcs_new(config, dry_run, backend, error);

	if (!w) {
		oauth_login_free(rest->login);
		return NULL;
	}
	w->endpoints = desk_backend_calls(config, backend->keys);
	w->headers = rest->headers;
	w->login = rest->login;
	/* The base URL is joined with "/" and an endpoint. */
	while (g_str_has_suffix(w->url, "/"))
		w->url[strlen(w->url) - 1] = '\0';
	return &w->base;
}

static gboolean whmcs_check_config(struct loader *ld)
{
	return loader_get_string(ld, "desk", "identifier", TRUE, &ld->config->desk.identifier);
}

const struct desk_backend whmcs_backend = {
    .name = "whmcs",
    .title = "WHMCS",
    .keys = whmcs_keys,
    .check_config = whmcs_check_config,
    .desk_new = whmcs_desk_new,
    .capabilities = DESK_CAN_ATTACH | DESK_CAN_ATTACH_REPLY | DESK_CAN_PRIORITY | DESK_CAN_CC |
		    DESK_CAN_CLIENTS,
};
