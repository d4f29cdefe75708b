/* test_kernels.c - diffs every fast GEMM this CPU runs (scalar, avx2, avx512,
 * and gemm_parallel over two threads) against gemm_naive: odd and large
 * sizes, all four transpose combinations, padded leading dimensions, alpha
 * and beta variants, beta = 0 over a C full of NaN, and the padding between
 * C's rows left untouched. Then the BF16 GEMM (when the CPU has
 * AVX512_BF16): against gemm_naive on inputs rounded to bf16 by an
 * independent bit-level rounding (fp32 accumulation error only), against
 * the unrounded product within the bf16 bound, and exactly on ties.
 * Last, the direct depthwise and single-plane kernels against im2col + gemm_naive (forward,
 * kernel and input gradients) over odd shapes, strides and paddings, and
 * batch norm's kernels against their double-precision twins. */
#include "check.h"
#include "engine/engine.h"
#include "kernels/kernels.h"
#include "kernels/norm.h"

#include <stdint.h>
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
        { 0, 1, 1, 256, 4608, 1.0f, 0.0f, 0 },     /* connected forward at batch 1..4: gemm_dot */
        { 0, 1, 4, 513, 1000, 0.5f, 0.7f, 3 },
        { 0, 1, 3, 7, 15, 1.0f, 1.0f, 1 },
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

/* ---- BF16 ------------------------------------------------------------------ */

/* x rounded to bfloat16 (the top 16 bits of a float), round to nearest even,
 * written from the format's definition independently of the kernel: add
 * 0x7fff plus the lowest kept bit, drop the low 16 bits. NaN stays a (quiet)
 * NaN, infinities stay; subnormals become signed zero, as vcvtne2ps2bf16
 * treats them. */
static float bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) {
        if (u & 0x007fffffu) u |= 0x00400000u;
    } else if ((u & 0x7f800000u) == 0) {
        u &= 0x80000000u;
    } else {
        u += 0x7fffu + ((u >> 16) & 1u);
    }
    u &= 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* The bf16 GEMM under test: the kernel alone, or gemm_parallel on a context
 * switched to bf16. */
typedef struct bf16_impl {
    const char *name;
    kernel_table k;    /* the avx512 table switched to bf16 */
    fer_ctx *ctx;      /* non-NULL: run gemm_parallel on it */
    int runs, fails;
    double worst_r, worst_f;   /* largest error / scale vs R and vs F */
} bf16_impl;

/* Case t through each implementation. R: gemm_naive on the bf16-rounded A
 * and B (the kernel may differ only by fp32 summation order); F: gemm_naive
 * on A and B themselves (the kernel may differ by the rounding of its
 * operands: bf16 keeps 8 significant bits, so |a' - a| <= 2^-8 |a| and
 * |a'b' - ab| <= (2^-7 + 2^-16)|ab|). Both bounds scale with
 * S = |alpha| sum_k |a||b|, the size of what the sum cancels. */
