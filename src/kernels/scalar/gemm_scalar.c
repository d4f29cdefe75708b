/* gemm_scalar.c - GEMM for the scalar kernel set, portable C with no
 * intrinsics (what CPUs without a kernel set of their own run): the packed,
 * cache-blocked driver of gemm_pack.h around a 4x8 micro-kernel written as
 * plain loops that the compiler vectorizes for the baseline ISA. Also
 * defines the per-thread packing buffers that every ISA's GEMM shares. */
#include "../kernels.h"
#include "../gemm_pack.h"

#define MR 4
#define NR 8
/* cache blocks: MC rows of A (L2), KC deep, NC columns of B (L2/L3) */
#define MC 128
#define KC 256
#define NC 512
_Static_assert(MC % MR == 0 && NC % NR == 0 && MC <= GEMM_MC_MAX && KC <= GEMM_KC_MAX &&
               NC <= GEMM_NC_MAX, "scalar GEMM blocks do not fit the packing buffers");

_Thread_local float gemm_pack_a[GEMM_MC_MAX * GEMM_KC_MAX] __attribute__((aligned(64)));
_Thread_local float gemm_pack_b[GEMM_KC_MAX * GEMM_NC_MAX] __attribute__((aligned(64)));

/* gemm_micro_fn: c[m, n] = alpha * a^T b + beta * c; a: [kc][MR], b: [kc][NR]
 * packed. Fully unrolled over the tile so acc lives in vector registers. */
static void micro_4x8(int kc, const float *a, const float *b, float alpha, float beta, float *c,
                      int ldc, int m, int n)
{
    float acc[MR][NR] = { { 0 } };   /* the tile, accumulated over k */
    for (int k = 0; k < kc; k++, a += MR, b += NR)
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0)
            for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

void gemm_scalar(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_packed(MR, NR, MC, KC, NC, micro_4x8, gemm_pack_transpose, ta, tb, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}
