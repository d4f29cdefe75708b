/* check.h - a tiny test harness for fer's C tests. Each CHECK counts as one
 * assertion; a test program ends with `return check_summary("name");`,
 * which prints "name: N passed, M failed" and returns non-zero on failure. */
#ifndef FER_CHECK_H
#define FER_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)

/* |a - b| <= atol + rtol * |b|; fmt and its arguments describe the value. */
#define CHECK_CLOSE(a, b, atol, rtol, fmt, ...)                                       \
    do {                                                                              \
        double ca_ = (a), cb_ = (b);                                                  \
        CHECK(fabs(ca_ - cb_) <= (atol) + (rtol) * fabs(cb_) && !isnan(ca_),          \
              "%g vs %g: " fmt, ca_, cb_, ##__VA_ARGS__);                             \
    } while (0)

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    if (check_passed == 0) {
        printf("%s: no assertion ran\n", name);
        return 1;
    }
    return check_failed ? 1 : 0;
}

#endif
