/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Header values decoded to UTF-8: RFC 2047 text by mail2ticket itself, in linear time (GMime
 * 3.2.13's lenient decoder rescans the rest of a header from every "=?" and loses text after a
 * padded encoded word), address lists by GMime around that bug. */
#ifndef M2T_PARSERS_HEADER_DECODE_H
#define M2T_PARSERS_HEADER_DECODE_H

#include <gmime/gmime.h>

/* Rewrite each run of adjacent RFC 2047 encoded words of one charset as a single UTF-8 B-encoded
 * word, decoded here as charset_to_utf8() decodes text. GMime 3.2.13 decodes such a run as one
 * base64 stream and stops at the first '=' padding, losing the rest of the header; RFC 2047 6.2
 * decodes each word alone, and joining the bytes keeps a multi-byte character split across two
 * words intact. Newly allocated. */
char *header_merge_encoded_words(const char *value);

/* A raw (folded, possibly encoded or 8-bit) header value as valid UTF-8 text, with C0 controls
 * but tab left out. Newly allocated. */
char *header_decode_text(const char *raw);

/* The same, raw 8-bit text read in the first of charsets (NULL-terminated, may be NULL: the
 * charsets the message's parts declare) that reads it whole (Big5 and GB2312 subjects sent
 * unencoded), before UTF-8 and windows-1252. Newly allocated. */
char *header_decode_text_in(const char *raw, const char *const *charsets);

/* A raw address header parsed into a list; NULL when nothing could be read. Caller unrefs. Use
 * options with strict RFC 2047 compliance: GMime's lenient mode is quadratic; names it leaves
 * encoded (a word glued to other text) are decoded here. */
InternetAddressList *header_parse_addresses(GMimeParserOptions *options, const char *raw);

/* Decode the names in list (its groups' members too) that GMime left encoded (in strict mode it
 * decodes only encoded words that stand alone, as RFC 2047 5 asks), and make every name valid
 * UTF-8 (GMime can leave bytes it could not convert). */
void header_decode_names(InternetAddressList *list);

#endif