static void check_bf16_case(bf16_impl *impls, int n_impls, gemm_case t, uint64_t *seed)
{
    int lda = (t.ta ? t.M : t.K) + t.pad, ldb = (t.tb ? t.K : t.N) + t.pad, ldc = t.N + t.pad;
    size_t na = (size_t)(t.ta ? t.K : t.M) * lda, nb = (size_t)(t.tb ? t.N : t.K) * ldb;
    size_t nc = (size_t)t.M * ldc;
    float *A = malloc((na + 1) * sizeof *A);      /* op(A) is [M, K] */
    float *B = malloc((nb + 1) * sizeof *B);      /* op(B) is [K, N] */
    float *Ar = malloc((na + 1) * sizeof *Ar);    /* A rounded to bf16 */
    float *Br = malloc((nb + 1) * sizeof *Br);    /* B rounded to bf16 */
    float *C0 = malloc((nc + 1) * sizeof *C0);    /* [M, ldc] C before the product */
    float *R = malloc((nc + 1) * sizeof *R);      /* [M, ldc] naive on Ar, Br */
    float *F = malloc((nc + 1) * sizeof *F);      /* [M, ldc] naive on A, B */
    float *C = malloc((nc + 1) * sizeof *C);      /* [M, ldc] the result under test */
    double *S = malloc(((size_t)t.M * t.N + 1) * sizeof *S);   /* [M, N] |alpha| sum |a||b| */
    if (!A || !B || !Ar || !Br || !C0 || !R || !F || !C || !S) {
        CHECK(0, "out of memory");
        goto out;
    }
    fill(A, na, seed);
    fill(B, nb, seed);
    for (size_t i = 0; i < na; i++) Ar[i] = bf16_round(A[i]);
    for (size_t i = 0; i < nb; i++) Br[i] = bf16_round(B[i]);
    if (t.beta == 0)
        for (size_t i = 0; i < nc; i++) C0[i] = NAN;
    else
        fill(C0, nc, seed);
    memcpy(R, C0, nc * sizeof *R);
    memcpy(F, C0, nc * sizeof *F);
    gemm_naive(t.ta, t.tb, t.M, t.N, t.K, t.alpha, Ar, lda, Br, ldb, t.beta, R, ldc);
    gemm_naive(t.ta, t.tb, t.M, t.N, t.K, t.alpha, A, lda, B, ldb, t.beta, F, ldc);
    for (int i = 0; i < t.M; i++)
        for (int j = 0; j < t.N; j++) {
            double sum = 0;
            for (int k = 0; k < t.K; k++)
                sum += fabs(t.ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                       fabs(t.tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            S[(size_t)i * t.N + j] = fabs(t.alpha) * sum;
        }
    for (int m = 0; m < n_impls; m++) {
        bf16_impl *g = &impls[m];
        memcpy(C, C0, nc * sizeof *C);
        if (g->ctx)
            gemm_parallel(g->ctx, t.ta, t.tb, t.M, t.N, t.K, t.alpha, A, lda, B, ldb, t.beta, C,
                          ldc);
        else
            g->k.gemm(t.ta, t.tb, t.M, t.N, t.K, t.alpha, A, lda, B, ldb, t.beta, C, ldc);
        /* gemm_parallel runs a dense layer's batch 1-4 product (M <= 4, B
         * transposed) as fp32 dot products: no rounding, so R is F there */
        int fp32 = g->ctx && !t.ta && t.tb && t.M <= GEMM_DOT_MAX_M && t.K > 0 && t.alpha != 0;
        const float *Rg = fp32 ? F : R;
        int bad = 0;
        for (int i = 0; i < t.M && bad < 3; i++)
            for (int j = 0; j < ldc && bad < 3; j++) {
                size_t at = (size_t)i * ldc + j;
                if (j >= t.N) {   /* padding */
                    int ok = memcmp(&C[at], &C0[at], sizeof *C) == 0;
                    if (!ok) {
                        bad++;
                        CHECK(ok, "%s: padding C[%d][%d] changed", g->name, i, j);
                    }
                    continue;
                }
                double s = S[(size_t)i * t.N + j];
                double scale = s + fabs(t.beta) * (t.beta == 0 ? 0 : fabs(C0[at])) + 1e-30;
                double err_r = fabs((double)C[at] - Rg[at]), err_f = fabs((double)C[at] - F[at]);
                if (err_r / scale > g->worst_r) g->worst_r = err_r / scale;
                if (err_f / scale > g->worst_f) g->worst_f = err_f / scale;
                int ok = !isnan(C[at]) && err_r <= 1e-5 * scale &&
                         err_f <= (1.0 / 128 + 1.0 / 65536) * s + 1e-5 * scale;
                if (!ok) {
                    bad++;
                    CHECK(ok, "%s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d: C[%d][%d] "
                              "= %.9g, naive on bf16 inputs %.9g (err %.3g S), fp32 %.9g "
                              "(err %.3g S)", g->name, t.ta, t.tb, t.M, t.N, t.K, t.alpha,
                          t.beta, t.pad, i, j, C[at], Rg[at], err_r / scale, F[at],
                          err_f / scale);
                }
            }
        if (!bad) CHECK(1, "%s", g->name);
        g->runs++;
        g->fails += bad > 0;
    }
out:
    free(A), free(B), free(Ar), free(Br), free(C0), free(R), free(F), free(C), free(S);
}

/* Rounding is to nearest even: for K = 1 the product of two bf16 values is
 * exact in fp32, so C = bf16(a) * bf16(b) bit for bit. The inputs sit
 * exactly halfway between two bf16 values (low 16 bits 0x8000), with an
 * even and an odd last kept bit, both signs, and a few ordinary values. */
static void check_bf16_ties(const kernel_table *k)
{
    enum { M = 8, N = 40 };
    float A[M], B[N], C[M * N];
    for (int i = 0; i < M; i++) {
        uint32_t u = 0x3f800000u + ((uint32_t)i << 16) + 0x8000u;   /* 1 + i/128 + half an ulp */
        if (i & 4) u |= 0x80000000u;
        memcpy(&A[i], &u, sizeof u);
    }
    uint64_t seed = 5;
    for (int j = 0; j < N; j++) {
        uint32_t u = 0x40000000u + ((uint32_t)(j % 16) << 16) + (j < 16 ? 0x8000u : 0);
        memcpy(&B[j], &u, sizeof u);
        if (j >= 32) B[j] = uniform(&seed);
    }
    k->gemm(0, 0, M, N, 1, 1.0f, A, 1, B, N, 0.0f, C, N);
    int bad = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float want = bf16_round(A[i]) * bf16_round(B[j]);
            if (memcmp(&C[i * N + j], &want, sizeof want) && bad++ < 3)
                CHECK(0, "ties: C[%d][%d] = %.9g, bf16(%.9g) * bf16(%.9g) = %.9g", i, j,
                      C[i * N + j], A[i], B[j], want);
        }
    CHECK(bad == 0, "ties: %d of %d products differ", bad, M * N);
    CHECK(bf16_round(1.0f + 1.0f / 256) == 1.0f, "bf16_round: a tie rounds to even (down)");
    CHECK(bf16_round(1.0f + 3.0f / 256) == 1.0f + 4.0f / 256, "bf16_round: a tie rounds to even (up)");
}

/* The context switch: unknown names fail, bf16 needs the avx512 set, and
 * fp32 restores the ISA's own GEMM. */
static void check_bf16_switch(void)
{
    fer_err e;
    kernel_table k, fp32;
    CHECK(kernels_select(&k, "avx512", &e) == 0 && kernels_select(&fp32, "avx512", &e) == 0, "%s",
          e.msg);
    CHECK(kernels_set_precision(&k, "fp16", &e) != 0, "fp16 is not a precision");
    CHECK(kernels_set_precision(&k, "bf16", &e) == 0 && k.bf16 && k.gemm != fp32.gemm, "%s", e.msg);
    CHECK(kernels_set_precision(&k, "fp32", &e) == 0 && !k.bf16 && k.gemm == fp32.gemm,
          "fp32 after bf16: %s", e.msg);
    CHECK(kernels_select(&k, "scalar", &e) == 0, "%s", e.msg);
    CHECK(kernels_set_precision(&k, "bf16", &e) != 0 && strstr(e.msg, "avx512"),
          "bf16 with the scalar set must fail naming avx512");
}

/* gemm_pre with op(A) or op(B) packed whole (gemm_pack) gives gemm_bf16's
 * result bit for bit: direct, and split across 2 threads in whole panels
 * (gemm_parallel_pre); shapes with odd K over several K blocks and M, N
 * off the panel sizes. */
static void check_bf16_prepacked(const kernel_table *k, fer_ctx *ctx)
{
    static const int shapes[][3] = { { 1, 1, 1 }, { 13, 31, 7 }, { 15, 33, 1601 }, { 203, 541, 801 },
                                     { 36, 512, 4608 }, { 128, 144, 256 }, { 29, 70, 2 } };
    uint64_t seed = 321;
    int cases = 0, fails = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int tr = 0; tr < 4; tr++)
            for (int side = 0; side < 2; side++) {
                int ta = tr & 1, tb = tr >> 1, M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
                int lda = ta ? M + 3 : K + 1, ldb = tb ? K + 2 : N + 5;
                size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * N;
                float *A = malloc(na * sizeof(float)), *B = malloc(nb * sizeof(float));
                float *C0 = malloc(nc * sizeof(float)), *C1 = malloc(nc * sizeof(float)), *C2 = malloc(nc * sizeof(float));
                fill(A, na, &seed);
                fill(B, nb, &seed);
                fill(C0, nc, &seed);
                memcpy(C1, C0, nc * sizeof(float));
                memcpy(C2, C0, nc * sizeof(float));
                int rows = side == GEMM_SIDE_A ? M : N;
                float *P = aligned_alloc(64, (k->gemm_pack_floats(side, rows, K) * sizeof(float) + 63) / 64 * 64);
                if (side == GEMM_SIDE_A) k->gemm_pack(side, ta, M, K, A, lda, P);
                else k->gemm_pack(side, tb, N, K, B, ldb, P);
                const float *pA = side == GEMM_SIDE_A ? P : NULL, *pB = side == GEMM_SIDE_B ? P : NULL;
                float beta = i % 2 ? 0.5f : 0.0f;
                k->gemm(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, beta, C0, N);
                k->gemm_pre(ta, tb, M, N, K, 0.75f, pA ? NULL : A, lda, pA, pB ? NULL : B, ldb, pB, beta, C1, N);
                gemm_parallel_pre(ctx, ta, tb, M, N, K, 0.75f, pA ? NULL : A, lda, pA, pB ? NULL : B, ldb, pB, beta,
                                  C2, N);
                cases++;
                int same = !memcmp(C0, C1, nc * sizeof(float)) && !memcmp(C0, C2, nc * sizeof(float));
                fails += !same;
                CHECK(same, "bf16 prepacked %s: ta %d tb %d M %d N %d K %d differs from gemm_bf16",
                      side == GEMM_SIDE_A ? "A" : "B", ta, tb, M, N, K);
                free(A); free(B); free(C0); free(C1); free(C2); free(P);
            }
    printf("bf16 prepacked operands: %d cases, %d not bit-identical\n", cases, fails);
}

