/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The form message texts are compared in (compare_text.h): entities decoded, tags stripped as
 * PHP strips them, blanks collapsed. Each step is one pass with a bounded look back and ahead. */
#include "desk/compare_text.h"

#include <string.h>

/* The longest entity name decoded, '#' and 'x' included: "#x10FFFF" with two leading zeros. */
#define ENTITY_NAME_MAX 10

/* PHP's isspace() in the C locale, which strip_tags() asks of the byte after a '<'. */
static gboolean is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static gboolean is_entity_name_char(char c)
{
	return g_ascii_isalnum(c) || c == '#';
}

/* The code point a numeric entity's digits (after "&#") stand for, 0 when none: NUL, surrogates
 * and numbers past Unicode stay text, as html_entity_decode() leaves them. */
static gunichar numeric_entity(const char *digits, gsize len)
{
	int base = 10;
	gunichar cp = 0;

	if (len > 0 && (digits[0] == 'x' || digits[0] == 'X')) {
		base = 16;
		digits++;
		len--;
	}
	if (len == 0)
		return 0;
	for (gsize i = 0; i < len; i++) {
		int d =
		    base == 16 ? g_ascii_xdigit_value(digits[i]) : g_ascii_digit_value(digits[i]);
		if (d < 0)
			return 0;
		/* At most 9 decimal or 8 hex digits: no overflow before the check below. */
		cp = cp * base + d;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return cp;
}

/* The code point of the entity name (between '&' and ';'), 0 when it is none decoded here: the
 * five htmlspecialchars() writes, and numeric ones. */
static gunichar entity(const char *name, gsize len)
{
	static const struct {
		const char *name;
		gunichar cp;
	} named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};

	if (len > 0 && name[0] == '#')
		return numeric_entity(name + 1, len - 1);
	for (gsize i = 0; i < G_N_ELEMENTS(named); i++)
		if (strlen(named[i].name) == len && memcmp(named[i].name, name, len) == 0)
			return named[i].cp;
	return 0;
}

/* When out ends with an entity (its ';' just added): *start is where its '&' is, and the code
 * point it stands for is returned; else 0. */
static gunichar entity_at_end(const GString *out, gsize *start)
{
	gsize end = out->len - 1; /* the ';' */
	gsize i = end;

	while (i > 0 && end - i < ENTITY_NAME_MAX && is_entity_name_char(out->str[i - 1]))
		i--;
	if (i == 0 || out->str[i - 1] != '&' || i == end)
		return 0;
	*start = i - 1;
	return entity(out->str + i, end - i);
}

/* out with the entity that ends it (if any) replaced by its character, again while that makes a
 * ';' that ends another ("&lt&#59;"). Each replacement takes at least three bytes off. */
static void decode_entity_at_end(GString *out)
{
	gunichar cp;
	gsize start;

	while (out->len > 0 && out->str[out->len - 1] == ';' && (cp = entity_at_end(out, &start))) {
		g_string_truncate(out, start);
		g_string_append_unichar(out, cp);
	}
}

/* text with its entities decoded until none is left, including those decoding makes
 * ("&amp;lt;" is '<', so that text escaped once more than the mail decodes to the mail's text).
 * Every entity ends with a ';' and is decoded when its ';' is added, so each byte is read once. */
static GString *entities_decoded(const char *text, gsize len)
{
	GString *out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++) {
		g_string_append_c(out, text[i]);
		if (text[i] == ';')
			decode_entity_at_end(out);
	}
	return out;
}

/* php_strip_tags_ex's states: text; a tag; PHP code (<?); a declaration (<!); a comment (<!--).
 */
enum strip_state { STRIP_TEXT, STRIP_TAG, STRIP_PHP, STRIP_DECLARATION, STRIP_COMMENT };

