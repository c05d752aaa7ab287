/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Thulium's REST API (https://ACCOUNT.thulium.com/api): HTTP Basic authentication, JSON. Listing
 * tickets (GET tickets) is documented; creating one, adding the customer's message, reading one
 * ticket and listing queues are inferred, and their paths are config keys. Tickets are sent to
 * one of the account's mailboxes, whose queue they join. */
#include <jansson.h>
#include <string.h>

#include "desk/desk_answer.h"
#include "desk/desk_backend.h"
#include "desk/http.h"
#include "desk/json_text.h"
#include "desk/json_write.h"

/* After an attempt whose answer was lost, the ticket it may have opened is among the most
 * recently changed: up to this many pages of the documented maximum of 100 are read. */
#define ADOPT_PAGE 100
#define ADOPT_PAGES 5

struct thulium {
	struct desk base;
	struct http_client *http;
	char *url; /* the API base, without a trailing '/' */
	char *user;
	char *password;
	char *mailbox;	   /* sent as `to` when the route names no mailbox */
	enum cc_mode cc_mode;
	GHashTable *paths; /* call -> path under url, "{id}" standing for a ticket id */
	FILE *dry_run;
};

/* The URL of a call, with "{id}" replaced by id and query appended. Newly allocated. */
static char *call_url(const struct thulium *t, const char *call, const char *id, const char *query)
{
	const char *path = g_hash_table_lookup(t->paths, call);
	GString *url = g_string_new(t->url);
	const char *mark = strstr(path, "{id}");

	g_string_append_c(url, '/');
	if (mark && id) {
		char *escaped = g_uri_escape_string(id, NULL, FALSE);
		g_string_append_len(url, path, mark - path);
		g_string_append(url, escaped);
		g_string_append(url, mark + 4);
		g_free(escaped);
	} else {
		g_string_append(url, path);
	}
	if (query)
		g_string_append_printf(url, "?%s", query);
	return g_string_free(url, FALSE);
}

/* The desk's text to quote in an error, without the password, as given or as the Basic
 * credentials carry it (a desk, proxy or WAF may echo the request). Newly allocated. */
static char *thulium_quote(const struct thulium *t, const char *text, gsize len, gsize max)
{
	char *pair = g_strconcat(t->user ? t->user : "", ":", t->password, NULL);
	char *basic = g_base64_encode((const guchar *)pair, strlen(pair));
	const char *secrets[] = {t->password, basic};
	char *quoted = desk_quote(text, len, max, secrets, G_N_ELEMENTS(secrets));

	memset(pair, 0, strlen(pair));
	memset(basic, 0, strlen(basic));
	g_free(pair);
	g_free(basic);
	return quoted;
}

/* Thulium's answer as JSON (an empty body, as a customer's reply gets, as an empty object), or
 * the error that says what went wrong. */
/* Whether call's path names a ticket ("{id}"), so that a 404 says there is no such ticket. */
static gboolean names_ticket(const char *call)
{
	return strcmp(call, "ticket") == 0 || strcmp(call, "customer_response") == 0;
}

