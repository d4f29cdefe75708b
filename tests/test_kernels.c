/* test_kernels.c - diffs every fast GEMM this CPU runs (scalar, avx2, avx512,
 * and gemm_parallel over two threads) against gemm_naive: odd and large
 * sizes, all four transpose combinations, padded leading dimensions, alpha
 * and beta variants, beta = 0 over a C full of NaN, and the padding between
 * C's rows left untouched. */
#include "check.h"
#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

typedef struct gemm_case {
    int ta, tb, M, N, K;
    float alpha, beta;
    int pad;     /* extra floats on every leading dimension */
} gemm_case;

/* One GEMM under test: a kernel table or a context for gemm_parallel. */
typedef struct gemm_impl {
    char name[64];
    kernel_table k;
    fer_ctx *ctx;      /* non-NULL: run gemm_parallel on it */
    int runs, fails;
} gemm_impl;

/* A 64-bit LCG step; the high bits are the random ones. */
static uint64_t rng_step(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Uniform in [-1, 1). */
static float uniform(uint64_t *s)
{
    return (float)(rng_step(s) * (2.0 / 2147483648.0) - 1.0);
}

static void fill(float *x, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) x[i] = uniform(s);
}

/* Runs case t through gemm_naive once and through every implementation;
 * checks every element of C, and that the padding after each row of C is
 * untouched. */
static void check_case(gemm_impl *impls, int n_impls, gemm_case t, uint64_t *seed)
{
    int lda = (t.ta ? t.M : t.K) + t.pad, ldb = (t.tb ? t.K : t.N) + t.pad, ldc = t.N + t.pad;
    size_t na = (size_t)(t.ta ? t.K : t.M) * lda, nb = (size_t)(t.tb ? t.N : t.K) * ldb;
    size_t nc = (size_t)t.M * ldc;
    float *A = malloc((na + 1) * sizeof *A);      /* op(A) is [M, K] */
    float *B = malloc((nb + 1) * sizeof *B);      /* op(B) is [K, N] */
    float *C0 = malloc((nc + 1) * sizeof *C0);    /* [M, ldc] C before the product */
    float *R = malloc((nc + 1) * sizeof *R);      /* [M, ldc] gemm_naive's result */
    float *C = malloc((nc + 1) * sizeof *C);      /* [M, ldc] the result under test */
    if (!A || !B || !C0 || !R || !C) {
        CHECK(0, "out of memory");
        free(A), free(B), free(C0), free(R), free(C);
        return;
    }
    fill(A, na, seed);
    fill(B, nb, seed);
    if (t.beta == 0)
        for (size_t i = 0; i < nc; i++) C0[i] = NAN;
    else
        fill(C0, nc, seed);
    memcpy(R, C0, nc * sizeof *R);
    gemm_naive(t.ta, t.tb, t.M, t.N, t.K, t.alpha, A, lda, B, ldb, t.beta, R, ldc);
    /* each product is in [-1, 1]: the sum's rounding error grows like sqrt(K) */
    double tol = 1e-4 * sqrt((double)t.K + 1);
    for (int m = 0; m < n_impls; m++) {
        gemm_impl *g = &impls[m];
        memcpy(C, C0, nc * sizeof *C);
        if (g->ctx)
            gemm_parallel(g->ctx, t.ta, t.tb, t.M, t.N, t.K, t.alpha, A, lda, B, ldb, t.beta, C,
                          ldc);
        else
            g->k.gemm(t.ta, t.tb, t.M, t.N, t.K, t.alpha, A, lda, B, ldb, t.beta, C, ldc);
        int bad = 0;
        for (int i = 0; i < t.M && bad < 3; i++)
            for (int j = 0; j < ldc && bad < 3; j++) {
                size_t at = (size_t)i * ldc + j;
                int ok = j < t.N ? fabs(C[at] - R[at]) <= tol * (1 + fabs(R[at])) && !isnan(C[at])
                                 : memcmp(&C[at], &C0[at], sizeof *C) == 0;   /* padding */
                if (!ok) {
                    bad++;
                    CHECK(ok, "%s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d: "
                              "C[%d][%d] = %g, naive %g", g->name, t.ta, t.tb, t.M, t.N, t.K,
                          t.alpha, t.beta, t.pad, i, j, C[at], R[at]);
                }
            }
        if (!bad) CHECK(1, "%s", g->name);
        g->runs++;
        g->fails += bad > 0;
    }
    free(A), free(B), free(C0), free(R), free(C);
}

