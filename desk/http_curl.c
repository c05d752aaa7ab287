/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The requests of the desk backends over libcurl (http_module.h), built as the module
 * mail2ticket-http.so: never a retry, secrets cleared from memory once sent. */
#include <curl/curl.h>
#include <string.h>

#include "desk/desk.h"
#include "desk/http_module.h"
#include "modules/module.h"

/* A desk's answer is JSON about one ticket or a page of them; a larger one is refused rather than
 * read into memory without end (a broken or hostile server). */
#define ANSWER_MAX_BYTES (32 * 1024 * 1024)

struct curl_client {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	GString *body;	     /* the answer being read */
	gboolean too_large; /* it passed ANSWER_MAX_BYTES and was cut off */
	gboolean send_once; /* a write: libcurl may not send it a second time */
	guint sends;	     /* requests libcurl began in this call */
};

static size_t collect_body(char *data, size_t size, size_t n, void *user)
{
	struct curl_client *client = user;

	if (size * n > ANSWER_MAX_BYTES - client->body->len) {
		client->too_large = TRUE;
		return 0; /* less than was given: libcurl stops the transfer */
	}
	g_string_append_len(client->body, data, size * n);
	return size * n;
}

/* libcurl sends a request again, on a new connection, when a reused one closes before any answer,
 * and by then the desk may have done the work (it opened a second ticket). It asks this callback
 * before every request it begins, so a write's second beginning is refused here: only the journal
 * may decide that a write is sent again. */
static int refuse_resent_write(void *user, char *remote_ip, char *local_ip, int remote_port,
			       int local_port)
{
	struct curl_client *client = user;

	(void)remote_ip;
	(void)local_ip;
	(void)remote_port;
	(void)local_port;
	if (client->send_once && client->sends++ > 0)
		return CURL_PREREQFUNC_ABORT;
	return CURL_PREREQFUNC_OK;
}

static struct curl_client *client_new(const struct http_settings *s, GError **error)
{
	static gsize curl_ready = 0;
	struct curl_client *client;

