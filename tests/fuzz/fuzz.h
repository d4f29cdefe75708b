/* fuzz.h - what the fuzz harnesses (tests/fuzz/fuzz_*.c) share. Each
 * harness is one program: linked with libFuzzer by `make fuzz`, or with
 * tests/fuzz/replay.c (a main that feeds it files) by `make test`.
 *
 * A harness returns 0 for every input; a bug shows as a sanitizer report, a
 * crash, or abort() from fuzz_require when an oracle fails. */
#ifndef FER_FUZZ_H
#define FER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sanitizer defaults (read by ASan when the harness is built with it, from
 * libFuzzer or `make test-asan`; ASAN_OPTIONS overrides them): an
 * allocation over 64 MB returns NULL instead of aborting, so a cfg or a
 * header that asks for gigabytes takes fer's out-of-memory path, and one
 * input cannot run into libFuzzer's -rss_limit_mb. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=64";
}

/* An oracle: abort (a crash the fuzzer keeps) with a message when ok is 0. */
static inline void fuzz_require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz oracle failed: %s\n", what);
        abort();
    }
}

/* The per-process temporary file the file-reading surfaces get their input
 * through: created on first use in $TMPDIR (else /tmp), removed at exit. It
 * stays open and is rewritten in place: truncating a file to zero and
 * writing it again makes ext4 flush it to disk on close (auto_da_alloc),
 * which costs milliseconds per input. */
static char fuzz_tmp_path[4096];
static int fuzz_tmp_fd = -1;

static void fuzz_tmp_remove(void)
{
    if (fuzz_tmp_path[0]) unlink(fuzz_tmp_path);
}

/* Writes data[0..size) to the temporary file and returns its path. */
static inline const char *fuzz_write_tmp(const void *data, size_t size)
{
    if (fuzz_tmp_fd < 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_tmp_path, sizeof fuzz_tmp_path, "%s/fer_fuzz_XXXXXX", dir && *dir ? dir : "/tmp");
        fuzz_tmp_fd = mkstemp(fuzz_tmp_path);
        fuzz_require(fuzz_tmp_fd >= 0, "cannot create a temporary file (mkstemp)");
        atexit(fuzz_tmp_remove);
    }
    fuzz_require(pwrite(fuzz_tmp_fd, data, size, 0) == (ssize_t)size && ftruncate(fuzz_tmp_fd, (off_t)size) == 0,
                 "cannot write the temporary file");
    return fuzz_tmp_path;
}

/* 1 when the input names a device or kernel file (/dev/zero never ends,
 * /dev/stdin blocks): surfaces whose input names other files to read skip
 * those inputs, which would measure the machine rather than fer. */
static inline int fuzz_names_special_file(const uint8_t *data, size_t size)
{
    static const char *const dirs[] = { "/dev/", "/proc/", "/sys/" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        size_t m = strlen(dirs[i]);
        for (size_t k = 0; k + m <= size; k++)
            if (!memcmp(data + k, dirs[i], m)) return 1;
    }
    return 0;
}

/* A NUL-terminated copy of the input (for text surfaces); free it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    fuzz_require(t != NULL, "out of memory copying the input");
    if (size) memcpy(t, data, size);
    t[size] = 0;
    return t;
}

#endif
