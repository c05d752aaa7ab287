/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sender addresses checked before a desk sees them: GMime reads "Odd <a@b@c.example>" as a@b and
 * finds nothing in "Big Bug bb@bug.example"; mail2ticket sends only a valid addr-spec. */
#ifndef M2T_PARSERS_ADDRESS_H
#define M2T_PARSERS_ADDRESS_H

#include <glib.h>

/* Whether address is an addr-spec (RFC 5322 3.4.1) a desk can take: a dot-atom or quoted local
 * part, one '@', and a domain of letters, digits, hyphens and dots (UTF-8 allowed, RFC 6531) or
 * a [literal]. */
gboolean address_is_valid(const char *address);

/* The address a mail client reads in a From value written without rules: the last <...>, else
 * the last word holding '@' (quotes, parentheses and a trailing comma or semicolon aside). Newly
 * allocated, NULL when there is none; not checked: pass it to address_is_valid(). */
char *address_in_text(const char *value);

/* Whether address stands in value as a whole word (not the start of "a@b@c"); FALSE for one
 * longer than any addr-spec. */
gboolean address_stands_in(const char *value, const char *address);

#endif
