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
 * where a tile's column in V and M is t0 + ty * tw + tx. */
#include "kernels.h"

#include <string.h>

/* u = G g G^T for one 3x3 filter g (row-major). */
static void filter_transform(const float g[9], float u[16])
{
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = t[i][0];
        u[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[4 * i + 3] = t[i][2];
    }
}

void winograd_filters(const float *w, int M, int C, int flip, int m_lo, int m_hi, float *U)
{
    size_t plane = (size_t)M * C;
    float u[16], gf[9];
    if (!flip) {
        for (int m = m_lo; m < m_hi; m++)
            for (int c = 0; c < C; c++) {
                filter_transform(w + ((size_t)m * C + c) * 9, u);
                for (int x = 0; x < 16; x++) U[x * plane + (size_t)m * C + c] = u[x];
            }
        return;
    }
    /* U [16][C][M]: filters m_lo .. m_hi - 1 of each channel c, written in
     * order along M */
    for (int c = 0; c < C; c++)
        for (int m = m_lo; m < m_hi; m++) {
            const float *g = w + ((size_t)m * C + c) * 9;
            for (int i = 0; i < 9; i++) gf[i] = g[8 - i];   /* rotated by 180 degrees */
            filter_transform(gf, u);
            for (int x = 0; x < 16; x++) U[x * plane + (size_t)c * M + m] = u[x];
        }
}

/* The bordered plane is stored with each row split into its even and odd
 * columns (tw + 1 each), so that tile tx reads columns 2tx .. 2tx + 3 as
 * even[tx], odd[tx], even[tx + 1], odd[tx + 1]: unit stride in tx, and the
 * loops over a row of tiles vectorize. */
size_t winograd_plane_floats(int th, int tw) { return (size_t)(2 * th + 2) * 2 * (tw + 1); }

/* One row of tiles: the 16 transformed values of tiles 0 .. tw - 1 from the
 * four split plane rows r[0..3] (even half, then odd half at + half). */
static void input_row(const float *r0, const float *r1, const float *r2, const float *r3, int half, int tw,
                      float *restrict v, size_t vplane)
{
    const float *e0 = r0, *o0 = r0 + half, *e1 = r1, *o1 = r1 + half;
    const float *e2 = r2, *o2 = r2 + half, *e3 = r3, *o3 = r3 + half;
    float *restrict v0 = v, *restrict v1 = v + vplane, *restrict v2 = v + 2 * vplane, *restrict v3 = v + 3 * vplane;
    float *restrict v4 = v + 4 * vplane, *restrict v5 = v + 5 * vplane, *restrict v6 = v + 6 * vplane;
    float *restrict v7 = v + 7 * vplane, *restrict v8 = v + 8 * vplane, *restrict v9 = v + 9 * vplane;
    float *restrict v10 = v + 10 * vplane, *restrict v11 = v + 11 * vplane, *restrict v12 = v + 12 * vplane;
    float *restrict v13 = v + 13 * vplane, *restrict v14 = v + 14 * vplane, *restrict v15 = v + 15 * vplane;
    for (int tx = 0; tx < tw; tx++) {
        /* B^T d, row by row: s_i[q] for the tile's columns q = 0..3 */
        float a0 = e0[tx], a1 = o0[tx], a2 = e0[tx + 1], a3 = o0[tx + 1];
        float b0 = e1[tx], b1 = o1[tx], b2 = e1[tx + 1], b3 = o1[tx + 1];
        float c0 = e2[tx], c1 = o2[tx], c2 = e2[tx + 1], c3 = o2[tx + 1];
        float d0 = e3[tx], d1 = o3[tx], d2 = e3[tx + 1], d3 = o3[tx + 1];
        float s00 = a0 - c0, s01 = a1 - c1, s02 = a2 - c2, s03 = a3 - c3;
        float s10 = b0 + c0, s11 = b1 + c1, s12 = b2 + c2, s13 = b3 + c3;
        float s20 = c0 - b0, s21 = c1 - b1, s22 = c2 - b2, s23 = c3 - b3;
        float s30 = b0 - d0, s31 = b1 - d1, s32 = b2 - d2, s33 = b3 - d3;
        /* (B^T d) B, column by column */
        v0[tx] = s00 - s02; v1[tx] = s01 + s02; v2[tx] = s02 - s01; v3[tx] = s01 - s03;
        v4[tx] = s10 - s12; v5[tx] = s11 + s12; v6[tx] = s12 - s11; v7[tx] = s11 - s13;
        v8[tx] = s20 - s22; v9[tx] = s21 + s22; v10[tx] = s22 - s21; v11[tx] = s21 - s23;
        v12[tx] = s30 - s32; v13[tx] = s31 + s32; v14[tx] = s32 - s31; v15[tx] = s31 - s33;
    }
}