static void check_bf16(void)
{
    fer_err e;
    kernel_table k;
    if (kernels_select(&k, "avx512", &e) || kernels_set_precision(&k, "bf16", &e)) {
        printf("skip bf16: %s\n", e.msg);
        return;
    }
    check_bf16_switch();
    check_bf16_ties(&k);
    bf16_impl impls[2] = { { "bf16", k, NULL, 0, 0, 0, 0 },
                           { "gemm_parallel(bf16, 2 threads)", k, NULL, 0, 0, 0, 0 } };
    int n = 1;
    fer_ctx *ctx = NULL;
    CHECK(fer_ctx_new(&ctx, 2, "avx512", &e) == 0, "fer_ctx_new: %s", e.msg);
    if (ctx) {
        CHECK(fer_ctx_set_precision(ctx, "bf16", &e) == 0, "%s", e.msg);
        CHECK(!strcmp(fer_ctx_precision(ctx), "bf16"), "fer_ctx_precision");
        impls[n++].ctx = ctx;
    }
    static const int sizes[] = { 1, 2, 3, 7, 13, 15, 17, 31, 33, 65, 100 };
    static const float alphas[] = { 1.0f, 0.5f }, betas[] = { 0.0f, 1.0f, 0.7f };
    const int ns = (int)(sizeof sizes / sizeof *sizes);
    uint64_t seed = 99, pick = 3;
    check_bf16_case(impls, n, (gemm_case){ 0, 0, 1, 1, 1, 1.0f, 0.0f, 0 }, &seed);
    check_bf16_case(impls, n, (gemm_case){ 0, 0, 5, 9, 0, 1.0f, 0.7f, 1 }, &seed);
    check_bf16_case(impls, n, (gemm_case){ 1, 1, 5, 9, 3, 0.0f, 0.7f, 1 }, &seed);
    for (int tr = 0; tr < 4; tr++)
        for (int ab = 0; ab < 6; ab++)
            for (int s = 0; s < 8; s++) {
                int m = sizes[(int)(rng_step(&pick) % ns)];
                int nn = sizes[(s * 5 + tr + ab) % ns];
                int kk = sizes[(int)(rng_step(&pick) % ns)];
                gemm_case t = { tr & 1, tr >> 1, m, nn, kk, alphas[ab % 2], betas[ab / 2],
                                s % 3 == 0 ? 3 : 0 };
                check_bf16_case(impls, n, t, &seed);
            }
    static const gemm_case layer_cases[] = {
        { 0, 0, 128, 576, 1600, 1.0f, 0.0f, 0 },   /* conv forward: W[M,K] col[K,N] */
        { 0, 0, 64, 2304, 9, 1.0f, 0.0f, 0 },
        { 0, 1, 128, 1600, 576, 1.0f, 1.0f, 0 },   /* conv dW += dz col^T */
        { 1, 0, 1600, 576, 128, 1.0f, 0.0f, 0 },   /* conv col = W^T dz */
        { 0, 1, 100, 7, 2304, 1.0f, 0.0f, 0 },     /* connected forward */
        { 1, 0, 7, 2304, 100, 1.0f, 1.0f, 0 },     /* connected dW */
        { 0, 1, 1, 256, 4608, 1.0f, 0.0f, 0 },     /* connected forward at batch 1 */
    };
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++)
        check_bf16_case(impls, n, layer_cases[i], &seed);
    /* odd K over several blocks (the last one odd), uneven M and N blocks */
    for (int tr = 0; tr < 4; tr++)
        check_bf16_case(impls, n, (gemm_case){ tr & 1, tr >> 1, 203, 541, 1601, 0.5f,
                                               tr < 2 ? 0.0f : 0.7f, 1 }, &seed);
    check_bf16_case(impls, n, (gemm_case){ 0, 0, 350, 1100, 801, 1.0f, 1.0f, 2 }, &seed);
    if (ctx) check_bf16_prepacked(&k, ctx);
    for (int i = 0; i < n; i++)
        printf("%s: %d cases, %d failed; largest error / S: %.2g vs naive on bf16 inputs, "
               "%.2g vs fp32\n", impls[i].name, impls[i].runs, impls[i].fails, impls[i].worst_r,
               impls[i].worst_f);
    fer_ctx_free(ctx);
}

