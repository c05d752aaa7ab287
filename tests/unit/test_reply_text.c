/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The new words of a reply, without the quoted thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <string.h>

#include "parsers/reply_text.h"

static void assert_marked(const char *text, const char *const *markers, const char *want)
{
	char *got = reply_text_extract(text, markers);

	assert_non_null(got);
	assert_string_equal(got, want);
	g_free(got);
}

static void assert_reply(const char *text, const char *want)
{
	assert_marked(text, NULL, want);
}

/* A reply above a quote introduced by attribution, in both shapes clients send: followed by '>'
 * lines (plain text) and followed by the bare old text (plain rendering of an HTML blockquote). */
static void assert_attribution(const char *attribution)
{
	const char *reply = "Thanks, that fixed it.\n\n";
	char *quoted = g_strconcat(reply, attribution, "\n\n> old text\n> more\n", NULL);
	char *bare = g_strconcat(reply, attribution, "\nold text\nmore\n", NULL);

	assert_reply(quoted, "Thanks, that fixed it.");
	assert_reply(bare, "Thanks, that fixed it.");
	g_free(quoted);
	g_free(bare);
}

static void test_english_attribution(void **state)
{
	(void)state;
	assert_attribution("On Mon, 2 Mar 2026 at 10:00, Support <support@example.com> wrote:");
	assert_attribution("On 02/03/2026 10:00, X wrote:");
	assert_attribution("On Mar 2, 2026, at 10:00, Support <support@example.com> wrote:");
	assert_attribution("On 3/2/26 10:00 AM, Support Team wrote:");
	assert_attribution("On Mon, Mar 2, 2026 at 10:00 AM +0100, \"Support\" "
			   "<support@example.com> wrote :");
}

static void test_german_attribution(void **state)
{
	(void)state;
	assert_attribution("Am 02.03.2026 um 10:00 schrieb Support <support@example.com>:");
	assert_attribution("Am Mo., 2. März 2026 um 10:00 Uhr schrieb X:");
	assert_attribution("Am 02.03.2026 um 10:00 hat Support <support@example.com> geschrieben:");
}

static void test_french_attribution(void **state)
{
	(void)state;
	assert_attribution("Le lun. 2 mars 2026 à 10:00, Support <support@example.com> a écrit :");
	/* Gmail's no-break space before the colon. */
	assert_attribution("Le 02/03/2026 à 10:00, X a écrit\xC2\xA0:");
}

static void test_spanish_attribution(void **state)
{
	(void)state;
	assert_attribution("El lun, 2 mar 2026 a las 10:00, Support (<support@example.com>) "
			   "escribió:");
	assert_attribution("El 02/03/2026 a las 10:00, X escribió:");
}

static void test_polish_attribution(void **state)
{
	(void)state;
	assert_attribution("W dniu 2.03.2026 o 10:00, Support pisze:");
	assert_attribution("pon., 2 mar 2026 o 10:00 Support <support@example.com> napisał(a):");
	assert_attribution("śr., 4 mar 2026 o 09:15 Anna <anna@example.com> napisała:");
}

static void test_italian_attribution(void **state)
{
	(void)state;
	assert_attribution("Il giorno lun 2 mar 2026 alle ore 10:00 Support "
			   "<support@example.com> ha scritto:");
	assert_attribution("Il 02/03/2026 10:00, X ha scritto:");
}

static void test_dutch_attribution(void **state)
{
	(void)state;
	assert_attribution("Op ma 2 mrt 2026 om 10:00 schreef Support <support@example.com>:");
	assert_attribution("Op 02-03-2026 om 10:00 heeft X geschreven:");
}

static void test_chinese_attribution(void **state)
{
	(void)state;
	assert_attribution("在 2026年3月2日 10:00，Support <support@example.com> 写道：");
	assert_attribution("Support <support@example.com> 于2026年3月2日周一 10:00写道：");
	assert_attribution("在 2026/3/2 10:00, X 写道:");
}

