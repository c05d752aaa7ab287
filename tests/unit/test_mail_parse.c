/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mail_parse on shapes the sample corpus does not cover: hostile or odd input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gmime/gmime.h>
#include <string.h>

#include "parsers/mail_key.h"
#include "parsers/mail_parse.h"

static struct mail *parse(const char *text)
{
	return mail_parse(text, strlen(text), NULL);
}

static const struct mail_attachment *attachment(const struct mail *m, guint i)
{
	assert_true(i < m->attachments->len);
	return g_ptr_array_index(m->attachments, i);
}

static gboolean has_warning(const struct mail *m, const char *part)
{
	for (guint i = 0; i < m->warnings->len; i++)
		if (strstr(g_ptr_array_index(m->warnings, i), part))
			return TRUE;
	return FALSE;
}

static void test_empty_input(void **state)
{
	struct mail *m = mail_parse("", 0, NULL);
	(void)state;

	assert_string_equal(m->subject, "");
	assert_string_equal(m->text, "");
	assert_null(m->from.email);
	assert_int_equal(m->raw_size, 0);
	mail_free(m);
}

static void test_bare_cr_line_ends(void **state)
{
	struct mail *m = parse("From: x@example.org\rSubject: old mac\r\rline one\rline two\r");
	(void)state;

	assert_string_equal(m->from.email, "x@example.org");
	assert_string_equal(m->subject, "old mac");
	assert_string_equal(m->text, "line one\nline two\n");
	mail_free(m);
}

static void test_crlf_text_becomes_lf(void **state)
{
	struct mail *m = parse("From: x@example.org\r\nSubject: s\r\n\r\na\r\nb\r\n");
	(void)state;

	assert_string_equal(m->text, "a\nb\n");
	mail_free(m);
}

