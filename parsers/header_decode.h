/* Header values decoded to UTF-8 with GMime, around GMime 3.2.13's encoded-word bug. */
#ifndef M2T_PARSERS_HEADER_DECODE_H
#define M2T_PARSERS_HEADER_DECODE_H

#include <gmime/gmime.h>

/* Rewrite each run of adjacent RFC 2047 encoded words of one charset as a single B-encoded word
 * holding the bytes of all of them. GMime 3.2.13 decodes such a run as one base64 stream and stops
 * at the first '=' padding, losing the rest of the header; RFC 2047 6.2 decodes each word alone,
 * and joining the bytes keeps a multi-byte character split across two words intact. Newly
 * allocated. */
char *header_merge_encoded_words(const char *value);

/* A raw (folded, possibly encoded or 8-bit) header value as valid UTF-8 text. Newly allocated. */
char *header_decode_text(GMimeParserOptions *options, const char *raw);

/* A raw address header parsed into a list; NULL when nothing could be read. Caller unrefs. */
InternetAddressList *header_parse_addresses(GMimeParserOptions *options, const char *raw);

#endif
