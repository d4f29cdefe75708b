/* gemm_avx2.c - GEMM for the avx2 kernel set: the packed, cache-blocked
 * driver of gemm_pack.h around a 6x16 FMA micro-kernel (12 ymm
 * accumulators: 6 rows of C, two 8-float vectors per row), with narrower
 * and shorter variants for the edge tiles, and transposing packers built on
 * 8x8 in-register transposes. */
#include "../kernels.h"
#include "../gemm_pack.h"

#include <immintrin.h>

#define MR 6
#define NR 16
/* cache blocks: MC rows of A (L2), KC deep, NC columns of B (L2/L3) */
#define MC 144
#define KC 384
#define NC 512
_Static_assert(MC % MR == 0 && NC % NR == 0 && MC <= GEMM_MC_MAX && KC <= GEMM_KC_MAX &&
               NC <= GEMM_NC_MAX, "avx2 GEMM blocks do not fit the packing buffers");

/* Transposes the 8x8 block r[8] (row i = r[i]) in place. */
GEMM_INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* gemm_transpose_fn: dst[p][k][i] = src[p*w + i][k] for src[rows, kc],
 * 8 rows by 8 k at a time (w is MR or NR: groups of 8 or 6 rows). */
static void pack_transpose(const float *src, int ld, int rows, int kc, int w, float *dst)
{
    for (int ip = 0; ip < rows; ip += w, dst += (size_t)kc * w)
        for (int r0 = 0; r0 < w; r0 += 8) {
            int g = gemm_min(8, w - r0);                  /* rows of this group in the panel */
            int valid = gemm_min(g, rows - ip - r0);      /* of which src has (may be <= 0) */
            const float *s = src + (size_t)(ip + r0) * ld;
            float *d = dst + r0;
            int k0 = 0;
            if (g == 8 || g == 6)
                for (; k0 + 8 <= kc; k0 += 8) {
                    __m256 r[8];   /* r[i]: src row ip + r0 + i, columns k0 .. k0 + 7 */
#pragma GCC unroll 8
                    for (int i = 0; i < 8; i++)
                        r[i] = i < valid ? _mm256_loadu_ps(s + (size_t)i * ld + k0)
                                         : _mm256_setzero_ps();
                    transpose8(r);
#pragma GCC unroll 8
                    for (int t = 0; t < 8; t++) {
                        float *dt = d + (size_t)(k0 + t) * w;
                        if (g == 8) {
                            _mm256_storeu_ps(dt, r[t]);
                        } else {
                            _mm_storeu_ps(dt, _mm256_castps256_ps128(r[t]));
                            _mm_storel_pi((__m64 *)(dt + 4), _mm256_extractf128_ps(r[t], 1));
                        }
                    }
                }
            for (; k0 < kc; k0++)   /* the last kc % 8 columns, and odd group sizes */
                for (int i = 0; i < g; i++)
                    d[(size_t)k0 * w + i] = i < valid ? s[(size_t)i * ld + k0] : 0;
        }
}

/* c[m, n] = alpha * a^T b + beta * c for m <= rows, n <= 8 * nv, computing
 * only rows x (8 * nv) of the MR x NR tile; a: [kc][MR], b: [kc][NR]. */
GEMM_INLINE void tile(int rows, int nv, int kc, const float *a, const float *b, float alpha,
                      float beta, float *c, int ldc, int m, int n)
{
    __m256 acc[MR][2];   /* acc[i][v]: row i, columns 8v .. 8v + 7 */
#pragma GCC unroll 6
    for (int i = 0; i < rows; i++) {
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        if (i < m) {   /* the rows of C this tile writes */
            _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + (size_t)i * ldc + n - 1), _MM_HINT_T0);
        }
    }
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = nv > 1 ? _mm256_load_ps(b + 8) : b0;
#pragma GCC unroll 6
        for (int i = 0; i < rows; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            if (nv > 1) acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (m == rows && n == 8 * nv) {
#pragma GCC unroll 6
        for (int i = 0; i < rows; i++) {
            float *ci = c + (size_t)i * ldc;
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) {
                __m256 r = _mm256_mul_ps(va, acc[i][v]);
                if (beta != 0) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8 * v), r);
                _mm256_storeu_ps(ci + 8 * v, r);
            }
        }
        return;
    }
    float part[MR][NR] __attribute__((aligned(32)));   /* alpha * the tile, for a partial write */
#pragma GCC unroll 6
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) _mm256_store_ps(part[i] + 8 * v, _mm256_mul_ps(va, acc[i][v]));
    gemm_store_corner(&part[0][0], NR, m, n, beta, c, ldc);
}

/* gemm_micro_fn: the full 6x16 tile, or the smallest variant covering m x n. */
static void micro_6x16(int kc, const float *a, const float *b, float alpha, float beta,
                       float *c, int ldc, int m, int n)
{
    if (n > 8) {
        if (m > 4) tile(6, 2, kc, a, b, alpha, beta, c, ldc, m, n);
        else if (m > 2) tile(4, 2, kc, a, b, alpha, beta, c, ldc, m, n);
        else tile(2, 2, kc, a, b, alpha, beta, c, ldc, m, n);
    } else {
        if (m > 4) tile(6, 1, kc, a, b, alpha, beta, c, ldc, m, n);
        else if (m > 2) tile(4, 1, kc, a, b, alpha, beta, c, ldc, m, n);
        else tile(2, 1, kc, a, b, alpha, beta, c, ldc, m, n);
    }
}

void gemm_avx2(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_packed(MR, NR, MC, KC, NC, micro_6x16, pack_transpose, ta, tb, M, N, K, alpha, A, lda, B,
                ldb, beta, C, ldc);
}
