/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The certificate check of every TLS stream to a mail server, before a credential is sent; and
 * the table of the module these files make (mailbox_module.h). */
#include "ingest/tls_verify.h"

#include <gio/gio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "ingest/mailbox.h"
#include "ingest/mailbox_module.h"
#include "modules/module.h"

void tls_set_server_name(struct mailstream_ssl_context *ctx, void *host)
{
	if (!g_hostname_is_ip_address(host))
		mailstream_ssl_set_server_name(ctx, host);
}

static gboolean load_trust(gnutls_x509_trust_list_t trust, const char *ca_file, GError **error)
{
	int n = ca_file ? gnutls_x509_trust_list_add_trust_file(trust, ca_file, NULL,
							       GNUTLS_X509_FMT_PEM, 0, 0)
			: gnutls_x509_trust_list_add_system_trust(trust, 0, 0);

	if (n > 0)
		return TRUE;
	g_set_error(
	    error, MAILBOX_ERROR, MAILBOX_ERROR_TLS, "cannot load trusted certificates from %s: %s",
	    ca_file ? ca_file : "the system store", n < 0 ? gnutls_strerror(n) : "it holds none");
	return FALSE;
}

gboolean tls_verify_stream(mailstream *stream, const char *host, const char *ca_file,
			   GError **error)
{
	carray *chain = mailstream_get_certificate_chain(stream);
	gnutls_x509_trust_list_t trust = NULL;
	gnutls_x509_crt_t *certs = NULL;
	guint n = chain ? carray_count(chain) : 0;
	guint loaded = 0;
	unsigned int status = 0;
	gnutls_typed_vdata_st checks[] = {
	    {.type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *)host},
	    {.type = GNUTLS_DT_KEY_PURPOSE_OID, .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER},
	};
	gboolean ok = FALSE;
	int rc;

	if (n == 0) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_TLS,
			    "%s presented no certificate", host);
		goto out;
	}
	certs = g_new0(gnutls_x509_crt_t, n);
	for (; loaded < n; loaded++) {
		MMAPString *der = carray_get(chain, loaded);
		gnutls_datum_t data = {.data = (unsigned char *)der->str, .size = der->len};
		gnutls_x509_crt_init(&certs[loaded]);
		rc = gnutls_x509_crt_import(certs[loaded], &data, GNUTLS_X509_FMT_DER);
		if (rc < 0) {
			g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_TLS,
				    "the certificate of %s cannot be read: %s", host,
				    gnutls_strerror(rc));
			loaded++;
			goto out;
		}
	}
	gnutls_x509_trust_list_init(&trust, 0);
	if (!load_trust(trust, ca_file, error))
		goto out;
	rc = gnutls_x509_trust_list_verify_crt2(trust, certs, n, checks, G_N_ELEMENTS(checks), 0,
						&status, NULL);
	if (rc < 0) {
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_TLS,
			    "the certificate of %s cannot be checked: %s", host,
			    gnutls_strerror(rc));
	} else if (status != 0) {
		gnutls_datum_t why = {0};
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		g_set_error(error, MAILBOX_ERROR, MAILBOX_ERROR_TLS,
			    "the certificate of %s is not trusted (checked against %s): %s", host,
			    ca_file ? ca_file : "the system's authorities",
			    why.data ? g_strstrip((char *)why.data) : "");
		gnutls_free(why.data);
	} else {
		ok = TRUE;
	}
out:
	for (guint i = 0; i < loaded; i++)
		gnutls_x509_crt_deinit(certs[i]);
	g_free(certs);
	if (trust)
		gnutls_x509_trust_list_deinit(trust, 1);
	if (chain) {
		for (guint i = 0; i < carray_count(chain); i++)
			mmap_string_free(carray_get(chain, i));
		carray_free(chain);
	}
	return ok;
}

M2T_MODULE_EXPORT const struct mailbox_module mailbox_etpan_module = {
    .imap_new = imap_mailbox_new,
    .pop3_new = pop3_mailbox_new,
};
