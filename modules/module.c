/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The modules' names (module.h), shared by both ways of getting their tables. */
#include "modules/module.h"

G_DEFINE_QUARK(mail2ticket-module-error-quark, module_error)

static const struct {
	const char *file;
	const char *symbol;
	const char *brings;
} modules[M2T_MODULE_COUNT] = {
    [M2T_MODULE_HTTP] = {"mail2ticket-http.so", "http_curl_module", "libcurl"},
    [M2T_MODULE_POSTGRESQL] = {"mail2ticket-postgresql.so", "journal_pg_module", "libpq"},
    [M2T_MODULE_MAILBOX] = {"mail2ticket-mailbox.so", "mailbox_etpan_module",
			    "libetpan and GnuTLS"},
    [M2T_MODULE_HTML] = {"mail2ticket-html.so", "html_xml2_module", "libxml2"},
    [M2T_MODULE_DIGEST] = {"mail2ticket-digest.so", "sha256_gnutls_module", "GnuTLS"},
};

const char *module_file(enum m2t_module module)
{
	return modules[module].file;
}

const char *module_brings(enum m2t_module module)
{
	return modules[module].brings;
}

const char *module_symbol(enum m2t_module module)
{
	return modules[module].symbol;
}
