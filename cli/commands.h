/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The subcommands, each with its own options after the command name. */
#ifndef M2T_CLI_COMMANDS_H
#define M2T_CLI_COMMANDS_H

#include <glib.h>
#include <sysexits.h>

#include "config/config.h"

struct global_options {
	const char *config_path; /* from --config or the environment, NULL: the default path */
};

/* The config file to use: --config, else $MAIL2TICKET_CONFIG, else the system one. */
const char *global_config_path(const struct global_options *g);

/* config_load(), with the warnings it has logged (a config or secret file others can read). */
struct config *cli_config_load(const char *path, GError **error);

/* The exit code for an error that stops a command: 75 when it may heal, 78 for configuration. */
int exit_code_for_error(const GError *error);

int cmd_parse(const struct global_options *g, int argc, char **argv);
int cmd_pipe(const struct global_options *g, int argc, char **argv);
int cmd_import(const struct global_options *g, int argc, char **argv);
int cmd_check(const struct global_options *g, int argc, char **argv);
int cmd_route(const struct global_options *g, int argc, char **argv);
int cmd_poll(const struct global_options *g, int argc, char **argv);
int cmd_stats(const struct global_options *g, int argc, char **argv);
int cmd_reprocess(const struct global_options *g, int argc, char **argv);

/* Print "usage: ..." and the hint to stderr; returns EX_USAGE. */
int usage_error(const char *usage, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
