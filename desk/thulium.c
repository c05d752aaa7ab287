#include "desk/thulium.h"

#include <jansson.h>
#include <string.h>

#include "desk/http.h"
#include "desk/json_text.h"

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

/* Thulium's answer as JSON, or the error that says what went wrong. */
static json_t *thulium_answer(const char *call, const struct http_response *resp, GError **error)
{
	json_error_t jerr;
	json_t *root = json_loadb(resp->body->str, resp->body->len, 0, &jerr);
	const char *said = json_string_value(json_object_get(root, "error"));

	if (!said)
		said = json_string_value(json_object_get(root, "message"));
	if (resp->status == 401 || resp->status == 403) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_AUTH,
			    "Thulium refused the API credentials (HTTP %ld): check identifier (the "
			    "API user) and secret",
			    resp->status);
	} else if (resp->status == 404) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_NOT_FOUND,
			    "%s: Thulium has no such %s%s%s", call,
			    g_str_has_prefix(call, "ticket") ? "ticket" : "path", said ? ": " : "",
			    said ? said : "");
	} else if (resp->status >= 400 && resp->status < 500) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_REFUSED,
			    "%s refused by Thulium (HTTP %ld)%s%s", call, resp->status,
			    said ? ": " : "", said ? said : "");
	} else if (resp->status < 200 || resp->status >= 300) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY, "%s: desk answered HTTP %ld",
			    call, resp->status);
	} else if (!root) {
		char *start = g_strndup(resp->body->str, MIN(resp->body->len, 80));
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "%s: the desk's answer is not JSON (%s): \"%s\"", call, jerr.text,
			    g_strstrip(start));
		g_free(start);
	} else {
		return root;
	}
	json_decref(root);
	return NULL;
}

/* GET (body NULL) or POST body (a JSON object, taken). */
static json_t *thulium_call(struct thulium *t, const char *call, const char *id, const char *query,
			    json_t *body, GError **error)
{
	char *url = call_url(t, call, id, query);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct http_response resp;
	json_t *answer = NULL;

	json_decref(body);
	if (http_request_basic(t->http, url, "application/json", text, t->user, t->password,
			       text ? HTTP_WRITE : HTTP_LOOKUP, &resp, error)) {
		answer = thulium_answer(call, &resp, error);
		http_response_clear(&resp);
	} else {
		g_prefix_error(error, "%s: ", call);
	}
	free(text);
	g_free(url);
	return answer;
}

/* Calls that change the desk: in a dry run they are printed, not sent. */
static json_t *thulium_write(struct thulium *t, const char *call, const char *id, json_t *body,
			     GError **error)
{
	char *url;
	json_t *line;

	if (!t->dry_run)
		return thulium_call(t, call, id, NULL, body, error);
	url = call_url(t, call, id, NULL);
	line = json_pack("{s:s, s:s, s:s, s:o}", "desk", "thulium", "url", url, "action", call,
			 "params", body);
	json_dumpf(line, t->dry_run, JSON_COMPACT);
	fputc('\n', t->dry_run);
	fflush(t->dry_run);
	json_decref(line);
	g_free(url);
	return json_pack("{s:s}", "ticket_id", "0");
}

/* The documented ticket API carries no files: they are named at the end of the text instead of
 * disappearing. Newly allocated. */
static char *text_with_attachment_note(const char *text, const struct desk_attachment *att, gsize n)
{
	GString *out = g_string_new(text);

	if (n == 0)
		return g_string_free(out, FALSE);
	g_string_append_printf(out,
			       "\n\n[mail2ticket: %" G_GSIZE_FORMAT " attachment%s not sent, "
			       "Thulium's ticket API takes no files:",
			       n, n == 1 ? "" : "s");
	for (gsize i = 0; i < n; i++)
		g_string_append_printf(out, "%s %s (%" G_GSIZE_FORMAT " bytes)", i ? "," : "",
				       att[i].name, att[i].len);
	g_string_append(out, "]");
	return g_string_free(out, FALSE);
}

