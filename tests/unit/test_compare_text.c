/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The form message texts are compared in (desk/compare_text.c): PHP's strip_tags() emulated, and
 * a text recognized whether a desk gives it back as sent, stripped (WHMCS 7) or HTML-escaped
 * (WHMCS 8), while different texts stay different. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "desk/compare_text.h"
#include "desk/desk.h"

static void assert_stripped(const char *text, gsize len, const char *want)
{
	char *got = compare_text_strip_tags(text, len);

	assert_string_equal(got, want);
	g_free(got);
}

/* What strip_tags() gives, traced through php-src's php_strip_tags_ex by hand. */
static void test_strip_tags_as_php(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"John <john@example.com> wrote:", "John  wrote:"},
	    {"a < b and c > d", "a < b and c > d"},
	    {"1<2", "1"},
	    {"x <!-- a > b --> y", "x  y"},
	    {"<!-->after", "after"},
	    {"<a href=\"x>y\">link</a> end", "link end"},
	    {"<a title='it\"s'>t</a>", "t"},
	    {"before <b unterminated", "before "},
	    {"before <!-- never closed > x", "before "},
	    {"<?php echo '?>'; ?>after", "after"},
	    {"<?php f( ?> x) ?>y", "y"},
	    {"<?php if (a) { ?> text ?>x", " text ?>x"},
	    {"<!DOCTYPE html><p>Hi</p>", "Hi"},
	    {"<a<b>c>d", "d"},
	    {"<b>bold</b> &amp; &lt;kept&gt;", "bold &amp; &lt;kept&gt;"},
	    {"trailing <", "trailing "},
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		assert_stripped(cases[i].text, strlen(cases[i].text), cases[i].want);
	/* PHP drops NUL bytes. */
	assert_stripped("a\0b<c\0>d", 8, "abd");
}

static void assert_form(const char *text, const char *want)
{
	char *got = compare_text_form(text, strlen(text));

	assert_string_equal(got, want);
	g_free(got);
}

static void test_form(void **state)
{
	(void)state;
	assert_form("  Hello\r\n\tworld \v\f ", "Hello world");
	assert_form("&lt;b&gt;bold&lt;/b&gt; text", "bold text");
	assert_form("AT&amp;T", "AT&T");
	assert_form("AT&amp;amp;T", "AT&T");
	assert_form("&quot;q&quot; &apos;a&apos; &#39;b&#039; &#x27;c&#X27;", "\"q\" 'a' 'b' 'c'");
	assert_form("caf&#233; &#x20AC;", "caf\xc3\xa9 \xe2\x82\xac");
	assert_form("&#60;x&#x3E;y", "y");
	/* What decoding makes is decoded too. */
	assert_form("&amp;lt;b&amp;gt;x", "x");
	assert_form("&lt&#59;b>x", "x");
	/* Not entities: left as they are. */
	assert_form("&#0; &#xD800; &#1114112; &bogus;", "&#0; &#xD800; &#1114112; &bogus;");
	assert_form("&lt &; &#; &#x;", "&lt &; &#; &#x;");
	assert_form("&#0000000060;", "&#0000000060;");
	/* A '<' before a blank is text, but not at the end, where it would open a tag if read
	 * again. */
	assert_form("a < b", "a < b");
	assert_form("a < \n", "a");
	assert_form("a < < ", "a");
	/* An entity its parts spell once the tag between them is gone. */
	assert_form("&am<b>p;lt; x", "< x");
}

/* htmlspecialchars($text, ENT_QUOTES), as WHMCS 8 gives messages back. */
static char *php_escaped(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p; p++) {
		switch (*p) {
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
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

/* The mail's text as a desk may give it back: as sent with CRLF, stripped, escaped, both. */
static void assert_recognized(const char *sent)
{
	char **lines = g_strsplit(sent, "\n", -1);
	char *crlf = g_strjoinv("\r\n", lines);
	char *stripped = compare_text_strip_tags(sent, strlen(sent));
	char *escaped = php_escaped(sent);
	char *both = php_escaped(stripped);

	assert_true(desk_same_text(sent, sent));
	assert_true(desk_same_text(sent, crlf));
	assert_true(desk_same_text(sent, stripped));
	assert_true(desk_same_text(sent, escaped));
	assert_true(desk_same_text(sent, both));
	assert_true(desk_same_text(escaped, stripped));
	g_strfreev(lines);
	g_free(crlf);
	g_free(stripped);
	g_free(escaped);
	g_free(both);
}

static void test_the_same_mail_in_every_form_a_desk_gives_back(void **state)
{
	static const char *const texts[] = {
	    "John <john@example.com> wrote:\n> Is the printer fixed?\n\nNot yet.\n",
	    "See <https://example.com/status?a=1&b=2> for details.",
	    "If a < b and c > d, then a < d.",
	    "Hello <!-- a comment with > inside --> world",
	    "Ends in an unterminated <tag that runs on\nand on",
	    "Tom & Jerry say \"hi\" and 'bye' &amp; &lt;more&gt; &#169;",
	    "<p>An <b>HTML</b> mail</p>\n<br/>",
	    "Plain text without anything special.",
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++)
		assert_recognized(texts[i]);
}

static void test_different_texts_differ(void **state)
{
	static const char *const pairs[][2] = {
	    {"Hello", "Hullo"},
	    {"John <john@example.com> wrote: yes", "John <john@example.com> wrote: no"},
	    {"a < b", "a > b"},
	    {"", "x"},
	    {"See <https://example.com/a> now", "See <https://example.com/a> later"},
	    {"Tom &amp; Jerry", "Tom and Jerry"},
	    {"one two", "onetwo"},
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(pairs); i++) {
		char *escaped = php_escaped(pairs[i][1]);
		assert_false(desk_same_text(pairs[i][0], pairs[i][1]));
		assert_false(desk_same_text(pairs[i][0], escaped));
		g_free(escaped);
	}
}

/* The form of a form is itself, for texts that make each step undo another's work. */
static void test_form_of_a_form(void **state)
{
	static const char *const texts[] = {
	    "&am<b>p;", "a <\t", "&&#108;t;b>x", "<<<>>>", "&lt;!-- x --&gt;y", "x\0y",
	};
	(void)state;

	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
		char *once = compare_text_form(texts[i], strlen(texts[i]));
		char *twice = compare_text_form(once, strlen(once));
		assert_string_equal(once, twice);
		g_free(once);
		g_free(twice);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strip_tags_as_php),
	    cmocka_unit_test(test_form),
	    cmocka_unit_test(test_the_same_mail_in_every_form_a_desk_gives_back),
	    cmocka_unit_test(test_different_texts_differ),
	    cmocka_unit_test(test_form_of_a_form),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
