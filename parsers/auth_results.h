/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authentication-Results headers (RFC 8601), as a receiving server's verifiers write them:
 * which server judged, and what each method (dmarc, dkim, spf) said about which domain. */
#ifndef M2T_PARSERS_AUTH_RESULTS_H
#define M2T_PARSERS_AUTH_RESULTS_H

#include <glib.h>

struct auth_result {
	char *method; /* lower case: "dmarc", "dkim", "spf", ... */
	char *result; /* lower case: "pass", "fail", "none", ... */
	/* What it vouches for: dmarc header.from, dkim header.d (else the domain of header.i),
	 * spf smtp.mailfrom's domain (else smtp.helo); lower case, or NULL. */
	char *domain;
};

struct auth_results {
	char *authserv_id; /* the server that added the header, lower case */
	GPtrArray *results; /* of struct auth_result, in the header's order */
};

/* Parse one header value (unfolded). Comments and quoted strings are read as RFC 8601 and RFC
 * 5322 write them, in one pass. NULL when there is no authserv-id. Free with
 * auth_results_free(). */
struct auth_results *auth_results_parse(const char *value);
void auth_results_free(struct auth_results *ar);

#endif
