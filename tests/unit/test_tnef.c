/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TNEF (winmail.dat) unpacking: the sample Outlook mail, streams built here for the cases Outlook
 * does not make on demand, and damaged input of every kind, which must never crash, leak or print
 * (ASan, valgrind and a redirected stdout check that). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parsers/tnef.h"

/* [MS-OXTNEF] attribute ids, (type << 16) | id. */
#define ATT_BODY 0x0002800Cu
#define ATT_ATTACH_DATA 0x0006800Fu
#define ATT_ATTACH_TITLE 0x00018010u
#define ATT_ATTACH_CREATE_DATE 0x00038012u
#define ATT_ATTACH_REND_DATA 0x00069002u
#define ATT_MSG_PROPS 0x00069003u
#define ATT_ATTACHMENT 0x00069005u
#define ATT_OEM_CODEPAGE 0x00069007u
#define LVL_MESSAGE 1
#define LVL_ATTACHMENT 2

#define PT_LONG 0x0003
#define PT_CURRENCY 0x0006
#define PT_APPTIME 0x0007
#define PT_STRING8 0x001E
#define PT_UNICODE 0x001F
#define PT_BINARY 0x0102
#define MV_FLAG 0x1000

#define PR_BODY 0x1000
#define PR_SUBJECT 0x0037
#define PR_ATTACH_DATA_BIN 0x3701
#define PR_ATTACH_LONG_FILENAME 0x3707
#define PR_ATTACH_MIME_TAG 0x370E

/* SHA-256 of the PDF that tests/tnef/make_winmail_dat.py puts in the sample. */
#define SAMPLE_PDF_SHA256 "2add68b300f9fa59af4a3505d6c6318ff34e8fa6b3fcfc1441829308c4095731"
#define SAMPLE_NOTES                                                                               \
	"Notes for offer 2026-117\r\n- delivery in calendar week 15\r\n"                           \
	"- prices valid until 2026-04-30\r\n"
#define SAMPLE_BODY                                                                                \
	"Sehr geehrte Damen und Herren,\n\nanbei unser Angebot für März 2026 und die "             \
	"Notizen aus dem Telefonat.\n\nMit freundlichen Grüßen\nAnna Huber\n"

static guint8 *sample;
static gsize sample_len;

/* The winmail.dat part of samples/mail/40-outlook-winmail-dat.eml, base64 decoded. */
static int load_sample(void **state)
{
	char *path = g_build_filename(M2T_SOURCE_DIR, "samples", "mail",
				      "40-outlook-winmail-dat.eml", NULL);
	char *eml = NULL;
	const char *part, *start, *end;
	GString *b64 = g_string_new(NULL);
	(void)state;

	if (!g_file_get_contents(path, &eml, NULL, NULL))
		return -1;
	part = strstr(eml, "Content-Type: application/ms-tnef");
	start = part ? strstr(part, "\n\n") : NULL;
	end = start ? strstr(start + 2, "\n--") : NULL;
	if (!end)
		return -1;
	for (const char *p = start + 2; p < end; p++)
		if (!g_ascii_isspace(*p))
			g_string_append_c(b64, *p);
	sample = g_base64_decode(b64->str, &sample_len);
	g_string_free(b64, TRUE);
	g_free(eml);
	g_free(path);
	return sample_len > 0 ? 0 : -1;
}

static int free_sample(void **state)
{
	(void)state;
	g_free(sample);
	return 0;
}

static GPtrArray *files_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)tnef_file_free);
}

static const struct tnef_file *file_at(GPtrArray *files, guint i)
{
	return g_ptr_array_index(files, i);
}

static char *sha256(GBytes *bytes)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(bytes, &len);

	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, p, len);
}

/* Whatever came out of any input must be well formed. */
static void assert_sane(GPtrArray *files, const char *body)
{
	assert_true(files->len <= 1000);
	for (guint i = 0; i < files->len; i++) {
		const struct tnef_file *f = file_at(files, i);
		assert_non_null(f->data);
		assert_true(g_bytes_get_size(f->data) > 0);
		if (f->name) {
			assert_true(g_utf8_validate(f->name, -1, NULL));
			assert_true(f->name[0] != '\0');
		}
		if (f->content_type)
			assert_non_null(strchr(f->content_type, '/'));
	}
	if (body)
		assert_true(g_utf8_validate(body, -1, NULL));
}

