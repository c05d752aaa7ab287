/* Thulium's REST API (https://ACCOUNT.thulium.com/api): HTTP Basic authentication, JSON. Listing
 * tickets (GET tickets) is documented; creating one, adding the customer's message, reading one
 * ticket and listing queues are inferred, and their paths are config keys. */
#ifndef M2T_DESK_THULIUM_H
#define M2T_DESK_THULIUM_H

#include "desk/desk.h"

struct desk *thulium_desk_new(const struct config *config, FILE *dry_run, GError **error);

#endif
