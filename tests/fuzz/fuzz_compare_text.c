/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the form message texts are compared in (desk/compare_text.c). The form of a
 * form is itself; text without '<', '>', '&' and NUL comes out of the strip_tags() emulation as
 * it went in, and its form is the text with its blanks collapsed; the text HTML-escaped has the
 * text's form, and so has, for text without '&', the text stripped as WHMCS 7 strips it and that
 * escaped as WHMCS 8 escapes it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk/compare_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* htmlspecialchars($text, ENT_QUOTES). */
static GString *php_escaped(const char *text, gsize len)
{
	GString *out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++) {
		switch (text[i]) {
		case '&':
			g_string_append(out, "&amp;");
			break;
		case '<':
			g_string_append(out, "&lt;");
			break;
		case '>':
			g_string_append(out, "&gt;");
			break;
		case '"':
			g_string_append(out, "&quot;");
			break;
		case '\'':
			g_string_append(out, "&#039;");
			break;
		default:
			g_string_append_c(out, text[i]);
		}
	}
	return out;
}

/* Blanks collapsed the plain way: words joined by one space. */
static char *words(const char *text, gsize len)
{
	GString *out = g_string_sized_new(len);
	gsize i = 0;

	while (i < len) {
		gsize start;
		while (i < len && strchr(" \t\n\v\f\r", text[i]) && text[i])
			i++;
		start = i;
		while (i < len && !(strchr(" \t\n\v\f\r", text[i]) && text[i]))
			i++;
		if (i > start) {
			if (out->len)
				g_string_append_c(out, ' ');
			g_string_append_len(out, text + start, i - start);
		}
	}
	return g_string_free(out, FALSE);
}

static void assert_same_form(const char *form, const char *other, gsize len)
{
	char *other_form = compare_text_form(other, len);

	if (strcmp(form, other_form) != 0)
		abort();
	g_free(other_form);
}

static void check_plain(const char *text, gsize len)
{
	GString *plain = g_string_sized_new(len);
	char *stripped, *collapsed, *form;

	for (gsize i = 0; i < len; i++)
		if (!strchr("<>&", text[i]) && text[i])
			g_string_append_c(plain, text[i]);
	stripped = compare_text_strip_tags(plain->str, plain->len);
	if (strcmp(stripped, plain->str) != 0)
		abort();
	collapsed = words(plain->str, plain->len);
	form = compare_text_form(plain->str, plain->len);
	if (strcmp(form, collapsed) != 0)
		abort();
	g_free(form);
	g_free(collapsed);
	g_free(stripped);
	g_string_free(plain, TRUE);
}

/* For text without '&', the forms WHMCS gives it back in. */
static void check_desk_forms(const char *text, gsize len)
{
	GString *no_amp = g_string_sized_new(len);
	GString *escaped;
	char *no_amp_form, *stripped;

	for (gsize i = 0; i < len; i++)
		if (text[i] != '&')
			g_string_append_c(no_amp, text[i]);
	no_amp_form = compare_text_form(no_amp->str, no_amp->len);
	stripped = compare_text_strip_tags(no_amp->str, no_amp->len);
	assert_same_form(no_amp_form, stripped, strlen(stripped));
	escaped = php_escaped(stripped, strlen(stripped));
	assert_same_form(no_amp_form, escaped->str, escaped->len);
	g_string_free(escaped, TRUE);
	g_free(stripped);
	g_free(no_amp_form);
	g_string_free(no_amp, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char *form = compare_text_form(text, size);
	GString *escaped = php_escaped(text, size);

	assert_same_form(form, form, strlen(form));
	assert_same_form(form, escaped->str, escaped->len);
	check_plain(text, size);
	check_desk_forms(text, size);
	g_string_free(escaped, TRUE);
	g_free(form);
	return 0;
}
