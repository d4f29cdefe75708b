/* paths.h - where fer finds the files other files name (label lists, the
 * default .data, the default model): not only the current folder, so that
 * fer works the same from any folder, from the repository and installed. */
#ifndef FER_DATA_PATHS_H
#define FER_DATA_PATHS_H

#include <stddef.h>

/* The folder `make install` put the shared files in (cfg/, weights/,
 * data/), compiled in; /usr/local/share/fer unless built otherwise. */
const char *path_share_dir(void);

/* The default model of every command and of fer_model_load_default: the
 * most accurate single model shipped (located with path_locate). */
#define FER_DEFAULT_CFG "cfg/shallow.cfg"
#define FER_DEFAULT_WEIGHTS "weights/shallow.weights"

/* Finds a readable file called `name` and writes its path to out[cap]:
 * name itself when absolute or present from the current folder; else
 * relative to the folder of `near` (a file that names it; may be NULL) and
 * to that folder's parent; else beside the running program and in the
 * repository layout around it (the program's folder and its parent); else
 * in path_share_dir(). Returns 0 when found, -1 (out = name) when not. */
int path_locate(const char *name, const char *near, char *out, size_t cap);

#endif
