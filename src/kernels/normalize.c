/* normalize.c - batch normalization and bias kernels over [batch, C, spatial]
 * tensors, shared by the convolutional, connected and batchnorm layers.
 * Training normalizes with the biased batch variance and updates the rolling
 * variance with the unbiased one (as PyTorch does); eps = FER_BN_EPS.
 * The normalized value xhat = (z - mean) / sqrt(var + eps) is recomputed in
 * the backward pass instead of being stored.
 *
 * The sums over a plane run in 16 interleaved partial sums: GCC keeps a float
 * reduction in source order (one scalar add after another, 3-4 cycles each)
 * unless the order is spelled out like this, and then vectorizes it. */
#include "kernels.h"
#include "norm.h"

#include <math.h>

#define LANES 16

/* sum of p[0, n) */
static inline float plane_sum(const float *p, int n)
{
    float part[LANES] = { 0 };
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int q = 0; q < LANES; q++) part[q] += p[i + q];
    float s = 0;
    for (; i < n; i++) s += p[i];
    for (int q = 0; q < LANES; q++) s += part[q];
    return s;
}

/* sum of (p[i] - m)^2 over [0, n) */
static inline float plane_sum_sq(const float *p, int n, float m)
{
    float part[LANES] = { 0 };
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int q = 0; q < LANES; q++) {
            float d = p[i + q] - m;
            part[q] += d * d;
        }
    float s = 0;
    for (; i < n; i++) s += (p[i] - m) * (p[i] - m);
    for (int q = 0; q < LANES; q++) s += part[q];
    return s;
}

/* *s1 = sum of dy, *s2 = sum of dy * (z - m), over [0, n) */
static inline void plane_sums_dy(const float *dy, const float *z, int n, float m, float *s1, float *s2)
{
    float p1[LANES] = { 0 }, p2[LANES] = { 0 };
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int q = 0; q < LANES; q++) {
            p1[q] += dy[i + q];
            p2[q] += dy[i + q] * (z[i + q] - m);
        }
    float a = 0, b = 0;
    for (; i < n; i++) {
        a += dy[i];
        b += dy[i] * (z[i] - m);
    }
    for (int q = 0; q < LANES; q++) {
        a += p1[q];
        b += p2[q];
    }
    *s1 = a;
    *s2 = b;
}

void batchnorm_forward_train(const float *z, float *y, float *mean, float *var, float *rolling_mean,
                             float *rolling_var, const float *scale, const float *bias, int batch, int C,
                             int spatial, float momentum, int c0, int c1)
{
    size_t count = (size_t)batch * spatial;
    for (int c = c0; c < c1; c++) {
        /* two passes in float blocks summed in double: exact enough, vectorizable */
        double s = 0, ss = 0;
        for (int b = 0; b < batch; b++) s += plane_sum(z + ((size_t)b * C + c) * spatial, spatial);
        float m = (float)(s / (double)count);
        for (int b = 0; b < batch; b++) ss += plane_sum_sq(z + ((size_t)b * C + c) * spatial, spatial, m);
        double v = ss / (double)count;
        mean[c] = m;
        var[c] = (float)v;
        double unbiased = count > 1 ? ss / (double)(count - 1) : v;
        rolling_mean[c] = (1 - momentum) * rolling_mean[c] + momentum * m;
        rolling_var[c] = (1 - momentum) * rolling_var[c] + momentum * (float)unbiased;
        float inv = 1.0f / sqrtf((float)v + FER_BN_EPS);
        float g = scale[c] * inv, sh = bias[c] - m * g;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) y[o + i] = z[o + i] * g + sh;
        }
    }
}

void batchnorm_forward_infer(const float *z, float *y, const float *rolling_mean, const float *rolling_var,
                             const float *scale, const float *bias, int batch, int C, int spatial, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        float inv = 1.0f / sqrtf(rolling_var[c] + FER_BN_EPS);
        float g = scale[c] * inv, bb = bias[c] - rolling_mean[c] * g;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) y[o + i] = z[o + i] * g + bb;
        }
    }
}

void batchnorm_backward(float *dz, const float *dy, const float *z, const float *mean, const float *var,
                        const float *rolling_mean, const float *rolling_var, const float *scale, float *dscale,
                        float *dbias, int batch, int C, int spatial, int train, int c0, int c1)
{
    double count = (double)batch * spatial;
    for (int c = c0; c < c1; c++) {
        float mu = train ? mean[c] : rolling_mean[c];
        float inv = 1.0f / sqrtf((train ? var[c] : rolling_var[c]) + FER_BN_EPS);
        double sdy = 0, sdyx = 0;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            float p1, p2;
            plane_sums_dy(dy + o, z + o, spatial, mu, &p1, &p2);
            sdy += p1;
            sdyx += p2;
        }
        sdyx *= inv;   /* sum of dy * xhat */
        if (dbias) dbias[c] += (float)sdy;
        if (dscale) dscale[c] += (float)sdyx;
        if (!dz) continue;
        float g = scale[c] * inv;
        if (train) {
            float mdy = (float)(sdy / count), mdyx = (float)(sdyx / count);
            for (int b = 0; b < batch; b++) {
                size_t o = ((size_t)b * C + c) * spatial;
                for (int i = 0; i < spatial; i++) {
                    float xh = (z[o + i] - mu) * inv;
                    dz[o + i] = g * (dy[o + i] - mdy - xh * mdyx);
                }
            }
        } else {
            for (int b = 0; b < batch; b++) {
                size_t o = ((size_t)b * C + c) * spatial;
                for (int i = 0; i < spatial; i++) dz[o + i] = g * dy[o + i];
            }
        }
    }
}