static json_t *thulium_answer(const struct thulium *t, const char *call,
			      const struct http_response *resp, GError **error)
{
	json_error_t jerr;
	gboolean empty = strspn(resp->body->str, " \t\r\n") == resp->body->len;
	json_t *root =
	    empty ? json_object() : json_loadb(resp->body->str, resp->body->len, 0, &jerr);
	const char *error_said = json_string_value(json_object_get(root, "error"));
	const char *message_said = json_string_value(json_object_get(root, "message"));
	const char *raw_said = error_said ? error_said : message_said;
	char *said = raw_said ? thulium_quote(t, raw_said, strlen(raw_said), G_MAXSIZE) : NULL;

	if (resp->status == 401 || resp->status == 403) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_AUTH,
			    "Thulium refused the API credentials (HTTP %ld): check identifier (the "
			    "API user) and secret",
			    resp->status);
	} else if (resp->status == 404 && !names_ticket(call)) {
		/* A path the config got wrong: every mail would be refused alike, so it waits. */
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s: Thulium has no such path (HTTP 404): check url and %s_path%s%s",
			    call, call, said ? ": " : "", said ? said : "");
	} else if (resp->status == 404) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_NOT_FOUND,
			    "%s: Thulium has no such ticket%s%s", call, said ? ": " : "",
			    said ? said : "");
	} else if (desk_status_refuses_request(resp->status)) {
		desk_set_refused_request(error, call, "Thulium", resp->status);
	} else if (resp->status >= 400 && resp->status < 500 &&
		   !desk_status_may_heal(resp->status)) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_REFUSED,
			    "%s refused by Thulium (HTTP %ld)%s%s", call, resp->status,
			    said ? ": " : "", said ? said : "");
	} else if (resp->status < 200 || resp->status >= 300) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY, "%s: desk answered HTTP %ld",
			    call, resp->status);
	} else if (!root) {
		char *why = thulium_quote(t, jerr.text, strlen(jerr.text), G_MAXSIZE);
		char *start = thulium_quote(t, resp->body->str, resp->body->len, 80);
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s: the desk's answer is not JSON (%s): \"%s\"", call, why, start);
		g_free(start);
		g_free(why);
	} else {
		g_free(said);
		return root;
	}
	g_free(said);
	json_decref(root);
	return NULL;
}

/* A request to call: GET (body NULL) or POST of len bytes of body as content_type. */
static json_t *thulium_request(struct thulium *t, const char *call, const char *url,
			       const char *content_type, const void *body, gsize len,
			       GError **error)
{
	struct http_response resp;
	json_t *answer = NULL;

	if (http_request_basic(t->http, url, content_type, body, len, t->user, t->password,
			       body ? HTTP_WRITE : HTTP_LOOKUP, &resp, error)) {
		answer = thulium_answer(t, call, &resp, error);
		http_response_clear(&resp);
	} else {
		g_prefix_error(error, "%s: ", call);
	}
	return answer;
}

/* GET (body NULL) or POST body (a JSON object, taken). */
static json_t *thulium_call(struct thulium *t, const char *call, const char *id, const char *query,
			    json_t *body, GError **error)
{
	char *url = call_url(t, call, id, query);
	GString *text = body ? g_string_sized_new(4096) : NULL;
	json_t *answer;

	if (body)
		json_write_compact(text, body);
	json_decref(body);
	answer = thulium_request(t, call, url, "application/json; charset=utf-8",
				 text ? text->str : NULL, text ? text->len : 0, error);
	if (text)
		g_string_free(text, TRUE);
	g_free(url);
	return answer;
}

/* Calls that change the desk: in a dry run they are printed, not sent. */
static json_t *thulium_write(struct thulium *t, const char *call, const char *id, json_t *body,
			     GError **error)
{
	char *url;

	if (!t->dry_run)
		return thulium_call(t, call, id, NULL, body, error);
	url = call_url(t, call, id, NULL);
	desk_print_dry_run_call(t->dry_run, "thulium", url, call, body);
	g_free(url);
	return json_pack("{s:s}", "ticket_id", "0");
}

/* Each file uploaded as a temporary file (POST temporary_files?filename=NAME, the raw bytes); the
 * tokens that bring them into a ticket, in order. New reference, NULL on the first failure: the
 * ticket is then not opened, and the next attempt uploads again (Thulium drops unused files after
 * a day). */
static json_t *upload_files(struct thulium *t, const struct desk_attachment *att, gsize n,
			    GError **error)
{
	json_t *tokens = json_array();

	for (gsize i = 0; i < n; i++) {
		char *name = g_uri_escape_string(att[i].name, NULL, FALSE);
		char *query = g_strconcat("filename=", name, NULL);
		char *url = call_url(t, "temporary_files", NULL, query);
		json_t *answer;
		char *token;

		if (t->dry_run) {
			desk_print_dry_run_call(t->dry_run, "thulium", url, "temporary_files",
						json_pack("{s:s, s:I}", "filename", att[i].name,
							  "size", (json_int_t)att[i].len));
			answer = json_pack("{s:s}", "token", "dry-run");
		} else {
			answer = thulium_request(t, "temporary_files", url,
						 "application/octet-stream", att[i].data,
						 att[i].len, error);
		}
		g_free(url);
		g_free(query);
		g_free(name);
		token = answer ? json_text(answer, "token") : NULL;
		if (answer && !token)
			g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
				    "temporary_files: the desk's answer has no token");
		json_decref(answer);
		if (!token) {
			json_decref(tokens);
			return NULL;
		}
		json_array_append_new(tokens, json_string(token));
		g_free(token);
	}
	return tokens;
}