static void test_too_deep_keeps_the_original(void **state)
{
	GString *raw = g_string_new("From: a@example.org\nSubject: deep\nMIME-Version: 1.0\n");
	struct mail *m;
	(void)state;

	for (int i = 0; i < 100; i++)
		g_string_append_printf(
		    raw, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
	g_string_append(raw, "Content-Type: text/plain\n\ninner\n");
	m = mail_parse(raw->str, raw->len, NULL);
	assert_true(has_warning(m, "deeper than 32 levels"));
	assert_string_equal(attachment(m, 0)->filename, "original-message.eml");
	assert_int_equal(g_bytes_get_size(attachment(m, 0)->data), raw->len);
	mail_free(m);
	g_string_free(raw, TRUE);
}

static void test_unsafe_attachment_names(void **state)
{
	struct mail *m =
	    parse("From: a@example.org\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
		  "--x\nContent-Type: text/plain\n\nbody\n"
		  "--x\nContent-Type: application/pdf\n"
		  "Content-Disposition: attachment; filename=\"../../etc/passwd\"\n\nA\n"
		  "--x\nContent-Type: application/pdf\n"
		  "Content-Disposition: attachment; filename=\"..\\\\..\\\\.hidden\"\n\nB\n"
		  "--x\nContent-Type: image/png\nContent-Disposition: attachment\n\nC\n"
		  "--x--\n");
	(void)state;

	assert_string_equal(m->text, "body"); /* the line end before a boundary is the boundary's */
	/* A name without an extension takes its type's. */
	assert_string_equal(attachment(m, 0)->filename, "passwd.pdf");
	assert_string_equal(attachment(m, 1)->filename, "hidden.pdf");
	assert_string_equal(attachment(m, 2)->filename, "attachment-3.png");
	mail_free(m);
}

/* Bidi and zero-width characters make a name read as something else: they are removed. */
static void test_format_characters_leave_names(void **state)
{
	struct mail *m =
	    parse("From: a@example.org\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
		  "--x\nContent-Type: text/plain\n\nbody\n"
		  "--x\nContent-Type: application/octet-stream\n"
		  "Content-Disposition: attachment; "
		  "filename*=utf-8''invoice_%E2%80%AEfdp.exe\n\nA\n"
		  "--x\nContent-Type: application/octet-stream\n"
		  "Content-Disposition: attachment; "
		  "filename=\"=?utf-8?Q?re=E2=80=8Bport=E2=81=A6.pdf=EF=BB=BF?=\"\n\nB\n"
		  "--x\nContent-Type: application/octet-stream\n"
		  "Content-Disposition: attachment; filename*=utf-8''%E2%80%8F%E2%80%8E\n"
		  "\nC\n--x--\n");
	(void)state;

	assert_string_equal(attachment(m, 0)->filename, "invoice_fdp.exe");
	assert_string_equal(attachment(m, 1)->filename, "report.pdf");
	assert_string_equal(attachment(m, 2)->filename, "attachment-3.bin");
	mail_free(m);
}

static void test_signature_parts_are_not_text_or_attachments(void **state)
{
	struct mail *m = parse("From: a@example.org\nMIME-Version: 1.0\n"
			       "Content-Type: multipart/signed; boundary=\"s\"; "
			       "protocol=\"application/pgp-signature\"\n\n"
			       "--s\nContent-Type: text/plain\n\nsigned text\n"
			       "--s\nContent-Type: application/pgp-signature\n\n"
			       "-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"
			       "--s--\n");
	(void)state;

	assert_string_equal(m->text, "signed text");
	assert_int_equal(m->attachments->len, 0);
	mail_free(m);
}

static void test_forwarded_message_is_an_eml_attachment(void **state)
{
	struct mail *m = parse("From: a@example.org\nMIME-Version: 1.0\n"
			       "Content-Type: multipart/mixed; boundary=\"f\"\n\n"
			       "--f\nContent-Type: text/plain\n\nsee below\n"
			       "--f\nContent-Type: message/rfc822\n\n"
			       "From: b@example.org\nSubject: Original problem\n\nold text\n"
			       "--f--\n");
	(void)state;

	assert_string_equal(m->text, "see below");
	assert_string_equal(attachment(m, 0)->filename, "Original problem.eml");
	assert_string_equal(attachment(m, 0)->content_type, "message/rfc822");
	mail_free(m);
}

static void test_bounce_report(void **state)
{
	struct mail *m =
	    parse("From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered\n"
		  "MIME-Version: 1.0\n"
		  "Content-Type: multipart/report; report-type=delivery-status; "
		  "boundary=\"R\"\n\n"
		  "--R\nContent-Type: text/plain\n\nCould not deliver.\n"
		  "--R\nContent-Type: message/delivery-status\n\n"
		  "Reporting-MTA: dns; mx.example.net\n\n"
		  "Final-Recipient: rfc822; nobody@example.net\nAction: failed\n"
		  "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user\n    unknown\n\n"
		  "--R\nContent-Type: text/rfc822-headers\n\n"
		  "Message-ID: <orig@example.com>\nSubject: Your ticket\n\n"
		  "--R--\n");
	(void)state;

	assert_non_null(m->report);
	assert_string_equal(m->report->type, "delivery-status");
	assert_string_equal(m->report->action, "failed");
	assert_string_equal(m->report->status, "5.1.1");
	assert_string_equal(m->report->recipient, "nobody@example.net");
	assert_string_equal(m->report->diagnostic, "550 5.1.1 user unknown");
	assert_string_equal(m->report->original_message_id, "orig@example.com");
	assert_string_equal(m->text, "Could not deliver.");
	mail_free(m);
}

static void test_size_limits_leave_out_and_say_so(void **state)
{
	const struct parse_options opts = {.max_attachment_bytes = 10, .max_total_bytes = 15};
	const char *raw = "From: a@example.org\nMIME-Version: 1.0\n"
			  "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
			  "--x\nContent-Type: text/plain\n\nbody\n"
			  "--x\nContent-Type: text/plain\nContent-Disposition: attachment; "
			  "filename=a.txt\n\n12345678\n"
			  "--x\nContent-Type: text/plain\nContent-Disposition: attachment; "
			  "filename=big.txt\n\n123456789012345\n"
			  "--x\nContent-Type: text/plain\nContent-Disposition: attachment; "
			  "filename=b.txt\n\n12345678\n"
			  "--x\nContent-Type: text/plain\nContent-Disposition: attachment; "
			  "filename=empty.txt\n\n\n"
			  "--x--\n";
	struct mail *m = mail_parse(raw, strlen(raw), &opts);
	(void)state;

	assert_int_equal(m->attachments->len, 1);
	assert_string_equal(attachment(m, 0)->filename, "a.txt");
	assert_int_equal(m->omitted->len, 3);
	assert_non_null(strstr(g_ptr_array_index(m->omitted, 0),
			       "big.txt (15 bytes): over the "
			       "limit of 10 bytes per attachment"));
	assert_non_null(strstr(g_ptr_array_index(m->omitted, 1), "b.txt (8 bytes): over the "
								 "limit of 15 bytes for all"));
	assert_non_null(strstr(g_ptr_array_index(m->omitted, 2), "empty.txt: empty"));
	assert_true(g_str_has_prefix(m->text, "body\n\n[mail2ticket left out attachments"));
	assert_non_null(strstr(mail_reply_text(m), "- big.txt (15 bytes)"));
	mail_free(m);
}

/* A dry run measures a base64 attachment without decoding it: the size a delivery's decoding
 * gives, no bytes, and the same limits; base64 that is not plain is decoded as before. */
static void test_dry_run_counts_base64_attachments(void **state)
{
	const struct parse_options full = {.max_attachment_bytes = 3};
	const struct parse_options dry = {.max_attachment_bytes = 3, .attachment_sizes_only = TRUE};
	const char *raw = "From: a@example.org\nMIME-Version: 1.0\n"
			  "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
			  "--x\nContent-Type: text/plain\n\nbody\n"
			  "--x\nContent-Type: application/pdf; name=a.pdf\n"
			  "Content-Transfer-Encoding: base64\n\nQUJD\r\nRA==\r\n"
			  "--x\nContent-Type: application/pdf; name=b.pdf\n"
			  "Content-Transfer-Encoding: base64\n\nQUJD\n"
			  "--x\nContent-Type: application/pdf; name=c.pdf\n"
			  "Content-Transfer-Encoding: base64\n\nQU!JD\n"
			  "--x--\n";
	struct mail *a = mail_parse(raw, strlen(raw), &full);
	struct mail *b = mail_parse(raw, strlen(raw), &dry);
	(void)state;

	assert_int_equal(a->attachments->len, 2);
	assert_int_equal(b->attachments->len, 2);
	assert_string_equal(b->text, a->text);
	/* a.pdf, 4 bytes, over the limit either way. */
	assert_int_equal(b->omitted->len, 1);
	assert_string_equal(g_ptr_array_index(b->omitted, 0), g_ptr_array_index(a->omitted, 0));
	assert_non_null(strstr(g_ptr_array_index(b->omitted, 0), "a.pdf (4 bytes)"));
	for (guint i = 0; i < 2; i++) {
		assert_string_equal(attachment(b, i)->filename, attachment(a, i)->filename);
		assert_int_equal(attachment(b, i)->size, attachment(a, i)->size);
		assert_int_equal(attachment(a, i)->size, g_bytes_get_size(attachment(a, i)->data));
	}
	assert_string_equal(attachment(b, 0)->filename, "b.pdf");
	assert_int_equal(attachment(b, 0)->size, 3);
	assert_null(attachment(b, 0)->data);
	/* "QU!JD" is not plain base64: decoded (GMime skips the '!'). */
	assert_string_equal(attachment(b, 1)->filename, "c.pdf");
	assert_non_null(attachment(b, 1)->data);
	mail_free(a);
	mail_free(b);
}

static void test_gbk_text_labelled_gb2312(void **state)
{
	/* 镕 is in GBK (0xE9 0x46) but not in GB2312. */
	struct mail *m = parse("From: a@example.org\nContent-Type: text/plain; charset=gb2312\n"
			       "Content-Transfer-Encoding: 8bit\n\n\xE9\x46\n");
	(void)state;

	assert_string_equal(m->text, "镕\n");
	assert_int_equal(m->warnings->len, 0);
	mail_free(m);
}

static void test_key_prefers_message_id(void **state)
{
	struct mail *m = parse("From: a@example.org\nMessage-ID: <abc@example.org>\n\nx\n");
	struct mail *n = parse("From: a@example.org\n\nx\n");
	char *k1 = mail_key(m);
	char *k2 = mail_key(n);
	(void)state;

	assert_true(g_str_has_prefix(k1, "mid:abc@example.org#"));
	assert_int_equal(strlen(k1), strlen("mid:abc@example.org#") + 16);
	assert_true(g_str_has_prefix(k2, "sha256:"));
	assert_int_equal(strlen(k2), 7 + 64);
	g_free(k1);
	g_free(k2);
	mail_free(m);
	mail_free(n);
}

/* The key tells apart mails that share a Message-ID, and not one mail delivered again: with
 * CRLF, with lines a hop adds on top, with blank lines at the end, refolded. */
static void test_key_tells_mails_with_one_message_id_apart(void **state)
{
	static const char *const same[] = {
	    "From: a@example.org\nDate: Thu, 5 Mar 2026 10:00:00 +0000\nSubject: Hi there\n"
	    "Message-ID: <f@x>\n\nLine.\n",
	    "Received: by mx\r\nFrom: a@example.org\r\nDate: Thu, 5 Mar 2026 10:00:00 +0000\r\n"
	    "Subject: Hi\r\n there\r\nMessage-ID: <f@x>\r\n\r\nLine.\r\n\r\n",
	};
	/* A body line starting "From ", as an mbox file quotes it and as an mbox reader gives
	 * it. */
	static const char *const quoted[] = {
	    "From: a@example.org\nSubject: q\nMessage-ID: <q@x>\n\nFrom here on.\n",
	    "From: a@example.org\nSubject: q\nMessage-ID: <q@x>\n\n>From here on.\n",
	    "From: a@example.org\nSubject: q\nMessage-ID: <q@x>\n\n>>From here on.\n",
	};
	static const char *const other[] = {
	    "From: b@example.org\nDate: Thu, 5 Mar 2026 10:00:00 +0000\nSubject: Hi there\n"
	    "Message-ID: <f@x>\n\nLine.\n",
	    "From: a@example.org\nDate: Thu, 5 Mar 2026 10:00:00 +0000\nSubject: Hi there\n"
	    "Message-ID: <f@x>\n\nAnother line.\n",
	    "From: a@example.org\nDate: Thu, 5 Mar 2026 10:01:00 +0000\nSubject: Hi there\n"
	    "Message-ID: <f@x>\n\nLine.\n",
	};
	struct mail *first = parse(same[0]);
	char *key = mail_key(first);
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(same); i++) {
		struct mail *m = parse(same[i]);
		char *k = mail_key(m);
		assert_string_equal(k, key);
		g_free(k);
		mail_free(m);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(other); i++) {
		struct mail *m = parse(other[i]);
		char *k = mail_key(m);
		assert_string_not_equal(k, key);
		g_free(k);
		mail_free(m);
	}
	g_free(key);
	mail_free(first);
	first = parse(quoted[0]);
	key = mail_key(first);
	for (gsize i = 1; i < G_N_ELEMENTS(quoted); i++) {
		struct mail *m = parse(quoted[i]);
		char *k = mail_key(m);
		assert_string_equal(k, key);
		g_free(k);
		mail_free(m);
	}
	g_free(key);
	mail_free(first);
}

