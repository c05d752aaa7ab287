/* Keliweb's API v2: a REST front for a WHMCS installation (bearer token, multipart/form-data, one
 * endpoint per action under https://apiv2.keliweb.it/api/v2/keliweb). */
#ifndef M2T_DESK_KELIWEB_H
#define M2T_DESK_KELIWEB_H

#include "desk/desk.h"

struct desk *keliweb_desk_new(const struct config *config, FILE *dry_run, GError **error);

#endif
