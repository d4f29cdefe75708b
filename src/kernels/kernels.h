/* kernels.h - src/kernels/, the bottom layer: pure compute kernels over
 * explicit dimensions (GEMM, im2col, direct and Winograd convolutions;
 * norm.h has the normalization ones), fast versions per ISA in avx512/,
 * avx2/, neon/ and scalar/, picked once into a kernel_table. Every fast kernel has
 * a _naive twin kept as the reference that tests compare with. */
#ifndef FER_KERNELS_H
#define FER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* FER_SIMD_CLONES before a plain-C loop kernel builds it for AVX-512, AVX2
 * and baseline x86-64; the loader picks the version the CPU runs (GCC's
 * target_clones, resolved once at start-up). Elsewhere it is empty. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FER_NO_CLONES)
#define FER_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FER_SIMD_CLONES
#endif

/* The fast kernels in use, chosen once when the context is made. */
typedef struct kernel_table {
    const char *isa;
    int bf16;   /* gemm is gemm_bf16: operands rounded to bfloat16, fp32 accumulation */
    /* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major, op = transpose when t* */
    void (*gemm)(int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);
    /* Optional (NULL when the GEMM has none; bf16 has): an operand packed
     * whole once (gemm_pack) and reused by gemm_pre, for weights that stay
     * fixed across calls. Side GEMM_SIDE_A packs op(A) [rows = M, K], side
     * GEMM_SIDE_B op(B) [K, rows = N]; trans is ta or tb. The packed form
     * is split into panels of pack_unit[side] rows: a product over rows
     * [lo, hi) of a packed operand (lo a multiple of the unit) starts at
     * panel lo / unit, gemm_pack_offset floats in. */
    size_t (*gemm_pack_floats)(int side, int rows, int K);
    void (*gemm_pack)(int side, int trans, int rows, int K, const float *src, int ld, float *dst);
    /* gemm with op(A) and/or op(B) given packed (pA, pB; NULL: A or B as
     * usual, which the packed side ignores). A packed operand starts on a
     * 64-byte boundary (fer_alloc's), as must each panel offset into it. */
    void (*gemm_pre)(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *pA,
                     const float *B, int ldb, const float *pB, float beta, float *C, int ldc);
    int pack_unit[2];
} kernel_table;

enum { GEMM_SIDE_A = 0, GEMM_SIDE_B = 1 };

/* Floats into a packed operand (K deep) where its row lo (a multiple of
 * the side's pack_unit) starts. */
static inline size_t gemm_pack_offset(const kernel_table *k, int side, int lo, int K)
{
    return k->gemm_pack_floats(side, lo, K);
}

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, all row-major.
 * op(A) = A ([M,K], lda >= K) or A^T (A is [K,M], lda >= M); likewise B. */
void gemm_naive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);

/* col[(c*kh + i)*kw + j][oy*ow + ox] = in[c][oy*sh - ph + i*dh][ox*sw - pw + j*dw]
 * (0 outside; dh, dw: the dilation, 1 for a plain convolution).
 * in: [c, h, w]; col: [c*kh*kw rows, row stride ldcol >= oh*ow]. */
void im2col(const float *in, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw,
            int dh, int dw, int oh, int ow, float *col, int ldcol);
/* The adjoint of im2col: din[c, h, w] += scatter of col (same layout). */
void col2im_add(const float *col, int c, int h, int w, int kh, int kw, int sh, int sw, int ph,
                int pw, int dh, int dw, int oh, int ow, float *din, int ldcol);

/* The outputs [*lo, *hi) of [0, n) whose input column ox*s + x0 lies in
 * [0, w): a sliding window's tap clipped to the input once, so loops over
 * the range need no bounds check per value (im2col's adjoint, depthwise
 * convolution, pooling). */
