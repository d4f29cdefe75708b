/* depthwise.c - direct depthwise convolution of one plane (groups = channels
 * = filters), the case where im2col + a GEMM with M = 1 wastes most of its
 * time moving columns. Each tap (i, j) walks the output rows it reaches and
 * runs a contiguous (stride 1) or strided multiply-add over the x range that
 * stays inside the input, so no element needs a bounds check. */
#include "kernels.h"

#include <string.h>

FER_SIMD_CLONES
void depthwise_forward(const float *in, int h, int w, const float *k, int kh, int kw, int sh, int sw, int ph,
                       int pw, int oh, int ow, float *out)
{
    memset(out, 0, (size_t)oh * ow * sizeof *out);
    for (int oy = 0; oy < oh; oy++) {
        float *o = out + (size_t)oy * ow;
        for (int i = 0; i < kh; i++) {
            int y = oy * sh - ph + i;
            if (y < 0 || y >= h) continue;
            const float *srow = in + (size_t)y * w;
            for (int j = 0; j < kw; j++) {
                float kv = k[i * kw + j];
                int x0 = j - pw, lo, hi;
                tap_range(x0, sw, w, ow, &lo, &hi);
                if (sw == 1) {
                    for (int ox = lo; ox < hi; ox++) o[ox] += kv * srow[ox + x0];
                } else {
                    for (int ox = lo; ox < hi; ox++) o[ox] += kv * srow[ox * sw + x0];
                }
            }
        }
    }
}

FER_SIMD_CLONES
void depthwise_backward(const float *in, const float *dz, int h, int w, const float *k, int kh, int kw, int sh,
                        int sw, int ph, int pw, int oh, int ow, float *dk, float *din)
{
    for (int oy = 0; oy < oh; oy++) {
        const float *d = dz + (size_t)oy * ow;
        for (int i = 0; i < kh; i++) {
            int y = oy * sh - ph + i;
            if (y < 0 || y >= h) continue;
            const float *srow = in + (size_t)y * w;
            float *drow = din ? din + (size_t)y * w : NULL;
            for (int j = 0; j < kw; j++) {
                int x0 = j - pw, lo, hi;
                tap_range(x0, sw, w, ow, &lo, &hi);
                if (dk) {
                    /* eight partial sums: a float reduction vectorizes only
                     * when its order is spelled out */
                    float part[8] = { 0 };
                    int ox = lo;
                    if (sw == 1)
                        for (; ox + 8 <= hi; ox += 8)
                            for (int q = 0; q < 8; q++) part[q] += d[ox + q] * srow[ox + q + x0];
                    float acc = 0;
                    for (; ox < hi; ox++) acc += d[ox] * srow[ox * sw + x0];
                    for (int q = 0; q < 8; q++) acc += part[q];
                    dk[i * kw + j] += acc;
                }
                if (drow) {
                    float kv = k[i * kw + j];
                    if (sw == 1) {
                        for (int ox = lo; ox < hi; ox++) drow[ox + x0] += kv * d[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) drow[ox * sw + x0] += kv * d[ox];
                    }
                }
            }
        }
    }
}
