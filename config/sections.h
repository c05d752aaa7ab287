/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The section loaders that have a file of their own, called by config_load() in turn once the
 * [desk] and the plain sections are read. Each fills its part of ld->config (the array it makes
 * even when it fails, so config_free() releases what was read). */
#ifndef M2T_CONFIG_SECTIONS_H
#define M2T_CONFIG_SECTIONS_H

#include "config/loader.h"

/* The [rule NAME] sections, in file order, into config->rules. */
gboolean config_load_rules(struct loader *ld);
/* The [mailbox NAME] sections, in file order, into config->mailboxes; [pipe] spool last, as the
 * mailbox named "spool". */
gboolean config_load_mailboxes(struct loader *ld);

#endif
