/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calendar invitations summarized. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parsers/calendar.h"

static void assert_summary(const char *ics, const char *want)
{
	char *got = calendar_summary(ics);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	g_free(got);
}

static void test_invitation(void **state)
{
	(void)state;
	assert_summary("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
		       "SUMMARY:Onboarding\\, part 2\r\n"
		       "DTSTART;TZID=\"W. Europe Standard Time\":20260310T090000\r\n"
		       "DTEND:20260310T100000Z\r\nLOCATION:Teams\r\n"
		       "ORGANIZER;CN=Ana Lopez:mailto:ana@example.org\r\n"
		       "DESCRIPTION:Agenda\\nitem one\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		       "Invitation: Onboarding, part 2\n"
		       "When: 2026-03-10 09:00 (W. Europe Standard Time) to 2026-03-10 10:00 UTC\n"
		       "Where: Teams\nOrganizer: Ana Lopez <ana@example.org>\n");
}

static void test_folded_lines_and_all_day(void **state)
{
	(void)state;
	assert_summary("BEGIN:VEVENT\nSUMMARY:A very long title that was\n  folded\n"
		       "DTSTART;VALUE=DATE:20260401\nEND:VEVENT\n",
		       "Invitation: A very long title that was folded\nWhen: 2026-04-01\n");
}

static void test_cancel_and_nothing(void **state)
{
	(void)state;
	assert_summary("METHOD:CANCEL\nBEGIN:VEVENT\nSUMMARY:Gone\nEND:VEVENT\n",
		       "Cancelled event: Gone\n");
	assert_summary("BEGIN:VCALENDAR\nBEGIN:VTODO\nSUMMARY:x\nEND:VTODO\nEND:VCALENDAR\n", NULL);
	assert_summary("", NULL);
	assert_summary("garbage without colons", NULL);
}

/* A parameter value that is one lone quote once made an unquoted length wrap below zero. */
static void test_lone_quote_in_a_parameter(void **state)
{
	(void)state;
	assert_summary("BEGIN:VEVENT\nDTSTART;TZID=\";X=\":20260310T140000Z\nEND:VEVENT\n",
		       "Invitation: (no title)\nWhen: 2026-03-10 14:00 UTC (;X=)\n");
	assert_summary("BEGIN:VEVENT\nDTSTART;TZID=\":20260310T140000Z\nEND:VEVENT\n",
		       "Invitation: (no title)\n");
	assert_summary("BEGIN:VEVENT\nORGANIZER;CN=\"Lopez; Ana\";ROLE=CHAIR:mailto:a@x.org\n"
		       "END:VEVENT\n",
		       "Invitation: (no title)\nOrganizer: Lopez; Ana <a@x.org>\n");
	assert_summary("BEGIN:VEVENT\nORGANIZER;CN=\"\";X=\"\":mailto:a@x.org\nEND:VEVENT\n",
		       "Invitation: (no title)\nOrganizer: a@x.org\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_invitation),
	    cmocka_unit_test(test_folded_lines_and_all_day),
	    cmocka_unit_test(test_cancel_and_nothing),
	    cmocka_unit_test(test_lone_quote_in_a_parameter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