/* Unpack a heap copy of exactly len bytes, so ASan and valgrind see any read past the end. */
static gboolean unpack_copy(const guint8 *data, gsize len, GPtrArray *files, char **body,
			    GError **error)
{
	guint8 *copy = len ? g_memdup2(data, len) : NULL;
	gboolean ok = tnef_unpack(copy, len, files, body, error);

	g_free(copy);
	return ok;
}

/* Unpack, check the outcome is consistent, free everything. Returns the result. */
static gboolean unpack_any(const guint8 *data, gsize len)
{
	GPtrArray *files = files_new();
	GError *error = NULL;
	char *body = NULL;
	gboolean ok = unpack_copy(data, len, files, &body, &error);

	if (ok) {
		assert_null(error);
	} else {
		assert_non_null(error);
		assert_true(error->message[0] != '\0');
		g_error_free(error);
	}
	assert_sane(files, body);
	g_free(body);
	g_ptr_array_unref(files);
	return ok;
}

/* ---- building streams ---- */

static void put_u32(GByteArray *b, guint32 v)
{
	guint8 le[4] = {v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF};

	g_byte_array_append(b, le, 4);
}

static GByteArray *stream_new(void)
{
	GByteArray *b = g_byte_array_new();

	put_u32(b, 0x223E9F78);
	g_byte_array_append(b, (const guint8 *)"\x01\x00", 2);
	return b;
}

static void attr(GByteArray *b, guint8 level, guint32 id, const void *data, gsize len)
{
	const guint8 *p = data;
	guint32 sum = 0;
	guint8 tail[2];

	for (gsize i = 0; i < len; i++)
		sum += p[i];
	g_byte_array_append(b, &level, 1);
	put_u32(b, id);
	put_u32(b, (guint32)len);
	g_byte_array_append(b, p, (guint)len);
	tail[0] = sum & 0xFF;
	tail[1] = (sum >> 8) & 0xFF;
	g_byte_array_append(b, tail, 2);
}

static void attr_str(GByteArray *b, guint8 level, guint32 id, const char *s)
{
	attr(b, level, id, s, strlen(s) + 1);
}

static void attr_props(GByteArray *b, guint8 level, guint32 id, GByteArray *props)
{
	attr(b, level, id, props->data, props->len);
	g_byte_array_unref(props);
}

static void codepage(GByteArray *b, guint32 cp)
{
	guint8 v[8] = {cp & 0xFF, (cp >> 8) & 0xFF, (cp >> 16) & 0xFF, (cp >> 24) & 0xFF};

	attr(b, LVL_MESSAGE, ATT_OEM_CODEPAGE, v, sizeof(v));
}

static void rend(GByteArray *b)
{
	static const guint8 r[14] = {1, 0, 0xFF, 0xFF, 0xFF, 0xFF};

	attr(b, LVL_ATTACHMENT, ATT_ATTACH_REND_DATA, r, sizeof(r));
}

/* A MAPI property list; the count at its start grows with each property. */
static GByteArray *props_new(void)
{
	GByteArray *p = g_byte_array_new();

	put_u32(p, 0);
	return p;
}

static void props_count(GByteArray *p)
{
	guint32 n = (guint32)p->data[0] | (guint32)p->data[1] << 8;

	n++;
	p->data[0] = n & 0xFF;
	p->data[1] = (n >> 8) & 0xFF;
}

static void pad4(GByteArray *p, gsize n)
{
	g_byte_array_append(p, (const guint8 *)"\0\0\0", (guint)((4 - n % 4) % 4));
}

static void props_bytes(GByteArray *p, guint16 type, guint16 id, const void *data, gsize len)
{
	put_u32(p, (guint32)id << 16 | type);
	put_u32(p, 1);
	put_u32(p, (guint32)len);
	g_byte_array_append(p, data, (guint)len);
	pad4(p, len);
	props_count(p);
}

static void props_string8(GByteArray *p, guint16 id, const char *s)
{
	props_bytes(p, PT_STRING8, id, s, strlen(s) + 1);
}

