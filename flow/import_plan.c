/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The units of work of an import shared by workers (import_plan.h): threads found by a
 * union-find over the Message-IDs the mails' heads name, packed into units. */
#include "flow/import_plan.h"

#include <errno.h>
#include <gio/gio.h>

#include "ingest/archive.h"
#include "parsers/mail_parse.h"

/* The mail that stands for place's thread (union-find, paths halved on the way). */
static guint thread_of(GArray *parent, guint place)
{
	guint *p = (guint *)parent->data;

	while (p[place] != place) {
		p[place] = p[p[place]];
		place = p[place];
	}
	return place;
}

/* The thread of an earlier mail comes first, so a thread is named by its first mail. */
static void join(GArray *parent, guint a, guint b)
{
	guint ta = thread_of(parent, a), tb = thread_of(parent, b);
	guint *p = (guint *)parent->data;

	if (ta < tb)
		p[tb] = ta;
	else if (tb < ta)
		p[ta] = tb;
}

/* Join place with the earlier mails that named id; id is taken. */
static void link_id(GHashTable *first_naming, GArray *parent, guint place, char *id)
{
	gpointer earlier;

	if (!id)
		return;
	if (g_hash_table_lookup_extended(first_naming, id, NULL, &earlier)) {
		join(parent, place, GPOINTER_TO_UINT(earlier));
		g_free(id);
	} else {
		g_hash_table_insert(first_naming, id, GUINT_TO_POINTER(place));
	}
}

/* Every mail of archive, each a parent in the union-find, joined to the mails it shares a
 * Message-ID with. A new array; NULL with error set when the archive cannot be read. */
static GArray *find_threads(struct source *archive, GError **error)
{
	GHashTable *first_naming = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GArray *parent = g_array_new(FALSE, FALSE, sizeof(guint));
	struct source_message msg = {0};
	GError *err = NULL;

	while (source_next(archive, &msg, &err)) {
		struct mail_thread_ids ids;
		gsize len;
		const char *raw = g_bytes_get_data(msg.raw, &len);
		guint place = parent->len;

		g_array_append_val(parent, place);
		mail_thread_ids(raw ? raw : "", len, &ids);
		link_id(first_naming, parent, place, g_steal_pointer(&ids.message_id));
		link_id(first_naming, parent, place, g_steal_pointer(&ids.in_reply_to));
		for (guint i = 0; i < ids.references->len; i++)
			link_id(first_naming, parent, place,
				g_strdup(g_ptr_array_index(ids.references, i)));
		mail_thread_ids_clear(&ids);
		source_message_clear(&msg);
	}
	g_hash_table_unref(first_naming);
	if (!err)
		return parent;
	g_propagate_error(error, err);
	g_array_unref(parent);
	return NULL;
}

/* places (ascending) in words: "0-4,9,12-13". */
static char *words_of(const GArray *places)
{
	GString *words = g_string_new(NULL);

	for (guint i = 0; i < places->len;) {
		guint first = g_array_index(places, guint, i);
		guint last = first;
		while (++i < places->len && g_array_index(places, guint, i) == last + 1)
			last++;
		g_string_append_printf(words, "%s%u", words->len ? "," : "", first);
		if (last != first)
			g_string_append_printf(words, "-%u", last);
	}
	return g_string_free(words, FALSE);
}

static void thread_free(gpointer thread)
{
	if (thread)
		g_array_unref(thread);
}

static gint compare_places(gconstpointer a, gconstpointer b)
{
	guint x = *(const guint *)a, y = *(const guint *)b;

	return x < y ? -1 : x > y;
}

