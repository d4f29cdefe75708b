/* teacher.c - soft targets for knowledge distillation: reads the per-image
 * probabilities that `fer ensemble -split train -out FILE` writes (header
 * index,true,pred, m<j>_<label>..., ens_<label>...) and lines them up with
 * a training split. A student trained with `-teacher FILE -distill A` is
 * fitted to (1 - A) * one-hot + A * the teacher's ens_ probabilities. */
#include "dataset.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Splits line [p, end) at commas, in place: each comma and *end become
 * '\0', field[i] points at field i. Returns the count, or -1 when there are
 * more than cap fields. */
static int split_commas(char *p, char *end, char **field, int cap)
{
    int n = 0;
    for (;;) {
        if (n >= cap) return -1;
        field[n++] = p;
        char *c = memchr(p, ',', (size_t)(end - p));
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    *end = '\0';
    return n;
}

static int parse_int_field(const char *s, long *v)
{
    if (!isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *e;
    *v = strtol(s, &e, 10);
    return errno || *e ? -1 : 0;
}

int teacher_load(const char *path, const dataset *ds, char **names, float **out, fer_err *e)
{
    *out = NULL;
    int C = ds->classes, n = ds->n;
    size_t len;
    char *text = read_file(path, &len, e);
    if (!text) return -1;
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        size_t off = (size_t)(nul - text);
        free(text);
        return fer_fail(e, "%s: not a text file (a NUL byte at offset %zu)", path, off);
    }
    enum { MAX_FIELDS = 4096 };
    char **field = malloc(MAX_FIELDS * sizeof *field);
    int *col = malloc((size_t)C * sizeof *col);
    float *probs = fer_alloc((size_t)n * C, sizeof(float), e);
    unsigned char *seen = calloc((size_t)n ? (size_t)n : 1, 1);
    int rc = -1, line = 1, nf = 0, rows = 0;
    if (!probs) goto done;
    if (!field || !col || !seen) { fer_fail(e, "out of memory"); goto done; }

    char *p = text, *eol = strchr(p, '\n');
    char *end = eol ? eol : p + strlen(p);
    if (end > p && end[-1] == '\r') end--;
    nf = split_commas(p, end, field, MAX_FIELDS);
    if (nf < 3 || strcmp(field[0], "index") || strcmp(field[1], "true")) {
        fer_fail(e, "%s:1: expected the header 'index,true,pred,...,ens_<label>...' that fer ensemble -out writes", path);
        goto done;
    }
    for (int k = 0; k < C; k++) {
        col[k] = -1;
        for (int j = 3; j < nf; j++)
            if (!strncmp(field[j], "ens_", 4) && !strcmp(field[j] + 4, names[k])) col[k] = j;
        if (col[k] < 0) {
            fer_fail(e, "%s:1: no column ens_%s (the teacher's probability of class %d)", path, names[k], k);
            goto done;
        }
    }
    p = eol ? eol + 1 : end;
    while (*p) {
        line++;
        eol = strchr(p, '\n');
        end = eol ? eol : p + strlen(p);
        if (end > p && end[-1] == '\r') end--;
        if (end == p) { p = eol ? eol + 1 : end; continue; }
        int got = split_commas(p, end, field, MAX_FIELDS);
        if (got != nf) {
            fer_fail(e, "%s:%d: %s%d fields, the header has %d", path, line, got < 0 ? "more than " : "",
                     got < 0 ? MAX_FIELDS : got, nf);
            goto done;
        }
        long idx, label;
        if (parse_int_field(field[0], &idx) || parse_int_field(field[1], &label)) {
            fer_fail(e, "%s:%d: index and true must be non-negative integers", path, line);
            goto done;
        }
        p = eol ? eol + 1 : end;
        if (idx >= n) continue;   /* beyond a -limit'ed split */
        if (seen[idx]) { fer_fail(e, "%s:%d: image %ld appears twice", path, line, idx); goto done; }
        if (label != ds->labels[idx]) {
            fer_fail(e, "%s:%d: image %ld has true label %ld but %s says %d: the file is for another split", path, line,
                     idx, label, ds->source, ds->labels[idx]);
            goto done;
        }
        double sum = 0;
        float *t = probs + (size_t)idx * C;
        for (int k = 0; k < C; k++) {
            char *q;
            errno = 0;
            float v = strtof(field[col[k]], &q);
            if (q == field[col[k]] || *q || errno || !isfinite(v) || v < 0 || v > 1.0001f) {
                fer_fail(e, "%s:%d: column ens_%s: '%s' is not a probability in [0,1]", path, line, names[k],
                         field[col[k]]);
                goto done;
            }
            t[k] = v;
            sum += v;
        }
        if (fabs(sum - 1) > 1e-3) {
            fer_fail(e, "%s:%d: the ens_ probabilities sum to %.6f, not 1", path, line, sum);
            goto done;
        }
        for (int k = 0; k < C; k++) t[k] = (float)(t[k] / sum);
        seen[idx] = 1;
        rows++;
    }
    if (rows < n) {
        int first = 0;
        while (seen[first]) first++;
        fer_fail(e, "%s: %d of the %d training images have no row (the first missing is index %d)", path, n - rows, n,
                 first);
        goto done;
    }
    *out = probs;
    probs = NULL;
    rc = 0;
done:
    free(field);
    free(col);
    free(probs);
    free(seen);
    free(text);
    return rc;
}
