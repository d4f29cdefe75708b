/* winograd.c - 3x3 stride-1 convolution by Winograd's minimal filtering
 * algorithm F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2015). Each 2x2 block of outputs comes from a 4x4 tile
 * of input: with the transforms
 *   U = G g G^T    (a 3x3 filter g -> 4x4)
 *   V = B^T d B    (a 4x4 input tile d -> 4x4)
 *   Y = A^T M A    (4x4 -> the 2x2 outputs), M = sum over channels of U .* V
 * the 16 elementwise products summed over channels are 16 independent
 * GEMMs, M_xi[m][t] = sum_c U_xi[m][c] V_xi[c][t], which the caller runs
 * with its GEMM: 16 multiply-adds per 2x2 outputs and channel pair instead
 * of 36. The matrices:
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * Layouts (xi = 4 * row + column of the 4x4 transform domain):
 *   U [16][M][C]      V [16][C][ldv]      M [16][M][ldm]
 * where a tile's column in V and M is t0 + ty * tw + tx.
 * The input gradient is the convolution of dz with the filters rotated by
 * 180 degrees and transposed (M <-> C). Rotating g reverses the columns of
 * G g, and G P = Q G with Q the swap of rows 0 and 3 (rows 1 and 2 of G are
 * symmetric), so G rot(g) G^T = Q U Q: the rotated filters' transform is U
 * with the transform indices 0 and 3 swapped in both directions
 * (winograd_flip), and the transposition is the GEMM's op(A) = A^T.
 *
 * Larger kernels (up to 6x6) are sums of 3x3 blocks: a 5x5 filter is the
 * four 3x3 blocks of its 6x6 zero extension, each a 3x3 convolution of the
 * input shifted by the block's offset, i.e. with its own padding. The sum
 * happens in the transform domain: the shifted inputs' V stack along the
 * GEMM's K (4C for a 5x5 filter), so one output transform serves all
 * blocks. 16 x 4 = 64 multiply-adds per 2x2 outputs and channel pair
 * instead of 100, with F(2x2, 3x3)'s rounding. The blocks start at rows
 * kh - 3 - 3p (winograd_anchor): a 5x5 filter's at rows 2 and -1. Rotating
 * the filter by 180 degrees then maps block p onto block p of the rotation
 * (rows 0.. and 3..), so the input gradient uses the same U, flipped. */
#include "kernels.h"

#include <string.h>

/* GNU C vectors of 16 floats (GCC/Clang lower them to the clone's ISA):
 * GCC does not vectorize the transforms below by itself (16 output
 * streams), so they are written for 16 tiles (or filters) at a time. */
typedef float lanes __attribute__((vector_size(16 * sizeof(float))));
#define LOAD(v, p) memcpy(&(v), (p), sizeof(lanes))
#define STORE(p, v) memcpy((p), &(v), sizeof(lanes))
/* Stores a vector expression e at p. */
#define STORE_EXPR(p, e)      \
    do {                      \
        lanes r_ = (e);       \
        STORE((p), r_);       \
    } while (0)

#define FILTER_TRANSFORM(T, k, PUT)                                                     \
    do {                                                                                \
        /* G g: rows t0 .. t3 of three columns */                                       \
        T t00 = k[0], t01 = k[1], t02 = k[2];                                           \
        T t10 = 0.5f * (k[0] + k[3] + k[6]), t11 = 0.5f * (k[1] + k[4] + k[7]);         \
        T t12 = 0.5f * (k[2] + k[5] + k[8]);                                            \
        T t20 = 0.5f * (k[0] - k[3] + k[6]), t21 = 0.5f * (k[1] - k[4] + k[7]);         \
        T t22 = 0.5f * (k[2] - k[5] + k[8]);                                            \
        T t30 = k[6], t31 = k[7], t32 = k[8];                                           \
        /* (G g) G^T */                                                                 \
        PUT(0, t00); PUT(1, 0.5f * (t00 + t01 + t02)); PUT(2, 0.5f * (t00 - t01 + t02)); \
        PUT(3, t02);                                                                    \
        PUT(4, t10); PUT(5, 0.5f * (t10 + t11 + t12)); PUT(6, 0.5f * (t10 - t11 + t12)); \
        PUT(7, t12);                                                                    \
        PUT(8, t20); PUT(9, 0.5f * (t20 + t21 + t22)); PUT(10, 0.5f * (t20 - t21 + t22)); \
        PUT(11, t22);                                                                   \
        PUT(12, t30); PUT(13, 0.5f * (t30 + t31 + t32)); PUT(14, 0.5f * (t30 - t31 + t32)); \
        PUT(15, t32);                                                                   \
    } while (0)

