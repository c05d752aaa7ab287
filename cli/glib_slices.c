/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GLib's small blocks (GObject instances, GMime's parts and headers, hash tables, lists) from
 * malloc, that is jemalloc, rather than from GLib's own slice allocator. GLib 2.74 (Debian 12)
 * keeps per-thread magazines of slices, whose look-ups and swaps were a tenth of an import's
 * parse (g_slice_alloc, g_slice_free1, g_private_get); GLib 2.76 gave them up for malloc. The
 * switch only takes before the first slice, which GObject's own initializer makes: the
 * program's .preinit_array runs before any library's. Part of the program, not of libm2t: the
 * unit tests keep GLib's default. */
#include <glib.h>

static void slices_from_malloc(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	G_GNUC_BEGIN_IGNORE_DEPRECATIONS
	g_slice_set_config(G_SLICE_CONFIG_ALWAYS_MALLOC, TRUE);
	G_GNUC_END_IGNORE_DEPRECATIONS
}

static void (*const slices_early)(int, char **, char **)
    __attribute__((section(".preinit_array"), used)) = slices_from_malloc;