/* Thulium's message date, "YYYY-MM-DD HH:MM" without a zone: the ISO 8601 created (else now) in
 * this host's time zone, which should be the Thulium account's. Newly allocated. */
static char *thulium_date(const char *created)
{
	GDateTime *when = created ? g_date_time_new_from_iso8601(created, NULL) : NULL;
	GDateTime *local;
	char *text;

	if (!when)
		when = g_date_time_new_now_local();
	local = g_date_time_to_local(when);
	text = g_date_time_format(local, "%Y-%m-%d %H:%M");
	g_date_time_unref(local);
	g_date_time_unref(when);
	return text;
}

/* The documented customer reply takes no files (only an agent's reply does): they are named at
 * the end of the text instead of disappearing. Newly allocated. */
static char *text_with_attachment_note(const char *text, const struct desk_attachment *att, gsize n)
{
	GString *out = g_string_new(text);

	if (n == 0)
		return g_string_free(out, FALSE);
	g_string_append_printf(out,
			       "\n\n[mail2ticket: %" G_GSIZE_FORMAT " attachment%s not sent, "
			       "Thulium takes no files with a customer's reply:",
			       n, n == 1 ? "" : "s");
	for (gsize i = 0; i < n; i++)
		g_string_append_printf(out, "%s %s (%" G_GSIZE_FORMAT " bytes)", i ? "," : "",
				       att[i].name, att[i].len);
	g_string_append(out, "]");
	return g_string_free(out, FALSE);
}

/* The rule actions and copies POST tickets takes beside the text, added to body. */
static void add_ticket_options(const struct thulium *t, const struct desk_ticket_request *req,
			       json_t *body)
{
	if (req->deptid > 0)
		json_object_set_new(body, "ticket_queue_id", json_integer(req->deptid));
	if (req->category > 0)
		json_object_set_new(body, "category_id", json_integer(req->category));
	if (req->status > 0)
		json_object_set_new(body, "status_id", json_integer(req->status));
	if (req->customer_id > 0)
		json_object_set_new(body, "customer_id", json_integer(req->customer_id));
	if (req->tags) {
		json_t *tags = json_array();
		for (const char *const *tag = req->tags; *tag; tag++)
			json_array_append_new(tags, json_string(*tag));
		json_object_set_new(body, "tags", tags);
	}
	if (req->n_fields > 0) {
		json_t *fields = json_object();
		for (gsize i = 0; i < req->n_fields; i++) {
			char id[16];
			g_snprintf(id, sizeof(id), "%d", req->fields[i].id);
			json_object_set_new(fields, req->fields[i].name ? req->fields[i].name : id,
					    json_string(req->fields[i].value));
		}
		json_object_set_new(body, "custom_fields", fields);
	}
	if (t->cc_mode != CC_MODE_NONE && req->n_cc > 0) {
		json_t *cc = json_array();
		for (gsize i = 0; i < req->n_cc; i++)
			json_array_append_new(cc, json_string(req->cc[i].email));
		json_object_set_new(body, "cc", cc);
	}
}

static gboolean thulium_open_ticket(struct desk *desk, const struct desk_ticket_request *req,
				    struct desk_ticket *out, GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	json_t *tokens = upload_files(t, req->attachments, req->n_attachments, error);
	json_t *body, *answer;

	if (!tokens)
		return FALSE;
	/* Thulium keeps the copies itself: no Cc block in the text. */
	body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "to", req->to ? req->to : t->mailbox, "from",
			 req->email, "subject", req->subject, "body", req->message, "body_type",
			 "PLAIN");
	if (json_array_size(tokens) > 0)
		json_object_set(body, "attachments", tokens);
	json_decref(tokens);
	add_ticket_options(t, req, body);
	answer = thulium_write(t, "create_ticket", NULL, body, error);
	if (!answer)
		return FALSE;
	*out = (struct desk_ticket){0};
	out->id = json_text(answer, "ticket_id");
	json_decref(answer);
	if (!out->id) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "create_ticket: the desk's answer has no ticket_id");
		return FALSE;
	}
	/* Thulium shows people the ticket's id itself. */
	out->tid = g_strdup(out->id);
	return TRUE;
}

