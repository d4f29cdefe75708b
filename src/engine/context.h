/* context.h - the execution context: thread pool, RNG, the kernel table
 * chosen once at start-up, and where messages go. */
#ifndef FER_ENGINE_CONTEXT_H
#define FER_ENGINE_CONTEXT_H

#include "kernels/kernels.h"
#include "util.h"

/* ---- context: threads, RNG, kernels -------------------------------------- */

typedef struct thread_pool thread_pool;

/* Runs fn(arg, i) for i in [0, n) across the pool; returns when all are done. */
typedef void (*parallel_fn)(void *arg, int i);
thread_pool *thread_pool_new(int nthreads, fer_err *e);
void thread_pool_run(thread_pool *p, int n, parallel_fn fn, void *arg);
int thread_pool_size(const thread_pool *p);
void thread_pool_free(thread_pool *p);

typedef struct rng { uint64_t s[4]; } rng;
void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
float rng_uniform(rng *r);            /* [0, 1) */
float rng_normal(rng *r);             /* N(0, 1) */
int rng_int(rng *r, int n);           /* [0, n) */
void rng_permutation(rng *r, int *order, int n);   /* order = a uniform shuffle of 0..n-1 */
/* The seed of one stream of a run: (seed, a, b) mixed so that nearby
 * epochs and mini-batches get unrelated streams. */
uint64_t rng_stream_seed(uint64_t seed, uint64_t a, uint64_t b);

/* gemm split across the context's threads by rows (or columns when M is small). */
void gemm_parallel(fer_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The same with an operand given packed (ctx->k.gemm_pre; pA and/or pB
 * non-NULL), split across threads along the longer side of C (along M
 * when both are packed), in whole panels where that is a packed operand's
 * rows. */
void gemm_parallel_pre(fer_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *pA, const float *B, int ldb, const float *pB, float beta, float *C, int ldc);

/* Fills the table with the kernels for isa ("auto", "scalar", "avx2", "avx512", "neon");
 * fails when the CPU lacks the ISA or it was not built in. */
int kernels_select(kernel_table *k, const char *isa, fer_err *e);
/* The best ISA this CPU runs and this binary contains. */
const char *kernels_best_isa(void);
/* Switches a table filled by kernels_select between its ISA's fp32 GEMM
 * ("fp32") and gemm_bf16 ("bf16"); bf16 fails unless the table is the
 * avx512 set and the CPU has AVX512_BF16. */
int kernels_set_precision(kernel_table *k, const char *precision, fer_err *e);

struct fer_ctx {
    thread_pool *pool;
    int nthreads;
    kernel_table k;
    rng rng;
    log_hook log;           /* warnings, notices, progress (fer_ctx_set_log) */
};

#endif