/* Tap i (row i / 3, column i % 3) of the 3x3 block at rows r0.., columns
 * c0.. of a kh x kw filter g, or 0 outside it. */
static float block_tap(const float *g, int kh, int kw, int r0, int c0, int i)
{
    int r = r0 + i / 3, q = c0 + i % 3;
    return r >= 0 && r < kh && q >= 0 && q < kw ? g[r * kw + q] : 0.0f;
}

/* Filters of consecutive channels are kh * kw floats apart: 16 of them are
 * regrouped tap by tap (tap i of filter c at k[i][c]) and transformed as
 * vectors. */
FER_SIMD_CLONES
void winograd_filters(const float *w, int C, int kh, int kw, int r0, int c0, int m_lo, int m_hi, float *U,
                      size_t ldu, size_t plane)
{
    size_t taps = (size_t)kh * kw;
    for (int m = m_lo; m < m_hi; m++) {
        const float *g = w + (size_t)m * C * taps;
        float *u = U + (size_t)m * ldu;
        int c = 0;
        for (; c + 16 <= C; c += 16) {
            float t[9][16];
            for (int j = 0; j < 16; j++)
                for (int i = 0; i < 9; i++) t[i][j] = block_tap(g + (size_t)(c + j) * taps, kh, kw, r0, c0, i);
            lanes k[9];
            for (int i = 0; i < 9; i++) LOAD(k[i], t[i]);
#define PUTV(x, e) STORE_EXPR(u + (size_t)(x) * plane + c, e)
            FILTER_TRANSFORM(lanes, k, PUTV);
#undef PUTV
        }
        for (; c < C; c++) {
            float k[9];
            for (int i = 0; i < 9; i++) k[i] = block_tap(g + (size_t)c * taps, kh, kw, r0, c0, i);
#define PUTS(x, e) u[(size_t)(x) * plane + c] = (e)
            FILTER_TRANSFORM(float, k, PUTS);
#undef PUTS
        }
    }
}

/* The scratch of winograd_input: for n = cnt * th * tw tiles, sixteen
 * planes [n], one for each (row parity, row pair down or not, column
 * parity, column pair shifted or not) of the bordered input: plane
 * [rp][dn][cp][sh] holds at t = (s * th + ty) * tw + tx the value of row
 * 2 (ty + dn) + rp, column 2 (tx + sh) + cp of sample s's bordered plane.
 * Each of a tile's 16 inputs is then at index t of one plane: unit stride
 * in t across rows of tiles and samples, so one loop over all tiles
 * vectorizes and writes V's columns directly. Then one bordered row. */
size_t winograd_plane_floats(int th, int tw, int cnt) { return 16 * (size_t)cnt * th * tw + 2 * (size_t)tw + 4; }


/* The transform of one group of tiles: T is float for a single tile, lanes
 * for 16. */
#define INPUT_TRANSFORM(T, GET, PUT)                                                          \
    do {                                                                                      \
        T a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3;                     \
        GET(a0, 0); GET(a1, 2); GET(a2, 1); GET(a3, 3);       /* row 2ty */                   \
        GET(b0, 8); GET(b1, 10); GET(b2, 9); GET(b3, 11);     /* row 2ty + 1 */               \
        GET(c0, 4); GET(c1, 6); GET(c2, 5); GET(c3, 7);       /* row 2ty + 2 */               \
        GET(d0, 12); GET(d1, 14); GET(d2, 13); GET(d3, 15);   /* row 2ty + 3 */               \
        T s00 = a0 - c0, s01 = a1 - c1, s02 = a2 - c2, s03 = a3 - c3;                         \
        T s10 = b0 + c0, s11 = b1 + c1, s12 = b2 + c2, s13 = b3 + c3;                         \
        T s20 = c0 - b0, s21 = c1 - b1, s22 = c2 - b2, s23 = c3 - b3;                         \
        T s30 = b0 - d0, s31 = b1 - d1, s32 = b2 - d2, s33 = b3 - d3;                         \
        PUT(0, s00 - s02); PUT(1, s01 + s02); PUT(2, s02 - s01); PUT(3, s01 - s03);           \
        PUT(4, s10 - s12); PUT(5, s11 + s12); PUT(6, s12 - s11); PUT(7, s11 - s13);           \
        PUT(8, s20 - s22); PUT(9, s21 + s22); PUT(10, s22 - s21); PUT(11, s21 - s23);         \
        PUT(12, s30 - s32); PUT(13, s31 + s32); PUT(14, s32 - s31); PUT(15, s31 - s33);       \
    } while (0)