/* Journals keep mails under their keys: the digest of a mail must stay what earlier versions
 * made of it (these values are from before the digest's scan was rewritten). */
static void test_key_digest_does_not_change(void **state)
{
	static const struct {
		const char *mail, *key;
	} pinned[] = {
	    {"From: a@example.org\r\nSubject: q\r\nMessage-ID: <q@x>\r\n\r\n>From here on.\r\n"
	     "A line\rwith CR\r\n>>From x\r\n > not\r\n>>>no From\r\n\r\n",
	     "mid:q@x#a73262b1618177a1"},
	    {"Received: by mx\nFrom: \"A\" <a@example.org>\nDate: Thu, 5 Mar 2026 10:00:00 +0000\n"
	     "Subject: Pinned\n  key\nMessage-ID: <pin@x>\n\n> quoted line\nmid >From line\n"
	     ">>From here\n\n\n",
	     "mid:pin@x#224480117dffc394"},
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(pinned); i++) {
		struct mail *m = parse(pinned[i].mail);
		char *key = mail_key(m);
		assert_string_equal(key, pinned[i].key);
		g_free(key);
		mail_free(m);
	}
}

/* A mail parsed with keys_on_demand has no digests until mail_key() asks, then the key the
 * parse would have made at once, and lets go of its bytes. */
