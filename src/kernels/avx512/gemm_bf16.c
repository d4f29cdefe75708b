/* gemm_bf16.c - the opt-in BF16 GEMM (AVX512_BF16): same contract as
 * gemm_naive, but op(A) and op(B) are rounded to bfloat16 (round to nearest
 * even) while they are packed, and a 14x32 micro-kernel multiplies them with
 * vdpbf16ps, which does two bf16 multiply-adds per fp32 lane: twice the
 * multiply-adds per instruction of an fp32 FMA. Products of two bf16 values
 * are exact in fp32 and the sums accumulate in fp32 registers; alpha, beta
 * and C stay fp32. Built with -mavx512bf16: only dispatch.c calls it, after
 * checking that the CPU has avx512_bf16.
 *
 * The blocking is gemm_pack.h's (see there), with K taken in pairs, as
 * vdpbf16ps wants: a packed "word" is 32 bits holding two bf16 values,
 * element k (low half) and k + 1 (high half) of one row of op(A) or one
 * column of op(B); an odd K is padded with a zero.
 *   packed A: ceil(mc/MR) panels of [kp][MR] words, kp = ceil(kc/2)
 *   packed B: ceil(nc/NR) panels of [kp][NR] words
 * Both live in gemm_pack.h's per-thread buffers (a word is the size of a
 * float, so a K block may be twice as deep as the fp32 GEMM's). */
#include "../kernels.h"
#include "../gemm_pack.h"
#include "transpose16.h"

#include <immintrin.h>
#include <stdint.h>

#define MR 14
#define NR 32
/* cache blocks: MC rows of A, KC deep (in elements of K, even), NC columns
 * of B. A K block of KC bf16 is as many bytes as the fp32 GEMM's 384; KC
 * 256, 384 and 512 measured no faster on Zen 4. */
#define MC 168
#define KC 768
#define NC 512
_Static_assert(MC % MR == 0 && NC % NR == 0 && KC % 2 == 0, "bf16 GEMM block shapes");
_Static_assert((size_t)MC * (KC / 2) <= (size_t)GEMM_MC_MAX * GEMM_KC_MAX &&
               (size_t)(KC / 2) * NC <= (size_t)GEMM_KC_MAX * GEMM_NC_MAX,
               "bf16 GEMM blocks do not fit the packing buffers");

/* A packed word, read through a type that may alias the float buffers. */
typedef uint32_t bf16_pair __attribute__((may_alias));

/* src[rows, kc] (row stride ld; K runs along rows) into ceil(rows/w)
 * panels dst[p][kp][i] = (src[p*w + i][2kp], src[p*w + i][2kp + 1]) in
 * bf16, zero past row rows and past column kc: op(A) when !ta (A is
 * [M, K]) and op(B) when tb (B is [N, K]). The pairs of a row are already
 * adjacent, so 16 rows x 32 k convert to 16 rows x 16 words, and a 16x16
 * transpose of words puts them in panel order. */
static void pack_rows(const float *src, int ld, int rows, int kc, int w, bf16_pair *dst)
{
    int kp = (kc + 1) / 2;
    for (int ip = 0; ip < rows; ip += w, dst += (size_t)kp * w)
        for (int r0 = 0; r0 < w; r0 += 16) {
            int g = gemm_min(16, w - r0);                 /* rows of this group in the panel */
            int valid = gemm_min(g, rows - ip - r0);      /* of which src has (may be <= 0) */
            __mmask16 store = (__mmask16)((1u << g) - 1);
            const float *s = src + (size_t)(ip + r0) * ld;
            for (int k0 = 0; k0 < kc; k0 += 32) {
                int lo = gemm_min(16, kc - k0), hi = gemm_min(16, kc - k0 - 16);
                __mmask16 load_lo = (__mmask16)((1u << lo) - 1);
                __mmask16 load_hi = hi > 0 ? (__mmask16)((1u << hi) - 1) : 0;
                __m512 r[16];   /* r[i]: words k0/2 .. k0/2 + 15 of row ip + r0 + i */
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                    if (i < valid) {
                        const float *si = s + (size_t)i * ld + k0;
                        __m512 x0 = _mm512_maskz_loadu_ps(load_lo, si);
                        __m512 x1 = _mm512_maskz_loadu_ps(load_hi, si + 16);
                        r[i] = _mm512_castsi512_ps((__m512i)_mm512_cvtne2ps_pbh(x1, x0));
                    } else {
                        r[i] = _mm512_setzero_ps();
                    }
                }
                transpose16(r);
                int words = (gemm_min(32, kc - k0) + 1) / 2;
                float *d = (float *)(dst + (size_t)(k0 / 2) * w + r0);
                for (int t = 0; t < words; t++) _mm512_mask_storeu_ps(d + (size_t)t * w, store, r[t]);
            }
        }
}