/* The answer is an empty body. */
static gboolean thulium_add_reply(struct desk *desk, const struct desk_reply_request *req,
				  GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	char *text = text_with_attachment_note(req->message, req->attachments, req->n_attachments);
	char *date = thulium_date(req->created);
	json_t *body =
	    json_pack("{s:s, s:s, s:s}", "body", text, "body_type", "PLAIN", "date", date);
	json_t *answer;

	g_free(text);
	g_free(date);
	answer = thulium_write(t, "customer_response", req->ticket_id, body, error);
	json_decref(answer);
	return answer != NULL;
}

/* A message's text without the note text_with_attachment_note() added, so that a message sent
 * in an attempt whose answer was lost compares equal to the one about to be sent again. */
static char *without_attachment_note(char *text)
{
	char *note = g_strrstr(text, "\n\n[mail2ticket: ");

	if (note && g_str_has_suffix(note, "]"))
		*note = '\0';
	return text;
}

/* Whether an entry of a ticket's messages carries a customer's or an agent's text (MAIL,
 * REPLY): a COMMENT's body is empty, its text under comment or system_comment. */
static gboolean carries_text(const json_t *m)
{
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *body = json_string_value(json_object_get(m, "body"));

	if (type)
		return strcmp(type, "COMMENT") != 0;
	return body && *body;
}

struct dated_text {
	char *created; /* "YYYY-MM-DD HH:MM", "" when not given */
	char *text;
};

static gint by_date(gconstpointer a, gconstpointer b)
{
	const struct dated_text *x = *(struct dated_text *const *)a;
	const struct dated_text *y = *(struct dated_text *const *)b;

	return strcmp(x->created, y->created);
}

static void reverse(GPtrArray *array)
{
	for (guint i = 0, j = array->len; i + 1 < j; i++, j--) {
		gpointer first = array->pdata[i];
		array->pdata[i] = array->pdata[j - 1];
		array->pdata[j - 1] = first;
	}
}

/* The texts of a ticket's messages, oldest first as desk.h promises, so that the first is the
 * mail that opened it. GET tickets/{id} lists them newest first (its page's example), comments
 * among them; a list whose first entry is older than its last is taken to be oldest first.
 * Dates are to the minute: within one, the order written (the list's, reversed when it is
 * newest first) is kept, the sort being stable. */
static GPtrArray *texts_oldest_first(const json_t *messages)
{
	GPtrArray *dated = g_ptr_array_new();
	GPtrArray *texts;
	size_t i;
	const json_t *m;

	json_array_foreach(messages, i, m)
	{
		struct dated_text *d;
		char *text;
		if (!carries_text(m))
			continue;
		d = g_new(struct dated_text, 1);
		d->created = json_text(m, "created_at");
		if (!d->created)
			d->created = g_strdup("");
		text = json_text(m, "body");
		d->text = text ? without_attachment_note(text) : g_strdup("");
		g_ptr_array_add(dated, d);
	}
	if (dated->len > 1 && by_date(&dated->pdata[0], &dated->pdata[dated->len - 1]) >= 0)
		reverse(dated);
	g_ptr_array_sort(dated, by_date);
	texts = g_ptr_array_new_full(dated->len, g_free);
	for (guint k = 0; k < dated->len; k++) {
		struct dated_text *d = dated->pdata[k];
		g_ptr_array_add(texts, d->text);
		g_free(d->created);
		g_free(d);
	}
	g_ptr_array_free(dated, TRUE);
	return texts;
}

static void ticket_from_json(const json_t *obj, struct desk_ticket *out)
{
	const json_t *messages = json_object_get(obj, "messages");
	const char *closed = json_string_value(json_object_get(obj, "closed_at"));

	*out = (struct desk_ticket){0};
	out->id = json_text(obj, "ticket_id");
	out->tid = g_strdup(out->id);
	out->deptid = json_text(obj, "ticket_queue_id");
	/* The threading rules know WHMCS's "Closed"; Thulium says so with closed_at. */
	out->status = closed && *closed ? g_strdup("Closed") : json_text(obj, "full_status_name");
	out->email = json_text(obj, "from");
	out->subject = json_text(obj, "subject");
	if (json_is_array(messages))
		out->messages = texts_oldest_first(messages);
}

