#include "desk/keliweb.h"

#include "desk/whmcs.h"

struct desk *keliweb_desk_new(const struct config *config, FILE *dry_run, GError **error)
{
	/* Its answers carry WHMCS's field names, so the WHMCS backend reads them; only the way
	 * there differs, and the endpoints (all but get-ticket inferred) come from the config. */
	const struct whmcs_rest rest = {
	    .kind = "keliweb",
	    .name = "Keliweb",
	    .endpoints = (const char *const *)config->desk.endpoints,
	};

	return whmcs_rest_desk_new(config, dry_run, &rest, error);
}