static void test_wrapped_attribution(void **state)
{
	(void)state;
	/* Gmail wraps inside the address; the second line alone looks like "<name> wrote:". */
	assert_reply("Works now.\n\nOn Mon, 2 Mar 2026 at 10:00, Support Team <\n"
		     "support@example.com> wrote:\n\n> Please restart the service.\n",
		     "Works now.");
	/* The same without '>' (HTML rendering): the pair is recognised on its own. */
	assert_reply("Works now.\n\nOn Mon, 2 Mar 2026 at 10:00, Support Team <\n"
		     "support@example.com> wrote:\n\nPlease restart the service.\n",
		     "Works now.");
	/* Apple Mail breaks before the verb. */
	assert_reply("Works now.\nAm 02.03.2026 um 10:00 schrieb Support\n<support@example.com>:\n"
		     "Bitte neu starten.",
		     "Works now.");
	assert_reply("Merci\n\nLe lun. 2 mars 2026 à 10:00, Support <support@example.com>\n"
		     "a écrit :\n\n> Redémarrez.",
		     "Merci");
}

static void test_attribution_not_in_prose(void **state)
{
	(void)state;
	/* Mid-paragraph, not at the end of the line. */
	assert_reply("Hello,\nthe backup failed again. On Monday I wrote: the server is down.\n"
		     "It still is.\n\nBest, Ann",
		     "Hello,\nthe backup failed again. On Monday I wrote: the server is down.\n"
		     "It still is.\n\nBest, Ann");
	/* A line of its own, but without a date and without a quote below it. */
	assert_reply("Hello,\nOn Monday I wrote:\nthe server is down.\nIt still is.",
		     "Hello,\nOn Monday I wrote:\nthe server is down.\nIt still is.");
	/* Opening and closing words, but no time, numeric date or year. */
	assert_reply("Hallo,\nAm 2. März schrieb ich Ihnen Folgendes:\nDer Server ist down.",
		     "Hallo,\nAm 2. März schrieb ich Ihnen Folgendes:\nDer Server ist down.");
	/* An ordinary line starting "On" above a real attribution is kept. */
	assert_reply("On 3 servers the job failed.\nOn 02/03/2026 10:00, X wrote:\n> old",
		     "On 3 servers the job failed.");
}

static void test_outlook_separators(void **state)
{
	static const char *const separators[] = {
	    "-----Original Message-----",
	    "-----Ursprüngliche Nachricht-----",
	    "-----Message d'origine-----",
	    "-----Mensaje original-----",
	    "-----Messaggio originale-----",
	    "-----Oryginalna wiadomość-----",
	    "-----Wiadomość oryginalna-----",
	    "-----原始邮件-----",
	    "-----Oorspronkelijk bericht-----",
	    "  -------- Original Message --------  ",
	    "----ORIGINAL MESSAGE----",
	    NULL,
	};

	(void)state;
	for (const char *const *s = separators; *s; s++) {
		char *text = g_strconcat("Still broken.\n", *s, "\nSubject: old\n\nold\n", NULL);

		assert_reply(text, "Still broken.");
		g_free(text);
	}
	/* Three dashes are too few to be a separator. */
	assert_reply("Still broken.\n---Original Message---\nold",
		     "Still broken.\n---Original Message---\nold");
}

static void test_outlook_underscore_rule(void **state)
{
	(void)state;
	assert_reply("See attached.\n\n________________________________\nFrom: Support "
		     "<support@example.com>\nSent: Monday, March 2, 2026 10:00 AM\nTo: Ann\n\nold",
		     "See attached.");
	assert_reply("See attached.\n________________________________\n\nVon: Support\nold",
		     "See attached.");
	/* A form field drawn with underscores is not a rule. */
	assert_reply("Name: ________________________\nSignature:\n________________________\nDate",
		     "Name: ________________________\nSignature:\n________________________\nDate");
}

