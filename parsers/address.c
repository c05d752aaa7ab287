/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sender addresses checked and repaired before a desk sees them (address.h). */
#include "parsers/address.h"

#include <string.h>

/* RFC 5322 atext, and '.' between atoms. */
static gboolean is_atext(guchar c)
{
	return g_ascii_isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

static gboolean local_part_is_valid(const char *p, gsize len)
{
	if (len == 0 || len > 64)
		return FALSE;
	if (p[0] == '"')
		return len >= 2 && p[len - 1] == '"';
	if (p[0] == '.' || p[len - 1] == '.')
		return FALSE;
	for (gsize i = 0; i < len; i++)
		if (!(is_atext(p[i]) || (p[i] == '.' && p[i - 1] != '.')))
			return FALSE;
	return TRUE;
}

static gboolean domain_is_valid(const char *p, gsize len)
{
	gsize label = 0;

	if (len == 0 || len > 255)
		return FALSE;
	if (p[0] == '[')
		return len >= 3 && p[len - 1] == ']' && !memchr(p + 1, '[', len - 2);
	for (gsize i = 0; i < len; i++) {
		guchar c = p[i];
		if (c == '.') {
			if (label == 0 || p[i - 1] == '-')
				return FALSE;
			label = 0;
		} else if (g_ascii_isalnum(c) || c >= 0x80 || (c == '-' && label > 0)) {
			label++;
		} else {
			return FALSE;
		}
	}
	return label > 0 && p[len - 1] != '-';
}

gboolean address_is_valid(const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;

	if (!at || !g_utf8_validate(address, -1, NULL))
		return FALSE;
	/* A quoted local part may hold '@'; an unquoted one may not. */
	if (address[0] != '"' && memchr(address, '@', at - address))
		return FALSE;
	return local_part_is_valid(address, at - address) &&
	       domain_is_valid(at + 1, strlen(at + 1));
}

char *address_in_text(const char *value)
{
	const char *open = strrchr(value, '<');
	const char *close = open ? strchr(open, '>') : NULL;
	const char *end, *start, *at;

	if (open && close)
		return g_strstrip(g_strndup(open + 1, close - open - 1));
	at = strrchr(value, '@');
	if (!at)
		return NULL;
	start = at;
	while (start > value && !g_ascii_isspace(start[-1]) && !strchr("\"(<,;", start[-1]))
		start--;
	end = at;
	while (*end && !g_ascii_isspace(*end) && !strchr("\")>,;", *end))
		end++;
	return g_strndup(start, end - start);
}

gboolean address_stands_in(const char *value, const char *address)
{
	gsize len = strlen(address);

	/* No addr-spec is longer (64 + 1 + 255), and the bound keeps the scan linear in value. */
	if (len == 0 || len > 320)
		return FALSE;
	for (const char *p = value; (p = strstr(p, address)); p++) {
		gboolean starts = p == value || strchr(" \t\"<(,;:", p[-1]);
		gboolean ends = p[len] == '\0' || strchr(" \t\r\n\">),;", p[len]);
		if (starts && ends)
			return TRUE;
	}
	return FALSE;
}
