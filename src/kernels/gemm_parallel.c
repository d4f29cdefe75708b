/* gemm_parallel.c - splits one GEMM into independent row (or column) blocks
 * and runs them on the context's thread pool with the selected kernel; a
 * product with at most GEMM_DOT_MAX_M rows and B transposed (a dense layer
 * at batch 1-4) runs as dot products (gemm_dot), split by columns. */
#include "kernels.h"

typedef struct gemm_job {
    const kernel_table *k;
    int ta, tb, M, N, K, lda, ldb, ldc, parts, by_rows, dot;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_part(void *arg, int t)
{
    const gemm_job *j = arg;
    int total = j->by_rows ? j->M : j->N;
    int lo = (int)((long long)total * t / j->parts), hi = (int)((long long)total * (t + 1) / j->parts);
    if (hi <= lo) return;
    if (j->dot) {
        gemm_dot(j->M, hi - lo, j->K, j->alpha, j->A, j->lda, j->B + (size_t)lo * j->ldb, j->ldb, j->beta,
                 j->C + lo, j->ldc);
    } else if (j->by_rows) {
        const float *A = j->ta ? j->A + lo : j->A + (size_t)lo * j->lda;
        j->k->gemm(j->ta, j->tb, hi - lo, j->N, j->K, j->alpha, A, j->lda, j->B, j->ldb, j->beta,
                   j->C + (size_t)lo * j->ldc, j->ldc);
    } else {
        const float *B = j->tb ? j->B + (size_t)lo * j->ldb : j->B + lo;
        j->k->gemm(j->ta, j->tb, j->M, hi - lo, j->K, j->alpha, j->A, j->lda, B, j->ldb, j->beta,
                   j->C + lo, j->ldc);
    }
}

void gemm_parallel(fer_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    int nt = ctx->nthreads;
    double work = (double)M * N * K;
    int dot = !ta && tb && M <= GEMM_DOT_MAX_M && N > 0 && K > 0 && alpha != 0;
    if (nt <= 1 || work < 65536.0) {
        if (dot) gemm_dot(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        else ctx->k.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_job j = { &ctx->k, ta, tb, M, N, K, lda, ldb, ldc, nt, !dot && M >= N, dot, alpha, beta, A, B, C };
    thread_pool_run(ctx->pool, nt, gemm_part, &j);
}
