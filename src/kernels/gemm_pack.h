/* gemm_pack.h - the shared skeleton of fer's packed GEMMs (GotoBLAS/BLIS
 * style): cache blocking, packing of op(A) and op(B) into the panels a
 * register-blocked micro-kernel streams through, and the loops that call it.
 * Each ISA file supplies its micro-kernel, tile shape, block sizes and
 * (optionally) a faster transposing packer; the rest is plain C that the
 * compiler vectorizes with the including file's flags. One micro-kernel
 * serves all four ta/tb combinations: the packing absorbs the transposes.
 *
 * Loop nest, for C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C:
 *   jc over N by nc:
 *     pc over K by kc:          pack op(B)[pc:pc+kc, jc:jc+nc] into gemm_pack_b
 *       ic over M by mc:        pack op(A)[ic:ic+mc, pc:pc+kc] into gemm_pack_a
 *         jr over nc by nr:     one B micro-panel [kc][nr]
 *           ir over mc by mr:   the micro-kernel on an mr x nr tile of C
 * The first K block applies the caller's beta; later ones accumulate. Edge
 * tiles are computed on zero-padded panels and only their valid part is
 * written back. */
#ifndef FER_GEMM_PACK_H
#define FER_GEMM_PACK_H

#include <stddef.h>
#include <string.h>

/* Largest blocks any ISA uses; each ISA picks mc, kc, nc within these, with
 * mc a multiple of its MR and nc a multiple of its NR. Sized for Zen 4/5
 * (1 MB L2 per core): a 168 x 384 block of A is 252 KB, a 384 x 512 block
 * of B 768 KB, about 1 MB of thread-local storage in all. */
#define GEMM_MC_MAX 168
#define GEMM_KC_MAX 384
#define GEMM_NC_MAX 512

/* Per-thread packing buffers, shared by every ISA (one GEMM runs at a time on
 * a thread), defined in scalar/gemm_scalar.c which every build contains.
 * gemm_pack_a: ceil(mc/MR) panels of [kc][MR], rows past mc zero.
 * gemm_pack_b: ceil(nc/NR) panels of [kc][NR], columns past nc zero. */
extern _Thread_local float gemm_pack_a[GEMM_MC_MAX * GEMM_KC_MAX] __attribute__((aligned(64)));
extern _Thread_local float gemm_pack_b[GEMM_KC_MAX * GEMM_NC_MAX] __attribute__((aligned(64)));

/* A micro-kernel: for the valid m x n corner (m <= MR, n <= NR) of the tile
 * c (row stride ldc), c = alpha * sum_k a[k][i] * b[k][j] + beta * c.
 * a: [kc][MR] packed, b: [kc][NR] packed, both 64-byte aligned.
 * beta == 0 never reads c. */
typedef void (*gemm_micro_fn)(int kc, const float *a, const float *b, float alpha, float beta,
                              float *c, int ldc, int m, int n);

static inline int gemm_min(int a, int b) { return a < b ? a : b; }

/* Splits n into ceil(n/max) nearly equal blocks, each rounded up to a
 * multiple of unit (so at most max when max % unit == 0). */
static inline int gemm_block(int n, int max, int unit)
{
    int parts = (n + max - 1) / max;
    int b = (n + parts - 1) / parts;
    return (b + unit - 1) / unit * unit;
}

/* C[M,N] = beta * C (beta == 0 writes zeros without reading C). */
static inline void gemm_scale_c(int M, int N, float beta, float *C, int ldc)
{
    if (beta == 1) return;
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0) memset(c, 0, (size_t)N * sizeof *c);
        else for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

/* Writes the valid m x n corner of a tile, part (row stride nr, alpha
 * already applied), into c: c = part + beta * c; beta == 0 never reads c.
 * For the micro-kernels' partial tiles. */
static inline void gemm_store_corner(const float *part, int nr, int m, int n, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        const float *pi = part + (size_t)i * nr;
        float *ci = c + (size_t)i * ldc;
        if (beta == 0)
            for (int j = 0; j < n; j++) ci[j] = pi[j];
        else
            for (int j = 0; j < n; j++) ci[j] = pi[j] + beta * ci[j];
    }
}

/* The packing and driver functions below are always inlined so that the
 * tile shape (mr, nr) is a compile-time constant in each ISA's copy: the
 * copies of whole panels then become vector moves. */
