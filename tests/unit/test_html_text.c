/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTML bodies as readable text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "parsers/html_text.h"

static void assert_renders(const char *html, const char *want)
{
	char *got = html_to_text(html, strlen(html));
	assert_string_equal(got, want);
	g_free(got);
}

static void test_paragraphs_and_breaks(void **state)
{
	(void)state;
	assert_renders("<p>Hello</p><p>second<br>line</p>", "Hello\n\nsecond\nline");
	assert_renders("<div>a</div><div>b</div>", "a\nb");
	assert_renders("<p>  lots   of\n  space  </p>", "lots of space");
}

static void test_lists(void **state)
{
	(void)state;
	assert_renders("<p>Tried:</p><ul><li>one</li><li>two</li></ul><p>end</p>",
		       "Tried:\n\n- one\n- two\n\nend");
	assert_renders("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second");
}

static void test_links(void **state)
{
	(void)state;
	assert_renders("see <a href=\"https://x.example/\">status page</a>.",
		       "see status page (https://x.example/).");
	assert_renders("<a href=\"https://x.example/\">https://x.example/</a>",
		       "https://x.example/");
	assert_renders("<a href=\"mailto:a@example.org\">mail us</a>", "mail us (a@example.org)");
	assert_renders("<a href=\"javascript:evil()\">click</a>", "click");
}

static void test_entities_and_nbsp(void **state)
{
	(void)state;
	assert_renders("caf&eacute; &amp; tea&nbsp;time &#8364;5", "café & tea time €5");
}

static void test_removed_parts(void **state)
{
	(void)state;
	assert_renders("<html><head><title>T</title><style>p{color:red}</style></head><body>"
		       "<script>alert(1)</script><p>shown</p></body></html>",
		       "shown");
	assert_renders("<div style=\"display: none; max-height:0\">preheader</div><p>body</p>",
		       "body");
	assert_renders("<!-- a comment --><p>x</p>", "x");
}

static void test_tables(void **state)
{
	(void)state;
	assert_renders("<table><tr><td>Order</td><td>42</td></tr><tr><td>Total</td><td>9</td></tr>"
		       "</table>",
		       "Order | 42\nTotal | 9");
}

static void test_broken_html(void **state)
{
	(void)state;
	assert_renders("<p>unclosed <b>bold<p>next", "unclosed bold\n\nnext");
	assert_renders("", "");
	assert_renders("<p>1 < 2 &lt; 3</p>", "1 < 2 < 3");
}

/* A break inside a link trims the blanks before the link: the output once became shorter than
 * where the link began, and the length of the link's text wrapped below zero. */
static void test_break_inside_a_link_after_blanks(void **state)
{
	(void)state;
	assert_renders("<pre>abc          <a href=\"http://x.org/\"><br>y</a></pre>",
		       "abc\ny (http://x.org/)");
	assert_renders("<pre>a <a href=\"http://x.org/\"><br></a></pre>", "a\nhttp://x.org/");
	assert_renders("x   <a href=\"http://o.org/\"> <a href=\"http://i.org/\"><br>y</a></a>",
		       "x http://o.org/\ny (http://i.org/)");
}

/* Numbers and cell separators come from the renderer's own count, not from walking back over
 * the siblings (quadratic in long lists and rows). */
static void test_long_lists_and_rows(void **state)
{
	GString *html = g_string_new("<ol>");
	GString *want = g_string_new(NULL);
	char *got;
	(void)state;

	for (int i = 1; i <= 3000; i++) {
		g_string_append_printf(html, "<li>item</li>%s", i % 7 ? "" : "<p>x</p>");
		g_string_append_printf(want, "%s%d. item%s", i > 1 ? "\n" : "", i,
				       i % 7 ? "" : "\n\nx\n");
	}
	g_string_append(html, "</ol>");
	got = html_to_text(html->str, html->len);
	assert_string_equal(got, want->str);
	g_free(got);
	assert_renders("<table><tr><td>a</td><th>b</th><td>c</td></tr><tr><td>d</td></tr></table>",
		       "a | b | c\nd");
	g_string_free(html, TRUE);
	g_string_free(want, TRUE);
}

/* libxml2 stops building a document tree past 256 levels; rendered from its events, the text of
 * a deeply nested mail is kept. */
static void test_deep_nesting_keeps_the_text(void **state)
{
	GString *html = g_string_new(NULL);
	char *got;
	(void)state;

	for (int i = 0; i < 5000; i++)
		g_string_append(html, i % 2 ? "<div>" : "<span>");
	g_string_append(html, "deep <a href=\"https://x.example/\">link</a> text");
	got = html_to_text(html->str, html->len);
	assert_string_equal(got, "deep link (https://x.example/) text");
	g_free(got);
	g_string_free(html, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paragraphs_and_breaks), cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_links),		  cmocka_unit_test(test_entities_and_nbsp),
	    cmocka_unit_test(test_removed_parts),	  cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_broken_html),
	    cmocka_unit_test(test_break_inside_a_link_after_blanks),
	    cmocka_unit_test(test_long_lists_and_rows),
	    cmocka_unit_test(test_deep_nesting_keeps_the_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