static void test_outlook_header_blocks(void **state)
{
	(void)state;
	assert_reply("Done.\n\nFrom: Support <support@example.com>\nSent: Monday, March 2, 2026 "
		     "10:00 AM\nTo: Ann\nSubject: RE: [#123]\n\nold",
		     "Done.");
	assert_reply("Erledigt.\nVon: Support <support@example.com>\n"
		     "Gesendet: Montag, 2. März 2026 10:00\nAn: Ann\nBetreff: AW: [#123]\n\nalt",
		     "Erledigt.");
	assert_reply("Fait.\n\nDe : Support <support@example.com>\n"
		     "Envoyé : lundi 2 mars 2026 10:00\nÀ : Ann\nObjet : RE: [#123]",
		     "Fait.");
	assert_reply("Hecho.\nDe: Support <support@example.com>\n"
		     "Enviado el: lunes, 2 de marzo de 2026 10:00\nPara: Ann\nAsunto: RE: [#123]",
		     "Hecho.");
	assert_reply("Hecho.\nDe: Support\nFecha: lunes, 2 de marzo de 2026\nold", "Hecho.");
	assert_reply("Gotowe.\nOd: Support <support@example.com>\nWysłane: poniedziałek, 2 marca "
		     "2026 10:00\nDo: Ann",
		     "Gotowe.");
	assert_reply("Fatto.\nDa: Support <support@example.com>\n"
		     "Inviato: lunedì 2 marzo 2026 10:00\nA: Ann",
		     "Fatto.");
	assert_reply("Klaar.\nVan: Support <support@example.com>\nVerzonden: maandag 2 maart 2026 "
		     "10:00\nAan: Ann",
		     "Klaar.");
	assert_reply("好的。\n\n发件人: Support <support@example.com>\n"
		     "发送时间: 2026年3月2日 10:00\n收件人: Ann\n主题: 回复: [#123]",
		     "好的。");
	assert_reply("好的。\n发件人：Support\n日期：2026年3月2日\n旧的", "好的。");
	assert_reply("好的。\n寄件者: Support\n日期: 2026年3月2日\n舊的", "好的。");
	/* Outlook's plain-text rendering of the bold labels. */
	assert_reply("Done.\n\n*From:* Support <support@example.com>\n"
		     "*Sent:* Monday, March 2, 2026 10:00 AM\n*To:* Ann\n*Subject:* RE: [#123]",
		     "Done.");
	assert_reply("Done.\n**Von:** Support\n**Gesendet:** Montag\nalt", "Done.");
	/* Apple Mail's forward: Subject sits between From and Date. */
	assert_reply("FYI\n\nBegin forwarded message:\n\nFrom: Support <support@example.com>\n"
		     "Subject: Invoice\nDate: 2 March 2026 at 10:00:00 CET\nTo: Ann\n\nold",
		     "FYI");
	assert_reply("FYI\n\nFrom: Support <support@example.com>\nSubject: Invoice\n"
		     "Date: 2 March 2026 at 10:00:00 CET\nTo: Ann\n\nold",
		     "FYI");
	/* "From:" without a date field close below is prose. */
	assert_reply("From: the accounting team\nWe need the invoice.\n\nThanks\nDate: today",
		     "From: the accounting team\nWe need the invoice.\n\nThanks\nDate: today");
}

static void test_forward_banner(void **state)
{
	(void)state;
	assert_reply("Please look at this.\n\n---------- Forwarded message ---------\nFrom: Shop "
		     "<shop@example.com>\nDate: Mon, 2 Mar 2026 at 10:00\nSubject: Order\n\nbody",
		     "Please look at this.");
}

static void test_trailing_quote_block(void **state)
{
	(void)state;
	assert_reply("Yes, please.\n\n> Shall we renew?\n>\n> > nested\n\n", "Yes, please.");
	/* The attribution right before it goes too, whatever its form. */
	assert_reply("Yes.\n\nSupport <support@example.com> wrote:\n> Shall we renew?",
		     "Yes.");
	/* Quoted lines may be indented in HTML renderings. */
	assert_reply("Yes.\n  > Shall we renew?\n  > ok", "Yes.");
	/* Apple Mail quotes its attribution along with the text. */
	assert_reply("Yes.\n\n> On 2 Mar 2026, at 10:00, Support <support@example.com> wrote:\n>\n"
		     "> Shall we renew?",
		     "Yes.");
}