/* Depthwise convolution of one plane three ways: the direct kernel, and
 * im2col + gemm_naive as the reference (forward: k[1,taps] * col; kernel
 * gradient: dz[1,n] * col^T; input gradient: col2im of k^T * dz). */
static void check_depthwise_case(int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, uint64_t *seed)
{
    int oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1, taps = kh * kw, n = oh * ow;
    float *in = malloc(sizeof(float) * h * w), *k = malloc(sizeof(float) * taps), *dz = malloc(sizeof(float) * n);
    float *col = malloc(sizeof(float) * taps * n), *out = malloc(sizeof(float) * n), *ref = malloc(sizeof(float) * n);
    float *dk = calloc(taps, sizeof(float)), *dkr = calloc(taps, sizeof(float));
    float *din = calloc((size_t)h * w, sizeof(float)), *dinr = calloc((size_t)h * w, sizeof(float));
    float *dcol = malloc(sizeof(float) * taps * n);
    fill(in, (size_t)h * w, seed);
    fill(k, taps, seed);
    fill(dz, n, seed);
    /* both gradients accumulate: start them from the same non-zero values */
    for (int i = 0; i < taps; i++) dk[i] = dkr[i] = 0.5f;
    for (int i = 0; i < h * w; i++) din[i] = dinr[i] = -0.25f;
    im2col(in, 1, h, w, kh, kw, sh, sw, ph, pw, 1, 1, oh, ow, col, n);
    gemm_naive(0, 0, 1, n, taps, 1.0f, k, taps, col, n, 0.0f, ref, n);
    depthwise_forward(in, h, w, k, kh, kw, sh, sw, ph, pw, oh, ow, out);
    gemm_naive(0, 1, 1, taps, n, 1.0f, dz, n, col, n, 1.0f, dkr, taps);
    gemm_naive(1, 0, taps, n, 1, 1.0f, k, taps, dz, n, 0.0f, dcol, n);
    col2im_add(dcol, 1, h, w, kh, kw, sh, sw, ph, pw, 1, 1, oh, ow, dinr, n);
    depthwise_backward(in, dz, h, w, k, kh, kw, sh, sw, ph, pw, oh, ow, dk, din);
    for (int i = 0; i < n; i++)
        CHECK_CLOSE(out[i], ref[i], 1e-5, 1e-5, "depthwise forward %dx%d k%dx%d s%d,%d p%d,%d [%d]", h, w, kh, kw, sh,
                    sw, ph, pw, i);
    for (int i = 0; i < taps; i++)
        CHECK_CLOSE(dk[i], dkr[i], 1e-4, 1e-5, "depthwise dk %dx%d k%dx%d s%d,%d p%d,%d [%d]", h, w, kh, kw, sh, sw,
                    ph, pw, i);
    for (int i = 0; i < h * w; i++)
        CHECK_CLOSE(din[i], dinr[i], 1e-5, 1e-5, "depthwise din %dx%d k%dx%d s%d,%d p%d,%d [%d]", h, w, kh, kw, sh,
                    sw, ph, pw, i);
    free(in); free(k); free(dz); free(col); free(out); free(ref); free(dk); free(dkr); free(din); free(dinr);
    free(dcol);
}

/* plane_conv (one input plane, nf filters) against im2col + gemm_naive:
 * forward k[nf,taps] * col; kernel gradient dz[nf,n] * col^T; input
 * gradient col2im of k^T * dz. The pad buffer is poisoned first: the kernel
 * must not depend on what it held. */