/* A pass over tiles t = 0 .. n - 1: the tile's 16 (or 4) inputs at
 * q[i * n + t], its 16 outputs to v[x * vplane + t]; 16 tiles at a time,
 * then one by one. */
#define TILE_GETV(x, i) LOAD(x, q + (size_t)(i) * n + t)
#define TILE_PUTV(i, e) STORE_EXPR(v + (size_t)(i) * vplane + t, e)
#define TILE_GETS(x, i) x = q[(size_t)(i) * n + t]
#define TILE_PUTS(i, e) v[(size_t)(i) * vplane + t] = (e)
#define TILE_PASS(name, TRANSFORM)                                          \
    FER_SIMD_CLONES                                                         \
    static void name(const float *q, int n, float *v, size_t vplane)        \
    {                                                                       \
        int t = 0;                                                          \
        for (; t + 16 <= n; t += 16) TRANSFORM(lanes, TILE_GETV, TILE_PUTV);          \
        for (; t < n; t++) TRANSFORM(float, TILE_GETS, TILE_PUTS);                    \
    }

/* The input transform: planes i = 8 rp + 4 dn + 2 cp + sh (see
 * winograd_plane_floats); B^T d row by row, then (B^T d) B column by
 * column. */
TILE_PASS(input_tiles, INPUT_TRANSFORM)

/* Splits one bordered row r[0 .. 2tw + 2) into its even and odd columns,
 * each as is and shifted by one pair. */
FER_SIMD_CLONES
static void split_row(const float *restrict r, int tw, float *restrict e, float *restrict e1, float *restrict o,
                      float *restrict o1)
{
    for (int x = 0; x < tw; x++) {
        e[x] = r[2 * x];
        o[x] = r[2 * x + 1];
        e1[x] = r[2 * x + 2];
        o1[x] = r[2 * x + 3];
    }
}

void winograd_input(const float *in, size_t stride, int cnt, int C, int h, int w, int ph, int pw, int th, int tw,
                    float *plane, float *V, size_t ldv, size_t vplane)
{
    int tiles = th * tw, n = cnt * tiles, rowlen = 2 * tw + 2;
    float *row = plane + 16 * (size_t)n;   /* one bordered row: 2tw + 4 floats */
    /* bordered rows outside the input are zero for every channel and
     * sample: zero everything once; a row inside is rewritten whole */
    memset(plane, 0, (16 * (size_t)n + rowlen + 2) * sizeof *plane);
    /* bordered column x = input column x - pw: a negative pad drops the
     * input's first -pw columns, a large one its last */
    int skip = pw < 0 ? -pw : 0, at = pw < 0 ? 0 : pw;
    int ncopy = w - skip;
    if (at + ncopy > rowlen) ncopy = rowlen - at;
    for (int c = 0; c < C; c++) {
        for (int sm = 0; sm < cnt; sm++) {
            const float *src = in + sm * stride + (size_t)c * h * w;
            for (int iy = 0; iy < h && ncopy > 0; iy++) {
                int y = iy + ph;   /* bordered row y = input row y - ph */
                if (y < 0) continue;
                if (y > 2 * th + 1) break;
                memcpy(row + at, src + (size_t)iy * w + skip, (size_t)ncopy * sizeof *row);
                int rp = y & 1, r = y >> 1;
                for (int dn = 0; dn < 2; dn++) {
                    int ty = r - dn;   /* the tile row that sees this row as row 2 dn + rp */
                    if (ty < 0 || ty >= th) continue;
                    float *d = plane + (size_t)(8 * rp + 4 * dn) * n + (size_t)sm * tiles + (size_t)ty * tw;
                    split_row(row, tw, d, d + n, d + 2 * (size_t)n, d + 3 * (size_t)n);
                }
            }
        }
        input_tiles(plane, n, V + (size_t)c * ldv, vplane);
    }
}