static gboolean thulium_open_ticket(struct desk *desk, const struct desk_ticket_request *req,
				    struct desk_ticket *out, GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	char *text = desk_compose_message(req, CC_MODE_TEXT);
	char *body_text = text_with_attachment_note(text, req->attachments, req->n_attachments);
	json_t *body = json_pack("{s:i, s:s, s:s, s:s}", "queue_id", req->deptid, "subject",
				 req->subject, "body", body_text, "customer_email", req->email);
	json_t *answer;

	g_free(text);
	g_free(body_text);
	if (req->name && *req->name)
		json_object_set_new(body, "customer_name", json_string(req->name));
	if (req->created)
		json_object_set_new(body, "created_at", json_string(req->created));
	if (req->category > 0)
		json_object_set_new(body, "category_id", json_integer(req->category));
	if (req->status > 0)
		json_object_set_new(body, "status_id", json_integer(req->status));
	if (req->n_fields > 0) {
		json_t *fields = json_object();
		for (gsize i = 0; i < req->n_fields; i++) {
			char key[16];
			g_snprintf(key, sizeof(key), "%d", req->fields[i].id);
			json_object_set_new(fields, key, json_string(req->fields[i].value));
		}
		json_object_set_new(body, "custom_fields", fields);
	}
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

static gboolean thulium_add_reply(struct desk *desk, const struct desk_reply_request *req,
				  GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	char *body_text =
	    text_with_attachment_note(req->message, req->attachments, req->n_attachments);
	json_t *body = json_pack("{s:s, s:s}", "body", body_text, "customer_email", req->email);
	json_t *answer;

	g_free(body_text);
	if (req->created)
		json_object_set_new(body, "created_at", json_string(req->created));
	answer = thulium_write(t, "customer_message", req->ticket_id, body, error);
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

static void ticket_from_json(const json_t *obj, struct desk_ticket *out)
{
	const json_t *messages = json_object_get(obj, "messages");
	const char *closed = json_string_value(json_object_get(obj, "closed_at"));
	size_t i;
	const json_t *m;

	*out = (struct desk_ticket){0};
	out->id = json_text(obj, "ticket_id");
	out->tid = g_strdup(out->id);
	out->deptid = json_text(obj, "ticket_queue_id");
	/* The threading rules know WHMCS's "Closed"; Thulium says so with closed_at. */
	out->status = closed && *closed ? g_strdup("Closed") : json_text(obj, "full_status_name");
	out->email = json_text(obj, "from");
	out->subject = json_text(obj, "subject");
	if (!json_is_array(messages))
		return;
	out->messages = g_ptr_array_new_with_free_func(g_free);
	json_array_foreach(messages, i, m)
	{
		char *text = json_text(m, "body");
		g_ptr_array_add(out->messages, text ? without_attachment_note(text) : g_strdup(""));
	}
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

/* The first ticket in list from the requester, with the subject and first message of req. */
static gboolean match_ticket(const json_t *list, const struct desk_ticket_request *req,
			     const char *text, struct desk_ticket *out)
{
	size_t i;
	const json_t *obj;

	json_array_foreach(list, i, obj)
	{
		struct desk_ticket candidate;
		ticket_from_json(obj, &candidate);
		if (candidate.email && g_ascii_strcasecmp(candidate.email, req->email) == 0 &&
		    g_strcmp0(candidate.subject, req->subject) == 0 && candidate.messages &&
		    candidate.messages->len > 0 &&
		    desk_same_text(g_ptr_array_index(candidate.messages, 0), text)) {
			*out = candidate;
			return TRUE;
		}
		desk_ticket_clear(&candidate);
	}
	return FALSE;
}

/* The documented GET tickets of the request's queue, most recently changed first (a ticket just
 * opened is), a page at a time until a match, the end of the list (its count), or ADOPT_PAGES. */
static gboolean thulium_find_opened_ticket(struct desk *desk, const struct desk_ticket_request *req,
					   struct desk_ticket *out, gboolean *found, GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	char *text = desk_compose_message(req, CC_MODE_TEXT);
	/* A ticket the lost attempt opened was changed since yesterday, whatever its own date. */
	GDateTime *now = g_date_time_new_now_local();
	GDateTime *yesterday = g_date_time_add_days(now, -1);
	char *since = g_date_time_format(yesterday, "%Y-%m-%d");
	gboolean ok = TRUE;

	g_date_time_unref(now);
	g_date_time_unref(yesterday);
	*found = FALSE;
	for (int page = 0; ok && !*found && page < ADOPT_PAGES; page++) {
		char *query = g_strdup_printf(
		    "ticket_queue_id=%d&date_from=%s&limit=%d&offset=%d&order=-update_date",
		    req->deptid, since, ADOPT_PAGE, page * ADOPT_PAGE);
		json_t *answer = thulium_call(t, "tickets", NULL, query, NULL, error);
		const json_t *list = json_object_get(answer, "result");
		json_int_t count = json_integer_value(json_object_get(answer, "count"));
		g_free(query);
		if (!answer) {
			ok = FALSE;
			break;
		}
		*found = match_ticket(list, req, text, out);
		json_decref(answer);
		if ((page + 1) * (json_int_t)ADOPT_PAGE >= count)
			break;
	}
	g_free(since);
	g_free(text);
	return ok;
}

static gboolean thulium_list_departments(struct desk *desk, GPtrArray **out, GError **error)
{
	struct thulium *t = (struct thulium *)desk;
	json_t *answer = thulium_call(t, "queues", NULL, NULL, NULL, error);
	const json_t *list;
	size_t i;
	const json_t *q;

	if (!answer)
		return FALSE;
	list = json_is_array(answer) ? answer : json_object_get(answer, "result");
	*out = g_ptr_array_new_with_free_func((GDestroyNotify)desk_department_free);
	json_array_foreach(list, i, q)
	{
		struct desk_department *d = g_new0(struct desk_department, 1);
		d->id = json_text(q, "id");
		d->name = json_text(q, "name");
		g_ptr_array_add(*out, d);
	}
	json_decref(answer);
	return TRUE;
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
	if (t->password) {
		memset(t->password, 0, strlen(t->password));
		g_free(t->password);
	}
	g_hash_table_unref(t->paths);
	g_free(t);
}

static const struct desk_ops thulium_ops = {
    /* Custom fields, original dates, category and status travel; files, priority, cc lists and
     * clients do not. */
    .capabilities = DESK_CAN_CATEGORY,
    .open_ticket = thulium_open_ticket,
    .add_reply = thulium_add_reply,
    .get_ticket = thulium_get_ticket,
    .find_opened_ticket = thulium_find_opened_ticket,
    .list_departments = thulium_list_departments,
    .is_client_contact = thulium_is_client_contact,
    .destroy = thulium_destroy,
};

struct desk *thulium_desk_new(const struct config *config, FILE *dry_run, GError **error)
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
	t->dry_run = dry_run;
	t->paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (char **e = config->desk.endpoints; e && e[0] && e[1]; e += 2)
		g_hash_table_insert(t->paths, g_strdup(e[0]), g_strdup(e[1]));
	return &t->base;
}
