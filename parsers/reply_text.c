/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A reply's quoted thread cut away: the configured markers and "On ... wrote:" lines. */
#include "parsers/reply_text.h"

#include <glib.h>
#include <string.h>

#include "parsers/lines.h"

/* Patterns are written with plain spaces; compile() turns each into SP "+". SP is white space as
 * mail clients and HTML renderings leave it: French writes "a écrit :" with a plain, no-break or
 * narrow no-break space. */
#define SP "[\\s\\x{00A0}\\x{202F}]"
#define COLON SP "*[:：]" SP "*"

/* The closing words of an attribution, up to the end of the line. German and Dutch put the name
 * after the verb ("schrieb Support <...>:"), the others before it. \b keeps "rewrote:" out; the
 * Chinese forms follow a digit directly ("10:00写道"), where there is no word boundary. */
#define CLOSER                                                                                     \
	"(?:\\b(?:wrote|schrieb(?: .*)?|geschrieben|a écrit|escribió|escreveu|pisze"               \
	"|napisał(?:\\(a\\)|a)?|ha scritto|schreef(?: .*)?|geschreven)|写道|寫道)" COLON "$"

/* The opening of an attribution: "On", "Am", "Le", "El", "W dniu", "Il", "Op", "Em", "在"; Gmail's
 * Polish form starts with the weekday ("pon., 2 mar"), its Chinese form with the name and "于"
 * before the date. */
#define OPENER                                                                                     \
	"(?:(?:On|Am|Le|El|W dniu|Il|Op|Em) |在|(?:pon|wt|śr|czw|pt|sob|niedz|ndz)\\.?,? (?=\\d)"  \
	"|.+?于" SP "*(?=\\d))"

/* A whole attribution line. Clients write a time, a numeric date or a year into it; prose that
 * happens to start and end the same way rarely does: "On Monday I wrote:", "Am 2. März schrieb
 * ich Ihnen:" are sentences, "On Mon, 2 Mar 2026 at 10:00, X wrote:" is a client's. */
#define DATE_HINT "(?:\\d:\\d\\d|\\d[./-]\\d|\\d{4})"
#define ATTRIBUTION "^" SP "*" OPENER "(?=.*" DATE_HINT ").*" CLOSER

/* Outlook's "-----Original Message-----", and the banners of forwards: Gmail and Apple Mail put a
 * header block below them, which would be cut anyway, leaving the banner dangling. */
#define SEPARATOR                                                                                  \
	"^" SP "*(?:-{4,}" SP "*(?:Original Message|Ursprüngliche Nachricht|Message d['’]origine"  \
	"|Mensaje original|Messaggio originale|Oryginalna wiadomość|Wiadomość oryginalna"          \
	"|原始邮件|原始郵件|Oorspronkelijk bericht|Forwarded message|Weitergeleitete Nachricht"    \
	"|Message transféré|Mensaje reenviado|Messaggio inoltrato|Przekazana wiadomość"            \
	"|Wiadomość przekazana|Doorgestuurd bericht|转发邮件|轉寄郵件)" SP "*-{4,}"                \
	"|(?:Begin forwarded message|Anfang der weitergeleiteten Nachricht"                        \
	"|Début du message réexpédié|Inicio del mensaje reenviado)" COLON ")" SP "*$"

/* Outlook's header fields; plain-text renderings of its bold labels add '*' around them. */
#define FIELD(names) "^" SP "*\\*{0,2}" SP "*(?:" names ")" SP "*\\*{0,2}" COLON

#define FROM_NAMES "From|Von|De|Od|Da|Van|Från|Fra|发件人|寄件者"
#define DATE_NAMES                                                                                 \
	"Sent|Date|Gesendet|Datum|Envoyé|Enviado(?: el)?|Fecha|Wysłane|Wysłano|Data|Inviato"       \
	"|Verzonden|Skickat|Sendt|发送时间|时间|日期|寄件日期|傳送時間"