struct stripper {
	enum strip_state state;
	GString *out;
	/* Entities the kept text spells once a tag between their parts is gone ("&am<b>p;") are
	 * decoded, and their character is read as text again: a form's form is itself. */
	gboolean decode;
	unsigned char pending[8]; /* such a character, read before the next byte of the input */
	gsize n_pending, next_pending;
	gsize depth;    /* '<' inside a tag: each takes a '>' that closes nothing */
	gssize parens;  /* PHP code: '(' less ')', outside strings */
	char quote;     /* the quote a tag's value is inside, or 0 */
	char last;      /* PHP's lc: the last character that mattered */
	gboolean xml;   /* the tag is "<?xml": "->" does not close it */
	char before[6]; /* the bytes read before this one, the last first */
	gsize read;     /* how many bytes were read before this one */
};

/* The byte read n + 1 bytes before this one, 0 before the text. */
static char before(const struct stripper *s, gsize n)
{
	return n < s->read ? s->before[n] : 0;
}

static void keep(struct stripper *s, char c)
{
	gunichar cp;
	gsize start;

	g_string_append_c(s->out, c);
	if (!s->decode || c != ';' || !(cp = entity_at_end(s->out, &start)))
		return;
	g_string_truncate(s->out, start);
	/* A ';' is read alone, so nothing else is pending. */
	s->n_pending = g_unichar_to_utf8(cp, (char *)s->pending);
	s->next_pending = 0;
}

/* A quote opens a value, or closes the one it opened. */
static void toggle_quote(struct stripper *s, char c)
{
	if (s->read > 0 && (!s->quote || c == s->quote))
		s->quote = s->quote ? 0 : c;
}

static void back_to_text(struct stripper *s)
{
	s->quote = 0;
	s->xml = FALSE;
	s->state = STRIP_TEXT;
}

/* A '>' that a '<' inside the tag took, or that a quote hides: TRUE when it closes nothing. */
static gboolean closes_nothing(struct stripper *s)
{
	if (s->depth > 0) {
		s->depth--;
		return TRUE;
	}
	return s->quote != 0;
}

static void read_text(struct stripper *s, char c, int next)
{
	if (c == '\0')
		return;
	if (c == '<' && !s->quote && !is_blank(next)) {
		s->last = '<';
		s->state = STRIP_TAG;
	} else if (c == '>' && closes_nothing(s)) {
		return;
	} else if (c != '<' || !s->quote) {
		keep(s, c);
	}
}

static void read_tag(struct stripper *s, char c, int next)
{
	switch (c) {
	case '<':
		if (!s->quote && !is_blank(next))
			s->depth++;
		break;
	case '>':
		if (closes_nothing(s))
			break;
		s->last = '>';
		if (!(s->xml && before(s, 0) == '-'))
			back_to_text(s);
		break;
	case '"':
	case '\'':
		toggle_quote(s, c);
		break;
	case '!':
		if (before(s, 0) == '<') {
			s->last = c;
			s->state = STRIP_DECLARATION;
		}
		break;
	case '?':
		if (before(s, 0) == '<') {
			s->parens = 0;
			s->state = STRIP_PHP;
		}
		break;
	}
}

static void read_php(struct stripper *s, char c)
{
	gboolean in_string = s->last == '"' || s->last == '\'';

	switch (c) {
	case '(':
	case ')':
		if (!in_string) {
			s->last = c;
			s->parens += c == '(' ? 1 : -1;
		}
		break;
	case '>':
		if (!closes_nothing(s) && !s->parens && s->last != '"' && before(s, 0) == '?')
			back_to_text(s);
		break;
	case '"':
	case '\'':
		if (s->read == 0 || before(s, 0) == '\\')
			break;
		if (s->last == c)
			s->last = 0;
		else if (s->last != '\\')
			s->last = c;
		toggle_quote(s, c);
		break;
	case 'l':
	case 'L':
		/* "<?xml" is a tag, not PHP (PHP asks for one byte more before it). */
		if (s->read > 4 && g_ascii_tolower(before(s, 0)) == 'm' &&
		    g_ascii_tolower(before(s, 1)) == 'x' && before(s, 2) == '?' &&
		    before(s, 3) == '<') {
			s->state = STRIP_TAG;
			s->xml = TRUE;
		}
		break;
	}
}