static void test_key_on_demand_is_the_same(void **state)
{
	static const char *const mails[] = {
	    "From: a@example.org\r\nSubject: q\r\nMessage-ID: <q@x>\r\n\r\n>From here on.\r\n",
	    "Return-Path: <a@example.org>\nDelivered-To: s@example.com\nFrom: a@example.org\n"
	    "Subject: no id\n\nbody\n",
	    "From: a@example.org\nSubject: no id, nothing added\n\nbody\n",
	    "",
	};
	const struct parse_options on_demand = {.keys_on_demand = TRUE};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(mails); i++) {
		GBytes *raw = g_bytes_new(mails[i], strlen(mails[i]));
		struct mail *now = mail_parse(mails[i], strlen(mails[i]), &on_demand);
		struct mail *later = mail_parse_bytes(raw, &on_demand);
		struct mail *never = mail_parse_bytes(raw, &on_demand);
		char *key = mail_key(now);
		char *made;
		assert_null(now->key_source);
		assert_non_null(later->key_source);
		assert_string_equal(later->identity, "");
		assert_string_equal(later->content_sha256, "");
		made = mail_key(later);
		assert_string_equal(made, key);
		assert_null(later->key_source);
		g_free(made);
		made = mail_key(later);
		assert_string_equal(made, key);
		g_free(made);
		g_free(key);
		mail_free(now);
		mail_free(later);
		mail_free(never);
		g_bytes_unref(raw);
	}
}

