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
	assert_renders("<a href=\"https://x.example/\">https://x.example/</a>", "https://x.example/");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paragraphs_and_breaks), cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_links),		  cmocka_unit_test(test_entities_and_nbsp),
	    cmocka_unit_test(test_removed_parts),	  cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_broken_html),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