GPtrArray *import_plan_units(struct source *archive, guint unit_size, guint64 *mails,
			     GError **error)
{
	GArray *parent = find_threads(archive, error);
	GPtrArray *units, *threads;
	GArray *unit;

	*mails = 0;
	if (!parent)
		return NULL;
	/* threads[t]: the places of the mails of the thread whose first mail is at place t. */
	threads = g_ptr_array_new_full(parent->len, thread_free);
	g_ptr_array_set_size(threads, parent->len);
	for (guint place = 0; place < parent->len; place++) {
		guint first = thread_of(parent, place);
		if (!threads->pdata[first])
			threads->pdata[first] = g_array_new(FALSE, FALSE, sizeof(guint));
		g_array_append_val((GArray *)threads->pdata[first], place);
	}
	units = g_ptr_array_new_with_free_func(g_free);
	unit = g_array_new(FALSE, FALSE, sizeof(guint));
	for (guint first = 0; first < threads->len; first++) {
		const GArray *thread = threads->pdata[first];
		if (!thread)
			continue;
		g_array_append_vals(unit, thread->data, thread->len);
		if (unit->len < MAX(unit_size, 1))
			continue;
		g_array_sort(unit, compare_places);
		g_ptr_array_add(units, words_of(unit));
		g_array_set_size(unit, 0);
	}
	if (unit->len) {
		g_array_sort(unit, compare_places);
		g_ptr_array_add(units, words_of(unit));
	}
	*mails = parent->len;
	g_array_unref(unit);
	g_ptr_array_unref(threads);
	g_array_unref(parent);
	return units;
}

/* A number of a unit's words at *p, which is moved past it. */
static gboolean read_place(const char **p, guint64 *place)
{
	char *end;

	if (!g_ascii_isdigit(**p))
		return FALSE;
	errno = 0;
	*place = g_ascii_strtoull(*p, &end, 10);
	*p = end;
	return errno == 0;
}

/* The run "first" or "first-last" at *p, after every place in places, appended to them; *p is
 * moved past it. FALSE when there is none. */
static gboolean read_run(const char **p, GArray *places)
{
	guint64 first, last;

	if (!read_place(p, &first))
		return FALSE;
	last = first;
	if (**p == '-') {
		(*p)++;
		if (!read_place(p, &last))
			return FALSE;
	}
	if (last < first ||
	    (places->len && first <= g_array_index(places, guint64, places->len - 1)))
		return FALSE;
	for (guint64 place = first; place <= last; place++)
		g_array_append_val(places, place);
	return TRUE;
}

GArray *import_unit_places(const char *words, GError **error)
{
	GArray *places = g_array_new(FALSE, FALSE, sizeof(guint64));
	const char *p = words;
	gboolean ok;

	while ((ok = read_run(&p, places)) && *p == ',')
		p++;
	if (ok && !*p)
		return places;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "the journal's plan names the mails of a unit as \"%s\", which is not a list "
		    "of ascending places",
		    words);
	g_array_unref(places);
	return NULL;
}

/* The mails of one unit, read from the archive at their places. */
struct unit_source {
	struct source base;
	struct source *archive;
	GArray *places;
	guint next;
};

static gboolean unit_source_next(struct source *src, struct source_message *out,
				 GError **error)
{
	struct unit_source *u = (struct unit_source *)src;

	if (u->next == u->places->len)
		return FALSE;
	if (!archive_seek(u->archive, g_array_index(u->places, guint64, u->next), error))
		return FALSE;
	u->next++;
	if (source_next(u->archive, out, error))
		return TRUE;
	if (error && !*error)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the archive ended before a mail its plan names");
	return FALSE;
}

static void unit_source_close(struct source *src)
{
	struct unit_source *u = (struct unit_source *)src;

	g_array_unref(u->places);
	g_free(u);
}

static const struct source_ops unit_source_ops = {
    .kind = "unit of an archive",
    .next = unit_source_next,
    .close = unit_source_close,
};

struct source *import_unit_source(struct source *archive, GArray *places)
{
	struct unit_source *u = g_new0(struct unit_source, 1);

	u->base.ops = &unit_source_ops;
	u->archive = archive;
	u->places = places;
	return &u->base;
}