#define OUTPUT_TRANSFORM(T, GET, PUT)                                                              \
    do {                                                                                          \
        T a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15;                    \
        GET(a0, 0); GET(a1, 1); GET(a2, 2); GET(a3, 3); GET(a4, 4); GET(a5, 5); GET(a6, 6);        \
        GET(a7, 7); GET(a8, 8); GET(a9, 9); GET(a10, 10); GET(a11, 11); GET(a12, 12);              \
        GET(a13, 13); GET(a14, 14); GET(a15, 15);                                                 \
        T r0 = a0 + a4 + a8, r1 = a1 + a5 + a9, r2 = a2 + a6 + a10, r3 = a3 + a7 + a11;            \
        T q0 = a4 - a8 - a12, q1 = a5 - a9 - a13, q2 = a6 - a10 - a14, q3 = a7 - a11 - a15;        \
        PUT(0, r0 + r1 + r2); PUT(1, r1 - r2 - r3); PUT(2, q0 + q1 + q2); PUT(3, q1 - q2 - q3);    \
    } while (0)

/* The four outputs of n tiles from their 16 transform-domain values
 * a[x * stride + t] (A^T a A: two rows, then two columns): y[0] (row 0,
 * column 0), y[1] (0, 1), y[2] (1, 0), y[3] (1, 1), each [n]. */
FER_SIMD_CLONES
static void output_tiles(const float *a, size_t stride, int n, float *y)
{
    int t = 0;
    for (; t + 16 <= n; t += 16) {
#define GETV(x, i) LOAD(x, a + (size_t)(i) * stride + t)
#define PUTV(i, e) STORE_EXPR(y + (size_t)(i) * n + t, e)
        OUTPUT_TRANSFORM(lanes, GETV, PUTV);
#undef GETV
#undef PUTV
    }
    for (; t < n; t++) {
#define GETS(x, i) x = a[(size_t)(i) * stride + t]
#define PUTS(i, e) y[(size_t)(i) * n + t] = (e)
        OUTPUT_TRANSFORM(float, GETS, PUTS);
#undef GETS
#undef PUTS
    }
}

/* out[2i] (+)= a[i], out[2i + 1] (+)= b[i] for i < pairs. */
FER_SIMD_CLONES
static void interleave(const float *restrict a, const float *restrict b, int pairs, int add, float *restrict out)
{
    if (add)
        for (int i = 0; i < pairs; i++) {
            out[2 * i] += a[i];
            out[2 * i + 1] += b[i];
        }
    else
        for (int i = 0; i < pairs; i++) {
            out[2 * i] = a[i];
            out[2 * i + 1] = b[i];
        }
}

void winograd_output(const float *Mt, int M, size_t ldm, size_t mplane, int cnt, int th, int tw, int oh, int ow,
                     int add, float *out, size_t stride)
{
    float y[4 * WINOGRAD_OUT_RUN];
    int pairs = ow / 2, odd = ow & 1;   /* an odd width: the last tile has one column */
    int rows = tw <= WINOGRAD_OUT_RUN ? WINOGRAD_OUT_RUN / tw : 1;   /* rows of tiles per run */
    int grows = cnt * th;   /* rows of tiles of all samples, g = s * th + ty */
    for (int m = 0; m < M; m++)
        for (int g0 = 0; g0 < grows; g0 += rows) {
            int nr = grows - g0 < rows ? grows - g0 : rows;
            for (int tx0 = 0; tx0 < tw; tx0 += WINOGRAD_OUT_RUN) {
                /* nr whole rows of tiles, or (nr == 1) a run of one row */
                int nx = tw - tx0 < WINOGRAD_OUT_RUN ? tw - tx0 : WINOGRAD_OUT_RUN, n = nr * nx;
                output_tiles(Mt + (size_t)m * ldm + (size_t)g0 * tw + tx0, mplane, n, y);
                int np = pairs - tx0 < nx ? pairs - tx0 : nx, last = odd && tx0 + nx == tw;
                for (int rr = 0; rr < nr; rr++) {
                    int sm = (g0 + rr) / th, ty = (g0 + rr) % th;
                    float *o = out + sm * stride + (size_t)m * oh * ow;
                    for (int r = 0; r < 2 && 2 * ty + r < oh; r++) {
                        float *orow = o + (size_t)(2 * ty + r) * ow + 2 * tx0;
                        const float *ya = y + 2 * r * n + (size_t)rr * nx, *yb = ya + n;
                        interleave(ya, yb, np, add, orow);
                        if (last) orow[2 * np] = add ? orow[2 * np] + ya[np] : ya[np];
                    }
                }
            }
        }
}