/* UTF-16LE with its NUL, from UTF-8; or raw units when units is not NULL. */
static void props_unicode(GByteArray *p, guint16 id, const char *utf8, const guint16 *units,
			  gsize n_units)
{
	glong n = 0;
	gunichar2 *u = units ? g_memdup2(units, n_units * 2)
			     : g_utf8_to_utf16(utf8, -1, NULL, &n, NULL);
	GByteArray *le = g_byte_array_new();

	if (units)
		n = (glong)n_units;
	for (glong i = 0; i < n; i++) {
		guint8 two[2] = {u[i] & 0xFF, u[i] >> 8};
		g_byte_array_append(le, two, 2);
	}
	g_byte_array_append(le, (const guint8 *)"\0\0", 2);
	props_bytes(p, PT_UNICODE, id, le->data, le->len);
	g_byte_array_unref(le);
	g_free(u);
}

static void props_fixed(GByteArray *p, guint16 type, guint16 id, gsize size)
{
	put_u32(p, (guint32)id << 16 | type);
	for (gsize i = 0; i < size; i++)
		g_byte_array_append(p, (const guint8 *)"\x11", 1);
	props_count(p);
}

struct result {
	GPtrArray *files;
	char *body;
	GError *error;
	gboolean ok;
};

static struct result run(GByteArray *stream)
{
	struct result r = {files_new(), NULL, NULL, FALSE};

	r.ok = unpack_copy(stream->data, stream->len, r.files, &r.body, &r.error);
	assert_sane(r.files, r.body);
	g_byte_array_unref(stream);
	return r;
}

static void result_clear(struct result *r)
{
	g_ptr_array_unref(r->files);
	g_free(r->body);
	g_clear_error(&r->error);
}

/* ---- the sample ---- */

static void test_sample(void **state)
{
	GPtrArray *files = files_new();
	GError *error = NULL;
	char *body = NULL;
	const struct tnef_file *pdf, *notes;
	gsize size;
	const char *bytes;
	char *digest;
	(void)state;

	assert_true(unpack_copy(sample, sample_len, files, &body, &error));
	assert_null(error);
	assert_int_equal(files->len, 2);

	pdf = file_at(files, 0);
	assert_string_equal(pdf->name, "Angebot M\xC3\xA4rz 2026.pdf");
	assert_string_equal(pdf->content_type, "application/pdf");
	bytes = g_bytes_get_data(pdf->data, &size);
	assert_int_equal(size, 640);
	assert_memory_equal(bytes, "%PDF-1.4\n", 9);
	digest = sha256(pdf->data);
	assert_string_equal(digest, SAMPLE_PDF_SHA256);
	g_free(digest);

	notes = file_at(files, 1);
	assert_string_equal(notes->name, "notes.txt");
	assert_string_equal(notes->content_type, "text/plain");
	bytes = g_bytes_get_data(notes->data, &size);
	assert_int_equal(size, strlen(SAMPLE_NOTES));
	assert_memory_equal(bytes, SAMPLE_NOTES, size);

	assert_string_equal(body, SAMPLE_BODY);
	g_free(body);
	g_ptr_array_unref(files);
}

/* Files are appended: what the array held before stays, and body may be NULL. */
static void test_appends_without_body(void **state)
{
	GPtrArray *files = files_new();
	struct tnef_file *first = g_new0(struct tnef_file, 1);
	(void)state;

	first->data = g_bytes_new_static("x", 1);
	g_ptr_array_add(files, first);
	assert_true(tnef_unpack(sample, sample_len, files, NULL, NULL));
	assert_int_equal(files->len, 3);
	assert_ptr_equal(file_at(files, 0), first);
	assert_string_equal(file_at(files, 2)->name, "notes.txt");
	g_ptr_array_unref(files);
}

#ifdef M2T_PYTHON
/* The sample carries exactly what the generator writes, so either can be trusted for the other. */
static void test_sample_matches_generator(void **state)
{
	char *script = g_build_filename(M2T_SOURCE_DIR, "tests", "tnef", "make_winmail_dat.py",
					NULL);
	GSubprocess *proc;
	GBytes *out = NULL;
	GError *error = NULL;
	gsize len;
	const guint8 *bytes;
	(void)state;

	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, M2T_PYTHON, script, NULL);
	assert_non_null(proc);
	assert_true(g_subprocess_communicate(proc, NULL, NULL, &out, NULL, &error));
	assert_true(g_subprocess_get_successful(proc));
	bytes = g_bytes_get_data(out, &len);
	assert_int_equal(len, sample_len);
	assert_memory_equal(bytes, sample, sample_len);
	g_bytes_unref(out);
	g_object_unref(proc);
	g_free(script);
}
#endif

