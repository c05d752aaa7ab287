/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import --worker: an archive's import cut into units of work that workers on several hosts
 * share through the journal. A unit is a set of whole threads, so the mails of a thread reach
 * the desk from one worker, one after another, as in a single import. A unit is written down by
 * the places of its mails in the archive's delivery order (ingest/archive.h), which every
 * worker reading the same archive agrees on. */
#ifndef M2T_FLOW_IMPORT_PLAN_H
#define M2T_FLOW_IMPORT_PLAN_H

#include "ingest/source.h"

/* The units of archive (read from its start to its end): its mails grouped into threads, linked
 * by Message-ID, In-Reply-To and References as the delivery lanes link them; the threads, in
 * the order of their first mail, put into units of unit_size mails or a little more (a thread
 * is never cut). Each unit in words: the places of its mails, ascending, as single numbers
 * and "first-last" runs separated by commas ("0-4,9,12-13"). The same archive always gives
 * the same units. Newly allocated array of new strings (*mails: how many mails in all); NULL
 * with error set when the archive cannot be read. */
GPtrArray *import_plan_units(struct source *archive, guint unit_size, guint64 *mails,
			     GError **error);

/* The places a unit's words name, ascending (a new GArray of guint64); NULL with error set
 * when the words are not a unit's. */
GArray *import_unit_places(const char *words, GError **error);

/* The mails at places (ascending; taken) read from archive (borrowed: it must outlive the
 * source, and is not read otherwise meanwhile). Free with source_close(). */
struct source *import_unit_source(struct source *archive, GArray *places);

#endif
