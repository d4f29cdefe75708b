/* gemm_avx512.c - GEMM for the avx512 kernel set: the packed, cache-blocked
 * driver of gemm_pack.h around a 14x32 FMA micro-kernel (28 zmm
 * accumulators: 14 rows of C, two 16-float vectors per row), with narrower
 * and shorter variants for the edge tiles, and transposing packers built on
 * 16x16 in-register transposes. */
#include "../kernels.h"
#include "../gemm_pack.h"
#include "transpose16.h"

#include <immintrin.h>

#define MR 14
#define NR 32
/* cache blocks: MC rows of A (L2), KC deep, NC columns of B (L2/L3) */
#define MC 168
#define KC 384
#define NC 512
_Static_assert(MC % MR == 0 && NC % NR == 0 && MC <= GEMM_MC_MAX && KC <= GEMM_KC_MAX &&
               NC <= GEMM_NC_MAX, "avx512 GEMM blocks do not fit the packing buffers");

/* gemm_transpose_fn: dst[p][k][i] = src[p*w + i][k] for src[rows, kc],
 * 16 rows by 16 k at a time. */
static void pack_transpose(const float *src, int ld, int rows, int kc, int w, float *dst)
{
    for (int ip = 0; ip < rows; ip += w, dst += (size_t)kc * w)
        for (int r0 = 0; r0 < w; r0 += 16) {
            int g = gemm_min(16, w - r0);                 /* rows of this group in the panel */
            int valid = gemm_min(g, rows - ip - r0);      /* of which src has (may be <= 0) */
            __mmask16 store = (__mmask16)((1u << g) - 1);
            const float *s = src + (size_t)(ip + r0) * ld;
            for (int k0 = 0; k0 < kc; k0 += 16) {
                int kk = gemm_min(16, kc - k0);
                __mmask16 load = (__mmask16)((1u << kk) - 1);
                __m512 r[16];   /* r[i]: src row ip + r0 + i, columns k0 .. k0 + 15 */
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = i < valid ? _mm512_maskz_loadu_ps(load, s + (size_t)i * ld + k0)
                                     : _mm512_setzero_ps();
                transpose16(r);
                float *d = dst + (size_t)k0 * w + r0;
                for (int t = 0; t < kk; t++) _mm512_mask_storeu_ps(d + (size_t)t * w, store, r[t]);
            }
        }
}

/* c[m, n] = alpha * a^T b + beta * c for m <= rows, n <= 16 * nv, computing
 * only rows x (16 * nv) of the MR x NR tile; a: [kc][MR], b: [kc][NR]. */
GEMM_INLINE void tile(int rows, int nv, int kc, const float *a, const float *b, float alpha,
                      float beta, float *c, int ldc, int m, int n)
{
    __m512 acc[MR][2];   /* acc[i][v]: row i, columns 16v .. 16v + 15 */
#pragma GCC unroll 14
    for (int i = 0; i < rows; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        if (i < m) {   /* the rows of C this tile writes */
            _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + (size_t)i * ldc + n - 1), _MM_HINT_T0);
        }
    }
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m512 b0 = _mm512_load_ps(b), b1 = nv > 1 ? _mm512_load_ps(b + 16) : b0;
#pragma GCC unroll 14
        for (int i = 0; i < rows; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            if (nv > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    tile_store(acc, rows, nv, alpha, beta, c, ldc, m, n);
}

/* gemm_micro_fn: the full 14x32 tile, or the smallest variant covering m x n. */
static void micro_14x32(int kc, const float *a, const float *b, float alpha, float beta,
                        float *c, int ldc, int m, int n)
{
    if (n > 16) {
        if (m > 8) tile(14, 2, kc, a, b, alpha, beta, c, ldc, m, n);
        else if (m > 4) tile(8, 2, kc, a, b, alpha, beta, c, ldc, m, n);
        else tile(4, 2, kc, a, b, alpha, beta, c, ldc, m, n);
    } else {
        if (m > 8) tile(14, 1, kc, a, b, alpha, beta, c, ldc, m, n);
        else if (m > 4) tile(8, 1, kc, a, b, alpha, beta, c, ldc, m, n);
        else tile(4, 1, kc, a, b, alpha, beta, c, ldc, m, n);
    }
}

void gemm_avx512(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_packed(MR, NR, MC, KC, NC, micro_14x32, pack_transpose, ta, tb, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}
