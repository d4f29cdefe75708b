/* im2col.c - unfolds convolution windows into columns and folds them back. */
#include "kernels.h"

#include <string.h>

void im2col(const float *in, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw,
            int dh, int dw, int oh, int ow, float *col, int ldcol)
{
    size_t n = (size_t)ldcol;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++) {
                float *row = col + ((size_t)(ch * kh + i) * kw + j) * n;
                const float *src = in + (size_t)ch * h * w;
                for (int oy = 0; oy < oh; oy++) {
                    int y = oy * sh - ph + i * dh;
                    float *dst = row + oy * ow;
                    if (y < 0 || y >= h) {
                        memset(dst, 0, (size_t)ow * sizeof *dst);
                        continue;
                    }
                    const float *srow = src + (size_t)y * w;
                    if (sw == 1) {
                        int x0 = j * dw - pw;
                        int lo = x0 < 0 ? -x0 : 0;
                        int hi = ow;
                        if (x0 + hi > w) hi = w - x0;
                        if (hi < lo) hi = lo;
                        for (int ox = 0; ox < lo && ox < ow; ox++) dst[ox] = 0;
                        if (hi > lo) memcpy(dst + lo, srow + x0 + lo, (size_t)(hi - lo) * sizeof *dst);
                        for (int ox = hi > lo ? hi : lo; ox < ow; ox++) dst[ox] = 0;
                    } else {
                        for (int ox = 0; ox < ow; ox++) {
                            int x = ox * sw - pw + j * dw;
                            dst[ox] = (x >= 0 && x < w) ? srow[x] : 0;
                        }
                    }
                }
            }
}

void col2im_add(const float *col, int c, int h, int w, int kh, int kw, int sh, int sw, int ph,
                int pw, int dh, int dw, int oh, int ow, float *din, int ldcol)
{
    size_t n = (size_t)ldcol;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++) {
                const float *row = col + ((size_t)(ch * kh + i) * kw + j) * n;
                float *dst = din + (size_t)ch * h * w;
                for (int oy = 0; oy < oh; oy++) {
                    int y = oy * sh - ph + i * dh;
                    if (y < 0 || y >= h) continue;
                    const float *src = row + oy * ow;
                    float *drow = dst + (size_t)y * w;
                    /* the outputs whose column x = ox*sw - pw + j*dw is inside
                     * [0, w): a range, so the loop needs no check per value
                     * and vectorizes when sw == 1 */
                    int x0 = j * dw - pw, lo, hi;
                    tap_range(x0, sw, w, ow, &lo, &hi);
                    if (sw == 1) {
                        for (int ox = lo; ox < hi; ox++) drow[ox + x0] += src[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) drow[ox * sw + x0] += src[ox];
                    }
                }
            }
}