void batchnorm_sums(const float *z, double *s, int batch, int C, int spatial, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        s[c] = 0;
        for (int b = 0; b < batch; b++) s[c] += plane_sum(z + ((size_t)b * C + c) * spatial, spatial);
    }
}

void batchnorm_sums_sq(const float *z, const float *mean, double *ss, int batch, int C, int spatial, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        ss[c] = 0;
        for (int b = 0; b < batch; b++) ss[c] += plane_sum_sq(z + ((size_t)b * C + c) * spatial, spatial, mean[c]);
    }
}

void batchnorm_normalize(const float *z, float *y, const float *mean, const float *var, float *rolling_mean,
                         float *rolling_var, const float *scale, const float *bias, int batch, int C, int spatial,
                         float momentum, double count, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        double unbiased = count > 1 ? (double)var[c] * count / (count - 1) : var[c];
        rolling_mean[c] = (1 - momentum) * rolling_mean[c] + momentum * mean[c];
        rolling_var[c] = (1 - momentum) * rolling_var[c] + momentum * (float)unbiased;
        float inv = 1.0f / sqrtf(var[c] + FER_BN_EPS);
        float g = scale[c] * inv, sh = bias[c] - mean[c] * g;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) y[o + i] = z[o + i] * g + sh;
        }
    }
}

void batchnorm_backward_sums(const float *dy, const float *z, const float *mean, const float *var, float *dscale,
                             float *dbias, double *sdy, double *sdyx, int batch, int C, int spatial, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        float inv = 1.0f / sqrtf(var[c] + FER_BN_EPS);
        double s1 = 0, s2 = 0;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            float p1, p2;
            plane_sums_dy(dy + o, z + o, spatial, mean[c], &p1, &p2);
            s1 += p1;
            s2 += p2;
        }
        sdy[c] = s1;
        sdyx[c] = s2 * inv;
        dbias[c] += (float)sdy[c];
        dscale[c] += (float)sdyx[c];
    }
}

void batchnorm_backward_dz(float *dz, const float *dy, const float *z, const float *mean, const float *var,
                           const float *scale, const double *sdy, const double *sdyx, double count, int batch, int C,
                           int spatial, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        float inv = 1.0f / sqrtf(var[c] + FER_BN_EPS), g = scale[c] * inv, mu = mean[c];
        float mdy = (float)(sdy[c] / count), mdyx = (float)(sdyx[c] / count);
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) dz[o + i] = g * (dy[o + i] - mdy - (z[o + i] - mu) * inv * mdyx);
        }
    }
}

void bias_forward(float *y, const float *bias, int batch, int C, int spatial, int c0, int c1)
{
    for (int b = 0; b < batch; b++)
        for (int c = c0; c < c1; c++) {
            float *p = y + ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) p[i] += bias[c];
        }
}

void bias_backward(float *dbias, const float *dy, int batch, int C, int spatial, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        double s = 0;
        for (int b = 0; b < batch; b++) s += plane_sum(dy + ((size_t)b * C + c) * spatial, spatial);
        dbias[c] += (float)s;
    }
}

void batchnorm_forward_train_naive(const float *z, float *y, float *mean, float *var, float *rolling_mean,
                                   float *rolling_var, const float *scale, const float *bias, int batch, int C,
                                   int spatial, float momentum)
{
    double n = (double)batch * spatial;
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < spatial; i++) s += z[((size_t)b * C + c) * spatial + i];
        double m = s / n;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < spatial; i++) {
                double d = z[((size_t)b * C + c) * spatial + i] - m;
                ss += d * d;
            }
        mean[c] = (float)m;
        var[c] = (float)(ss / n);
        rolling_mean[c] = (float)((1 - momentum) * rolling_mean[c] + momentum * m);
        rolling_var[c] = (float)((1 - momentum) * rolling_var[c] + momentum * (n > 1 ? ss / (n - 1) : ss / n));
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < spatial; i++) {
                size_t o = ((size_t)b * C + c) * spatial + i;
                y[o] = (float)(scale[c] * (z[o] - m) / sqrt(ss / n + FER_BN_EPS) + bias[c]);
            }
    }
}

void batchnorm_backward_naive(float *dz, const float *dy, const float *z, const float *mean, const float *var,
                              const float *scale, float *dscale, float *dbias, int batch, int C, int spatial)
{
    double n = (double)batch * spatial;
    for (int c = 0; c < C; c++) {
        double inv = 1.0 / sqrt((double)var[c] + FER_BN_EPS), sdy = 0, sdyx = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < spatial; i++) {
                size_t o = ((size_t)b * C + c) * spatial + i;
                sdy += dy[o];
                sdyx += dy[o] * (z[o] - mean[c]) * inv;
            }
        dbias[c] += (float)sdy;
        dscale[c] += (float)sdyx;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < spatial; i++) {
                size_t o = ((size_t)b * C + c) * spatial + i;
                double xh = (z[o] - mean[c]) * inv;
                dz[o] = (float)(scale[c] * inv * (dy[o] - sdy / n - xh * sdyx / n));
            }
    }
}
