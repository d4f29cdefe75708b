/* gemm_parallel.c - splits one GEMM into independent row (or column) blocks
 * and runs them on the context's thread pool with the selected kernel; a
 * product with at most GEMM_DOT_MAX_M rows and B transposed (a dense layer
 * at batch 1-4) runs as dot products (gemm_dot), split by columns. */
#include "context.h"

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

typedef struct gemm_pre_job {
    const kernel_table *k;
    int ta, tb, M, N, K, lda, ldb, ldc, parts, side, by_rows;
    float alpha, beta;
    const float *A, *pA, *B, *pB;
    float *C;
} gemm_pre_job;

/* Thread t's share of the rows (by_rows) or columns of C: along the packed
 * operand in whole panels, or along the other one anywhere. */
static void gemm_pre_part(void *arg, int t)
{
    const gemm_pre_job *j = arg;
    const kernel_table *k = j->k;
    int total = j->by_rows ? j->M : j->N;
    int unit = j->by_rows == (j->side == GEMM_SIDE_A) ? k->pack_unit[j->side] : 1;
    int blocks = (total + unit - 1) / unit;
    int lo = (int)((long long)blocks * t / j->parts) * unit, hi = (int)((long long)blocks * (t + 1) / j->parts) * unit;
    if (hi > total) hi = total;
    if (hi <= lo) return;
    const float *A = j->A, *pA = j->pA, *B = j->B, *pB = j->pB;
    float *C = j->C;
    if (j->by_rows) {
        if (pA) pA += gemm_pack_offset(k, GEMM_SIDE_A, lo, j->K);
        else A += j->ta ? (size_t)lo : (size_t)lo * j->lda;
        C += (size_t)lo * j->ldc;
        k->gemm_pre(j->ta, j->tb, hi - lo, j->N, j->K, j->alpha, A, j->lda, pA, B, j->ldb, pB, j->beta, C, j->ldc);
    } else {
        if (pB) pB += gemm_pack_offset(k, GEMM_SIDE_B, lo, j->K);
        else B += j->tb ? (size_t)lo * j->ldb : (size_t)lo;
        C += lo;
        k->gemm_pre(j->ta, j->tb, j->M, hi - lo, j->K, j->alpha, A, j->lda, pA, B, j->ldb, pB, j->beta, C, j->ldc);
    }
}

void gemm_parallel_pre(fer_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *pA, const float *B, int ldb, const float *pB, float beta, float *C, int ldc)
{
    gemm_pre_job j = { &ctx->k, ta, tb, M, N, K, lda, ldb, ldc, ctx->nthreads, pA ? GEMM_SIDE_A : GEMM_SIDE_B,
                       M >= N, alpha, beta, A, pA, B, pB, C };
    if (pA && pB) j.by_rows = 1;   /* both packed: split along the rows of pA only */
    if (ctx->nthreads <= 1 || (double)M * N * K < 65536.0) {
        j.parts = 1;
        gemm_pre_part(&j, 0);
        return;
    }
    thread_pool_run(ctx->pool, ctx->nthreads, gemm_pre_part, &j);
}