/* ---- damaged and foreign input ---- */

/* FALSE with a message naming the problem; the body is still read when it came before it. */
static void assert_invalid(const guint8 *data, gsize len, const char *needle,
			   const char *want_body)
{
	GPtrArray *files = files_new();
	GError *error = NULL;
	char *body = (char *)"unset";

	assert_false(unpack_copy(data, len, files, &body, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	if (needle && !strstr(error->message, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", error->message, needle);
	if (want_body)
		assert_string_equal(body, want_body);
	else
		assert_null(body);
	g_free(body);
	g_error_free(error);
	g_ptr_array_unref(files);
}

static void test_not_tnef(void **state)
{
	static const char text[] = "Hello, this is not a winmail.dat at all.\r\n";
	static const guint8 swapped[] = {0x22, 0x3E, 0x9F, 0x78, 0x01, 0x00};
	(void)state;

	assert_invalid(NULL, 0, "not a TNEF stream", NULL);
	assert_invalid((const guint8 *)"", 0, "not a TNEF stream", NULL);
	assert_invalid((const guint8 *)"\x78\x9F", 2, "not a TNEF stream", NULL);
	assert_invalid(swapped, sizeof(swapped), "signature", NULL);
	assert_invalid((const guint8 *)text, sizeof(text) - 1, "signature", NULL);
	assert_invalid((const guint8 *)"%PDF-1.4\n", 9, "signature", NULL);
}

/* Cut the sample at every length. Cuts at an attribute boundary leave a valid, shorter stream. */
static void test_truncated_everywhere(void **state)
{
	guint ok = 0;
	(void)state;

	for (gsize n = 0; n <= sample_len; n++)
		ok += unpack_any(sample, n);
	/* The header alone and each of the 20 attribute ends, the whole stream among them. */
	assert_int_equal(ok, 21);
	assert_true(unpack_any(sample, sample_len));
}

static gsize find_attr(const guint8 *p, gsize len, guint32 id, guint nth)
{
	for (gsize pos = 6; pos + 9 <= len;) {
		guint32 got = (guint32)p[pos + 1] | (guint32)p[pos + 2] << 8 |
			      (guint32)p[pos + 3] << 16 | (guint32)p[pos + 4] << 24;
		guint32 size = (guint32)p[pos + 5] | (guint32)p[pos + 6] << 8 |
			       (guint32)p[pos + 7] << 16 | (guint32)p[pos + 8] << 24;

		if (got == id && nth-- == 0)
			return pos;
		pos += 9 + (gsize)size + 2;
	}
	fail_msg("attribute 0x%08x not found", id);
	return 0;
}

static void set_u32(guint8 *p, guint32 v)
{
	p[0] = v & 0xFF;
	p[1] = (v >> 8) & 0xFF;
	p[2] = (v >> 16) & 0xFF;
	p[3] = (v >> 24) & 0xFF;
}

static void test_length_past_end(void **state)
{
	static const guint32 lengths[] = {0xFFFFFFFF, 0xFFFFFFF0, 0x80000000, 0x7FFFFFFF, 1u << 20};
	guint8 *copy = g_memdup2(sample, sample_len);
	gsize pdf = find_attr(sample, sample_len, ATT_ATTACH_DATA, 0);
	gsize notes = find_attr(sample, sample_len, ATT_ATTACH_DATA, 1);
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(lengths); i++) {
		memcpy(copy, sample, sample_len);
		set_u32(copy + pdf + 5, lengths[i]);
		assert_invalid(copy, sample_len, "claims", SAMPLE_BODY);
	}
	/* One byte too many: the stream ends one byte short of the checksum. */
	memcpy(copy, sample, sample_len);
	set_u32(copy + notes + 5, (guint32)(sample_len - notes - 9 - 1));
	assert_invalid(copy, sample_len, "claims", SAMPLE_BODY);
	g_free(copy);
}

/* A flipped byte in the PDF fails that attribute's checksum: the PDF is lost, notes.txt is not. */
static void test_bad_checksum_keeps_the_rest(void **state)
{
	guint8 *copy = g_memdup2(sample, sample_len);
	gsize pdf = find_attr(sample, sample_len, ATT_ATTACH_DATA, 0);
	GPtrArray *files = files_new();
	GError *error = NULL;
	(void)state;

	copy[pdf + 9 + 100] ^= 0x20;
	assert_false(tnef_unpack(copy, sample_len, files, NULL, &error));
	assert_non_null(strstr(error->message, "checksum"));
	assert_int_equal(files->len, 1);
	assert_string_equal(file_at(files, 0)->name, "notes.txt");
	g_error_free(error);
	g_ptr_array_unref(files);
	g_free(copy);
}

/* Mangled MAPI counts and sizes inside attAttachment: the properties are dropped, the file is
 * kept under its 8.3 title. */
static void test_damaged_mapi(void **state)
{
	static const guint32 counts[] = {0, 5000, 0xFFFFFFFF, 0x80000000};
	gsize at = find_attr(sample, sample_len, ATT_ATTACHMENT, 0);
	guint8 *copy = g_memdup2(sample, sample_len);
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
		GPtrArray *files = files_new();
		GError *error = NULL;
		guint32 sum = 0;
		gsize size;

		memcpy(copy, sample, sample_len);
		size = (gsize)copy[at + 5] | (gsize)copy[at + 6] << 8;
		set_u32(copy + at + 9, counts[i]);
		/* Fix the checksum so the damage reaches the MAPI walk. */
		for (gsize j = 0; j < size; j++)
			sum += copy[at + 9 + j];
		copy[at + 9 + size] = sum & 0xFF;
		copy[at + 9 + size + 1] = (sum >> 8) & 0xFF;
		assert_false(unpack_copy(copy, sample_len, files, NULL, &error));
		assert_non_null(strstr(error->message, "MAPI"));
		assert_int_equal(files->len, 2);
		assert_string_equal(file_at(files, 0)->name, "ANGEBO~1.PDF");
		assert_null(file_at(files, 0)->content_type);
		g_error_free(error);
		g_ptr_array_unref(files);
	}
	g_free(copy);
}

/* Random bytes, random bytes behind a valid signature, and the sample with random damage. The
 * seed is fixed so a failure can be replayed. */
static void test_random_input(void **state)
{
	GRand *rand = g_rand_new_with_seed(20260317);
	guint8 buf[600];
	guint8 *copy = g_memdup2(sample, sample_len);
	(void)state;

	for (int i = 0; i < 2000; i++) {
		gsize len = (gsize)g_rand_int_range(rand, 0, sizeof(buf));

		for (gsize j = 0; j < len; j++)
			buf[j] = (guint8)g_rand_int_range(rand, 0, 256);
		if (i % 2 && len >= 6)
			memcpy(buf, sample, 6);
		unpack_any(buf, len);
	}
	for (int i = 0; i < 3000; i++) {
		int flips = g_rand_int_range(rand, 1, 5);

		memcpy(copy, sample, sample_len);
		for (int f = 0; f < flips; f++) {
			gsize at = (gsize)g_rand_int_range(rand, 0, (gint32)sample_len);

			/* Small values in length and count fields are what reach deep. */
			if (g_rand_boolean(rand))
				copy[at] = (guint8)g_rand_int_range(rand, 0, 256);
			else
				copy[at] = (guint8)g_rand_int_range(rand, 0, 8);
		}
		unpack_any(copy, sample_len - (gsize)g_rand_int_range(rand, 0, 3));
	}
	g_free(copy);
	g_rand_free(rand);
}

/* libytnef prints to stdout on errors; none of it may reach ours, where the JSON goes. */
static void test_never_prints(void **state)
{
	char path[] = "/tmp/test_tnef_stdout_XXXXXX";
	int fd = mkstemp(path);
	int saved;
	guint8 *copy = g_memdup2(sample, sample_len);
	struct stat st;
	(void)state;

	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	for (gsize n = 0; n <= sample_len; n += 7)
		unpack_any(sample, n);
	set_u32(copy + find_attr(sample, sample_len, ATT_ATTACH_DATA, 0) + 5, 0xFFFFFFF0);
	unpack_any(copy, sample_len);
	unpack_any((const guint8 *)"\0\0\0\0\0\0\0\0", 8);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	g_free(copy);
	assert_int_equal(st.st_size, 0);
}

/* ---- streams built here ---- */

/* No MAPI properties: the title is the name, in the declared code page. */
static void test_title_code_pages(void **state)
{
	GByteArray *b = stream_new();
	struct result r;
	(void)state;

	codepage(b, 1251);
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "\xD1\xF7\xE5\xF2.txt"); /* Счет */
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	r = run(b);
	assert_true(r.ok);
	assert_int_equal(r.files->len, 1);
	assert_string_equal(file_at(r.files, 0)->name, "\xD0\xA1\xD1\x87\xD0\xB5\xD1\x82.txt");
	assert_null(file_at(r.files, 0)->content_type);
	assert_null(r.body);
	result_clear(&r);

	/* No code page: windows-1252. 0x81 is undefined there, so Latin-1 takes over. */
	b = stream_new();
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "R\xE9sum\xE9 \x80.txt");
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "x\x81y.txt");
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "gr\xC3\xBC\xC3\x9F.txt"); /* UTF-8 */
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	r = run(b);
	assert_true(r.ok);
	assert_int_equal(r.files->len, 3);
	assert_string_equal(file_at(r.files, 0)->name, "R\xC3\xA9sum\xC3\xA9 \xE2\x82\xAC.txt");
	assert_string_equal(file_at(r.files, 1)->name, "x\xC2\x81y.txt");
	assert_string_equal(file_at(r.files, 2)->name, "gr\xC3\xBC\xC3\x9F.txt");
	result_clear(&r);
}