static void test_inline_replies_kept(void **state)
{
	(void)state;
	assert_reply("Hi,\n\nOn 02/03/2026 10:00, Support wrote:\n> Which version?\n2.4.1\n\n"
		     "> Which OS?\nDebian 12\n",
		     "Hi,\n\nOn 02/03/2026 10:00, Support wrote:\n> Which version?\n2.4.1\n\n"
		     "> Which OS?\nDebian 12");
	/* An unanswered quote at the end is history even below inline answers. */
	assert_reply("> Which version?\n2.4.1\n\n> Anything else?\n> Regards, Support\n",
		     "> Which version?\n2.4.1");
	/* Bottom-posting is the same shape: the quote stays above the answer. */
	assert_reply("W dniu 7.04.2026 o 10:05, Support pisze:\n> Proszę o token.\n\nGotowe.",
		     "W dniu 7.04.2026 o 10:05, Support pisze:\n> Proszę o token.\n\nGotowe.");
	/* A signature below inline answers is cut; the answers stay. */
	assert_reply("> Which version?\n2.4.1\n-- \nAnn", "> Which version?\n2.4.1");
}

static void test_signature(void **state)
{
	(void)state;
	assert_reply("Please call me.\n\n-- \nAnn Example\nACME Ltd.\n", "Please call me.");
	assert_reply("Please call me.\n--\nAnn", "Please call me.");
	/* Longer rules and dashes inside a line are not signatures. */
	assert_reply("Steps:\n---\n1. boot\n------------\n2. crash",
		     "Steps:\n---\n1. boot\n------------\n2. crash");
	assert_reply("a -- b\n-- x", "a -- b\n-- x");
	/* The signature above a quote wins: it comes first. */
	assert_reply("Ok.\n-- \nAnn\n\nOn 02/03/2026 10:00, X wrote:\n> q", "Ok.");
}

static void test_mobile_footers(void **state)
{
	static const char *const footers[] = {
	    "Sent from my iPhone",
	    "Von meinem iPhone gesendet",
	    "Envoyé de mon iPhone",
	    "Enviado desde mi iPhone",
	    "Inviato da iPhone",
	    "Wysłane z iPhone'a",
	    "Sent from Outlook for Android",
	    "Get Outlook for iOS",
	    "Verzonden vanaf mijn iPhone",
	    "发自我的iPhone",
	    "Inviato dal mio iPhone",
	    "Enviado desde Outlook para Android",
	    NULL,
	};

	(void)state;
	for (const char *const *f = footers; *f; f++) {
		char *alone = g_strconcat("Call me back.\n\n", *f, "\n", NULL);
		char *above = g_strconcat("Call me back.\n\n", *f,
					  "\n\nOn 02/03/2026 10:00, X wrote:\n\n> old\n", NULL);

		assert_reply(alone, "Call me back.");
		assert_reply(above, "Call me back.");
		g_free(alone);
		g_free(above);
	}
	/* Above a quote that starts with its (quoted) attribution. */
	assert_reply("Ok\n\nSent from my iPhone\n\n> On 2 Mar 2026, at 10:00, X wrote:\n>\n> a\n> b"
		     "\n> c\n> d",
		     "Ok");
	/* Two short lines may follow it. */
	assert_reply("Call me back.\n\nSent from my iPhone\nAnn\nACME Ltd.", "Call me back.");
	/* Phrases that merely start alike are prose. */
	assert_reply("I attached the log.\nSent from the billing page, as you asked.",
		     "I attached the log.\nSent from the billing page, as you asked.");
	/* Higher up in the text it is part of what was written. */
	assert_reply("Hi,\nSent from my iPhone, the photos were blurry.\nSent from my iPhone\n"
		     "Second.\nThird.\nBye",
		     "Hi,\nSent from my iPhone, the photos were blurry.\nSent from my iPhone\n"
		     "Second.\nThird.\nBye");
}