static void check_plane_case(int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int nf, uint64_t *seed)
{
    int oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1, taps = kh * kw, n = oh * ow;
    size_t np = 2 * plane_conv_pad_floats(oh, ow, kh, kw, sh, sw);
    float *in = malloc(sizeof(float) * h * w), *k = malloc(sizeof(float) * nf * taps);
    float *dz = malloc(sizeof(float) * nf * n), *col = malloc(sizeof(float) * taps * n);
    float *out = malloc(sizeof(float) * nf * n), *ref = malloc(sizeof(float) * nf * n);
    float *dk = malloc(sizeof(float) * nf * taps), *dkr = malloc(sizeof(float) * nf * taps);
    float *din = malloc(sizeof(float) * h * w), *dinr = malloc(sizeof(float) * h * w);
    float *dcol = malloc(sizeof(float) * taps * n), *pad = malloc(sizeof(float) * np);
    fill(in, (size_t)h * w, seed);
    fill(k, (size_t)nf * taps, seed);
    fill(dz, (size_t)nf * n, seed);
    for (size_t i = 0; i < np; i++) pad[i] = 1e30f;
    for (int i = 0; i < nf * taps; i++) dk[i] = dkr[i] = 0.5f;
    for (int i = 0; i < h * w; i++) din[i] = dinr[i] = -0.25f;
    im2col(in, 1, h, w, kh, kw, sh, sw, ph, pw, 1, 1, oh, ow, col, n);
    gemm_naive(0, 0, nf, n, taps, 1.0f, k, taps, col, n, 0.0f, ref, n);
    plane_conv_forward(in, h, w, k, nf, kh, kw, sh, sw, ph, pw, oh, ow, pad, out);
    gemm_naive(0, 1, nf, taps, n, 1.0f, dz, n, col, n, 1.0f, dkr, taps);
    gemm_naive(1, 0, taps, n, nf, 1.0f, k, taps, dz, n, 0.0f, dcol, n);
    col2im_add(dcol, 1, h, w, kh, kw, sh, sw, ph, pw, 1, 1, oh, ow, dinr, n);
    for (size_t i = 0; i < np; i++) pad[i] = -1e30f;
    plane_conv_backward(in, dz, h, w, k, nf, kh, kw, sh, sw, ph, pw, oh, ow, pad, dk, din);
    for (int i = 0; i < nf * n; i++)
        CHECK_CLOSE(out[i], ref[i], 1e-5, 1e-5, "plane forward %dx%d k%dx%d s%d,%d p%d,%d f%d [%d]", h, w, kh, kw,
                    sh, sw, ph, pw, nf, i);
    for (int i = 0; i < nf * taps; i++)
        CHECK_CLOSE(dk[i], dkr[i], 1e-4, 1e-5, "plane dk %dx%d k%dx%d s%d,%d p%d,%d f%d [%d]", h, w, kh, kw, sh, sw,
                    ph, pw, nf, i);
    for (int i = 0; i < h * w; i++)
        CHECK_CLOSE(din[i], dinr[i], 1e-4, 1e-5, "plane din %dx%d k%dx%d s%d,%d p%d,%d f%d [%d]", h, w, kh, kw, sh,
                    sw, ph, pw, nf, i);
    free(in); free(k); free(dz); free(col); free(out); free(ref); free(dk); free(dkr); free(din); free(dinr);
    free(dcol); free(pad);
}

/* Winograd F(2x2, 3x3) (winograd_filters/input/output + 16 gemm_naive)
 * against im2col + gemm_naive, on a batch of cnt samples: the forward pass
 * of C planes [h, w] with M kh x kw filters (3x3 blocks stacked along K),
 * padding ph, pw, into a poisoned output; the input gradient as the
 * convolution of dz with the rotated filters (each block's U with
 * winograd_flip's indices, transposed), added to din, against col2im of
 * W^T dz; the kernel gradient added to dw. */