/* src[kc, cols] (row stride ld; K runs down columns) into ceil(cols/w)
 * panels dst[p][kp][j] = (src[2kp][p*w + j], src[2kp + 1][p*w + j]) in
 * bf16, zero past column cols and past row kc: op(A) when ta (A is
 * [K, M]) and op(B) when !tb (B is [K, N]). Two rows of 16 convert
 * together and one word permutation interleaves them. Reads each row once,
 * front to back. */
static void pack_cols(const float *src, int ld, int kc, int cols, int w, bf16_pair *dst)
{
    /* word j of the result = bf16 j of row k (low) and of row k + 1 (high) */
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
                                                25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
                                                18, 2, 17, 1, 16, 0);
    int kp = (kc + 1) / 2;
    size_t panel = (size_t)kp * w;
    for (int p = 0; p < kp; p++) {
        const float *s0 = src + (size_t)(2 * p) * ld;
        const float *s1 = 2 * p + 1 < kc ? s0 + ld : NULL;   /* NULL: the zero pad of an odd K */
        bf16_pair *d = dst + (size_t)p * w;
        for (int jp = 0; jp < cols; jp += w, d += panel)
            for (int j0 = 0; j0 < w; j0 += 16) {
                int g = gemm_min(16, w - j0);                  /* columns of this group */
                int valid = gemm_min(g, cols - jp - j0);       /* of which src has */
                __mmask16 load = valid > 0 ? (__mmask16)((1u << valid) - 1) : 0;
                __m512 x0 = _mm512_maskz_loadu_ps(load, s0 + jp + j0);
                __m512 x1 = s1 ? _mm512_maskz_loadu_ps(load, s1 + jp + j0) : _mm512_setzero_ps();
                __m512i pairs = _mm512_permutexvar_epi16(interleave,
                                                         (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
                _mm512_mask_storeu_epi32(d + j0, (__mmask16)((1u << g) - 1), pairs);
            }
    }
}

/* c[m, n] = alpha * a^T b + beta * c for m <= rows, n <= 16 * nv, computing
 * only rows x (16 * nv) of the MR x NR tile; a: [kp][MR] words, b: [kp][NR]
 * words. */
GEMM_INLINE void tile(int rows, int nv, int kp, const bf16_pair *a, const bf16_pair *b,
                      float alpha, float beta, float *c, int ldc, int m, int n)
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
    for (int k = 0; k < kp; k++, a += MR, b += NR) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b);
        __m512bh b1 = nv > 1 ? (__m512bh)_mm512_load_si512(b + 16) : b0;
#pragma GCC unroll 14
        for (int i = 0; i < rows; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            if (nv > 1) acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
    }
    tile_store(acc, rows, nv, alpha, beta, c, ldc, m, n);
}

/* The full 14x32 tile, or the smallest variant covering m x n. */
static void micro_14x32(int kp, const bf16_pair *a, const bf16_pair *b, float alpha, float beta,
                        float *c, int ldc, int m, int n)
{
    if (n > 16) {
        if (m > 8) tile(14, 2, kp, a, b, alpha, beta, c, ldc, m, n);
        else if (m > 4) tile(8, 2, kp, a, b, alpha, beta, c, ldc, m, n);
        else tile(4, 2, kp, a, b, alpha, beta, c, ldc, m, n);
    } else {
        if (m > 8) tile(14, 1, kp, a, b, alpha, beta, c, ldc, m, n);
        else if (m > 4) tile(8, 1, kp, a, b, alpha, beta, c, ldc, m, n);
        else tile(4, 1, kp, a, b, alpha, beta, c, ldc, m, n);
    }
}