static void read_declaration(struct stripper *s, char c)
{
	static const char doctyp[] = "pytcod"; /* "<!DOCTYPE" read backwards from its 'E' */

	switch (c) {
	case '>':
		if (!closes_nothing(s))
			back_to_text(s);
		break;
	case '"':
	case '\'':
		if (before(s, 0) != '\\')
			toggle_quote(s, c);
		break;
	case '-':
		if (before(s, 0) == '-' && before(s, 1) == '!')
			s->state = STRIP_COMMENT;
		break;
	case 'e':
	case 'E':
		if (s->read <= 6)
			break;
		for (gsize i = 0; i < 6; i++)
			if (g_ascii_tolower(before(s, i)) != doctyp[i])
				return;
		s->state = STRIP_TAG;
		break;
	}
}

static void read_comment(struct stripper *s, char c)
{
	if (c == '>' && !s->quote && before(s, 0) == '-' && before(s, 1) == '-')
		back_to_text(s);
}

/* Reads c, followed by next (-1: the end). */
static void strip_read(struct stripper *s, char c, int next)
{
	switch (s->state) {
	case STRIP_TEXT:
		read_text(s, c, next);
		break;
	case STRIP_TAG:
		if (c != '\0')
			read_tag(s, c, next);
		break;
	case STRIP_PHP:
		read_php(s, c);
		break;
	case STRIP_DECLARATION:
		read_declaration(s, c);
		break;
	case STRIP_COMMENT:
		read_comment(s, c);
		break;
	}
	memmove(s->before + 1, s->before, sizeof(s->before) - 1);
	s->before[0] = c;
	s->read++;
}

/* text through strip_tags(); with decode, entities its result spells are decoded on the way.
 * A tag never closed removes the rest, as in PHP. */
static GString *tags_stripped(const char *text, gsize len, gboolean decode)
{
	struct stripper s = {.out = g_string_sized_new(len), .decode = decode};
	gsize i = 0;

	for (;;) {
		char c;
		int next;
		if (s.next_pending < s.n_pending)
			c = (char)s.pending[s.next_pending++];
		else if (i < len)
			c = text[i++];
		else
			break;
		if (s.next_pending < s.n_pending)
			next = (unsigned char)s.pending[s.next_pending];
		else
			next = i < len ? (unsigned char)text[i] : -1;
		strip_read(&s, c, next);
	}
	return s.out;
}

char *compare_text_strip_tags(const char *text, gsize len)
{
	return g_string_free(tags_stripped(text, len, FALSE), FALSE);
}

/* text with each run of blanks one space and none at either end. A '<' kept for the blank after
 * it that now ends the text goes too: read again, it would open a tag. */
static char *blanks_collapsed(const GString *text)
{
	GString *out = g_string_sized_new(text->len);
	gboolean blank = FALSE;

	for (gsize i = 0; i < text->len; i++) {
		if (is_blank((unsigned char)text->str[i])) {
			blank = TRUE;
			continue;
		}
		if (blank && out->len > 0)
			g_string_append_c(out, ' ');
		blank = FALSE;
		g_string_append_c(out, text->str[i]);
	}
	while (out->len > 0 && out->str[out->len - 1] == '<') {
		g_string_truncate(out, out->len - 1);
		if (out->len > 0 && out->str[out->len - 1] == ' ')
			g_string_truncate(out, out->len - 1);
	}
	return g_string_free(out, FALSE);
}

char *compare_text_form(const char *text, gsize len)
{
	GString *decoded = entities_decoded(text, len);
	GString *stripped = tags_stripped(decoded->str, decoded->len, TRUE);
	char *form = blanks_collapsed(stripped);

	g_string_free(decoded, TRUE);
	g_string_free(stripped, TRUE);
	return form;
}
