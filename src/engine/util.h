/* util.h - errors, the log hook, the checked allocator, whole-file reads and atomic writes. */
#ifndef FER_ENGINE_UTIL_H
#define FER_ENGINE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fer.h"

/* ---- errors -------------------------------------------------------------- */

/* Library functions return 0 on success and -1 on failure, with a message in
 * the caller's fer_err. Only main() exits. */
int fer_fail(fer_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- messages ------------------------------------------------------------ */

/* Where the library's warnings and notices go (rule: libfer never prints by
 * itself): the hook a caller installed with fer_ctx_set_log (a fer_ctx holds
 * one), or nowhere when fn is NULL. */
typedef struct log_hook {
    fer_log_fn fn;
    void *user;
    int live;        /* fn redraws FER_LOG_PROGRESS lines in place */
} log_hook;

/* Formats one line (printf-style, without the newline) and passes it to
 * hook->fn; does nothing when hook is NULL or has no fn. */
void fer_log(const log_hook *hook, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- checked allocation -------------------------------------------------- */

/* All engine allocations go through these. They return NULL (and fill e) on
 * failure; sizes are checked for overflow. Memory is 64-byte aligned. */
void *fer_alloc(size_t count, size_t size, fer_err *e);
void fer_free(void *p);

/* ---- files --------------------------------------------------------------- */

/* Reads a whole file (NUL-terminated); *len excludes the NUL. */
char *read_file(const char *path, size_t *len, fer_err *e);
/* read_file for text: a UTF-8 byte-order mark at the start is dropped, and
 * a NUL byte anywhere is an error naming its offset. */
char *read_text_file(const char *path, size_t *len, fer_err *e);
/* The next line of text[0..len) from *pos: [*start, *stop) without its
 * terminator ("\n", "\r\n" or a lone "\r"); *pos moves past it. Returns 0
 * when no text is left. */
int text_next_line(const char *text, size_t len, size_t *pos, size_t *start, size_t *stop);
/* Opens path.tmp for writing; atomic_close flushes and fsyncs it, renames it
 * over path and fsyncs the folder, so that neither a kill nor a power loss
 * leaves a half-written path. */
FILE *atomic_open(const char *path, char *tmp, size_t tmplen, fer_err *e);
int atomic_close(FILE *f, const char *tmp, const char *path, fer_err *e);

/* ---- small helpers ------------------------------------------------------- */

/* Seconds on the monotonic clock (for durations, never dates). */
double clock_seconds(void);
/* The base name of a path without its extension ("cfg/a.b.cfg" -> "a.b"). */
void path_stem(const char *path, char *out, size_t cap);
/* 1 when s ends with suffix. */
int str_ends_with(const char *s, const char *suffix);

#endif