static void check_winograd_case(int C, int M, int h, int w, int kh, int kw, int ph, int pw, int cnt, uint64_t *seed)
{
    int oh = h + 2 * ph - kh + 1, ow = w + 2 * pw - kw + 1, n = oh * ow, K = C * kh * kw;
    int nbh = winograd_blocks(kh), nbw = winograd_blocks(kw), B = nbh * nbw;
    int th = (oh + 1) / 2, tw = (ow + 1) / 2, bth = (h + 1) / 2, btw = (w + 1) / 2;
    size_t T = (size_t)cnt * th * tw, bT = (size_t)cnt * bth * btw, TT = T > bT ? T : bT, CM = C > M ? C : M;
    size_t pa = winograd_plane_floats(th, tw, cnt), pb = winograd_plane_floats(bth, btw, cnt);
    size_t planef = pa > pb ? pa : pb, isz = (size_t)C * h * w, osz = (size_t)M * n;
    size_t uplane = (size_t)M * B * C;
    float *in = malloc(sizeof(float) * cnt * isz), *k = malloc(sizeof(float) * M * K);
    float *dz = malloc(sizeof(float) * cnt * osz), *col = malloc(sizeof(float) * K * n);
    float *out = malloc(sizeof(float) * cnt * osz), *ref = malloc(sizeof(float) * cnt * osz);
    float *din = malloc(sizeof(float) * cnt * isz), *dinr = malloc(sizeof(float) * cnt * isz);
    float *U = malloc(sizeof(float) * 16 * uplane), *Ug = malloc(sizeof(float) * 16 * uplane), *V = malloc(sizeof(float) * 16 * B * CM * TT);
    float *Mt = malloc(sizeof(float) * 16 * CM * TT), *plane = malloc(sizeof(float) * planef);
    fill(in, cnt * isz, seed);
    fill(k, (size_t)M * K, seed);
    fill(dz, cnt * osz, seed);
    for (size_t i = 0; i < planef; i++) plane[i] = 1e30f;   /* must not matter */
    for (size_t i = 0; i < cnt * osz; i++) out[i] = NAN;
    for (size_t i = 0; i < cnt * isz; i++) din[i] = dinr[i] = -0.25f;
    for (size_t i = 0; i < 16 * uplane; i++) U[i] = NAN;   /* every column is written */
    for (int s = 0; s < cnt; s++) {
        im2col(in + s * isz, C, h, w, kh, kw, 1, 1, ph, pw, 1, 1, oh, ow, col, n);
        gemm_naive(0, 0, M, n, K, 1.0f, k, K, col, n, 0.0f, ref + s * osz, n);
        gemm_naive(1, 0, K, n, M, 1.0f, k, K, dz + s * osz, n, 0.0f, col, n);
        col2im_add(col, C, h, w, kh, kw, 1, 1, ph, pw, 1, 1, oh, ow, dinr + s * isz, n);
    }
    /* forward, the filters split in two ranges as two threads would */
    for (int b = 0; b < B; b++) {
        int r0 = winograd_anchor(kh, b / nbw), c0 = winograd_anchor(kw, b % nbw);
        winograd_filters(k, C, kh, kw, r0, c0, 0, M / 2, U + (size_t)b * C, (size_t)B * C, uplane);
        winograd_filters(k, C, kh, kw, r0, c0, M / 2, M, U + (size_t)b * C, (size_t)B * C, uplane);
        /* the input gradient's layout [16][B * M][C] */
        winograd_filters(k, C, kh, kw, r0, c0, 0, M, Ug + (size_t)b * M * C, (size_t)C, uplane);
        /* in two ranges of channels, as batch-1 threads would */
        winograd_input(in, isz, cnt, C / 2, h, w, ph - r0, pw - c0, th, tw, plane, V + (size_t)b * C * T, T,
                       (size_t)B * C * T);
        winograd_input(in + (size_t)(C / 2) * h * w, isz, cnt, C - C / 2, h, w, ph - r0, pw - c0, th, tw, plane,
                       V + (size_t)b * C * T + (size_t)(C / 2) * T, T, (size_t)B * C * T);
    }
    for (int x = 0; x < 16; x++)
        gemm_naive(0, 0, M, (int)T, B * C, 1.0f, U + (size_t)x * uplane, B * C, V + (size_t)x * B * C * T, (int)T,
                   0.0f, Mt + (size_t)x * M * T, (int)T);
    winograd_output(Mt, M, T, (size_t)M * T, cnt, th, tw, oh, ow, 0, out, osz);
    /* input gradient: the same U (as Ug), flipped and transposed */
    for (int b = 0; b < B; b++)
        winograd_input(dz, osz, cnt, M, oh, ow, kh - 1 - ph - 3 * (b / nbw), kw - 1 - pw - 3 * (b % nbw), bth, btw,
                       plane, V + (size_t)b * M * bT, bT, (size_t)B * M * bT);
    for (int x = 0; x < 16; x++)
        gemm_naive(1, 0, C, (int)bT, B * M, 1.0f, Ug + (size_t)winograd_flip(x) * uplane, C,
                   V + (size_t)x * B * M * bT, (int)bT, 0.0f, Mt + (size_t)x * C * bT, (int)bT);
    /* in two ranges of channels, as batch-1 threads would */
    winograd_output(Mt, C / 2, bT, (size_t)C * bT, cnt, bth, btw, h, w, 1, din, isz);
    winograd_output(Mt + (size_t)(C / 2) * bT, C - C / 2, bT, (size_t)C * bT, cnt, bth, btw, h, w, 1,
                    din + (size_t)(C / 2) * h * w, isz);
    /* kernel gradient: F(3x3, 2x2) over the input's V and dz's transform,
     * in two blocks of samples as a thread's chunks would be, added to dw */
    float *dw = malloc(sizeof(float) * M * K), *dwr = malloc(sizeof(float) * M * K);
    float *W = malloc(sizeof(float) * 16 * uplane);
    for (int i = 0; i < M * K; i++) dw[i] = dwr[i] = 0.5f;
    for (int s = 0; s < cnt; s++) {
        im2col(in + s * isz, C, h, w, kh, kw, 1, 1, ph, pw, 1, 1, oh, ow, col, n);
        gemm_naive(0, 1, M, K, n, 1.0f, dz + s * osz, n, col, n, 1.0f, dwr, K);
    }
    for (int b0 = 0, first = 1; b0 < cnt; first = 0) {
        int c1 = b0 + (cnt + 1) / 2 < cnt ? b0 + (cnt + 1) / 2 : cnt, nb = c1 - b0;
        size_t Tb = (size_t)nb * th * tw;
        for (int b = 0; b < B; b++)
            winograd_input(in + b0 * isz, isz, nb, C, h, w, ph - winograd_anchor(kh, b / nbw),
                           pw - winograd_anchor(kw, b % nbw), th, tw, plane, V + (size_t)b * C * Tb, Tb,
                           (size_t)B * C * Tb);
        winograd_grad_input(dz + b0 * osz, osz, nb, M, oh, ow, th, tw, plane, Mt, Tb);
        for (int x = 0; x < 16; x++)
            gemm_naive(0, 1, M, B * C, (int)Tb, 1.0f, Mt + (size_t)x * M * Tb, (int)Tb, V + (size_t)x * B * C * Tb,
                       (int)Tb, first ? 0.0f : 1.0f, W + (size_t)x * uplane, B * C);
        b0 = c1;
    }
    for (int b = 0; b < B; b++) {
        int r0 = winograd_anchor(kh, b / nbw), c0 = winograd_anchor(kw, b % nbw);
        winograd_dw_output(W + (size_t)b * C, M, C, (size_t)B * C, kh, kw, r0, c0, 0, M / 2, dw);
        winograd_dw_output(W + (size_t)b * C, M, C, (size_t)B * C, kh, kw, r0, c0, M / 2, M, dw);
    }
    for (int i = 0; i < M * K; i++)
        CHECK_CLOSE(dw[i], dwr[i], 1e-4, 1e-5, "winograd dW C%d M%d %dx%d k%dx%d p%d,%d x%d [%d]", C, M, h, w, kh,
                    kw, ph, pw, cnt, i);
    free(dw); free(dwr); free(W);
    for (size_t i = 0; i < cnt * osz; i++)
        CHECK_CLOSE(out[i], ref[i], 1e-4, 1e-5, "winograd forward C%d M%d %dx%d k%dx%d p%d,%d x%d [%zu]", C, M, h,
                    w, kh, kw, ph, pw, cnt, i);
    for (size_t i = 0; i < cnt * isz; i++)
        CHECK_CLOSE(din[i], dinr[i], 1e-4, 1e-5, "winograd din C%d M%d %dx%d k%dx%d p%d,%d x%d [%zu]", C, M, h, w,
                    kh, kw, ph, pw, cnt, i);
    free(in); free(k); free(dz); free(col); free(out); free(ref); free(din); free(dinr); free(U); free(Ug);
    free(V); free(Mt); free(plane);
}

