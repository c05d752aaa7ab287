/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading an INI file's keys for the section loaders: the file opened once with its line numbers
 * kept, and one helper per kind of value. Every helper leaves *out alone when the key is absent
 * and, on a bad value, sets the loader's error naming file, line, section and key and returns
 * FALSE. Nothing here knows a section: config.c, config_rules.c, config_mailbox.c and the desk
 * backends' own keys read through these. */
#ifndef M2T_CONFIG_LOADER_H
#define M2T_CONFIG_LOADER_H

#include <glib.h>

#include "config/config.h"

struct loader {
	const char *path;
	char **lines; /* the file as read, to name the line of an error */
	GKeyFile *kf;
	struct config *config; /* filled in by the section loaders */
	GError **error;
};

/* Read path into ld (its config and error already set), comments stripped; FALSE with
 * CONFIG_ERROR set when it cannot be read or is not an INI file. Release with loader_close(). */
gboolean loader_open(struct loader *ld, const char *path);
void loader_close(struct loader *ld);

gboolean loader_fail(struct loader *ld, const char *section, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/* A key neither listed in known nor accepted by also_known (NULL: none) stops the load: a typo
 * must not silently turn into a default. */
gboolean loader_check_known_keys(struct loader *ld, const char *section, const char *const *known,
				 gboolean (*also_known)(const char *key));
/* The value of section/key without surrounding blanks, or NULL when absent. Newly allocated. */
char *loader_get_raw(struct loader *ld, const char *section, const char *key);
gboolean loader_get_string(struct loader *ld, const char *section, const char *key,
			   gboolean required, char **out);
gboolean loader_get_int(struct loader *ld, const char *section, const char *key, int min, int max,
			int *out);
/* A byte count: a whole number, optionally with K, M or G. */
gboolean loader_get_size(struct loader *ld, const char *section, const char *key, gsize *out);
gboolean loader_get_bool(struct loader *ld, const char *section, const char *key, gboolean *out);
/* One of choices, matched without regard to case; *index is its place in choices. */
gboolean loader_get_choice(struct loader *ld, const char *section, const char *key,
			   const char *const *choices, int *index);
/* A path as written, relative paths taken from the config file's folder. */
gboolean loader_get_path(struct loader *ld, const char *section, const char *key, char **out);
/* The contents of the file named by section/key, trailing blanks cut; empty is an error. */
gboolean loader_read_secret_file(struct loader *ld, const char *section, const char *key,
				 char **out);

/* url, the value of section/key, is an address secrets are sent to: https://, or http:// to this
 * machine (with a warning) or where the boolean allow_key of section is true (with a warning). */
gboolean loader_check_secret_url(struct loader *ld, const char *section, const char *key,
				 const char *url, const char *allow_key);

/* A warning in the config when the file at path can be read or changed by others than the
 * service user; what names it ("the secret file"). */
void loader_check_private(struct loader *ld, const char *path, const char *what);

/* "1024", "512K", "10M", "2G" (powers of 1024), blanks around allowed; FALSE when text is not
 * one. */
gboolean loader_parse_size(const char *text, guint64 *out);
/* "a@x, @y.example  b@z" (value may be NULL) -> lower-case entries. Newly allocated,
 * NULL-terminated. */
char **loader_address_list(const char *value);

#endif
