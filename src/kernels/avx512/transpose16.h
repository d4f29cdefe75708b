/* transpose16.h - what the avx512 GEMMs (fp32 in gemm_avx512.c, bf16 in
 * gemm_bf16.c) share: the 16x16 in-register transpose of 32-bit lanes for
 * their transposing packers, and the write-back of a micro-kernel tile.
 * Include after gemm_pack.h, in files built with the avx512 flags. */
#ifndef FER_TRANSPOSE16_H
#define FER_TRANSPOSE16_H

#include <immintrin.h>

/* Transposes the 16x16 block r[16] (row i = r[i]) in place. */
GEMM_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}


/* C[rows x 16*nv] = alpha * acc + beta * C for the m x n valid part of a
 * micro-kernel tile; acc[i][v] holds row i, columns 16v .. 16v + 15. Shared
 * by the fp32 and bf16 micro-kernels (their accumulators are both fp32). */
GEMM_INLINE void tile_store(__m512 acc[][2], int rows, int nv, float alpha, float beta, float *c, int ldc,
                            int m, int n)
{
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 mask[2];   /* the valid columns of each vector */
    mask[0] = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    mask[1] = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
#pragma GCC unroll 14
    for (int i = 0; i < rows; i++) {
        if (i >= m) break;
        float *ci = c + (size_t)i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], ci + 16 * v), r);
            _mm512_mask_storeu_ps(ci + 16 * v, mask[v], r);
        }
    }
}

#endif