/* Footers phone and app mailers append. Named apps only where the phrase is common prose
 * ("Sent from the billing page"). */
#define FOOTER                                                                                     \
	"^" SP "*(?:Sent from (?:my \\S|(?:Outlook|Mail|Yahoo|Proton|Samsung|BlackBerry|AOL)\\b)"  \
	"|Get Outlook for \\S|Von meinem \\S.* gesendet|Gesendet (?:von meinem \\S|von Outlook\\b" \
	"|mit der \\S)|Envoyé (?:de|depuis) mon \\S|Envoyé à partir de Outlook\\b"                 \
	"|Enviado (?:desde (?:mi )?|(?:do|de) meu )\\S|Inviato da(?:l mio)? \\S|Wysłane z \\S"     \
	"|(?:Verzonden|Verstuurd) (?:vanaf|met) \\S|发自我的\\S|从我的\\S.*发送)"

/* Attributions and footers are short; a long line matching them is prose (and the bound keeps
 * the backtracking of ".*" CLOSER cheap). */
#define MAX_ATTRIBUTION 400
#define MAX_FOOTER 80

struct patterns {
	GRegex *attribution; /* "On <date>, <name> wrote:" in its languages */
	GRegex *closer;	     /* any line ending like an attribution: "<name> wrote:" */
	GRegex *separator;   /* "-----Original Message-----" and forwarding banners */
	GRegex *underscores; /* the rule Outlook draws above its header block */
	GRegex *from;	     /* first field of an Outlook header block */
	GRegex *date;	     /* the "Sent:"/"Date:" field that confirms it */
	GRegex *footer;	     /* "Sent from my iPhone" */
};

struct lines {
	char **text;  /* each line without its '\n' (and a stray '\r') */
	gsize *start; /* byte offset of each line in the input; start[n] is the input's length */
	guint n;
};

/* No G_REGEX_OPTIMIZE: its PCRE2 JIT code trips valgrind's uninitialised-value checks, and the
 * interpreter is fast enough for a few patterns per line of one mail. */
static GRegex *compile(const char *pattern)
{
	char **words = g_strsplit(pattern, " ", -1);
	char *expanded = g_strjoinv(SP "+", words);
	GError *error = NULL;
	GRegex *re = g_regex_new(expanded, G_REGEX_CASELESS, 0, &error);

	if (!re)
		g_error("reply_text: bad pattern %s: %s", expanded, error->message);
	g_strfreev(words);
	g_free(expanded);
	return re;
}

static gpointer compile_patterns(gpointer unused)
{
	struct patterns *p = g_new(struct patterns, 1);

	(void)unused;
	p->attribution = compile(ATTRIBUTION);
	p->closer = compile(CLOSER);
	p->separator = compile(SEPARATOR);
	p->underscores = compile("^" SP "*_{20,}" SP "*$");
	p->from = compile(FIELD(FROM_NAMES));
	p->date = compile(FIELD(DATE_NAMES));
	p->footer = compile(FOOTER);
	return p;
}

/* Compiled on first use and kept for the life of the process. */
static const struct patterns *patterns(void)
{
	static GOnce once = G_ONCE_INIT;

	return g_once(&once, compile_patterns, NULL);
}

static gboolean matches(const GRegex *re, const char *line)
{
	return g_regex_match(re, line, 0, NULL);
}

static void split_lines(struct lines *l, const char *text)
{
	gsize offset = 0;

	l->text = lines_split(text);
	l->n = g_strv_length(l->text);
	l->start = g_new(gsize, l->n + 1);
	for (guint i = 0; i < l->n; i++) {
		gsize len = strlen(l->text[i]);

		l->start[i] = offset;
		offset += len + 1;
		if (len && l->text[i][len - 1] == '\r')
			l->text[i][len - 1] = '\0';
	}
	l->start[l->n] = strlen(text);
}

