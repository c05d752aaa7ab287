/* Turning text of any declared (or wrongly declared) charset into valid UTF-8. */
#ifndef M2T_PARSERS_CHARSET_H
#define M2T_PARSERS_CHARSET_H

#include <glib.h>

/* Convert len bytes of text labelled charset (NULL when undeclared) to valid UTF-8. Never fails:
 * bytes that cannot be decoded become U+FFFD and the rest of the text is kept. Sets *lossy (when
 * not NULL) if any byte had to be replaced. Newly allocated. */
char *charset_to_utf8(const char *data, gsize len, const char *charset, gboolean *lossy);

#endif
