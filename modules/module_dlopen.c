/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The program's modules (module.h), loaded with dlopen from the directory where the program
 * itself is: its build tree (M2T_BUILD_DIR) when it runs from there, else LIBDIR/mail2ticket
 * under the prefix it was installed to, found from the program's own path (the prefix may be
 * given at install time). Nothing from the environment names the directory, and the program
 * has no RUNPATH, which would make the loader look there for every library first. */
#include <dlfcn.h>
#include <string.h>

#include "modules/module.h"

static GMutex lock;
static gconstpointer tables[M2T_MODULE_COUNT];

/* Newly allocated. */
static char *module_dir(void)
{
	char *program = g_file_read_link("/proc/self/exe", NULL);
	char *program_dir;
	char *dir;

	if (!program)
		return g_strdup(M2T_INSTALL_MODULE_DIR);
	program_dir = g_path_get_dirname(program);
	g_free(program);
	if (strcmp(program_dir, M2T_BUILD_DIR) == 0)
		return program_dir;
	dir = g_canonicalize_filename("../" M2T_MODULE_DIR, program_dir);
	g_free(program_dir);
	return dir;
}

/* module's table, newly loaded; NULL with error set. Called with lock held. */
static gconstpointer load(enum m2t_module module, GError **error)
{
	char *dir = module_dir();
	char *path = g_build_filename(dir, module_file(module), NULL);
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	gconstpointer table = NULL;

	if (!handle) {
		const char *why = dlerror();
		/* dlerror() names the file too: once is enough. */
		if (g_str_has_prefix(why, path) && g_str_has_prefix(why + strlen(path), ": "))
			why += strlen(path) + 2;
		g_set_error(error, MODULE_ERROR, 0, "cannot load the module %s (%s): %s", path,
			    module_brings(module), why);
	} else {
		table = dlsym(handle, module_symbol(module));
		if (!table) {
			g_set_error(error, MODULE_ERROR, 0, "the module %s has no %s: %s", path,
				    module_symbol(module), dlerror());
			dlclose(handle);
		}
	}
	g_free(path);
	g_free(dir);
	return table;
}

gconstpointer module_table(enum m2t_module module, GError **error)
{
	gconstpointer table = g_atomic_pointer_get(&tables[module]);

	if (table)
		return table;
	g_mutex_lock(&lock);
	table = tables[module];
	if (!table) {
		table = load(module, error);
		g_atomic_pointer_set(&tables[module], table);
	}
	g_mutex_unlock(&lock);
	return table;
}