/* The panels of rows [r0, r0 + rows) and K block [pc, pc + kc) of an
 * operand (rows of op(A), or columns of op(B)): in place in its whole
 * packing, or packed from src into buf (by_rows: src is [rows][K], else
 * [K][rows]). *stride: words from one panel to the next. */
static const bf16_pair *block_panels(const bf16_pair *whole, size_t kpt, const float *src, int ld, int by_rows,
                                     int r0, int rows, int pc, int kc, int w, bf16_pair *buf, size_t *stride)
{
    if (whole) {
        *stride = kpt * w;
        return whole + (size_t)(r0 / w) * kpt * w + (size_t)(pc / 2) * w;
    }
    if (by_rows) pack_rows(src + (size_t)r0 * ld + pc, ld, rows, kc, w, buf);
    else pack_cols(src + (size_t)pc * ld + r0, ld, kc, rows, w, buf);
    *stride = (size_t)((kc + 1) / 2) * w;
    return buf;
}

/* gemm_packed's loop nest over word panels, with op(A) and/or op(B)
 * already packed whole (pA, pB: see gemm_bf16_pack) or packed here block
 * by block. K blocks start at even k, so a block of a whole panel [kpt][w]
 * is its words pc/2 .. : the same words the blockwise packing makes. Like
 * BLAS, alpha == 0 or K == 0 only scales C by beta, without reading A or B. */
void gemm_bf16_pre(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *pA,
                   const float *B, int ldb, const float *pB, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0) {
        gemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    bf16_pair *pa = (bf16_pair *)gemm_pack_a, *pb = (bf16_pair *)gemm_pack_b;
    const bf16_pair *wa = (const bf16_pair *)pA, *wb = (const bf16_pair *)pB;
    int mc_max = gemm_block(M, MC, MR), kc_max = gemm_block(K, KC, 2);
    int nc_max = gemm_block(N, NC, NR);
    size_t kpt = (size_t)(K + 1) / 2;   /* words of a whole panel's K */
    for (int jc = 0; jc < N; jc += nc_max) {
        int nc = gemm_min(nc_max, N - jc);
        for (int pc = 0; pc < K; pc += kc_max) {
            int kc = gemm_min(kc_max, K - pc), kp = (kc + 1) / 2;
            float bk = pc == 0 ? beta : 1.0f;
            size_t bs, as;   /* words between the block's panels of B, of A */
            const bf16_pair *bb = block_panels(wb, kpt, B, ldb, tb, jc, nc, pc, kc, NR, pb, &bs);
            for (int ic = 0; ic < M; ic += mc_max) {
                int mc = gemm_min(mc_max, M - ic);
                const bf16_pair *ab = block_panels(wa, kpt, A, lda, !ta, ic, mc, pc, kc, MR, pa, &as);
                for (int jr = 0; jr < nc; jr += NR) {
                    const bf16_pair *bp = bb + (size_t)(jr / NR) * bs;
                    int n = gemm_min(NR, nc - jr);
                    for (int ir = 0; ir < mc; ir += MR)
                        micro_14x32(kp, ab + (size_t)(ir / MR) * as, bp, alpha, bk,
                                    C + (size_t)(ic + ir) * ldc + jc + jr, ldc, gemm_min(MR, mc - ir), n);
                }
            }
        }
    }
}

void gemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_bf16_pre(ta, tb, M, N, K, alpha, A, lda, NULL, B, ldb, NULL, beta, C, ldc);
}

int gemm_bf16_pack_unit(int side) { return side == GEMM_SIDE_A ? MR : NR; }

size_t gemm_bf16_pack_floats(int side, int rows, int K)
{
    int w = side == GEMM_SIDE_A ? MR : NR;
    return (size_t)((rows + w - 1) / w) * w * (size_t)((K + 1) / 2);
}

/* op(A) [rows, K] (side A) or op(B) [K, rows] (side B) whole: row-major
 * [rows][K] sources (A untransposed, B transposed) pack by rows, the others
 * by columns. */
void gemm_bf16_pack(int side, int trans, int rows, int K, const float *src, int ld, float *dst)
{
    int w = side == GEMM_SIDE_A ? MR : NR;
    int by_rows = side == GEMM_SIDE_A ? !trans : trans;
    if (by_rows) pack_rows(src, ld, rows, K, w, (bf16_pair *)dst);
    else pack_cols(src, ld, K, rows, w, (bf16_pair *)dst);
}