#define GEMM_INLINE static inline __attribute__((always_inline))

/* Copy-packs src[kc, cols] (row stride ld) into ceil(cols/w) panels
 * dst[p][k][j] = src[k][p*w + j], zero past column cols: op(A) when ta
 * (A is [K, M]) and op(B) when !tb (B is [K, N]). Reads each row once,
 * front to back. */
GEMM_INLINE void gemm_pack_copy(const float *src, int ld, int kc, int cols, int w, float *dst)
{
    size_t panel = (size_t)kc * w;
    int full = cols / w * w;
    for (int k = 0; k < kc; k++) {
        const float *s = src + (size_t)k * ld;
        float *d = dst + (size_t)k * w;
        for (int jp = 0; jp < full; jp += w, d += panel) memcpy(d, s + jp, (size_t)w * sizeof *d);
        if (full < cols) {
            for (int j = 0; j < cols - full; j++) d[j] = s[full + j];
            for (int j = cols - full; j < w; j++) d[j] = 0;
        }
    }
}

/* Transpose-packs src[rows, kc] (row stride ld) into ceil(rows/w) panels
 * dst[p][k][i] = src[p*w + i][k], zero past row rows: op(A) when !ta
 * (A is [M, K]) and op(B) when tb (B is [N, K]). An ISA may pass its own
 * (e.g. with in-register transposes) to gemm_packed. */
typedef void (*gemm_transpose_fn)(const float *src, int ld, int rows, int kc, int w, float *dst);

static inline void gemm_pack_transpose(const float *src, int ld, int rows, int kc, int w,
                                       float *dst)
{
    for (int ip = 0; ip < rows; ip += w, dst += (size_t)kc * w) {
        int m = gemm_min(w, rows - ip);
        for (int i = 0; i < m; i++) {
            const float *s = src + (size_t)(ip + i) * ld;
            for (int k = 0; k < kc; k++) dst[(size_t)k * w + i] = s[k];
        }
        for (int i = m; i < w; i++)
            for (int k = 0; k < kc; k++) dst[(size_t)k * w + i] = 0;
    }
}

/* The blocked GEMM (same contract as gemm_naive) with an mr x nr
 * micro-kernel, block limits mc, kc, nc (mc % mr == 0, nc % nr == 0,
 * within the _MAX above) and a transposing packer. Like BLAS, alpha == 0
 * or K == 0 only scales C by beta, without reading A or B. */
GEMM_INLINE void gemm_packed(int mr, int nr, int mc_limit, int kc_limit, int nc_limit,
                             gemm_micro_fn micro, gemm_transpose_fn transpose, int ta, int tb,
                             int M, int N, int K, float alpha, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0) {
        gemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    float *pa = gemm_pack_a, *pb = gemm_pack_b;
    int mc_max = gemm_block(M, mc_limit, mr), kc_max = gemm_block(K, kc_limit, 1);
    int nc_max = gemm_block(N, nc_limit, nr);
    for (int jc = 0; jc < N; jc += nc_max) {
        int nc = gemm_min(nc_max, N - jc);
        for (int pc = 0; pc < K; pc += kc_max) {
            int kc = gemm_min(kc_max, K - pc);
            float bk = pc == 0 ? beta : 1.0f;
            const float *b = tb ? B + (size_t)jc * ldb + pc : B + (size_t)pc * ldb + jc;
            if (tb) transpose(b, ldb, nc, kc, nr, pb);
            else gemm_pack_copy(b, ldb, kc, nc, nr, pb);
            for (int ic = 0; ic < M; ic += mc_max) {
                int mc = gemm_min(mc_max, M - ic);
                const float *a = ta ? A + (size_t)pc * lda + ic : A + (size_t)ic * lda + pc;
                if (ta) gemm_pack_copy(a, lda, kc, mc, mr, pa);
                else transpose(a, lda, mc, kc, mr, pa);
                for (int jr = 0; jr < nc; jr += nr) {
                    const float *bp = pb + (size_t)jr * kc;
                    int n = gemm_min(nr, nc - jr);
                    for (int ir = 0; ir < mc; ir += mr)
                        micro(kc, pa + (size_t)ir * kc, bp, alpha, bk,
                              C + (size_t)(ic + ir) * ldc + jc + jr, ldc, gemm_min(mr, mc - ir), n);
                }
            }
        }
    }
}

#endif
