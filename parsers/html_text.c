#include "parsers/html_text.h"

#include <libxml/HTMLparser.h>
#include <string.h>

/* Rendering state: text goes through emit_text(), which folds white space the way a browser does,
 * and breaks are requested with want_break() so that nested blocks give one blank line, not five. */
struct render {
	GString *out;
	int pending_breaks; /* newlines owed before the next text */
	gboolean space;	    /* a space is owed before the next text */
	int pre;	    /* inside <pre>: keep white space */
	int list_depth;
	/* Set by render_children() for the element it renders next, so that no element has to
	 * count its earlier siblings (which made long lists and tables quadratic). */
	int item_number;     /* the <li>'s place among the <li>s of its parent, from 1 */
	gboolean first_cell; /* the <td>/<th> has no cell before it in its row */
	gsize low_water;     /* the shortest out has been since render_link() last set it */
};

static void want_break(struct render *r, int n)
{
	if (r->out->len == 0)
		return;
	if (r->pending_breaks < n)
		r->pending_breaks = n;
	r->space = FALSE;
}

static void flush_breaks(struct render *r)
{
	while (r->out->len && r->out->str[r->out->len - 1] == ' ')
		g_string_truncate(r->out, r->out->len - 1);
	r->low_water = MIN(r->low_water, r->out->len);
	for (int i = 0; i < r->pending_breaks; i++)
		g_string_append_c(r->out, '\n');
	r->pending_breaks = 0;
}

static void emit_text(struct render *r, const char *text)
{
	for (const char *p = text; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (!r->pre && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f')) {
			r->space = TRUE;
			continue;
		}
		if (r->pending_breaks) {
			flush_breaks(r);
		} else if (r->space && r->out->len && r->out->str[r->out->len - 1] != '\n') {
			g_string_append_c(r->out, ' ');
		}
		r->space = FALSE;
		if (c == 0xA0)
			c = ' ';
		g_string_append_unichar(r->out, c);
	}
}

static gboolean name_is(const xmlNode *node, const char *name)
{
	return node->name && g_ascii_strcasecmp((const char *)node->name, name) == 0;
}

static gboolean name_in(const xmlNode *node, const char *const *names)
{
	for (; *names; names++)
		if (name_is(node, *names))
			return TRUE;
	return FALSE;
}

static char *attr(const xmlNode *node, const char *name)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
	char *copy = v ? g_strdup((const char *)v) : NULL;

	xmlFree(v);
	return copy;
}

/* Preheaders and tracking blocks hide themselves with inline styles. */
static gboolean is_hidden(const xmlNode *node)
{
	char *style = attr(node, "style");
	char *hidden = attr(node, "hidden");
	gboolean result = hidden != NULL;

	if (style) {
		char *s = g_ascii_strdown(style, -1);
		char *compact = g_strdelimit(s, " \t\r\n", ' ');
		GString *nospace = g_string_new(NULL);
		for (const char *c = compact; *c; c++)
			if (*c != ' ')
				g_string_append_c(nospace, *c);
		if (strstr(nospace->str, "display:none") || strstr(nospace->str, "visibility:hidden") ||
		    strstr(nospace->str, "max-height:0") || strstr(nospace->str, "font-size:0"))
			result = TRUE;
		g_string_free(nospace, TRUE);
		g_free(s);
	}
	g_free(style);
	g_free(hidden);
	return result;
}

static void render_children(struct render *r, const xmlNode *node);

static void render_link(struct render *r, const xmlNode *node)
{
	char *href = attr(node, "href");
	gsize before = r->out->len;
	gsize outer_low_water = r->low_water;

	/* A break inside the link trims the blanks before it, which lie before the link: its text
	 * then starts where the trimming stopped. */
	r->low_water = before;
	render_children(r, node);
	before = r->low_water;
	r->low_water = MIN(outer_low_water, r->low_water);
	if (href && (g_str_has_prefix(href, "http:") || g_str_has_prefix(href, "https:") ||
		     g_str_has_prefix(href, "mailto:") || g_str_has_prefix(href, "ftp:"))) {
		const char *shown = g_str_has_prefix(href, "mailto:") ? href + 7 : href;
		char *text = g_strndup(r->out->str + before, r->out->len - before);
		if (!strstr(text, shown)) {
			if (r->out->len == before) {
				emit_text(r, shown);
			} else {
				char *suffix = g_strdup_printf(" (%s)", shown);
				r->space = FALSE;
				g_string_append(r->out, suffix);
				g_free(suffix);
			}
		}
		g_free(text);
	}
	g_free(href);
}