static void free_lines(struct lines *l)
{
	g_strfreev(l->text);
	g_free(l->start);
}

static gboolean is_blank(const char *line)
{
	for (; *line; line++)
		if (!g_ascii_isspace(*line))
			return FALSE;
	return TRUE;
}

static gboolean is_quoted(const char *line)
{
	return line[strspn(line, " \t")] == '>';
}

/* "-- " is the standard delimiter, "--" what editors that strip trailing blanks leave of it;
 * "---" and longer rules are decoration, not signatures. */
static gboolean is_signature(const char *line)
{
	return line[0] == '-' && line[1] == '-' && line[2 + strspn(line + 2, " \t")] == '\0';
}

static guint next_nonblank(const struct lines *l, guint i)
{
	while (i < l->n && is_blank(l->text[i]))
		i++;
	return i;
}

/* Markers are compared case-folded; surrounding blanks in the configuration are not meant. The
 * helpdesks' usual English, German and French markers always count. */
static char **fold_markers(const char *const *markers)
{
	static const char *const builtin[] = {"reply above this line", "oberhalb dieser zeile",
					      "au-dessus de cette ligne", NULL};
	GPtrArray *folded = g_ptr_array_new();

	for (const char *const *b = builtin; *b; b++)
		g_ptr_array_add(folded, g_strdup(*b));
	for (; markers && *markers; markers++) {
		char *m = g_strstrip(g_utf8_casefold(*markers, -1));

		if (*m)
			g_ptr_array_add(folded, m);
		else
			g_free(m);
	}
	g_ptr_array_add(folded, NULL);
	return (char **)g_ptr_array_free(folded, FALSE);
}

static gboolean is_ascii(const char *s);

/* The folded markers that occur anywhere in text: searching the whole text once per marker is
 * far cheaper than searching each line for each. Newly allocated, NULL-terminated. */
