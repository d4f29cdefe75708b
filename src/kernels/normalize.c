/* normalize.c - batch normalization and bias kernels over [batch, C, spatial]
 * tensors, shared by the convolutional, connected and batchnorm layers.
 * Training normalizes with the biased batch variance and updates the rolling
 * variance with the unbiased one (as PyTorch does); eps = FER_BN_EPS. */
#include "kernels.h"
#include "norm.h"

#include <math.h>

void batchnorm_forward_train(const float *z, float *xhat, float *y, float *mean, float *var,
                             float *rolling_mean, float *rolling_var, const float *scale,
                             const float *bias, int batch, int C, int spatial, float momentum)
{
    size_t count = (size_t)batch * spatial;
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int b = 0; b < batch; b++) {
            const float *p = z + ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) s += p[i];
        }
        double m = s / (double)count;
        for (int b = 0; b < batch; b++) {
            const float *p = z + ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) {
                double d = p[i] - m;
                ss += d * d;
            }
        }
        double v = ss / (double)count;
        mean[c] = (float)m;
        var[c] = (float)v;
        double unbiased = count > 1 ? ss / (double)(count - 1) : v;
        rolling_mean[c] = (1 - momentum) * rolling_mean[c] + momentum * (float)m;
        rolling_var[c] = (1 - momentum) * rolling_var[c] + momentum * (float)unbiased;
        float inv = 1.0f / sqrtf((float)v + FER_BN_EPS);
        float g = scale[c], bb = bias[c], mf = (float)m;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) {
                float xh = (z[o + i] - mf) * inv;
                xhat[o + i] = xh;
                y[o + i] = g * xh + bb;
            }
        }
    }
}

void batchnorm_forward_infer(const float *z, float *y, const float *rolling_mean,
                             const float *rolling_var, const float *scale, const float *bias,
                             int batch, int C, int spatial)
{
    for (int c = 0; c < C; c++) {
        float inv = 1.0f / sqrtf(rolling_var[c] + FER_BN_EPS);
        float g = scale[c] * inv, bb = bias[c] - rolling_mean[c] * g;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) y[o + i] = z[o + i] * g + bb;
        }
    }
}

void batchnorm_backward(float *dz, const float *dy, const float *xhat, const float *z,
                        const float *var, const float *rolling_mean, const float *rolling_var,
                        const float *scale, float *dscale, float *dbias, int batch, int C,
                        int spatial, int train)
{
    double count = (double)batch * spatial;
    for (int c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0;
        float inv = 1.0f / sqrtf((train ? var[c] : rolling_var[c]) + FER_BN_EPS);
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) {
                float xh = train ? xhat[o + i] : (z[o + i] - rolling_mean[c]) * inv;
                sdy += dy[o + i];
                sdyx += (double)dy[o + i] * xh;
            }
        }
        if (dbias) dbias[c] += (float)sdy;
        if (dscale) dscale[c] += (float)sdyx;
        if (!dz) continue;
        float g = scale[c] * inv;
        if (train) {
            float mdy = (float)(sdy / count), mdyx = (float)(sdyx / count);
            for (int b = 0; b < batch; b++) {
                size_t o = ((size_t)b * C + c) * spatial;
                for (int i = 0; i < spatial; i++) dz[o + i] = g * (dy[o + i] - mdy - xhat[o + i] * mdyx);
            }
        } else {
            for (int b = 0; b < batch; b++) {
                size_t o = ((size_t)b * C + c) * spatial;
                for (int i = 0; i < spatial; i++) dz[o + i] = g * dy[o + i];
            }
        }
    }
}

void bias_forward(float *y, const float *bias, int batch, int C, int spatial)
{
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < C; c++) {
            float *p = y + ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) p[i] += bias[c];
        }
}

void bias_backward(float *dbias, const float *dy, int batch, int C, int spatial)
{
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int b = 0; b < batch; b++) {
            const float *p = dy + ((size_t)b * C + c) * spatial;
            for (int i = 0; i < spatial; i++) s += p[i];
        }
        dbias[c] += (float)s;
    }
}