/* ---- kernel gradient: F(3x3, 2x2) --------------------------------------
 * The kernel gradient of one 2x2 tile of outputs is the correlation of the
 * tile's 4x4 input d with its 2x2 output gradient g: 3x3 values, Winograd's
 * F(3x3, 2x2). Swapping the roles of A and G in F(2x2, 3x3) gives it with
 * the same input transform: dW_tile = G^T [(A g A^T) .* (B^T d B)] G. So
 * the sum over tiles is 16 GEMMs, W_xi [M][C] = sum_t Gz_xi[m][t] V_xi[c][t]
 * (V: winograd_input of the layer's input), then G^T W G per filter. */

#define GRAD_TRANSFORM(T, GET, PUT)                                                       \
    do {                                                                                  \
        T g00, g01, g10, g11;                                                             \
        GET(g00, 0); GET(g01, 1); GET(g10, 2); GET(g11, 3);                               \
        /* A g: rows g0, g0 + g1, g0 - g1, -g1 (A = [1 0; 1 1; 1 -1; 0 -1]) */            \
        T r00 = g00, r01 = g01, r10 = g00 + g10, r11 = g01 + g11;                         \
        T r20 = g00 - g10, r21 = g01 - g11, r30 = -g10, r31 = -g11;                       \
        /* (A g) A^T, row by row */                                                       \
        PUT(0, r00); PUT(1, r00 + r01); PUT(2, r00 - r01); PUT(3, -r01);                  \
        PUT(4, r10); PUT(5, r10 + r11); PUT(6, r10 - r11); PUT(7, -r11);                  \
        PUT(8, r20); PUT(9, r20 + r21); PUT(10, r20 - r21); PUT(11, -r21);                \
        PUT(12, r30); PUT(13, r30 + r31); PUT(14, r30 - r31); PUT(15, -r31);              \
    } while (0)

/* The output-gradient transform A g A^T: plane 2i + j holds the tile's
 * output (i, j). */
TILE_PASS(grad_tiles, GRAD_TRANSFORM)

void winograd_grad_input(const float *dz, size_t stride, int cnt, int M, int oh, int ow, int th, int tw,
                         float *plane, float *Gz, size_t ldg)
{
    int tiles = th * tw, n = cnt * tiles;
    size_t gplane = (size_t)M * ldg;
    /* outputs past oh, ow (the last tile of an odd size) stay zero */
    memset(plane, 0, 4 * (size_t)n * sizeof *plane);
    for (int m = 0; m < M; m++) {
        for (int sm = 0; sm < cnt; sm++) {
            const float *src = dz + sm * stride + (size_t)m * oh * ow;
            for (int y = 0; y < oh; y++) {
                const float *r = src + (size_t)y * ow;
                float *e = plane + (size_t)(2 * (y & 1)) * n + (size_t)sm * tiles + (size_t)(y >> 1) * tw;
                float *o = e + n;
                for (int x = 0; x + 1 < ow; x += 2) {
                    e[x >> 1] = r[x];
                    o[x >> 1] = r[x + 1];
                }
                if (ow & 1) e[ow >> 1] = r[ow - 1];
            }
        }
        grad_tiles(plane, n, Gz + (size_t)m * ldg, gplane);
    }
}

void winograd_dw_output(const float *W, int M, int C, size_t ldw, int kh, int kw, int r0, int c0, int m_lo,
                        int m_hi, float *dw)
{
    size_t plane = (size_t)M * ldw;
    for (int m = m_lo; m < m_hi; m++)
        for (int c = 0; c < C; c++) {
            float x[16], r[3][4], g[9];
            size_t at = (size_t)m * ldw + c;
            for (int i = 0; i < 16; i++) x[i] = W[i * plane + at];
            /* G^T x, G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1] */
            for (int q = 0; q < 4; q++) {
                r[0][q] = x[q] + 0.5f * (x[4 + q] + x[8 + q]);
                r[1][q] = 0.5f * (x[4 + q] - x[8 + q]);
                r[2][q] = 0.5f * (x[4 + q] + x[8 + q]) + x[12 + q];
            }
            for (int i = 0; i < 3; i++) {
                g[3 * i] = r[i][0] + 0.5f * (r[i][1] + r[i][2]);
                g[3 * i + 1] = 0.5f * (r[i][1] - r[i][2]);
                g[3 * i + 2] = 0.5f * (r[i][1] + r[i][2]) + r[i][3];
            }
            /* the block's taps that fall inside the kh x kw filter */
            float *d = dw + ((size_t)m * C + c) * kh * kw;
            for (int i = 0; i < 9; i++) {
                int y = r0 + i / 3, q = c0 + i % 3;
                if (y >= 0 && y < kh && q >= 0 && q < kw) d[y * kw + q] += g[i];
            }
        }
}