/* libytnef turns UTF-16 into UTF-8 one unit at a time; characters beyond U+FFFF and U+07FF must
 * still come out right, and a lone surrogate as U+FFFD. */
static void test_unicode_names(void **state)
{
	static const guint16 lone[] = {'a', 0xD800, 'b', 0xDC00, '.', 't', 'x', 't'};
	GByteArray *b = stream_new();
	GByteArray *p;
	struct result r;
	(void)state;

	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "X~1.TXT");
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	p = props_new();
	props_unicode(p, PR_ATTACH_LONG_FILENAME, "x\xF0\x9F\x98\x80\xDF\xBF\xE2\x82\xAC y.txt",
		      NULL, 0);
	attr_props(b, LVL_ATTACHMENT, ATT_ATTACHMENT, p);
	rend(b);
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	p = props_new();
	props_unicode(p, PR_ATTACH_LONG_FILENAME, NULL, lone, G_N_ELEMENTS(lone));
	attr_props(b, LVL_ATTACHMENT, ATT_ATTACHMENT, p);
	rend(b);
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	p = props_new();
	props_string8(p, PR_ATTACH_LONG_FILENAME, "Best\xE4tigung.pdf");
	attr_props(b, LVL_ATTACHMENT, ATT_ATTACHMENT, p);
	r = run(b);
	assert_true(r.ok);
	assert_int_equal(r.files->len, 3);
	assert_string_equal(file_at(r.files, 0)->name,
			    "x\xF0\x9F\x98\x80\xDF\xBF\xE2\x82\xAC y.txt");
	assert_string_equal(file_at(r.files, 1)->name,
			    "a\xEF\xBF\xBD"
			    "b\xEF\xBF\xBD.txt");
	assert_string_equal(file_at(r.files, 2)->name, "Best\xC3\xA4tigung.pdf");
	result_clear(&r);
}

