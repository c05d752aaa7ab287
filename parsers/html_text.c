/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTML bodies to text with libxml2's parser: one walk over the tree, linear in its size. The
 * module mail2ticket-html.so (html_module.h). */
#include "parsers/html_module.h"

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>
#include <string.h>

#include "modules/module.h"
#include "parsers/lines.h"

/* The HTML is rendered as libxml2 reads it (SAX events), without building a document tree: a
 * tree took 30 times the mail's size in memory (844 MB for a 29 MB table), and past 256 levels of
 * nesting libxml2 stops building it and the text was lost. Here memory is the text made and one
 * small frame per open element. */

/* What an open element does when it ends. */
enum frame_kind {
	FRAME_PLAIN,	 /* nothing */
	FRAME_LINK,	 /* <a>: the address after the text, unless the text shows it */
	FRAME_ITEM,	 /* <li> */
	FRAME_CELL,	 /* <td>, <th> */
	FRAME_PARAGRAPH, /* a blank line around it */
	FRAME_BLOCK,	 /* a line break around it */
};

struct frame {
	enum frame_kind kind;
	gboolean ordered; /* <ol>: its items are numbered */
	gboolean list;	  /* <ul>, <ol> */
	gboolean pre;	  /* <pre> */
	int items;	  /* <li> children so far */
	int cells;	  /* <td>/<th> children so far */
	char *href;		 /* FRAME_LINK: an address worth showing, or NULL */
	gsize link_start;	 /* FRAME_LINK: where its text began */
	gsize outer_low_water; /* FRAME_LINK: low_water of the enclosing link */
};

/* Rendering state: text goes through emit_text(), which folds white space the way a browser
 * does, and breaks are requested with want_break() so that nested blocks give one blank line,
 * not five. */
