/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any answer from a desk. A loopback HTTP server in this process answers every
 * request with the input (its first byte picks the backend, WHMCS, Keliweb or Thulium, the
 * second the HTTP status, the rest is the body), and the backend, built from a config as
 * mail2ticket builds it, runs each of its calls against it: open, reply, get, find after a lost
 * answer, departments, contacts. Whatever the desk says, no crash, leak or hang, and every call
 * either succeeds or sets an error. */
#include <arpa/inet.h>
#include <gmime/gmime.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "desk/desk.h"
#include "config/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"whmcs", "keliweb", "thulium"};
static const char *const paths[] = {"/includes/api.php", "/api/v2/keliweb", "/api"};
static const long statuses[] = {200, 200, 200, 200, 201, 204, 400, 401, 403, 404, 500, 503};

/* Made once: each desk keeps its connection to the server, as a running mail2ticket does. */
static struct config *configs[G_N_ELEMENTS(kinds)];
static struct desk *desks[G_N_ELEMENTS(kinds)];
static GMutex answer_lock;
static GBytes *answer;
static long answer_status;

/* Read one request (headers, then a body of Content-Length bytes); FALSE when the client left. */
static gboolean read_request(int fd, GString *buf)
{
	char chunk[65536];
	const char *end;
	gsize need = 0;

	g_string_truncate(buf, 0);
	while (!(end = strstr(buf->str, "\r\n\r\n"))) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return FALSE;
		g_string_append_len(buf, chunk, n);
	}
	if ((end = strcasestr(buf->str, "\r\nContent-Length:")))
		need = strtoul(end + 17, NULL, 10);
	end = strstr(buf->str, "\r\n\r\n") + 4;
	if (strcasestr(buf->str, "\r\nExpect: 100-continue") &&
	    (gsize)(buf->str + buf->len - end) < need)
		if (write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 25)
			return FALSE;
	while ((gsize)(buf->str + buf->len - end) < need) {
		gsize at = end - buf->str;
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return FALSE;
		g_string_append_len(buf, chunk, n);
		end = buf->str + at;
	}
	return TRUE;
}

static gpointer serve_client(gpointer data)
{
	int fd = GPOINTER_TO_INT(data);
	GString *request = g_string_new(NULL);

	while (read_request(fd, request)) {
		GString *reply = g_string_new(NULL);
		gsize len;
		const char *body;
		ssize_t sent;

		/* Head and body in one write: in two, Nagle's algorithm and the client's delayed
		 * acknowledgement cost 40 ms a call. */
		g_mutex_lock(&answer_lock);
		body = g_bytes_get_data(answer, &len);
		if (answer_status == 204)
			len = 0;
		g_string_printf(reply,
				"HTTP/1.1 %ld Answer\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\n\r\n",
				answer_status, len);
		g_string_append_len(reply, body, len);
		g_mutex_unlock(&answer_lock);
		sent = write(fd, reply->str, reply->len);
		g_string_free(reply, TRUE);
		if (sent < 0)
			break;
	}
	g_string_free(request, TRUE);
	close(fd);
	return NULL;
}

static gpointer serve(gpointer data)
{
	int listener = GPOINTER_TO_INT(data);

	for (;;) {
		int fd = accept(listener, NULL, NULL);
		if (fd >= 0)
			g_thread_unref(g_thread_new("answer", serve_client, GINT_TO_POINTER(fd)));
	}
	return NULL;
}

static int start_server(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(fd, 16) != 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
		abort();
	g_thread_unref(g_thread_new("server", serve, GINT_TO_POINTER(fd)));
	return ntohs(addr.sin_port);
}

static struct config *desk_config(const char *dir, gsize i, int port)
{
	char *path = g_strdup_printf("%s/%s.conf", dir, kinds[i]);
	char *text = g_strdup_printf(
	    "[desk]\nkind = %s\nurl = http://127.0.0.1:%d%s\n"
	    "identifier = fuzz\nsecret = fuzz\ndefault_department = 1\n"
	    "timeout = 5\n%s[state]\npath = %s/journal.db\n",
	    kinds[i], port, paths[i],
	    strcmp(kinds[i], "thulium") == 0 ? "mailbox = desk@example.com\n" : "", dir);
	GError *err = NULL;
	struct config *config;

	if (!g_file_set_contents(path, text, -1, &err))
		abort();
	config = config_load(path, &err);
	if (!config) {
		fprintf(stderr, "%s\n", err->message);
		abort();
	}
	unlink(path);
	g_free(text);
	g_free(path);
	return config;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = g_dir_make_tmp("m2t-fuzz-desk-XXXXXX", NULL);
	int port;

	(void)argc;
	(void)argv;
	g_mime_init();
	answer = g_bytes_new(NULL, 0);
	port = start_server();
	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		GError *err = NULL;
		configs[i] = desk_config(dir, i, port);
		desks[i] = desk_new(configs[i], NULL, &err);
		if (!desks[i])
			abort();
	}
	/* The configs are read: nothing is left behind when libFuzzer exits. */
	rmdir(dir);
	g_free(dir);
	return 0;
}

/* A call either succeeds or says why it did not. */
static void check(gboolean ok, GError *err)
{
	if (ok == (err != NULL))
		abort();
	g_clear_error(&err);
}

static void run_calls(struct desk *desk)
{
	static const struct desk_address cc[] = {{"Bob", "bob@example.org"}};
	static const struct desk_attachment att[] = {{"a.txt", "hello", 5}};
	const struct desk_ticket_request req = {
	    .deptid = 1, .subject = "Printer", .message = "It is broken.", .name = "Alice",
	    .email = "alice@example.org", .markdown = -1, .priority = "Medium", .cc = cc, .n_cc = 1,
	    .attachments = att, .n_attachments = 1};
	const struct desk_reply_request reply = {
	    .ticket_id = "1", .message = "More.", .name = "Alice", .email = "alice@example.org",
	    .attachments = att, .n_attachments = 1};
	struct desk_ticket ticket = {0};
	GPtrArray *depts = NULL;
	gboolean found = FALSE, yes = FALSE, ok;
	GError *err = NULL;

	ok = desk_open_ticket(desk, &req, &ticket, &err);
	check(ok, err);
	desk_ticket_clear(&ticket);
	err = NULL;
	check(desk_add_reply(desk, &reply, &err), err);
	err = NULL;
	ok = desk_get_ticket(desk, "123456", &ticket, &err);
	check(ok, err);
	desk_ticket_clear(&ticket);
	err = NULL;
	ok = desk_find_opened_ticket(desk, &req, NULL, &ticket, &found, &err);
	check(ok, err);
	desk_ticket_clear(&ticket);
	err = NULL;
	ok = desk_list_departments(desk, &depts, &err);
	check(ok, err);
	if (depts)
		g_ptr_array_unref(depts);
	err = NULL;
	check(desk_is_client_contact(desk, "7", "bob@example.org", &yes, &err), err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	g_mutex_lock(&answer_lock);
	g_bytes_unref(answer);
	answer = g_bytes_new(data + 2, size - 2);
	answer_status = statuses[data[1] % G_N_ELEMENTS(statuses)];
	g_mutex_unlock(&answer_lock);
	run_calls(desks[data[0] % G_N_ELEMENTS(kinds)]);
	return 0;
}