static void check_winograd(void)
{
    static const int shapes[][9] = {
        /* C, M, h, w, kh, kw, ph, pw, samples */
        { 3, 5, 7, 5, 3, 3, 1, 1, 1 },   { 8, 4, 6, 9, 3, 3, 0, 0, 3 },    { 2, 3, 4, 4, 3, 3, 2, 2, 2 },
        { 16, 16, 12, 12, 3, 3, 1, 1, 2 }, { 1, 1, 3, 3, 3, 3, 0, 0, 5 },  { 5, 2, 1, 1, 3, 3, 1, 1, 17 },
        { 2, 2, 3, 131, 3, 3, 1, 1, 2 }, { 7, 9, 13, 2, 3, 3, 2, 2, 3 },   { 4, 6, 2, 8, 3, 3, 0, 0, 1 },
        { 2, 2, 2, 601, 3, 3, 1, 1, 1 }, { 3, 2, 40, 40, 3, 3, 1, 1, 1 },  { 6, 5, 6, 6, 3, 3, 1, 1, 28 },
        { 3, 4, 5, 5, 3, 3, 1, 1, 40 },  { 35, 3, 5, 6, 3, 3, 1, 1, 2 },
        /* larger kernels as 3x3 blocks: 5x5 'same' (shallow's), no pad,
         * pad 4, non-square, 4x4 and 6x6, odd sizes, a C = 19 tail */
        { 4, 6, 12, 12, 5, 5, 2, 2, 2 }, { 3, 5, 9, 7, 5, 5, 0, 0, 3 },    { 2, 3, 3, 4, 5, 5, 4, 4, 2 },
        { 5, 4, 8, 11, 3, 5, 1, 2, 2 },  { 3, 2, 10, 7, 5, 3, 2, 0, 1 },   { 2, 4, 9, 9, 4, 4, 1, 2, 3 },
        { 3, 3, 8, 8, 6, 6, 3, 1, 2 },   { 19, 17, 7, 6, 5, 5, 2, 2, 5 },  { 2, 3, 5, 133, 5, 5, 2, 2, 1 },
    };
    uint64_t seed = 7;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int *q = shapes[i];
        check_winograd_case(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], &seed);
    }
}

/* Input columns that no output reads (5x10, 3x3 stride 2: column 9)
 * hold Inf: the kernel gradient must stay finite (the lanes past the last
 * output must not multiply a zero dz by it). */
static void check_plane_unread_inf(void)
{
    int h = 5, w = 10, oh = 2, ow = 4;
    float in[50], k[9], dz[8], out[8], dk[9] = { 0 };
    float *pad = malloc(2 * plane_conv_pad_floats(oh, ow, 3, 3, 2, 2) * sizeof *pad);
    for (int i = 0; i < h * w; i++) in[i] = i % w == 9 ? INFINITY : 0.5f;
    for (int i = 0; i < 9; i++) k[i] = 0.25f;
    for (int i = 0; i < 8; i++) dz[i] = 1.0f;
    plane_conv_forward(in, h, w, k, 1, 3, 3, 2, 2, 0, 0, oh, ow, pad, out);
    plane_conv_backward(in, dz, h, w, k, 1, 3, 3, 2, 2, 0, 0, oh, ow, pad, dk, NULL);
    for (int i = 0; i < 8; i++) CHECK(out[i] == 9 * 0.125f, "unread Inf column: out[%d] = %g", i, out[i]);
    for (int i = 0; i < 9; i++) CHECK(dk[i] == 4.0f, "unread Inf column: dk[%d] = %g, expected 4", i, dk[i]);
    free(pad);
}

static void check_depthwise(void)
{
    static const int shapes[][8] = {
        /* h, w, kh, kw, sh, sw, ph, pw */
        { 7, 9, 3, 3, 1, 1, 1, 1 },   { 7, 9, 3, 3, 2, 2, 1, 1 },   { 8, 8, 3, 3, 1, 1, 0, 0 },
        { 13, 29, 3, 3, 1, 1, 1, 1 }, { 1, 1, 3, 3, 1, 1, 1, 1 },   { 11, 6, 5, 5, 2, 3, 2, 2 },
        { 5, 17, 1, 7, 1, 1, 0, 3 },  { 17, 5, 7, 1, 1, 1, 3, 0 },  { 6, 6, 1, 1, 2, 2, 0, 0 },
        { 4, 23, 3, 3, 3, 1, 4, 4 },  { 60, 60, 3, 3, 1, 1, 1, 1 }, { 9, 31, 3, 2, 1, 2, 0, 1 },
    };
    uint64_t seed = 99;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int *c = shapes[i];
        check_depthwise_case(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], &seed);
        check_plane_case(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], 1 + (int)i % 5, &seed);
    }
    check_plane_case(48, 48, 3, 3, 1, 1, 1, 1, 64, &seed);   /* shallow.cfg's first layer */
    check_plane_case(75, 75, 3, 3, 2, 2, 0, 0, 7, &seed);    /* inceptionv3.cfg's stem, 3x3/2 valid */
    check_plane_case(33, 35, 7, 7, 2, 2, 3, 3, 5, &seed);    /* a 7x7/2 stem (49 taps, the limit) */
    check_plane_unread_inf();
}

