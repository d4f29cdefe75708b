/* util.c - errors, the log hook, the checked allocator, whole-file reads,
 * atomic writes, and the random number generator (xoshiro256**, seeded by
 * splitmix64). */
#define _DEFAULT_SOURCE 1   /* madvise flags */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

int fer_fail(fer_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void fer_log(const log_hook *hook, int level, const char *fmt, ...)
{
    if (!hook || !hook->fn) return;
    char line[1024], *msg = line;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) {   /* a long path: format again into a buffer that fits */
        msg = malloc((size_t)n + 1);
        if (!msg) return;
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    hook->fn(hook->user, level, msg);
    if (msg != line) free(msg);
}

void *fer_alloc(size_t count, size_t size, fer_err *e)
{
    if (size && count > SIZE_MAX / size) {
        fer_fail(e, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    size_t bytes = count * size;
    if (bytes == 0) bytes = 64;
    /* large blocks (activations, parameters) on 2 MB boundaries, so the
     * kernel can back them with huge pages: fewer TLB misses when streaming */
    size_t align = bytes >= ((size_t)4 << 20) ? ((size_t)2 << 20) : 64;
    bytes = (bytes + align - 1) & ~(align - 1);
    void *p = aligned_alloc(align, bytes);
    if (!p) {
        fer_fail(e, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align > 64) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return p;
}

void fer_free(void *p) { free(p); }

char *read_file(const char *path, size_t *len, fer_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fer_fail(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n < cap - 1) break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) {
        fer_fail(e, "%s: out of memory reading file", path);
        return NULL;
    }
    if (err) {
        free(buf);
        fer_fail(e, "%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

char *read_text_file(const char *path, size_t *len, fer_err *e)
{
    size_t n;
    char *text = read_file(path, &n, e);
    if (!text) return NULL;
    if (n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        memmove(text, text + 3, n - 2);
        n -= 3;
    }
    const char *nul = memchr(text, 0, n);
    if (nul) {
        fer_fail(e, "%s: byte offset %zu: a NUL byte (not a text file)", path, (size_t)(nul - text));
        free(text);
        return NULL;
    }
    if (len) *len = n;
    return text;
}

int text_next_line(const char *text, size_t len, size_t *pos, size_t *start, size_t *stop)
{
    size_t p = *pos;
    if (p >= len) return 0;
    *start = p;
    while (p < len && text[p] != '\n' && text[p] != '\r') p++;
    *stop = p;
    if (p < len && text[p] == '\r') p++;
    if (p < len && text[p] == '\n' && (p == *stop || text[p - 1] == '\r')) p++;
    *pos = p;
    return 1;
}

FILE *atomic_open(const char *path, char *tmp, size_t tmplen, fer_err *e)
{
    int w = snprintf(tmp, tmplen, "%s.tmp", path);
    if (w < 0 || (size_t)w >= tmplen) {
        fer_fail(e, "%s: path too long", path);
        return NULL;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) fer_fail(e, "%s: cannot write: %s", tmp, strerror(errno));
    return f;
}

/* Makes a rename in path's folder durable: fsync of the folder itself. */
static void sync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;   /* durability is best effort where the folder cannot be opened */
    fsync(fd);
    close(fd);
}

int atomic_close(FILE *f, const char *tmp, const char *path, fer_err *e)
{
    int bad = ferror(f);
    if (fflush(f) != 0) bad = 1;
    if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS) bad = 1;   /* on disk before the rename */
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        remove(tmp);
        return fer_fail(e, "%s: write failed (disk full?)", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return fer_fail(e, "%s: cannot rename from %s: %s", path, tmp, strerror(errno));
    }
    sync_parent(path);
    return 0;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rng_uniform(rng *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

float rng_normal(rng *r)
{
    float u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

int rng_int(rng *r, int n) { return n <= 1 ? 0 : (int)((rng_next(r) >> 33) % (uint64_t)n); }

uint64_t rng_stream_seed(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL + 0x165667b19e3779f9ULL);
    x ^= x >> 31;
    return x * 0xbf58476d1ce4e5b9ULL;
}

void rng_permutation(rng *r, int *order, int n)
{
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {   /* Fisher-Yates */
        int j = rng_int(r, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

double clock_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

void path_stem(const char *path, char *out, size_t cap)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    const char *dot = strrchr(s, '.');
    size_t n = dot && dot != s ? (size_t)(dot - s) : strlen(s);
    snprintf(out, cap, "%.*s", (int)n, s);
}

int str_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}
