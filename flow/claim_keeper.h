/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import --worker: the claim of the unit a worker is on, kept alive while it delivers the
 * unit's mails. A thread of its own renews it, through a journal of its own, three times a
 * lease, so a delivery that takes long (a slow desk, its retries) never lets the claim expire
 * while the worker lives; a worker that dies stops renewing, and its unit goes to another. */
#ifndef M2T_FLOW_CLAIM_KEEPER_H
#define M2T_FLOW_CLAIM_KEEPER_H

#include "state/journal.h"

struct claim_keeper;

/* A keeper renewing owner's claims (owner copied) for lease_seconds through journal (taken: it
 * is closed with the keeper). Free with claim_keeper_free(). */
struct claim_keeper *claim_keeper_new(struct journal *journal, const char *owner,
				      int lease_seconds);
void claim_keeper_free(struct claim_keeper *keeper);

/* Renew the claim of unit of plan from now until claim_keeper_drop(). */
void claim_keeper_hold(struct claim_keeper *keeper, gint64 plan, guint unit);
void claim_keeper_drop(struct claim_keeper *keeper);
/* Whether the claim held was found taken by another worker (a renewal came after the claim
 * had expired and another worker claimed the unit): the unit is no longer this worker's. */
gboolean claim_keeper_lost(struct claim_keeper *keeper);

#endif
