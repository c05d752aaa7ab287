/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The new words of a reply, without the quoted thread below them. */
#ifndef M2T_PARSERS_REPLY_TEXT_H
#define M2T_PARSERS_REPLY_TEXT_H

/* The part of a mail's text its sender wrote for this message: quoted history, forwarded-reply
 * headers and the signature cut off. text: UTF-8 with LF line ends (a stray CR before the LF is
 * tolerated; invalid UTF-8 is repaired with U+FFFD first). markers: extra lines
 * (case-insensitive substrings) that start the quoted part, such as
 * "## Please reply above this line ##"; NULL-terminated, may be NULL; "reply above this line",
 * "oberhalb dieser Zeile" and "au-dessus de cette ligne" always count. Returns a newly allocated
 * string (g_free) ending without trailing white space; when cutting would leave nothing, the
 * whole text (trimmed) is returned so the agent still sees something. NULL text gives "". */
char *reply_text_extract(const char *text, const char *const *markers);

/* The sender named in the first forwarded or quoted header block of text ("---------- Forwarded
 * message ----------" or an Outlook block, then "From: Jane <jane@example.org>"): the From
 * field's raw value, newly allocated, or NULL when text has no such block. */
char *reply_text_original_sender(const char *text);

#endif
