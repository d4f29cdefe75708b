/* gemm_dot.c - C = alpha * A B^T + beta C for a few rows of A (a dense
 * layer at batch 1-4: A [M, K] inputs, B [N, K] weights, both with K
 * contiguous). Every output is a dot product of two contiguous rows, so
 * there is nothing to pack: the packed GEMMs would copy (and, with -bf16,
 * round) the whole weight matrix for one row of output. fp32 throughout.
 * Built for AVX-512/AVX2/baseline (FER_SIMD_CLONES); the 16 lanes are a
 * GNU C vector because GCC does not reorder a float reduction by itself. */
#include "kernels.h"

#include <string.h>

typedef float lanes __attribute__((vector_size(16 * sizeof(float))));

FER_SIMD_CLONES
void gemm_dot(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc)
{
    for (int m0 = 0; m0 < M; m0 += GEMM_DOT_MAX_M) {
        int mm = M - m0 < GEMM_DOT_MAX_M ? M - m0 : GEMM_DOT_MAX_M;
        for (int j = 0; j < N; j++) {
            const float *b = B + (size_t)j * ldb;
            lanes acc[GEMM_DOT_MAX_M];
            float tail[GEMM_DOT_MAX_M] = { 0 };
            for (int i = 0; i < mm; i++) acc[i] = (lanes){ 0 };
            int k = 0;
            for (; k + 16 <= K; k += 16) {
                lanes bv;
                memcpy(&bv, b + k, sizeof bv);
                for (int i = 0; i < mm; i++) {
                    lanes av;
                    memcpy(&av, A + (size_t)(m0 + i) * lda + k, sizeof av);
                    acc[i] += av * bv;
                }
            }
            for (; k < K; k++)
                for (int i = 0; i < mm; i++) tail[i] += A[(size_t)(m0 + i) * lda + k] * b[k];
            for (int i = 0; i < mm; i++) {
                float s = tail[i];
                for (int q = 0; q < 16; q++) s += acc[i][q];
                float *c = C + (size_t)(m0 + i) * ldc + j;
                *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
            }
        }
    }
}
