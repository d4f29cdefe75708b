/* paths.c - the search for files named by other files (paths.h). */
#include "paths.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef FER_SHARE_DIR
#define FER_SHARE_DIR "/usr/local/share/fer"
#endif

const char *path_share_dir(void) { return FER_SHARE_DIR; }

/* dir[cap] = the folder part of path ("." when it has none). */
static void folder_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, cap, ".");
    else if (slash == path) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/* Tries dir/name; 0 and out set when it is readable. */
static int try_in(const char *dir, const char *name, char *out, size_t cap)
{
    char p[4096];
    int n = snprintf(p, sizeof p, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof p || (size_t)n >= cap || access(p, R_OK)) return -1;
    memcpy(out, p, (size_t)n + 1);
    return 0;
}

int path_locate(const char *name, const char *near, char *out, size_t cap)
{
    snprintf(out, cap, "%s", name);
    if (!name[0]) return -1;
    if (!access(name, R_OK)) return 0;
    if (name[0] == '/') return -1;
    char dir[4096], up[4200];
    if (near && near[0]) {
        folder_of(near, dir, sizeof dir);
        snprintf(up, sizeof up, "%s/..", dir);
        if (!try_in(dir, name, out, cap) || !try_in(up, name, out, cap)) return 0;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        folder_of(exe, dir, sizeof dir);
        snprintf(up, sizeof up, "%s/..", dir);
        if (!try_in(dir, name, out, cap) || !try_in(up, name, out, cap)) return 0;
        snprintf(up, sizeof up, "%s/../share/fer", dir);
        if (!try_in(up, name, out, cap)) return 0;
    }
    if (!try_in(FER_SHARE_DIR, name, out, cap)) return 0;
    snprintf(out, cap, "%s", name);
    return -1;
}
