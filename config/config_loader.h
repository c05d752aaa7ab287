/* The config loader's shared helpers, for the files that read one kind of section each. Every
 * helper leaves *out alone when the key is absent and, on a bad value, sets the loader's error
 * naming file, line, section and key and returns FALSE. */
#ifndef M2T_CONFIG_CONFIG_LOADER_H
#define M2T_CONFIG_CONFIG_LOADER_H

#include <glib.h>

#include "config/config.h"

struct loader {
	const char *path;
	char **lines; /* the file as read, to name the line of an error */
	GKeyFile *kf;
	struct config *config;
	GError **error;
};

gboolean loader_fail(struct loader *ld, const char *section, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/* A key not listed in known stops the load: a typo must not silently turn into a default. */
gboolean loader_check_known_keys(struct loader *ld, const char *section, const char *const *known);
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

/* The [mailbox NAME] sections, in file order, into config->mailboxes. */
gboolean config_load_mailboxes(struct loader *ld);

#endif
