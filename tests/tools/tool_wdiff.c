/* tool_wdiff.c - compares two .weights files value by value, for the tests
 * that expect equal training from different runs (tests/e2e/e2e_mpi.sh).
 * Usage: tool_wdiff A.weights B.weights [TOL]
 * Prints "values N max_abs X max_rel Y", max_rel = the largest difference
 * over the largest magnitude in A; exits 1 when the files differ in size or
 * max_rel > TOL (default 1e-4). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The file's values after its header (major, minor, revision, seen). */
static float *read_values(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    int32_t hdr[3];
    float *v = NULL;
    if (fread(hdr, sizeof hdr[0], 3, f) == 3 && !fseek(f, 0, SEEK_END)) {
        long size = ftell(f), off = 12 + (hdr[0] * 10 + hdr[1] >= 2 ? 8 : 4);
        *n = size > off ? (size_t)(size - off) / sizeof(float) : 0;
        v = malloc(*n * sizeof *v + 1);
        if (v && (fseek(f, off, SEEK_SET) || fread(v, sizeof *v, *n, f) != *n)) {
            free(v);
            v = NULL;
        }
    }
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tool_wdiff A.weights B.weights [TOL]\n");
        return 2;
    }
    double tol = argc > 3 ? atof(argv[3]) : 1e-4;
    size_t na = 0, nb = 0;
    float *a = read_values(argv[1], &na), *b = read_values(argv[2], &nb);
    if (!a || !b || na != nb) {
        fprintf(stderr, "tool_wdiff: cannot read %s and %s as weights of the same size\n", argv[1], argv[2]);
        return 1;
    }
    double max_abs = 0, scale = 0;
    for (size_t i = 0; i < na; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= max_abs)) max_abs = d;   /* NaN counts as the largest */
        if (fabs(a[i]) > scale) scale = fabs(a[i]);
    }
    double rel = scale > 0 ? max_abs / scale : max_abs;
    printf("values %zu max_abs %.3g max_rel %.3g\n", na, max_abs, rel);
    free(a);
    free(b);
    return rel <= tol ? 0 : 1;
}