static gboolean thulium_get_ticket(struct desk *desk, const char *tid, struct desk_ticket *out,
				   GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	json_t *answer = thulium_call(t, "ticket", tid, NULL, NULL, error);

	if (!answer)
		return FALSE;
	ticket_from_json(
	    json_object_get(answer, "ticket") ? json_object_get(answer, "ticket") : answer, out);
	json_decref(answer);
	if (!out->id) {
		desk_ticket_clear(out);
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "ticket: the desk's answer has no ticket_id");
		return FALSE;
	}
	return TRUE;
}

/* The first ticket in list from the requester, with the subject and first message of req, that
 * others does not name (*found). FALSE with error set when others cannot tell. */
static gboolean match_ticket(const json_t *list, const struct desk_ticket_request *req,
			     const char *text, const struct desk_ticket_filter *others,
			     struct desk_ticket *out, gboolean *found, GError **error)
{
	size_t i;
	const json_t *obj;

	*found = FALSE;
	json_array_foreach(list, i, obj)
	{
		struct desk_ticket candidate;
		gboolean other = FALSE;
		ticket_from_json(obj, &candidate);
		if (candidate.email && g_ascii_strcasecmp(candidate.email, req->email) == 0 &&
		    g_strcmp0(candidate.subject, req->subject) == 0 && candidate.messages &&
		    candidate.messages->len > 0 &&
		    desk_same_text(g_ptr_array_index(candidate.messages, 0), text)) {
			if (!desk_ticket_filter_names(others, candidate.id, &other, error)) {
				desk_ticket_clear(&candidate);
				return FALSE;
			}
			if (!other) {
				*out = candidate;
				*found = TRUE;
				return TRUE;
			}
		}
		desk_ticket_clear(&candidate);
	}
	return TRUE;
}

/* The documented GET tickets, most recently changed first (a ticket just opened is), a page at a
 * time until a match, the end of the list (its count), or ADOPT_PAGES. Of every queue: an agent
 * may have moved the ticket before the retry looks (which changes it, so it stays near the top),
 * and matching is by sender, subject and text. */
static gboolean thulium_find_opened_ticket(struct desk *desk, const struct desk_ticket_request *req,
					   const struct desk_ticket_filter *others,
					   struct desk_ticket *out, gboolean *found, GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	char *text = desk_compose_message(req, CC_MODE_NONE);
	/* A ticket the lost attempt opened was changed since yesterday, whatever its own date. */
	GDateTime *now = g_date_time_new_now_local();
	GDateTime *yesterday = g_date_time_add_days(now, -1);
	char *since = g_date_time_format(yesterday, "%Y-%m-%d");
	gboolean ok = TRUE;

	g_date_time_unref(now);
	g_date_time_unref(yesterday);
	*found = FALSE;
	for (int page = 0; ok && !*found && page < ADOPT_PAGES; page++) {
		char *query = g_strdup_printf("date_from=%s&limit=%d&offset=%d&order=-update_date",
					      since, ADOPT_PAGE, page * ADOPT_PAGE);
		json_t *answer = thulium_call(t, "tickets", NULL, query, NULL, error);
		const json_t *list = json_object_get(answer, "result");
		json_int_t count = json_integer_value(json_object_get(answer, "count"));
		g_free(query);
		if (!answer) {
			ok = FALSE;
			break;
		}
		ok = match_ticket(list, req, text, others, out, found, error);
		json_decref(answer);
		if ((page + 1) * (json_int_t)ADOPT_PAGE >= count)
			break;
	}
	g_free(since);
	g_free(text);
	return ok;
}

/* The smallest documented look-up, for check: one ticket of the list. */
static gboolean thulium_check_access(struct desk *desk, GError **error)
{
	json_t *answer =
	    thulium_call((struct thulium *)desk, "tickets", NULL, "limit=1", NULL, error);

	json_decref(answer);
	return answer != NULL;
}

