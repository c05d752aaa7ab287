/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The modules' tables (module.h) linked in, for the unit tests and the fuzzers: the same code
 * as the program's modules, with no loading to go wrong under a sanitizer. */
#include "desk/http_module.h"
#include "ingest/mailbox_module.h"
#include "modules/module.h"
#include "parsers/html_module.h"
#include "parsers/sha256_module.h"
#include "state/journal_pg.h"

gconstpointer module_table(enum m2t_module module, GError **error)
{
	(void)error;
	switch (module) {
	case M2T_MODULE_HTTP:
		return &http_curl_module;
	case M2T_MODULE_POSTGRESQL:
		return &journal_pg_module;
	case M2T_MODULE_MAILBOX:
		return &mailbox_etpan_module;
	case M2T_MODULE_HTML:
		return &html_xml2_module;
	case M2T_MODULE_DIGEST:
		return &sha256_gnutls_module;
	case M2T_MODULE_COUNT:
		break;
	}
	g_assert_not_reached();
}