/* Batch norm (training statistics, forward and backward) and the bias
 * gradient against their plain double-precision twins, on plane sizes below,
 * at and above the 16-lane partial sums, with an offset mean (the variance
 * pass must subtract it first). Two channel ranges cover c0 > 0. */
static void check_batchnorm_case(int batch, int C, int spatial, uint64_t *seed)
{
    size_t n = (size_t)batch * C * spatial;
    float *z = malloc(n * sizeof *z), *y = malloc(n * sizeof *y), *yr = malloc(n * sizeof *yr);
    float *dy = malloc(n * sizeof *dy), *dz = malloc(n * sizeof *dz), *dzr = malloc(n * sizeof *dzr);
    float *v = calloc((size_t)C * 12, sizeof *v);
    float *mean = v, *var = v + C, *rm = v + 2 * C, *rv = v + 3 * C, *meanr = v + 4 * C, *varr = v + 5 * C;
    float *rmr = v + 6 * C, *rvr = v + 7 * C, *scale = v + 8 * C, *bias = v + 9 * C, *ds = v + 10 * C;
    float *dsr = v + 11 * C;
    float db[64] = { 0 }, dbr[64] = { 0 }, dbias_sum[64] = { 0 };
    fill(z, n, seed);
    fill(dy, n, seed);
    for (size_t i = 0; i < n; i++) z[i] = 3.0f + 2.0f * z[i];
    fill(scale, (size_t)C, seed);
    fill(bias, (size_t)C, seed);
    for (int c = 0; c < C; c++) rv[c] = rvr[c] = 1.0f;
    int half = C / 2;
    batchnorm_forward_train(z, y, mean, var, rm, rv, scale, bias, batch, C, spatial, 0.1f, 0, half);
    batchnorm_forward_train(z, y, mean, var, rm, rv, scale, bias, batch, C, spatial, 0.1f, half, C);
    batchnorm_forward_train_naive(z, yr, meanr, varr, rmr, rvr, scale, bias, batch, C, spatial, 0.1f);
    batchnorm_backward(dz, dy, z, mean, var, NULL, NULL, scale, ds, db, batch, C, spatial, 1, 0, half);
    batchnorm_backward(dz, dy, z, mean, var, NULL, NULL, scale, ds, db, batch, C, spatial, 1, half, C);
    batchnorm_backward_naive(dzr, dy, z, meanr, varr, scale, dsr, dbr, batch, C, spatial);
    bias_backward(dbias_sum, dy, batch, C, spatial, 0, C);
    double cnt = (double)batch * spatial;
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(mean[c], meanr[c], 1e-6, 1e-6, "bn mean b%d C%d s%d [%d]", batch, C, spatial, c);
        CHECK_CLOSE(var[c], varr[c], 1e-5, 1e-6, "bn var b%d C%d s%d [%d]", batch, C, spatial, c);
        CHECK_CLOSE(rm[c], rmr[c], 1e-6, 1e-6, "bn rolling mean [%d]", c);
        CHECK_CLOSE(rv[c], rvr[c], 1e-5, 1e-6, "bn rolling var [%d]", c);
        CHECK_CLOSE(db[c], dbr[c], 1e-7 * cnt, 1e-6, "bn dbias b%d C%d s%d [%d]", batch, C, spatial, c);
        CHECK_CLOSE(ds[c], dsr[c], 1e-7 * cnt, 1e-6, "bn dscale b%d C%d s%d [%d]", batch, C, spatial, c);
        CHECK_CLOSE(dbias_sum[c], dbr[c], 1e-7 * cnt, 1e-6, "bias_backward b%d C%d s%d [%d]", batch, C, spatial, c);
    }
    for (size_t i = 0; i < n; i++) {
        CHECK_CLOSE(y[i], yr[i], 1e-4, 1e-4, "bn forward b%d C%d s%d [%zu]", batch, C, spatial, i);
        CHECK_CLOSE(dz[i], dzr[i], 1e-4, 1e-4, "bn backward b%d C%d s%d [%zu]", batch, C, spatial, i);
    }
    free(z); free(y); free(yr); free(dy); free(dz); free(dzr); free(v);
}

static void check_batchnorm(void)
{
    static const int shapes[][3] = { { 3, 5, 1 }, { 2, 3, 7 }, { 5, 4, 16 }, { 3, 6, 37 }, { 64, 3, 2304 },
                                     { 1, 7, 50 }, { 17, 64, 9 } };
    uint64_t seed = 5;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        check_batchnorm_case(shapes[i][0], shapes[i][1], shapes[i][2], &seed);
}

int main(void)
{
    static const char *const isas[] = { "scalar", "avx2", "avx512", "neon" };
    gemm_impl impls[5];
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
    check_bf16();
    check_depthwise();
    check_winograd();
    check_batchnorm();
    return check_summary("test_kernels");
}
