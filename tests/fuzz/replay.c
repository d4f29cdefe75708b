/* replay.c - the main of a fuzz harness built without libFuzzer (`make
 * test` builds $(BUILD)/tests/fuzz_<surface> from tests/fuzz/fuzz_<surface>.c
 * and this file): runs LLVMFuzzerTestOneInput once on every file named on
 * the command line, and on every file under every folder named (recursively,
 * in name order; names starting with '.' and README files are skipped).
 * Prints how many inputs it ran; a crash or an oracle's abort() is the
 * failure. Exits 2 when a path cannot be read. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the harness on one file, its bytes in a buffer of exactly their size. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    uint8_t *exact = buf ? malloc(n ? n : 1) : NULL;
    if (err || !exact) {
        fprintf(stderr, "%s: %s\n", path, err ? "read error" : "out of memory");
        free(buf);
        free(exact);
        return -1;
    }
    if (n) memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Replays path (a file, or a folder walked in name order); *count += inputs run. */
static int replay_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st)) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (replay_file(path)) return -1;
        (*count)++;
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) {
        perror(path);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || !strncmp(de->d_name, "README", 6)) continue;
        if (n == cap) {
            char **more = realloc(names, (cap ? cap * 2 : 64) * sizeof *names);
            if (!more) { rc = -1; break; }
            names = more;
            cap = cap ? cap * 2 : 64;
        }
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        if (!(names[n] = malloc(len))) { rc = -1; break; }
        snprintf(names[n++], len, "%s/%s", path, de->d_name);
    }
    closedir(d);
    if (rc) fprintf(stderr, "%s: out of memory listing the folder\n", path);
    if (n) qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n; i++) {
        if (!rc) rc = replay_path(names[i], count);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|FOLDER...  (runs the fuzz harness once on each input)\n", argv[0]);
        return 2;
    }
    int count = 0;
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &count)) return 2;
    printf("%s: %d inputs replayed\n", argv[0], count);
    return 0;
}