static char **markers_in(const char *text, const char *const *markers)
{
	char **folded = fold_markers(markers);
	char *folded_text = NULL;
	/* Lowered once, the text is searched with strstr, many times faster than strcasestr; by
	 * hand, as g_ascii_strdown() makes a call a byte. */
	char *lower_text = g_strdup(text);
	gsize kept = 0;

	for (char *c = lower_text; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';

	for (gsize i = 0; folded[i]; i++) {
		gboolean present;
		if (is_ascii(folded[i])) {
			present = strstr(lower_text, folded[i]) != NULL;
		} else {
			if (!folded_text)
				folded_text = g_utf8_casefold(text, -1);
			present = strstr(folded_text, folded[i]) != NULL;
		}
		if (present)
			folded[kept++] = folded[i];
		else
			g_free(folded[i]);
	}
	folded[kept] = NULL;
	g_free(folded_text);
	g_free(lower_text);
	return folded;
}

static gboolean is_ascii(const char *s)
{
	for (; *s; s++)
		if ((guchar)*s >= 0x80)
			return FALSE;
	return TRUE;
}

static gboolean has_marker(const char *line, char *const *folded)
{
	gboolean found = FALSE;
	gboolean all_ascii = TRUE;
	char *l;

	if (!*folded)
		return FALSE;
	/* Folding allocates; ASCII markers (the usual kind) are found without it, on every line. */
	for (char *const *m = folded; *m; m++) {
		if (!is_ascii(*m))
			all_ascii = FALSE;
		else if (strcasestr(line, *m))
			return TRUE;
	}
	if (all_ascii)
		return FALSE;
	l = g_utf8_casefold(line, -1);
	for (; *folded && !found; folded++)
		found = strstr(l, *folded) != NULL;
	g_free(l);
	return found;
}

/* Every attribution ends in a colon: checking that first spares the regex on almost all lines. */
static gboolean ends_with_colon(const char *line)
{
	gsize len = strlen(line);

	while (len && g_ascii_isspace(line[len - 1]))
		len--;
	return (len >= 1 && line[len - 1] == ':') ||
	       (len >= 3 && memcmp(line + len - 3, "：", 3) == 0);
}

/* Every header field has a colon; checking for one spares the regex on most lines. */
static gboolean has_colon(const char *line)
{
	return strchr(line, ':') || strstr(line, "：");
}

static gboolean is_attribution(const char *line)
{
	return strlen(line) <= MAX_ATTRIBUTION && ends_with_colon(line) &&
	       matches(patterns()->attribution, line);
}

/* Lines the attribution starting at i spans: 1, 2 when the client wrapped it (Gmail breaks inside
 * "<address>", Apple Mail before "wrote:"), 0 when there is none. */
static guint attribution_at(const struct lines *l, guint i)
{
	char *joined;
	guint span;

	if (is_attribution(l->text[i]))
		return 1;
	/* The next line may be an attribution of its own after an ordinary line starting "On". */
	if (i + 1 >= l->n || !ends_with_colon(l->text[i + 1]) || is_blank(l->text[i]) ||
	    strlen(l->text[i]) + strlen(l->text[i + 1]) >= MAX_ATTRIBUTION ||
	    is_attribution(l->text[i + 1]))
		return 0;
	joined = g_strconcat(l->text[i], " ", l->text[i + 1], NULL);
	span = is_attribution(joined) ? 2 : 0;
	g_free(joined);
	return span;
}

/* Outlook's rule counts only above a header block: a row of underscores is also a form field. */
static gboolean outlook_rule_at(const struct lines *l, guint i)
{
	const struct patterns *p = patterns();

	if (!strstr(l->text[i], "____") || !matches(p->underscores, l->text[i]))
		return FALSE;
	for (guint j = i + 1; j < l->n && j <= i + 2; j++)
		if (matches(p->from, l->text[j]))
			return TRUE;
	return FALSE;
}

/* "From:" alone may be prose; with a "Sent:"/"Date:" field close below it is a header block. The
 * From field may wrap, and Apple Mail puts "Subject:" between the two. */
static gboolean header_block_at(const struct lines *l, guint i)
{
	const struct patterns *p = patterns();

	if (!has_colon(l->text[i]) || !matches(p->from, l->text[i]))
		return FALSE;
	for (guint j = i + 1; j < l->n && j <= i + 3; j++)
		if (matches(p->date, l->text[j]))
			return TRUE;
	return FALSE;
}

static gboolean is_hard_cut(const struct lines *l, guint i, char *const *markers)
{
	const char *line = l->text[i];

	/* A separator holds a run of dashes or ends in a colon (forwarding banners). */
	return has_marker(line, markers) || is_signature(line) ||
	       ((strstr(line, "----") || has_colon(line)) &&
		matches(patterns()->separator, line)) ||
	       outlook_rule_at(l, i) || header_block_at(l, i);
}

/* The first line that starts the quoted part whatever follows it. An attribution followed by '>'
 * lines is left to quote_cut(): the answers may be interleaved with the quote. */
static guint hard_cut(const struct lines *l, char *const *markers)
{
	for (guint i = 0; i < l->n; i++) {
		guint span;

		if (is_hard_cut(l, i, markers))
			return i;
		span = attribution_at(l, i);
		if (span) {
			guint next = next_nonblank(l, i + span);

			if (next >= l->n || !is_quoted(l->text[next]))
				return i;
		}
	}
	return l->n;
}

/* Mobile footers count only among the last three non-blank lines before the cut: "Sent from my
 * phone" higher up is part of what the sender wrote. */
static guint footer_cut(const struct lines *l, guint cut)
{
	guint found = cut, seen = 0;

	for (guint i = cut; i > 0 && seen < 3; i--) {
		const char *line = l->text[i - 1];

		if (is_blank(line))
			continue;
		seen++;
		if (strlen(line) <= MAX_FOOTER && matches(patterns()->footer, line))
			found = i - 1;
	}
	return found;
}

/* The attribution leading into a quote block starting at quote, or quote itself. Any line ending
 * like an attribution counts here ("Support <x@example.com> wrote:"): the quote confirms it. */
static guint attribution_before(const struct lines *l, guint quote)
{
	guint a = quote;

	while (a > 0 && is_blank(l->text[a - 1]))
		a--;
	if (a == 0)
		return quote;
	a--;
	if (a > 0 && attribution_at(l, a - 1) == 2)
		return a - 1;
	if (strlen(l->text[a]) <= MAX_ATTRIBUTION && matches(patterns()->closer, l->text[a]))
		return a;
	return quote;
}

/* A quote block that runs up to the cut is history: cut it with its attribution. A quote followed
 * by unquoted text holds inline answers, and stays. */
static guint quote_cut(const struct lines *l, guint cut)
{
	guint quote = cut;

	for (guint i = cut; i > 0; i--) {
		const char *line = l->text[i - 1];

		if (is_blank(line))
			continue;
		if (!is_quoted(line))
			break;
		quote = i - 1;
	}
	return quote == cut ? cut : attribution_before(l, quote);
}

/* The earliest cut point. Each cut can expose a footer or a quote block above it ("Sent from my
 * iPhone" above "> On ... wrote:"), so settle until nothing moves; cuts only move up. */
static guint find_cut(const struct lines *l, char *const *markers)
{
	guint cut = hard_cut(l, markers);
	guint before;

	do {
		before = cut;
		cut = quote_cut(l, footer_cut(l, cut));
	} while (cut != before);
	return cut;
}

static char *copy_trimmed(const char *text, gsize start, gsize end)
{
	while (end > start && g_ascii_isspace(text[end - 1]))
		end--;
	return g_strndup(text + start, end - start);
}

char *reply_text_extract(const char *text, const char *const *markers)
{
	char *repaired = NULL;
	char **folded;
	char *result;
	struct lines l;

	if (!text)
		return g_strdup("");
	/* GRegex refuses to match invalid UTF-8; a stray byte must not hide a quote. */
	if (!g_utf8_validate(text, -1, NULL))
		text = repaired = g_utf8_make_valid(text, -1);
	folded = markers_in(text, markers);
	split_lines(&l, text);
	result = copy_trimmed(text, 0, l.start[find_cut(&l, folded)]);
	if (!*result) {
		/* All of it looked quoted or signed: an empty ticket helps nobody. */
		g_free(result);
		result = copy_trimmed(text, l.start[next_nonblank(&l, 0)], l.start[l.n]);
	}
	free_lines(&l);
	g_strfreev(folded);
	g_free(repaired);
	return result;
}

/* The value of the From field (newly allocated), if line is one: "From: Jane <jane@x>". */
static char *from_field_value(const char *line)
{
	GMatchInfo *match = NULL;
	char *value = NULL;
	gint end;

	if (has_colon(line) && g_regex_match(patterns()->from, line, 0, &match) &&
	    g_match_info_fetch_pos(match, 0, NULL, &end))
		value = g_strstrip(g_strdup(line + end));
	g_match_info_free(match);
	return value;
}

char *reply_text_original_sender(const char *text)
{
	struct lines l;
	char *value = NULL;

	if (!text || !g_utf8_validate(text, -1, NULL))
		return NULL;
	split_lines(&l, text);
	for (guint i = 0; i < l.n && !value; i++) {
		const char *line = l.text[i];
		gboolean banner = (strstr(line, "----") || has_colon(line)) &&
				  matches(patterns()->separator, line);
		if (!banner && !outlook_rule_at(&l, i) && !header_block_at(&l, i))
			continue;
		/* The header block starts here or within the next few lines. */
		for (guint j = i; j < l.n && j <= i + 4 && !value; j++)
			value = from_field_value(l.text[j]);
	}
	free_lines(&l);
	return value;
}