void winograd_input(const float *in, int C, int h, int w, int ph, int pw, int th, int tw, float *plane,
                    float *V, size_t ldv, size_t t0)
{
    int half = tw + 1, rowlen = 2 * half, phgt = 2 * th + 2;
    size_t vplane = (size_t)C * ldv;
    memset(plane, 0, (size_t)rowlen * phgt * sizeof *plane);
    for (int c = 0; c < C; c++) {
        /* row y of the plane = input row y - ph, column x = input column
         * x - pw; the zero border stays zero (the same cells each channel) */
        const float *src = in + (size_t)c * h * w;
        for (int y = 0; y < phgt; y++) {
            int iy = y - ph;
            if (iy < 0 || iy >= h) continue;
            float *row = plane + (size_t)y * rowlen;
            const float *s = src + (size_t)iy * w;
            for (int ix = 0; ix < w; ix++) {
                int x = ix + pw;
                row[(x & 1) * half + (x >> 1)] = s[ix];
            }
        }
        float *v = V + (size_t)c * ldv + t0;
        for (int ty = 0; ty < th; ty++) {
            const float *r0 = plane + (size_t)(2 * ty) * rowlen;
            input_row(r0, r0 + rowlen, r0 + 2 * rowlen, r0 + 3 * rowlen, half, tw, v + (size_t)ty * tw, vplane);
        }
    }
}

void winograd_output(const float *Mt, int M, size_t ldm, size_t t0, int th, int tw, int oh, int ow, int add,
                     float *out)
{
    size_t mplane = (size_t)M * ldm;
    float y[4][WINOGRAD_MAX_TW];   /* one row of tiles' outputs: (row 0, col 0), (0, 1), (1, 0), (1, 1) */
    for (int m = 0; m < M; m++) {
        float *o = out + (size_t)m * oh * ow;
        for (int ty = 0; ty < th; ty++)
            for (int t1 = 0; t1 < tw; t1 += WINOGRAD_MAX_TW) {
                int n = tw - t1 < WINOGRAD_MAX_TW ? tw - t1 : WINOGRAD_MAX_TW;
                const float *a = Mt + (size_t)m * ldm + t0 + (size_t)ty * tw + t1;
                for (int i = 0; i < n; i++) {
                    float a0 = a[i], a1 = a[mplane + i], a2 = a[2 * mplane + i], a3 = a[3 * mplane + i];
                    float a4 = a[4 * mplane + i], a5 = a[5 * mplane + i], a6 = a[6 * mplane + i];
                    float a7 = a[7 * mplane + i], a8 = a[8 * mplane + i], a9 = a[9 * mplane + i];
                    float a10 = a[10 * mplane + i], a11 = a[11 * mplane + i], a12 = a[12 * mplane + i];
                    float a13 = a[13 * mplane + i], a14 = a[14 * mplane + i], a15 = a[15 * mplane + i];
                    /* A^T a: two rows */
                    float r0 = a0 + a4 + a8, r1 = a1 + a5 + a9, r2 = a2 + a6 + a10, r3 = a3 + a7 + a11;
                    float q0 = a4 - a8 - a12, q1 = a5 - a9 - a13, q2 = a6 - a10 - a14, q3 = a7 - a11 - a15;
                    y[0][i] = r0 + r1 + r2;
                    y[1][i] = r1 - r2 - r3;
                    y[2][i] = q0 + q1 + q2;
                    y[3][i] = q1 - q2 - q3;
                }
                for (int r = 0; r < 2; r++) {
                    int yy = 2 * ty + r;
                    if (yy >= oh) break;
                    float *row = o + (size_t)yy * ow + 2 * t1;
                    int pairs = n, last = 0;   /* the last tile of an odd width has one column */
                    if (2 * (t1 + n) > ow) {
                        pairs = n - 1;
                        last = 1;
                    }
                    const float *ya = y[2 * r], *yb = y[2 * r + 1];
                    if (add) {
                        for (int i = 0; i < pairs; i++) {
                            row[2 * i] += ya[i];
                            row[2 * i + 1] += yb[i];
                        }
                        if (last) row[2 * pairs] += ya[pairs];
                    } else {
                        for (int i = 0; i < pairs; i++) {
                            row[2 * i] = ya[i];
                            row[2 * i + 1] = yb[i];
                        }
                        if (last) row[2 * pairs] = ya[pairs];
                    }
                }
            }
    }
}