static inline void tap_range(int x0, int s, int w, int n, int *lo, int *hi)
{
    int a = x0 < 0 ? (-x0 + s - 1) / s : 0;
    int b = w - 1 - x0 < 0 ? 0 : (w - 1 - x0) / s + 1;
    if (b > n) b = n;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* Depthwise convolution of one plane: out[oy][ox] = sum_ij k[i][j] *
 * in[oy*sh - ph + i][ox*sw - pw + j] (0 outside); in [h, w], k [kh, kw],
 * out [oh, ow] (overwritten). The backward pass adds dL/dk to dk and dL/din
 * to din given dz = dL/dout; either may be NULL. */
void depthwise_forward(const float *in, int h, int w, const float *k, int kh, int kw, int sh, int sw, int ph,
                       int pw, int oh, int ow, float *out);
void depthwise_backward(const float *in, const float *dz, int h, int w, const float *k, int kh, int kw, int sh,
                        int sw, int ph, int pw, int oh, int ow, float *dk, float *din);

/* Convolution of one input plane [h, w] with nf filters k [nf][kh][kw]
 * into out [nf][oh][ow] (overwritten), through a zero-bordered copy of the
 * plane in pad (plane_conv_pad_floats; twice that for the backward pass when
 * din is wanted). The backward pass adds dL/dk to dk [nf][kh][kw] and dL/din
 * to din [h, w] given dz [nf][oh][ow]; either may be NULL. Kernels of at most
 * PLANE_CONV_MAX_TAPS taps. */
#define PLANE_CONV_MAX_TAPS 49
size_t plane_conv_pad_floats(int oh, int ow, int kh, int kw, int sh, int sw);
void plane_conv_forward(const float *in, int h, int w, const float *k, int nf, int kh, int kw, int sh, int sw,
                        int ph, int pw, int oh, int ow, float *pad, float *out);
void plane_conv_backward(const float *in, const float *dz, int h, int w, const float *k, int nf, int kh, int kw,
                         int sh, int sw, int ph, int pw, int oh, int ow, float *pad, float *dk, float *din);

/* Stride-1 convolution by Winograd's F(2x2, 3x3) (winograd.c explains
 * the transforms). A kh x kw filter (3..6 each) is split into 3x3 blocks
 * (p, q), p < winograd_blocks(kh), q < winograd_blocks(kw), at rows
 * winograd_anchor(kh, p).. and columns winograd_anchor(kw, q).. of the
 * filter (taps outside it are zero). The convolution of C input planes
 * [h, w] (padding ph, pw) with M filters is, over th x tw tiles of 2x2
 * outputs (th = ceil(oh/2), tw = ceil(ow/2)), with B = blocks and block b:
 *   winograd_filters:  U [16][..][ldu] (plane stride uplane) from w
 *                      [M][C][kh][kw]: block (r0, c0) of filters [m_lo,
 *                      m_hi) into rows m, columns 0 .. C-1 of the U passed
 *                      (here U [16][M][B * C], offset by b * C)
 *   winograd_input:    V [16][..][ldv] (plane stride vplane), rows 0 .. C-1
 *                      of V, columns 0 .. cnt*th*tw - 1 (tile
 *                      (s * th + ty) * tw + tx), from cnt samples in
 *                      [cnt][C][h][w] (sample stride `stride`) with padding
 *                      ph - anchor, pw - anchor (any sign): block b's V at
 *                      rows b * C .. of V [16][B * C][ldv]; plane:
 *                      winograd_plane_floats scratch
 *   (caller)           M_xi [M][ldm] = U_xi [M][B * C] * V_xi [B * C][ldv]
 *   winograd_output:   out [cnt][M][oh][ow] (sample stride `stride`) =
 *                      (add ? out + : ) the outputs of M [16][..][ldm]
 *                      (plane stride mplane), rows 0 .. M-1.
 * The input gradient (din [C][h][w] from dz [M][oh][ow]) is the same with U
 * reused: block b's V from dz with padding (kh - 1 - ph) - 3p, and
 * M'_xi [C][ldm] = sum over b of U_b,flip(xi)^T [C][M] * V_b,xi [M][ldv]
 * (one GEMM with U stored as [16][B * M][C]: block b at rows b * M). */
#define WINOGRAD_OUT_RUN 256   /* winograd_output transforms up to this many tiles at a time */
static inline int winograd_blocks(int k) { return (k + 2) / 3; }
static inline int winograd_anchor(int k, int p) { return k - 3 - 3 * p; }
void winograd_filters(const float *w, int C, int kh, int kw, int r0, int c0, int m_lo, int m_hi, float *U,
                      size_t ldu, size_t uplane);
static inline int winograd_flip(int xi)
{
    static const int swap03[4] = { 3, 1, 2, 0 };
    return 4 * swap03[xi / 4] + swap03[xi % 4];
}
size_t winograd_plane_floats(int th, int tw, int cnt);
void winograd_input(const float *in, size_t stride, int cnt, int C, int h, int w, int ph, int pw, int th, int tw,
                    float *plane, float *V, size_t ldv, size_t vplane);
void winograd_output(const float *Mt, int M, size_t ldm, size_t mplane, int cnt, int th, int tw, int oh, int ow,
                     int add, float *out, size_t stride);
/* The kernel gradient, F(3x3, 2x2) with the same V: winograd_grad_input
 * transforms the output gradient dz [cnt][M][oh][ow] (sample stride
 * `stride`) into Gz [16][M][ldg] (tiles as in winograd_input; plane: 4 *
 * cnt*th*tw floats of scratch); the caller sums W_xi [M][B * C] += Gz_xi
 * [M][T] * V_xi [B * C][T]^T over blocks of tiles; winograd_dw_output adds
 * block (r0, c0)'s kernel gradients of filters [m_lo, m_hi), from columns
 * 0 .. C-1 of W [16][M][ldw] (offset by b * C), to dw [M][C][kh][kw]. */
void winograd_grad_input(const float *dz, size_t stride, int cnt, int M, int oh, int ow, int th, int tw,
                         float *plane, float *Gz, size_t ldg);
void winograd_dw_output(const float *W, int M, int C, size_t ldw, int kh, int kw, int r0, int c0, int m_lo,
                        int m_hi, float *dw);

/* gemm_naive's contract for ta = 0, tb = 1 (C[M,N] = alpha A[M,K] B[N,K]^T
 * + beta C), as dot products of rows, fp32, no packing: for a dense layer at
 * batch <= GEMM_DOT_MAX_M, where packing the weights would cost more than the
 * product. gemm_parallel picks it, also under -bf16: such products are then
 * exact fp32, so a dense layer's outputs at batch <= 4 differ in the last
 * bits from the same inputs in a larger (bf16) batch. */
#define GEMM_DOT_MAX_M 4
void gemm_dot(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* ISA-specific GEMMs (same contract as gemm_naive). */
void gemm_scalar(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
void gemm_avx2(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
void gemm_avx512(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
/* 64-bit ARM only (neon/gemm_neon.c). */
void gemm_neon(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
/* Same contract, but op(A) and op(B) are rounded to bfloat16 (nearest even)
 * and multiplied with vdpbf16ps, accumulating in fp32; alpha, beta and C are
 * fp32. x86-64 only; call only when the CPU has AVX512_BF16. */
void gemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
/* kernel_table's gemm_pack_floats / gemm_pack / gemm_pre for gemm_bf16: an
 * operand packed whole is ceil(rows / unit) panels of [ceil(K/2)][unit]
 * bf16 pairs (unit 14 for A, 32 for B); gemm_bf16_pre reads a K block of a
 * panel in place, so the product is bit-identical to gemm_bf16's. */
size_t gemm_bf16_pack_floats(int side, int rows, int K);
int gemm_bf16_pack_unit(int side);   /* 14 (A) or 32 (B): the micro-kernel's tile */
void gemm_bf16_pack(int side, int trans, int rows, int K, const float *src, int ld, float *dst);
void gemm_bf16_pre(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *pA,
                   const float *B, int ldb, const float *pB, float beta, float *C, int ldc);

#endif
