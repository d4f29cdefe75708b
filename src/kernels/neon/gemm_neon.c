/* gemm_neon.c - GEMM for the neon kernel set (64-bit ARM, where Advanced
 * SIMD is always there): the packed, cache-blocked driver of gemm_pack.h
 * around an 8x8 fused multiply-add micro-kernel (16 q-register
 * accumulators: 8 rows of C, two 4-float vectors per row; each k step loads
 * 8 values of A and 8 of B and multiplies by lanes). Unlike the scalar set
 * it fuses multiply and add, so its results differ from scalar's in the
 * last bits, as avx2's do. */
#include "../kernels.h"
#include "../gemm_pack.h"

#include <arm_neon.h>

#define MR 8
#define NR 8
/* cache blocks: MC rows of A (L2), KC deep, NC columns of B (L2/L3) */
#define MC 128
#define KC 256
#define NC 512
_Static_assert(MC % MR == 0 && NC % NR == 0 && MC <= GEMM_MC_MAX && KC <= GEMM_KC_MAX &&
               NC <= GEMM_NC_MAX, "neon GEMM blocks do not fit the packing buffers");

/* acc[2i], acc[2i+1] += a[i] * b[0..7] for the 4 rows i of va (lanes 0-3),
 * starting at row r0. */
#define ROWS4(va, r0)                                                       \
    do {                                                                    \
        acc[2 * (r0)] = vfmaq_laneq_f32(acc[2 * (r0)], b0, va, 0);          \
        acc[2 * (r0) + 1] = vfmaq_laneq_f32(acc[2 * (r0) + 1], b1, va, 0);  \
        acc[2 * (r0) + 2] = vfmaq_laneq_f32(acc[2 * (r0) + 2], b0, va, 1);  \
        acc[2 * (r0) + 3] = vfmaq_laneq_f32(acc[2 * (r0) + 3], b1, va, 1);  \
        acc[2 * (r0) + 4] = vfmaq_laneq_f32(acc[2 * (r0) + 4], b0, va, 2);  \
        acc[2 * (r0) + 5] = vfmaq_laneq_f32(acc[2 * (r0) + 5], b1, va, 2);  \
        acc[2 * (r0) + 6] = vfmaq_laneq_f32(acc[2 * (r0) + 6], b0, va, 3);  \
        acc[2 * (r0) + 7] = vfmaq_laneq_f32(acc[2 * (r0) + 7], b1, va, 3);  \
    } while (0)

/* gemm_micro_fn: c[m, n] = alpha * a^T b + beta * c over the valid m x n
 * corner of the 8x8 tile; a: [kc][MR], b: [kc][NR] packed (zero-padded). */
static void micro_8x8(int kc, const float *a, const float *b, float alpha, float beta, float *c,
                      int ldc, int m, int n)
{
    float32x4_t acc[2 * MR];   /* acc[2i + v]: row i, columns 4v .. 4v + 3 */
    for (int i = 0; i < 2 * MR; i++) acc[i] = vdupq_n_f32(0);
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        ROWS4(a0, 0);
        ROWS4(a1, 4);
    }
    float32x4_t va = vdupq_n_f32(alpha);
    if (m == MR && n == NR) {
        for (int i = 0; i < MR; i++) {
            float *ci = c + (size_t)i * ldc;
            for (int v = 0; v < 2; v++) {
                float32x4_t r = vmulq_f32(va, acc[2 * i + v]);
                if (beta != 0) r = vfmaq_n_f32(r, vld1q_f32(ci + 4 * v), beta);
                vst1q_f32(ci + 4 * v, r);
            }
        }
        return;
    }
    float part[MR][NR];   /* alpha * the tile, for a partial write */
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < 2; v++) vst1q_f32(part[i] + 4 * v, vmulq_f32(va, acc[2 * i + v]));
    gemm_store_corner(&part[0][0], NR, m, n, beta, c, ldc);
}

void gemm_neon(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_packed(MR, NR, MC, KC, NC, micro_8x8, gemm_pack_transpose, ta, tb, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}