/* Attachments without data are skipped; PR_ATTACH_DATA_BIN stands in for attAttachData. */
static void test_data_sources(void **state)
{
	GByteArray *b = stream_new();
	GByteArray *p;
	struct result r;
	gsize size;
	const char *bytes;
	(void)state;

	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "EMPTY.TXT");
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "BIN.DAT");
	p = props_new();
	props_bytes(p, PT_BINARY, PR_ATTACH_DATA_BIN, "\x00\x01\x02\x03\x04", 5);
	props_string8(p, PR_ATTACH_MIME_TAG, " Application/Octet-Stream; x=y ");
	attr_props(b, LVL_ATTACHMENT, ATT_ATTACHMENT, p);
	r = run(b);
	assert_true(r.ok);
	assert_int_equal(r.files->len, 1);
	assert_string_equal(file_at(r.files, 0)->name, "BIN.DAT");
	assert_string_equal(file_at(r.files, 0)->content_type, "application/octet-stream");
	bytes = g_bytes_get_data(file_at(r.files, 0)->data, &size);
	assert_int_equal(size, 5);
	assert_memory_equal(bytes, "\x00\x01\x02\x03\x04", 5);
	result_clear(&r);
}

/* Attributes before the first attachment belong to none; of two, the first counts. A MIME tag
 * that is not type/subtype is no type. */