struct render {
	GString *out;
	GArray *open;	    /* of struct frame: the elements open, outermost first */
	int skipping;	    /* inside an element whose content is not shown: its depth */
	int pending_breaks; /* newlines owed before the next text */
	gboolean space;	    /* a space is owed before the next text */
	int pre;	    /* inside <pre>: keep white space */
	int list_depth;
	gsize low_water; /* the shortest out has been since the innermost link began */
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

/* The HTML standard reads a reference to 128-159 (&#150;) as the windows-1252 character of that
 * byte, as browsers do; the five bytes windows-1252 leaves undefined stay as they are. */
static gunichar windows_1252_reference(gunichar c)
{
	static const gunichar c1[32] = {
	    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
	};

	return c >= 0x80 && c <= 0x9F ? c1[c - 0x80] : c;
}

static void emit_text_len(struct render *r, const char *text, gsize len)
{
	const char *end = text + len;

	for (const char *p = text; p < end; p = g_utf8_next_char(p)) {
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
		g_string_append_unichar(r->out, windows_1252_reference(c));
	}
}

static void emit_text(struct render *r, const char *text)
{
	emit_text_len(r, text, strlen(text));
}

static gboolean name_in(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (g_ascii_strcasecmp(name, *names) == 0)
			return TRUE;
	return FALSE;
}

static gboolean name_is(const char *name, const char *want)
{
	return g_ascii_strcasecmp(name, want) == 0;
}

/* The value of attribute name in SAX's name/value list, or NULL. */
static const char *attr(const xmlChar **atts, const char *name)
{
	for (; atts && atts[0]; atts += 2)
		if (g_ascii_strcasecmp((const char *)atts[0], name) == 0)
			return atts[1] ? (const char *)atts[1] : "";
	return NULL;
}

/* Preheaders and tracking blocks hide themselves with inline styles. */
static gboolean is_hidden(const xmlChar **atts)
{
	const char *style = attr(atts, "style");
	gboolean result = attr(atts, "hidden") != NULL;

	if (style) {
		GString *compact = g_string_new(NULL);
		for (const char *c = style; *c; c++)
			if (!g_ascii_isspace(*c))
				g_string_append_c(compact, g_ascii_tolower(*c));
		if (strstr(compact->str, "display:none") ||
		    strstr(compact->str, "visibility:hidden") ||
		    strstr(compact->str, "max-height:0") || strstr(compact->str, "font-size:0"))
			result = TRUE;
		g_string_free(compact, TRUE);
	}
	return result;
}

static struct frame *innermost(struct render *r)
{
	return r->open->len ? &g_array_index(r->open, struct frame, r->open->len - 1) : NULL;
}

static void start_link(struct render *r, struct frame *f, const xmlChar **atts)
{
	const char *href = attr(atts, "href");

	f->kind = FRAME_LINK;
	if (href && (g_str_has_prefix(href, "http:") || g_str_has_prefix(href, "https:") ||
		     g_str_has_prefix(href, "mailto:") || g_str_has_prefix(href, "ftp:")))
		f->href = g_strdup(href);
	f->link_start = r->out->len;
	f->outer_low_water = r->low_water;
	/* A break inside the link trims the blanks before it, which lie before the link: its text
	 * then starts where the trimming stopped. */
	r->low_water = f->link_start;
}

static void end_link(struct render *r, struct frame *f)
{
	gsize start = r->low_water;

	r->low_water = MIN(f->outer_low_water, r->low_water);
	if (f->href) {
		const char *shown = g_str_has_prefix(f->href, "mailto:") ? f->href + 7 : f->href;
		if (!strstr(r->out->str + start, shown)) {
			if (r->out->len == start) {
				emit_text(r, shown);
			} else {
				r->space = FALSE;
				g_string_append_printf(r->out, " (%s)", shown);
			}
		}
		g_free(f->href);
	}
}

static void start_item(struct render *r, struct frame *f, struct frame *parent)
{
	int number = parent ? ++parent->items : 1;

	f->kind = FRAME_ITEM;
	want_break(r, 1);
	r->space = FALSE;
	if (r->pending_breaks || r->out->len == 0)
		flush_breaks(r);
	if (parent && parent->ordered)
		g_string_append_printf(r->out, "%*s%d. ", 2 * (r->list_depth - 1), "", number);
	else
		g_string_append_printf(r->out, "%*s- ", 2 * (r->list_depth - 1), "");
}

static void start_cell(struct render *r, struct frame *f, struct frame *parent)
{
	f->kind = FRAME_CELL;
	if (parent && ++parent->cells > 1) {
		r->space = TRUE;
		emit_text(r, "|");
		r->space = TRUE;
	}
}

static void start_paragraph(struct render *r, struct frame *f, const char *name)
{
	f->kind = FRAME_PARAGRAPH;
	f->list = name_is(name, "ul") || name_is(name, "ol");
	f->ordered = name_is(name, "ol");
	f->pre = name_is(name, "pre");
	want_break(r, f->list && r->list_depth ? 1 : 2);
	r->list_depth += f->list;
	r->pre += f->pre;
	if (name_is(name, "hr"))
		emit_text(r, "----");
}

static void on_start(void *ctx, const xmlChar *tag, const xmlChar **atts)
{
	static const char *const skipped[] = {"script", "style", "head", "title", "template",
					      "noscript", "object", "iframe", NULL};
	static const char *const paragraphs[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6",
						 "blockquote", "table", "ul", "ol", "dl", "pre",
						 "hr", NULL};
	static const char *const blocks[] = {"div", "section", "article", "header", "footer",
					     "tr", "address", "center", "form", "fieldset",
					     "dt", "dd", "caption", "tbody", "thead", NULL};
	struct render *r = ctx;
	const char *name = (const char *)tag;
	struct frame f = {.kind = FRAME_PLAIN};
	struct frame *parent = innermost(r);

	if (r->skipping || name_in(name, skipped) || is_hidden(atts)) {
		r->skipping++;
		return;
	}
	if (name_is(name, "br")) {
		if (r->out->len)
			r->pending_breaks++;
		r->space = FALSE;
	} else if (name_is(name, "img")) {
		const char *alt = attr(atts, "alt");
		char *shown = alt ? g_strstrip(g_strdup(alt)) : NULL;
		if (shown && *shown) {
			char *bracketed = g_strdup_printf("[%s]", shown);
			emit_text(r, bracketed);
			g_free(bracketed);
		}
		g_free(shown);
	} else if (name_is(name, "a")) {
		start_link(r, &f, atts);
	} else if (name_is(name, "li")) {
		start_item(r, &f, parent);
	} else if (name_is(name, "td") || name_is(name, "th")) {
		start_cell(r, &f, parent);
	} else if (name_in(name, paragraphs)) {
		start_paragraph(r, &f, name);
	} else if (name_in(name, blocks)) {
		f.kind = FRAME_BLOCK;
		want_break(r, 1);
	}
	g_array_append_val(r->open, f);
}

static void on_end(void *ctx, const xmlChar *tag)
{
	struct render *r = ctx;
	struct frame f;

	(void)tag;
	if (r->skipping) {
		r->skipping--;
		return;
	}
	if (!r->open->len)
		return;
	f = *innermost(r);
	g_array_set_size(r->open, r->open->len - 1);
	switch (f.kind) {
	case FRAME_LINK:
		end_link(r, &f);
		break;
	case FRAME_ITEM:
		want_break(r, 1);
		break;
	case FRAME_CELL:
		r->space = TRUE;
		break;
	case FRAME_PARAGRAPH:
		r->pre -= f.pre;
		r->list_depth -= f.list;
		want_break(r, f.list && r->list_depth ? 1 : 2);
		break;
	case FRAME_BLOCK:
		want_break(r, 1);
		break;
	case FRAME_PLAIN:
		break;
	}
}

static void on_text(void *ctx, const xmlChar *text, int len)
{
	struct render *r = ctx;

	if (!r->skipping && len > 0)
		emit_text_len(r, (const char *)text, len);
}

/* No trailing blanks on a line, at most one empty line in a row, none at the ends. Takes text. */
static char *tidy_lines(char *text)
{
	char **lines = lines_split(text);
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

static char *render_text(const char *html, gsize len)
{
	struct render r = {.out = g_string_sized_new(len / 2 + 16),
			   .open = g_array_new(FALSE, FALSE, sizeof(struct frame))};
	htmlParserCtxtPtr ctxt;

	if (len > G_MAXINT)
		len = G_MAXINT;
	xmlSetGenericErrorFunc(NULL, ignore_xml_error);
	ctxt = htmlCreateMemoryParserCtxt(html, (int)len);
	if (ctxt) {
		/* The parser's own handler, made to call ours only; errors are not reported (mail
		 * HTML has plenty) and the text is UTF-8 whatever a <meta> says: it was
		 * converted. */
		memset(ctxt->sax, 0, sizeof(*ctxt->sax));
		ctxt->sax->startElement = on_start;
		ctxt->sax->endElement = on_end;
		ctxt->sax->characters = on_text;
		ctxt->sax->cdataBlock = on_text;
		ctxt->sax->ignorableWhitespace = on_text;
		ctxt->userData = &r;
		/* As htmlReadMemory() does for a given encoding: without one, libxml2 takes text
		 * with 8-bit bytes for Latin-1. */
		xmlSwitchToEncoding(ctxt, xmlFindCharEncodingHandler("UTF-8"));
		xmlFree((xmlChar *)ctxt->input->encoding);
		ctxt->input->encoding = xmlStrdup(BAD_CAST "UTF-8");
		htmlCtxtUseOptions(ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
					     HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
					     HTML_PARSE_IGNORE_ENC);
		htmlParseDocument(ctxt);
		htmlFreeParserCtxt(ctxt);
	}
	/* Elements libxml2 left open (it closes them all at the end, but not after a fatal
	 * error): their links hold an address. */
	for (guint i = 0; i < r.open->len; i++)
		g_free(g_array_index(r.open, struct frame, i).href);
	g_array_free(r.open, TRUE);
	return tidy_lines(g_string_free(r.out, FALSE));
}

/* libxml2 sets up its global state once, before any thread parses: here, while dlopen() holds
 * the loader's lock (or at the start of a program the module is linked into). */
__attribute__((constructor)) static void start_libxml2(void)
{
	xmlInitParser();
}

M2T_MODULE_EXPORT const struct html_module html_xml2_module = {
    .to_text = render_text,
};