static void render_node(struct render *r, const xmlNode *node)
{
	static const char *const skipped[] = {"script", "style", "head", "title", "template",
					      "noscript", "object", "iframe", NULL};
	static const char *const paragraphs[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6",
						 "blockquote", "table", "ul", "ol", "dl", "pre",
						 "hr", NULL};
	static const char *const blocks[] = {"div", "section", "article", "header", "footer",
					     "tr", "address", "center", "form", "fieldset",
					     "dt", "dd", "caption", "tbody", "thead", NULL};

	if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
		if (node->content)
			emit_text(r, (const char *)node->content);
		return;
	}
	if (node->type != XML_ELEMENT_NODE) {
		if (node->type != XML_COMMENT_NODE)
			render_children(r, node);
		return;
	}
	if (name_in(node, skipped) || is_hidden(node))
		return;
	if (name_is(node, "br")) {
		if (r->out->len)
			r->pending_breaks++;
		r->space = FALSE;
		return;
	}
	if (name_is(node, "img")) {
		char *alt = attr(node, "alt");
		if (alt && *g_strstrip(alt)) {
			char *shown = g_strdup_printf("[%s]", alt);
			emit_text(r, shown);
			g_free(shown);
		}
		g_free(alt);
		return;
	}
	if (name_is(node, "a")) {
		render_link(r, node);
		return;
	}
	if (name_is(node, "li")) {
		want_break(r, 1);
		r->space = FALSE;
		if (r->pending_breaks || r->out->len == 0)
			flush_breaks(r);
		if (node->parent && name_is(node->parent, "ol")) {
			g_string_append_printf(r->out, "%*s%d. ", 2 * (r->list_depth - 1), "",
					       r->item_number);
		} else {
			g_string_append_printf(r->out, "%*s- ", 2 * (r->list_depth - 1), "");
		}
		render_children(r, node);
		want_break(r, 1);
		return;
	}
	if (name_is(node, "td") || name_is(node, "th")) {
		if (!r->first_cell) {
			r->space = TRUE;
			emit_text(r, "|");
			r->space = TRUE;
		}
		render_children(r, node);
		r->space = TRUE;
		return;
	}
	if (name_in(node, paragraphs)) {
		gboolean list = name_is(node, "ul") || name_is(node, "ol");
		gboolean pre = name_is(node, "pre");
		want_break(r, list && r->list_depth ? 1 : 2);
		r->list_depth += list;
		r->pre += pre;
		if (name_is(node, "hr"))
			emit_text(r, "----");
		render_children(r, node);
		r->pre -= pre;
		r->list_depth -= list;
		want_break(r, list && r->list_depth ? 1 : 2);
		return;
	}
	if (name_in(node, blocks)) {
		want_break(r, 1);
		render_children(r, node);
		want_break(r, 1);
		return;
	}
	render_children(r, node);
}

static void render_children(struct render *r, const xmlNode *node)
{
	int items = 0, cells = 0;

	for (const xmlNode *child = node->children; child; child = child->next) {
		if (child->type == XML_ELEMENT_NODE && name_is(child, "li"))
			r->item_number = ++items;
		if (child->type == XML_ELEMENT_NODE &&
		    (name_is(child, "td") || name_is(child, "th")))
			r->first_cell = cells++ == 0;
		render_node(r, child);
	}
}

/* No trailing blanks on a line, at most one empty line in a row, none at the ends. Takes text. */
static char *tidy_lines(char *text)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_sized_new(strlen(text));
	int empty_run = 0;

	for (char **l = lines; *l; l++) {
		g_strchomp(*l);
		if (**l == '\0') {
			empty_run++;
			continue;
		}
		if (out->len)
			g_string_append(out, empty_run ? "\n\n" : "\n");
		g_string_append(out, *l);
		empty_run = 0;
	}
	g_strfreev(lines);
	g_free(text);
	return g_string_free(out, FALSE);
}

/* libxml2 prints parse errors to stderr unless told otherwise; mail HTML has plenty. */
static void ignore_xml_error(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

char *html_to_text(const char *html, gsize len)
{
	struct render r = {.out = g_string_sized_new(len / 2 + 16)};
	htmlDocPtr doc;
	char *text;

	if (len > G_MAXINT)
		len = G_MAXINT;
	xmlSetGenericErrorFunc(NULL, ignore_xml_error);
	doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
			     HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
				 HTML_PARSE_NONET | HTML_PARSE_COMPACT);
	if (doc) {
		render_children(&r, (const xmlNode *)doc);
		xmlFreeDoc(doc);
	}
	text = g_string_free(r.out, FALSE);
	return tidy_lines(text);
}