	if (g_once_init_enter(&curl_ready)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&curl_ready, 1);
	}
	client = g_new0(struct curl_client, 1);
	client->curl = curl_easy_init();
	if (!client->curl) {
		g_free(client);
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY, "cannot start libcurl");
		return NULL;
	}
	curl_easy_setopt(client->curl, CURLOPT_ERRORBUFFER, client->errbuf);
	curl_easy_setopt(client->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(client->curl, CURLOPT_USERAGENT, "mail2ticket/" M2T_VERSION);
	curl_easy_setopt(client->curl, CURLOPT_CONNECTTIMEOUT, (long)s->connect_timeout);
	curl_easy_setopt(client->curl, CURLOPT_TIMEOUT, (long)s->timeout);
	curl_easy_setopt(client->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(client->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	/* A POST must not be replayed at another address behind the admin's back. */
	curl_easy_setopt(client->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(client->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (s->ca_file)
		curl_easy_setopt(client->curl, CURLOPT_CAINFO, s->ca_file);
	/* The url's user with it: Basic authentication for a proxy in front of the desk. */
	if (s->password)
		curl_easy_setopt(client->curl, CURLOPT_PASSWORD, s->password);
	curl_easy_setopt(client->curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(client->curl, CURLOPT_PREREQFUNCTION, refuse_resent_write);
	curl_easy_setopt(client->curl, CURLOPT_PREREQDATA, client);
	return client;
}

static void client_free(struct curl_client *client)
{
	if (!client)
		return;
	curl_easy_cleanup(client->curl);
	g_free(client);
}

static gboolean is_unreserved(guchar c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Bytes of s once percent-encoded as curl_easy_escape() does. */
static curl_off_t encoded_length(const char *s)
{
	curl_off_t n = 0;

	for (; *s; s++)
		n += is_unreserved(*s) ? 1 : 3;
	return n;
}

/* The form as application/x-www-form-urlencoded, produced a piece at a time as libcurl asks for
 * it: no copy of the whole body (a 9 MB mail with two 7 MiB attachments is some 90 MB encoded),
 * and no limit on a field's size (curl_easy_escape() gives up past a few megabytes). */
struct form_body {
	const struct http_form *form;
	guint field;	 /* the field being sent */
	gsize offset;	 /* how much of its value is encoded */
	gboolean begun;	 /* its name is out */
	GString *chunk;	 /* encoded, not yet handed over */
	gsize handed;	 /* of chunk */
};

static void append_encoded(GString *out, const char *s, gsize len)
{
	static const char hex[] = "0123456789ABCDEF";
	gsize at = out->len;
	char *w;

	/* Grown once to the most it can take, then written directly: a call per byte made
	 * encoding a 60 MB mail's request take seconds. */
	g_string_set_size(out, at + 3 * len);
	w = out->str + at;
	for (gsize i = 0; i < len; i++) {
		guchar c = s[i];
		if (is_unreserved(c)) {
			*w++ = c;
		} else {
			*w++ = '%';
			*w++ = hex[c >> 4];
			*w++ = hex[c & 15];
		}
	}
	g_string_truncate(out, w - out->str);
}

/* The next piece of the body into b->chunk; FALSE at the end. */
static gboolean form_body_refill(struct form_body *b)
{
	const gsize piece = 64 * 1024;
	const struct form_field *f;
	gsize left;

	/* The chunk held the secret at some point: it is cleared, not just emptied. */
	memset(b->chunk->str, 0, b->chunk->len);
	g_string_truncate(b->chunk, 0);
	b->handed = 0;
	if (b->field >= b->form->fields->len)
		return FALSE;
	f = g_ptr_array_index(b->form->fields, b->field);
	if (!b->begun) {
		if (b->field > 0)
			g_string_append_c(b->chunk, '&');
		append_encoded(b->chunk, f->name, strlen(f->name));
		g_string_append_c(b->chunk, '=');
		b->begun = TRUE;
	}
	left = f->value_len - b->offset;
	append_encoded(b->chunk, f->value + b->offset, MIN(left, piece));
	b->offset += MIN(left, piece);
	if (b->offset == f->value_len) {
		b->field++;
		b->offset = 0;
		b->begun = FALSE;
	}
	return TRUE;
}

/* Fills what libcurl offers: a field per call made each field a TCP packet of its own (a dozen
 * sends and polls per request, a quarter of an import's time). */
static size_t form_body_read(char *buf, size_t size, size_t n, void *user)
{
	struct form_body *b = user;
	size_t room = size * n;
	size_t given = 0;

	while (given < room) {
		size_t take;
		if (b->handed == b->chunk->len && !form_body_refill(b))
			break;
		take = MIN(room - given, b->chunk->len - b->handed);
		memcpy(buf + given, b->chunk->str + b->handed, take);
		b->handed += take;
		given += take;
	}
	return given;
}

/* libcurl sends a look-up again when the connection it reused turns out closed (a write is
 * stopped before that, in refuse_resent_write()): the body then starts over. */
static int form_body_seek(void *user, curl_off_t offset, int origin)
{
	struct form_body *b = user;

	if (offset != 0 || origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	memset(b->chunk->str, 0, b->chunk->len);
	g_string_truncate(b->chunk, 0);
	b->handed = 0;
	b->field = 0;
	b->offset = 0;
	b->begun = FALSE;
	return CURL_SEEKFUNC_OK;
}

static curl_off_t form_length(const struct http_form *form)
{
	curl_off_t n = 0;

	for (guint i = 0; i < form->fields->len; i++) {
		const struct form_field *f = g_ptr_array_index(form->fields, i);
		n += (i ? 1 : 0) + encoded_length(f->name) + 1 + encoded_length(f->value);
	}
	return n;
}

/* Run the request set up on the handle; FALSE when no HTTP answer came. */
static gboolean perform(struct curl_client *client, const char *url, enum http_call call,
			struct http_response *out, GError **error)
{
	CURLcode rc;

	*out = (struct http_response){.body = g_string_new(NULL)};
	client->errbuf[0] = '\0';
	client->body = out->body;
	client->too_large = FALSE;
	curl_easy_setopt(client->curl, CURLOPT_URL, url);
	curl_easy_setopt(client->curl, CURLOPT_WRITEDATA, client);
	client->send_once = call == HTTP_WRITE;
	client->sends = 0;
	rc = curl_easy_perform(client->curl);
	client->body = NULL;
	if (rc == CURLE_ABORTED_BY_CALLBACK && client->sends > 1) {
		g_set_error(
		    error, DESK_ERROR, DESK_ERROR_TEMPORARY,
		    "the connection to %s closed before an answer came; the request may have "
		    "been done, so it is not sent again now",
		    url);
		http_response_clear(out);
		return FALSE;
	}
	if (rc != CURLE_OK && client->too_large) {
		g_set_error(error, DESK_ERROR, DESK_ERROR_TEMPORARY,
			    "the answer from %s is larger than %d MB: not read", url,
			    ANSWER_MAX_BYTES >> 20);
		http_response_clear(out);
		return FALSE;
	}
	if (rc != CURLE_OK) {
		/* A write that timed out once its request began to go out (libcurl calls the
		 * pre-request callback then) may still be running at the desk. A connection the
		 * desk closed is not: its side of the request has ended. */
		g_set_error(error, DESK_ERROR,
			    call == HTTP_WRITE && client->sends > 0 &&
				    rc == CURLE_OPERATION_TIMEDOUT
				? DESK_ERROR_TIMED_OUT
				: DESK_ERROR_TEMPORARY,
			    "no answer from %s: %s", url,
			    client->errbuf[0] ? client->errbuf : curl_easy_strerror(rc));
		http_response_clear(out);
		return FALSE;
	}
	curl_easy_getinfo(client->curl, CURLINFO_RESPONSE_CODE, &out->status);
	return TRUE;
}

/* headers with "Expect:" added, which keeps libcurl from sending "Expect: 100-continue" with a
 * body over 1 MB. A server that answers that with 417 makes libcurl begin the request again,
 * which refuse_resent_write() rightly stops, so such a mail never went; and one that ignores it
 * cost a second's wait for a 100 that never came. */
static struct curl_slist *without_expect(struct curl_slist *headers)
{
	return curl_slist_append(headers, "Expect:");
}

/* A body up to this size is encoded whole and handed to libcurl, which sends it in one piece
 * with the head; read a piece at a time, it went in a send of its own (a look-up cost two sends
 * and the desk two reads). */
#define WHOLE_BODY_MAX (16 * 1024)

static gboolean post_form(struct curl_client *client, const char *url,
			  const struct http_form *form, enum http_call call,
			  struct http_response *out, GError **error)
{
	struct form_body body = {.form = form, .chunk = g_string_new(NULL)};
	struct curl_slist *headers = without_expect(NULL);
	curl_off_t length = form_length(form);
	char *whole = NULL;
	gboolean ok;

	curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(client->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(client->curl, CURLOPT_POSTFIELDSIZE_LARGE, length);
	if (length <= WHOLE_BODY_MAX) {
		whole = g_malloc(length + 1);
		whole[form_body_read(whole, 1, length, &body)] = '\0';
		curl_easy_setopt(client->curl, CURLOPT_POSTFIELDS, whole);
	} else {
		curl_easy_setopt(client->curl, CURLOPT_READFUNCTION, form_body_read);
		curl_easy_setopt(client->curl, CURLOPT_READDATA, &body);
		curl_easy_setopt(client->curl, CURLOPT_SEEKFUNCTION, form_body_seek);
		curl_easy_setopt(client->curl, CURLOPT_SEEKDATA, &body);
	}
	ok = perform(client, url, call, out, error);
	curl_easy_setopt(client->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(client->curl, CURLOPT_READFUNCTION, NULL);
	curl_easy_setopt(client->curl, CURLOPT_READDATA, NULL);
	curl_easy_setopt(client->curl, CURLOPT_SEEKFUNCTION, NULL);
	curl_easy_setopt(client->curl, CURLOPT_SEEKDATA, NULL);
	curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	/* Both held the secret. */
	if (whole) {
		memset(whole, 0, length);
		g_free(whole);
	}
	memset(body.chunk->str, 0, body.chunk->len);
	g_string_free(body.chunk, TRUE);
	return ok;
}

/* A secret field of a multipart form (a login's password), read by libcurl from the form
 * itself: curl_mime_data() would keep a copy that nothing clears. */
struct secret_part {
	const struct form_field *field;
	gsize offset;
};

static size_t secret_part_read(char *buf, size_t size, size_t n, void *user)
{
	struct secret_part *p = user;
	size_t take = MIN(size * n, p->field->value_len - p->offset);

	memcpy(buf, p->field->value + p->offset, take);
	p->offset += take;
	return take;
}

static int secret_part_seek(void *user, curl_off_t offset, int origin)
{
	struct secret_part *p = user;

	if (origin != SEEK_SET || offset < 0 || (gsize)offset > p->field->value_len)
		return CURL_SEEKFUNC_CANTSEEK;
	p->offset = offset;
	return CURL_SEEKFUNC_OK;
}

static gboolean post_multipart(struct curl_client *client, const char *url,
			       const struct http_form *form, const char *bearer_token,
			       const char *const *extra_headers, enum http_call call,
			       struct http_response *out, GError **error)
{
	curl_mime *mime = curl_mime_init(client->curl);
	char *auth =
	    bearer_token ? g_strconcat("Authorization: Bearer ", bearer_token, NULL) : NULL;
	struct curl_slist *headers = without_expect(auth ? curl_slist_append(NULL, auth) : NULL);
	gboolean ok;

	for (gsize i = 0; extra_headers && extra_headers[i]; i++)
		headers = curl_slist_append(headers, extra_headers[i]);
	for (guint i = 0; i < form->fields->len; i++) {
		const struct form_field *f = g_ptr_array_index(form->fields, i);
		curl_mimepart *part = curl_mime_addpart(mime);
		curl_mime_name(part, f->name);
		if (f->secret) {
			struct secret_part *p = g_new0(struct secret_part, 1);
			p->field = f;
			curl_mime_data_cb(part, (curl_off_t)f->value_len, secret_part_read,
					  secret_part_seek, g_free, p);
		} else {
			curl_mime_data(part, f->value, CURL_ZERO_TERMINATED);
		}
	}
	curl_easy_setopt(client->curl, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, headers);
	ok = perform(client, url, call, out, error);
	curl_easy_setopt(client->curl, CURLOPT_MIMEPOST, NULL);
	curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, NULL);
	/* The header held the token; do not leave it in freed memory, nor libcurl's copy of it. */
	for (struct curl_slist *h = headers; h; h = h->next)
		memset(h->data, 0, strlen(h->data));
	curl_slist_free_all(headers);
	curl_mime_free(mime);
	if (auth) {
		memset(auth, 0, strlen(auth));
		g_free(auth);
	}
	return ok;
}

static gboolean request_basic(struct curl_client *client, const char *url,
			      const char *content_type, const void *body, gsize len,
			      const char *user, const char *password, enum http_call call,
			      struct http_response *out, GError **error)
{
	char *type = content_type ? g_strconcat("Content-Type: ", content_type, NULL) : NULL;
	struct curl_slist *headers = type ? curl_slist_append(NULL, type) : NULL;
	gboolean ok;

	curl_easy_setopt(client->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(client->curl, CURLOPT_USERNAME, user);
	curl_easy_setopt(client->curl, CURLOPT_PASSWORD, password);
	if (body) {
		headers = without_expect(headers);
		curl_easy_setopt(client->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(client->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(client->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, headers);
	} else {
		curl_easy_setopt(client->curl, CURLOPT_HTTPGET, 1L);
	}
	ok = perform(client, url, call, out, error);
	curl_easy_setopt(client->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(client->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(client->curl, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(client->curl, CURLOPT_PASSWORD, NULL);
	curl_slist_free_all(headers);
	g_free(type);
	return ok;
}

M2T_MODULE_EXPORT const struct http_module http_curl_module = {
    .client_new = client_new,
    .client_free = client_free,
    .post_form = post_form,
    .request_basic = request_basic,
    .post_multipart = post_multipart,
};