static void test_configured_marker(void **state)
{
	static const char *const markers[] = {"## Please reply above this line ##", "", NULL};
	static const char *const spaced[] = {"  --- reply above ---  ", NULL};

	(void)state;
	assert_marked("Thanks!\n\n## please REPLY above this line ##\n\nTicket #123 was updated.",
		      markers, "Thanks!");
	assert_marked("Thanks!\n> ## Please reply above this line ##\n> old", markers, "Thanks!");
	assert_marked("Thanks!\nxx --- Reply Above --- xx\nold", spaced, "Thanks!");
	/* The empty marker matches nothing; without markers nothing is cut. */
	assert_marked("Thanks!\nold", markers, "Thanks!\nold");
	/* The helpdesks' usual markers count even when none is configured. */
	assert_marked("Thanks!\n## Please reply above this line ##\nold", NULL, "Thanks!");
	assert_marked("Danke!\n-- Bitte oberhalb dieser Zeile antworten --\nalt", NULL, "Danke!");
}

static void test_earliest_cut_wins(void **state)
{
	static const char *const markers[] = {"reply above", NULL};

	(void)state;
	assert_marked("New words\n-- \nsig\nreply above\nold", markers, "New words");
	assert_marked("New words\nreply above\n-- \nsig", markers, "New words");
	assert_reply("New\n-----Original Message-----\nFrom: a\nSent: b\n-- \nsig", "New");
}

static void test_no_cut(void **state)
{
	(void)state;
	assert_reply("Hello,\n\n    indented code\n\tand a tab\n\nBye  \n\n \n",
		     "Hello,\n\n    indented code\n\tand a tab\n\nBye");
	/* Leading blank lines and indentation are part of the text. */
	assert_reply("\n  Hi\n", "\n  Hi");
	assert_reply("one line", "one line");
}

static void test_nothing_left(void **state)
{
	(void)state;
	assert_reply("> all\n> quoted\n", "> all\n> quoted");
	assert_reply("\n\nOn 02/03/2026 10:00, X wrote:\n> all quoted\n\n",
		     "On 02/03/2026 10:00, X wrote:\n> all quoted");
	assert_reply("-- \nAnn Example", "-- \nAnn Example");
	assert_reply("Sent from my iPhone\n", "Sent from my iPhone");
}

static void test_empty(void **state)
{
	(void)state;
	assert_reply("", "");
	assert_reply("\n\n  \n", "");
	assert_marked(NULL, NULL, "");
}

static void test_line_ends(void **state)
{
	(void)state;
	/* Only LF separates lines; a CR left before it must not hide a cut point. */
	assert_reply("Ok.\r\n\r\nOn 02/03/2026 10:00, X wrote:\r\n> old\r\n", "Ok.");
	assert_reply("Ok.\r\n-- \r\nAnn\r\n", "Ok.");
	/* No newline at the end at all. */
	assert_reply("Ok.\n-- ", "Ok.");
	/* Invalid UTF-8 is repaired, not a reason to miss the quote. */
	assert_reply("Ok \xff.\n> old", "Ok \xEF\xBF\xBD.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_english_attribution),
	    cmocka_unit_test(test_german_attribution),
	    cmocka_unit_test(test_french_attribution),
	    cmocka_unit_test(test_spanish_attribution),
	    cmocka_unit_test(test_polish_attribution),
	    cmocka_unit_test(test_italian_attribution),
	    cmocka_unit_test(test_dutch_attribution),
	    cmocka_unit_test(test_chinese_attribution),
	    cmocka_unit_test(test_wrapped_attribution),
	    cmocka_unit_test(test_attribution_not_in_prose),
	    cmocka_unit_test(test_outlook_separators),
	    cmocka_unit_test(test_outlook_underscore_rule),
	    cmocka_unit_test(test_outlook_header_blocks),
	    cmocka_unit_test(test_forward_banner),
	    cmocka_unit_test(test_trailing_quote_block),
	    cmocka_unit_test(test_inline_replies_kept),
	    cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_mobile_footers),
	    cmocka_unit_test(test_configured_marker),
	    cmocka_unit_test(test_earliest_cut_wins),
	    cmocka_unit_test(test_no_cut),
	    cmocka_unit_test(test_nothing_left),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_line_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