static void test_stray_and_repeated(void **state)
{
	GByteArray *b = stream_new();
	GByteArray *p;
	struct result r;
	gsize size;
	const char *bytes;
	(void)state;

	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "STRAY.TXT");
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "stray", 5);
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "FIRST.TXT");
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "SECOND.TXT");
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "one", 3);
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "two", 3);
	p = props_new();
	props_string8(p, PR_ATTACH_MIME_TAG, "pdf");
	attr_props(b, LVL_ATTACHMENT, ATT_ATTACHMENT, p);
	p = props_new();
	props_string8(p, PR_ATTACH_LONG_FILENAME, "second-props.txt");
	attr_props(b, LVL_ATTACHMENT, ATT_ATTACHMENT, p);
	r = run(b);
	assert_true(r.ok);
	assert_int_equal(r.files->len, 1);
	assert_string_equal(file_at(r.files, 0)->name, "FIRST.TXT");
	assert_null(file_at(r.files, 0)->content_type);
	bytes = g_bytes_get_data(file_at(r.files, 0)->data, &size);
	assert_int_equal(size, 3);
	assert_memory_equal(bytes, "one", 3);
	result_clear(&r);
}

/* What libytnef 2.0 gives the whole stream up for, or misreads, must cost nothing: a title over
 * 100 bytes, a MAPI subject over 100 bytes, PT_CURRENCY and PT_APPTIME (8 bytes, libytnef reads
 * 4), named and multi-valued properties, values over 512 KiB, a dated attachment. */
static void test_libytnef_limits(void **state)
{
	GByteArray *b = stream_new();
	GByteArray *p;
	struct result r;
	char title[160];
	guint8 *big = g_malloc0(600 * 1024);
	/* PSETID_Common */
	static const guint8 guid[16] = {0x08, 0x20, 0x06, 0, 0, 0, 0, 0,
					0xC0, 0,    0,	  0, 0, 0, 0, 0x46};
	static const guint8 date[14] = {0xEA, 0x07, 3, 0, 17, 0};
	(void)state;

	memset(title, 'T', sizeof(title) - 1);
	title[sizeof(title) - 1] = '\0';
	p = props_new();
	props_unicode(p, PR_SUBJECT, "A subject much longer than the hundred bytes libytnef 2.0 "
				     "copies, which made it give up the whole stream",
		      NULL, 0);
	props_unicode(p, PR_BODY, "Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80\r\nZeile 2\r\n", NULL,
		      0);
	attr_props(b, LVL_MESSAGE, ATT_MSG_PROPS, p);
	rend(b);
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_CREATE_DATE, date, 2); /* short: libytnef gives up */
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, title);
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "abc", 3);
	p = props_new();
	props_fixed(p, PT_CURRENCY, 0x6000, 8);
	props_fixed(p, PT_APPTIME, 0x6001, 8);
	props_bytes(p, PT_BINARY, 0x6002, big, 600 * 1024);
	/* Named by number, then by name. */
	put_u32(p, 0x8000u << 16 | PT_LONG);
	g_byte_array_append(p, guid, 16);
	put_u32(p, 0);
	put_u32(p, 0x8554);
	put_u32(p, 7);
	props_count(p);
	put_u32(p, 0x8001u << 16 | PT_STRING8);
	g_byte_array_append(p, guid, 16);
	put_u32(p, 1);
	put_u32(p, 6);
	g_byte_array_append(p, (const guint8 *)"x\0y\0\0\0\0\0", 8);
	put_u32(p, 1);
	put_u32(p, 2);
	g_byte_array_append(p, (const guint8 *)"z\0\0\0", 4);
	props_count(p);
	/* Multi-valued: three strings. */
	put_u32(p, 0x6003u << 16 | (PT_STRING8 | MV_FLAG));
	put_u32(p, 3);
	for (int i = 0; i < 3; i++) {
		put_u32(p, 2);
		g_byte_array_append(p, (const guint8 *)"v\0\0\0", 4);
	}
	props_count(p);
	props_unicode(p, PR_ATTACH_LONG_FILENAME, "Rechnung 2026-0042 (Kopie).pdf", NULL, 0);
	attr_props(b, LVL_ATTACHMENT, ATT_ATTACHMENT, p);
	/* A second attachment with a long title and no other name: nameless, but kept. */
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, title);
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "def", 3);
	r = run(b);
	if (!r.ok)
		fail_msg("%s", r.error->message);
	assert_int_equal(r.files->len, 2);
	assert_string_equal(file_at(r.files, 0)->name, "Rechnung 2026-0042 (Kopie).pdf");
	assert_null(file_at(r.files, 1)->name);
	assert_string_equal(r.body, "Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80\nZeile 2\n");
	result_clear(&r);
	g_free(big);
}

