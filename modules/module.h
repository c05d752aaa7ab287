/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parts of mail2ticket that need a large library are modules of their own (shared objects
 * in the module directory), each mapped with its libraries on first use: a run maps only what it
 * uses, and a pipe dry run of a plain mail none of libcurl, libpq, libetpan, GnuTLS, libxml2.
 * Each module exports one table; the program loads it with dlopen (module_dlopen.c), the unit
 * tests and fuzzers link the same code in (module_linked.c). */
#ifndef M2T_MODULES_MODULE_H
#define M2T_MODULES_MODULE_H

#include <glib.h>

enum m2t_module {
	M2T_MODULE_HTTP,       /* desk/http_curl.c, libcurl: struct http_module */
	M2T_MODULE_POSTGRESQL, /* state/journal_pg*.c, libpq: struct journal_pg_module */
	M2T_MODULE_MAILBOX,    /* ingest/imap.c, pop3.c, tls_verify.c, libetpan, GnuTLS:
				* struct mailbox_module */
	M2T_MODULE_HTML,       /* parsers/html_text.c, libxml2: struct html_module */
	M2T_MODULE_DIGEST,     /* parsers/sha256_gnutls.c, GnuTLS: struct sha256_module */
	M2T_MODULE_COUNT,
};

/* The table module exports, loaded on the first call from any thread; borrowed, valid until
 * exit. NULL with MODULE_ERROR set when it cannot be loaded, the message naming the file and
 * why. */
gconstpointer module_table(enum m2t_module module, GError **error);

/* The file of module, "mail2ticket-http.so", and what it brings, "libcurl", for messages. */
const char *module_file(enum m2t_module module);
const char *module_brings(enum m2t_module module);
/* The symbol of module's table. */
const char *module_symbol(enum m2t_module module);

#define MODULE_ERROR module_error_quark()
GQuark module_error_quark(void);

/* A module is built with hidden visibility: its table is the one symbol it exports. */
#define M2T_MODULE_EXPORT __attribute__((visibility("default")))

#endif
