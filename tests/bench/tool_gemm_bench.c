/* tool_gemm_bench.c - single-thread GFLOPS of the fp32 avx512 GEMM and the
 * BF16 GEMM on the GEMM shapes of fer's convolutions (forward W*col,
 * backward dW = dz*col^T and dcol = W^T*dz). Not a test: a benchmark that
 * `make` builds beside the tests. Each shape runs the two kernels in turn,
 * several rounds, and keeps each kernel's best time, so a busy machine
 * blurs the ratio less than the absolute numbers.
 *   build/tests/tool_gemm_bench [seconds per shape, default 1] */
#include "engine/engine.h"
#include "kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef void (*gemm_fn)(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);

/* Best seconds of one call over reps calls. */
static double best_of(gemm_fn f, int reps, int ta, int tb, int M, int N, int K, const float *A,
                      const float *B, float beta, float *C)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        f(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, beta, C, N);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    fer_err e;
    kernel_table f32, b16;
    if (kernels_select(&f32, "avx512", &e) || kernels_select(&b16, "avx512", &e) ||
        kernels_set_precision(&b16, "bf16", &e)) {
        printf("SKIP: %s\n", e.msg);
        return 77;
    }
    static const struct { int ta, tb, M, N, K; float beta; const char *what; } shapes[] = {
        { 0, 0, 128, 576, 1600, 0, "conv2 fwd, 1 image" },
        { 0, 0, 128, 2304, 1600, 0, "conv2 fwd, 4 images" },
        { 0, 0, 512, 540, 1152, 0, "conv3 fwd" },
        { 0, 0, 512, 540, 4608, 0, "conv4 fwd" },
        { 0, 1, 128, 1600, 2304, 1, "conv2 dW (tb)" },
        { 0, 1, 512, 4608, 540, 1, "conv4 dW (tb)" },
        { 1, 0, 1600, 2304, 128, 0, "conv2 dcol (ta)" },
        { 1, 0, 4608, 540, 512, 0, "conv4 dcol (ta)" },
    };
    printf("%-20s %2s %2s %5s %5s %5s %10s %10s %6s\n", "shape", "ta", "tb", "M", "N", "K",
           "fp32_gf", "bf16_gf", "ratio");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int ta = shapes[s].ta, tb = shapes[s].tb, M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        float *A = malloc((size_t)M * K * sizeof *A);   /* op(A) [M, K] */
        float *B = malloc((size_t)K * N * sizeof *B);   /* op(B) [K, N] */
        float *C = calloc((size_t)M * N, sizeof *C);    /* [M, N] */
        if (!A || !B || !C) return 1;
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 7 % 13) - 6) / 13;
        for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)((i * 5 % 11) - 5) / 11;
        double flops = 2.0 * M * N * K;
        double t1 = best_of(f32.gemm, 1, ta, tb, M, N, K, A, B, shapes[s].beta, C);
        int reps = (int)(budget / 2 / 4 / t1) + 1;   /* 4 rounds of both kernels */
        double t32 = 1e30, t16 = 1e30;
        for (int round = 0; round < 4; round++) {
            double t = best_of(f32.gemm, reps, ta, tb, M, N, K, A, B, shapes[s].beta, C);
            if (t < t32) t32 = t;
            t = best_of(b16.gemm, reps, ta, tb, M, N, K, A, B, shapes[s].beta, C);
            if (t < t16) t16 = t;
        }
        printf("%-20s %2d %2d %5d %5d %5d %10.1f %10.1f %6.2f\n", shapes[s].what, ta, tb, M, N, K,
               flops / t32 / 1e9, flops / t16 / 1e9, t32 / t16);
        free(A), free(B), free(C);
    }
    return 0;
}