/* The sweep: 1x1x1 and K = 0, sampled odd sizes over every ta/tb/alpha/beta,
 * the shapes fer's layers use, then a few large ones. */
static void check_all(gemm_impl *impls, int n_impls)
{
    static const int sizes[] = { 1, 3, 7, 13, 17, 31, 33, 65, 100, 257 };
    static const float alphas[] = { 1.0f, 0.5f }, betas[] = { 0.0f, 1.0f, 0.7f };
    const int ns = (int)(sizeof sizes / sizeof *sizes);
    uint64_t seed = 42, pick = 7;
    check_case(impls, n_impls, (gemm_case){ 0, 0, 1, 1, 1, 1.0f, 0.0f, 0 }, &seed);
    check_case(impls, n_impls, (gemm_case){ 0, 0, 5, 9, 0, 1.0f, 0.0f, 1 }, &seed);
    check_case(impls, n_impls, (gemm_case){ 1, 1, 5, 9, 0, 1.0f, 0.7f, 1 }, &seed);
    for (int tr = 0; tr < 4; tr++)
        for (int ab = 0; ab < 6; ab++)
            for (int s = 0; s < 12; s++) {
                /* 12 sampled (M, N, K) per transpose/alpha/beta combination */
                int m = sizes[(int)(rng_step(&pick) % ns)];
                int n = sizes[(s * 7 + tr + ab) % ns];
                int k = sizes[(int)(rng_step(&pick) % ns)];
                gemm_case t = { tr & 1, tr >> 1, m, n, k, alphas[ab % 2], betas[ab / 2],
                                s % 3 == 0 ? 5 : 0 };
                check_case(impls, n_impls, t, &seed);
            }
    static const gemm_case layer_cases[] = {
        { 0, 0, 128, 576, 1600, 1.0f, 0.0f, 0 },   /* conv forward: W[M,K] col[K,N] */
        { 0, 0, 512, 36, 4608, 1.0f, 0.0f, 0 },
        { 0, 0, 64, 2304, 9, 1.0f, 0.0f, 0 },
        { 0, 1, 128, 1600, 576, 1.0f, 1.0f, 0 },   /* conv dW += dz col^T */
        { 1, 0, 1600, 576, 128, 1.0f, 0.0f, 0 },   /* conv col = W^T dz */
        { 0, 1, 100, 7, 2304, 1.0f, 0.0f, 0 },     /* connected forward */
        { 1, 0, 7, 2304, 100, 1.0f, 1.0f, 0 },     /* connected dW */
    };
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++)
        check_case(impls, n_impls, layer_cases[i], &seed);
    for (int tr = 0; tr < 4; tr++) {
        gemm_case big = { tr & 1, tr >> 1, 300, 500, 700, tr % 2 ? 0.5f : 1.0f,
                          tr < 2 ? 0.0f : 0.7f, 3 };
        check_case(impls, n_impls, big, &seed);
    }
    /* K over several blocks, M and N that split into uneven blocks */
    check_case(impls, n_impls, (gemm_case){ 1, 1, 203, 1041, 801, 0.5f, 0.7f, 1 }, &seed);
    check_case(impls, n_impls, (gemm_case){ 0, 0, 350, 1100, 390, 1.0f, 1.0f, 2 }, &seed);
}

int main(void)
{
    static const char *const isas[] = { "scalar", "avx2", "avx512" };
    gemm_impl impls[4];
    int n = 0;
    fer_err e;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        memset(&impls[n], 0, sizeof impls[n]);
        if (kernels_select(&impls[n].k, isas[i], &e)) {
            printf("skip %s: %s\n", isas[i], e.msg);
            continue;
        }
        snprintf(impls[n].name, sizeof impls[n].name, "%s", isas[i]);
        n++;
    }
    fer_ctx *ctx = NULL;
    CHECK(fer_ctx_new(&ctx, 2, NULL, &e) == 0, "fer_ctx_new: %s", e.msg);
    if (ctx) {
        memset(&impls[n], 0, sizeof impls[n]);
        impls[n].ctx = ctx;
        snprintf(impls[n].name, sizeof impls[n].name, "gemm_parallel(%s, 2 threads)", ctx->k.isa);
        n++;
    }
    check_all(impls, n);
    for (int i = 0; i < n; i++)
        printf("%s: %d cases, %d failed\n", impls[i].name, impls[i].runs, impls[i].fails);
    fer_ctx_free(ctx);
    return check_summary("test_kernels");
}
