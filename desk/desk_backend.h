/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kinds of desk, one line each in one table (desk/desk_backend.c): a kind's name in [desk]
 * kind, its own [desk] keys, what it checks in the config, its constructor and what its API can
 * carry. A new desk is its own file, defining NAME_backend, plus its line in the table; the
 * config loader and desk_new() find it there by name and never name a kind themselves. Models:
 * OpenSMTPD's table.c backends[] with table_backend_lookup(), isync's drivers[]. */
#ifndef M2T_DESK_DESK_BACKEND_H
#define M2T_DESK_DESK_BACKEND_H

#include <jansson.h>
#include <stdio.h>

#include "config/loader.h"
#include "desk/desk.h"

/* One of a backend's own [desk] keys. Its value, as the file gives it, is in the config's
 * desk.backend_keys; the backend applies default_value itself. */
struct desk_key {
	const char *name;	   /* under [desk] */
	const char *call;	   /* the API call whose path it gives; NULL: a setting */
	const char *default_value; /* NULL: none */
};

struct desk_backend {
	const char *name;	     /* [desk] kind, lower case */
	const char *title;	     /* as its makers write it, in messages: "WHMCS" */
	const struct desk_key *keys; /* its own [desk] keys, ended by {NULL}; NULL: none */
	/* Run once the common [desk] keys and this backend's own are read: what it needs of them
	 * (a key it requires, a value it cannot take, a warning). NULL: nothing to check. */
	gboolean (*check_config)(struct loader *ld);
	/* The desk, for a config this backend's check_config accepted. */
	struct desk *(*desk_new)(const struct config *config, FILE *dry_run, GError **error);
	unsigned capabilities; /* of enum desk_capability */
};

/* The backend named name (without regard to case), or NULL. Borrowed from the table. */
const struct desk_backend *desk_backend_lookup(const char *name);
/* The names of every kind, for a message: "whmcs, keliweb, thulium". Newly allocated. */
char *desk_backend_names(void);
/* The titles of the kinds that have capability, for a message: "Thulium". Newly allocated. */
char *desk_backend_titles(unsigned capability);
/* Whether some kind of desk reads key under [desk]. Every kind's keys are accepted whatever the
 * kind: a key of another kind is read by none. */
gboolean desk_backend_takes_key(const char *key);

/* The value of the backend's own key name in config, or NULL when the file leaves it out.
 * Borrowed from config. */
const char *desk_backend_key_value(const struct config *config, const char *name);
/* Each of keys that names a call, as call -> the key's value or default: the paths of a REST
 * API. Newly allocated (keys and values copied). */
GHashTable *desk_backend_calls(const struct config *config, const struct desk_key *keys);

/* A dry run's line for a call that would change the desk: {"desk", "url", "action", "params"}
 * on out, flushed, so that a run that stops shows every call it would have made. Takes params. */
void desk_print_dry_run_call(FILE *out, const char *kind, const char *url, const char *action,
			     json_t *params);

#endif