/* Thulium has customers, not WHMCS's clients with contacts: nobody is another's contact. */
static gboolean thulium_is_client_contact(struct desk *desk, const char *userid, const char *email,
					  gboolean *yes, GError **error)
{
	(void)desk, (void)userid, (void)email, (void)error;
	*yes = FALSE;
	return TRUE;
}

static void thulium_destroy(struct desk *desk)
{
	struct thulium *t = (struct thulium *)desk;

	http_client_free(t->http);
	g_free(t->url);
	g_free(t->user);
	g_free(t->mailbox);
	if (t->password) {
		memset(t->password, 0, strlen(t->password));
		g_free(t->password);
	}
	g_hash_table_unref(t->paths);
	g_free(t);
}

/* No documented call lists Thulium's queues or mailboxes: list_departments is left out. */
static const struct desk_ops thulium_ops = {
    .open_ticket = thulium_open_ticket,
    .add_reply = thulium_add_reply,
    .get_ticket = thulium_get_ticket,
    .find_opened_ticket = thulium_find_opened_ticket,
    .check_access = thulium_check_access,
    .is_client_contact = thulium_is_client_contact,
    .destroy = thulium_destroy,
};

/* Thulium's documented calls (api.thulium.com/docs/api/), each path a key for a server mounted
 * elsewhere: the key, the call it stands for, the default path ("{id}": the ticket's id). */
static const struct desk_key thulium_keys[] = {
    {"create_ticket_path", "create_ticket", "tickets"},
    {"customer_response_path", "customer_response", "tickets/{id}/customer_response"},
    {"ticket_path", "ticket", "tickets/{id}"},
    {"tickets_path", "tickets", "tickets"},
    {"temporary_files_path", "temporary_files", "temporary_files"},
    {NULL, NULL, NULL},
};

static struct desk *thulium_desk_new(const struct config *config, FILE *dry_run, GError **error)
{
	struct http_client *http = http_client_for_desk(config, error);
	struct thulium *t;

	if (!http)
		return NULL;
	t = g_new0(struct thulium, 1);
	t->base.ops = &thulium_ops;
	t->http = http;
	t->url = g_strdup(config->desk.url);
	while (g_str_has_suffix(t->url, "/"))
		t->url[strlen(t->url) - 1] = '\0';
	t->user = g_strdup(config->desk.identifier);
	t->password = g_strdup(config->desk.secret);
	t->mailbox = g_strdup(config->desk.mailbox);
	t->cc_mode = config->desk.cc;
	t->dry_run = dry_run;
	t->paths = desk_backend_calls(config, thulium_keys);
	return &t->base;
}

/* The user is the identifier, and a ticket needs a mailbox to be sent to. */
static gboolean thulium_check_config(struct loader *ld)
{
	struct config *c = ld->config;

	if (!loader_get_string(ld, "desk", "identifier", TRUE, &c->desk.identifier) ||
	    !loader_get_string(ld, "desk", "mailbox", TRUE, &c->desk.mailbox))
		return FALSE;
	/* The one Authorization header of a request is the API user's: a proxy's would never go. */
	if (c->desk.url_password)
		return loader_fail(ld, "desk", "url",
				   "holds a password, which Thulium's requests cannot carry (their "
				   "Basic authentication is identifier and secret): leave it out, "
				   "and put the API user's password in secret_file");
	if (!strchr(c->desk.mailbox, '@'))
		return loader_fail(ld, "desk", "mailbox",
				   "'%s' is not the address of a Thulium mailbox", c->desk.mailbox);
	return TRUE;
}

/* Files with a new ticket, custom fields by name, category, status, tags and customer travel;
 * files with a customer's reply, priority, clients and the author's name do not, and the cc list
 * goes in but a ticket's cc list does not come back (the sender check cannot use it). */
const struct desk_backend thulium_backend = {
    .name = "thulium",
    .title = "Thulium",
    .keys = thulium_keys,
    .check_config = thulium_check_config,
    .desk_new = thulium_desk_new,
    .capabilities = DESK_CAN_ATTACH | DESK_CAN_CATEGORY | DESK_CAN_MAILBOX | DESK_CAN_FIELD_NAMES,
};