/* The reply cut is made when first asked for, and then as it was: the forward's sender found,
 * the quoted history cut, the note on files left out kept after it. */
static void test_reply_cut_when_asked(void **state)
{
	static const char mail[] =
	    "From: Agent <agent@example.com>\nSubject: Fwd: help\nMessage-ID: <fw@x>\n\n"
	    "Please look at this.\n\n---------- Forwarded message ---------\n"
	    "From: Jane Customer <jane@example.org>\nDate: Wed, 4 Mar 2026 09:00:00 +0000\n"
	    "Subject: help\n\nMy printer is broken.\n";
	struct mail *m = parse(mail);
	(void)state;

	assert_non_null(m->reply_cut);
	assert_null(m->original_sender.email);
	assert_string_equal(mail_original_sender(m)->email, "jane@example.org");
	assert_string_equal(mail_original_sender(m)->name, "Jane Customer");
	assert_null(m->reply_cut);
	assert_string_equal(mail_reply_text(m), "Please look at this.");
	assert_non_null(strstr(m->text, "My printer is broken."));
	mail_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_input),
	    cmocka_unit_test(test_dry_run_counts_base64_attachments),
	    cmocka_unit_test(test_bare_cr_line_ends),
	    cmocka_unit_test(test_crlf_text_becomes_lf),
	    cmocka_unit_test(test_too_deep_keeps_the_original),
	    cmocka_unit_test(test_unsafe_attachment_names),
	    cmocka_unit_test(test_format_characters_leave_names),
	    cmocka_unit_test(test_signature_parts_are_not_text_or_attachments),
	    cmocka_unit_test(test_forwarded_message_is_an_eml_attachment),
	    cmocka_unit_test(test_bounce_report),
	    cmocka_unit_test(test_size_limits_leave_out_and_say_so),
	    cmocka_unit_test(test_gbk_text_labelled_gb2312),
	    cmocka_unit_test(test_key_prefers_message_id),
	    cmocka_unit_test(test_key_tells_mails_with_one_message_id_apart),
	    cmocka_unit_test(test_key_digest_does_not_change),
	    cmocka_unit_test(test_key_on_demand_is_the_same),
	    cmocka_unit_test(test_reply_cut_when_asked),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
