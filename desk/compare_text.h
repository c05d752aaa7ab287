/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A message's text in the form it is compared in after an attempt whose answer was lost: the
 * text sent and the text a desk gives back have the same form whether the desk gave it back as
 * sent, through PHP's strip_tags() (WHMCS 7) or HTML-escaped (WHMCS 8). */
#ifndef M2T_DESK_COMPARE_TEXT_H
#define M2T_DESK_COMPARE_TEXT_H

#include <glib.h>

/* len bytes of text (NULs allowed) with HTML entities decoded (&lt; &gt; &amp; &quot; &apos;
 * and numeric ones, also where decoding makes a new one), what strip_tags() removes removed,
 * runs of blanks made one space and none left at either end. Applied to its own result it gives
 * that back. Linear in len. Newly allocated. */
char *compare_text_form(const char *text, gsize len);

/* len bytes of text as PHP's strip_tags() without allowed tags gives them back (php-src's
 * php_strip_tags_ex state machine). Newly allocated; NULs are dropped, as PHP drops them. */
char *compare_text_strip_tags(const char *text, gsize len);

#endif