/* attBody wins over PR_BODY; both are in the code page when 8-bit. */
static void test_body(void **state)
{
	GByteArray *b = stream_new();
	GByteArray *p;
	struct result r;
	(void)state;

	codepage(b, 1252);
	attr(b, LVL_MESSAGE, ATT_BODY, "Gr\xFC\xDF" "e\r\nbare\rCR", 15);
	p = props_new();
	props_string8(p, PR_BODY, "not this one");
	attr_props(b, LVL_MESSAGE, ATT_MSG_PROPS, p);
	r = run(b);
	assert_true(r.ok);
	assert_int_equal(r.files->len, 0);
	assert_string_equal(r.body, "Gr\xC3\xBC\xC3\x9F" "e\nbare\nCR");
	result_clear(&r);
}

/* libytnef's default cap on one attribute is 50 MiB; a bigger attachment must still come out. */
static void test_large_attachment(void **state)
{
	gsize size = 51u << 20;
	guint8 *data = g_malloc(size);
	GByteArray *b = stream_new();
	struct result r;
	(void)state;

	for (gsize i = 0; i < size; i++)
		data[i] = (guint8)(i * 7);
	rend(b);
	attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, "BIG.BIN");
	attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, data, size);
	r = run(b);
	assert_true(r.ok);
	assert_int_equal(r.files->len, 1);
	assert_int_equal(g_bytes_get_size(file_at(r.files, 0)->data), size);
	assert_memory_equal(g_bytes_get_data(file_at(r.files, 0)->data, NULL), data, size);
	result_clear(&r);
	g_free(data);
}

static void test_attachment_cap(void **state)
{
	GByteArray *b = stream_new();
	struct result r;
	(void)state;

	for (int i = 0; i < 1005; i++) {
		char name[32];

		g_snprintf(name, sizeof(name), "F%d.TXT", i);
		rend(b);
		attr_str(b, LVL_ATTACHMENT, ATT_ATTACH_TITLE, name);
		attr(b, LVL_ATTACHMENT, ATT_ATTACH_DATA, "x", 1);
	}
	r = run(b);
	assert_false(r.ok);
	assert_non_null(strstr(r.error->message, "more than 1000 attachments"));
	assert_int_equal(r.files->len, 1000);
	assert_string_equal(file_at(r.files, 999)->name, "F999.TXT");
	result_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sample),
	    cmocka_unit_test(test_appends_without_body),
#ifdef M2T_PYTHON
	    cmocka_unit_test(test_sample_matches_generator),
#endif
	    cmocka_unit_test(test_not_tnef),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_length_past_end),
	    cmocka_unit_test(test_bad_checksum_keeps_the_rest),
	    cmocka_unit_test(test_damaged_mapi),
	    cmocka_unit_test(test_random_input),
	    cmocka_unit_test(test_never_prints),
	    cmocka_unit_test(test_title_code_pages),
	    cmocka_unit_test(test_unicode_names),
	    cmocka_unit_test(test_data_sources),
	    cmocka_unit_test(test_stray_and_repeated),
	    cmocka_unit_test(test_libytnef_limits),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_large_attachment),
	    cmocka_unit_test(test_attachment_cap),
	};
	return cmocka_run_group_tests(tests, load_sample, free_sample);
}
