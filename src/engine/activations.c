/* activations.c - elementwise activation functions and their derivatives.
 * leaky uses slope 0.1 (Darknet's); gelu is the exact erf form (PyTorch's
 * default); prelu has a learned slope per channel. */
#include "engine.h"

#include <math.h>
#include <string.h>

static const char *const names[ACT_COUNT] = {
    "linear", "relu", "leaky", "relu6", "logistic", "tanh",
    "elu", "selu", "swish", "mish", "gelu", "prelu",
};

int activation_from_name(const char *name, activation *out)
{
    for (int i = 0; i < ACT_COUNT; i++)
        if (!strcmp(names[i], name)) { *out = (activation)i; return 0; }
    if (!strcmp(name, "sigmoid")) { *out = ACT_LOGISTIC; return 0; }
    return -1;
}

const char *activation_name(activation a) { return a < ACT_COUNT ? names[a] : "?"; }

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float softplusf(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

static inline float act1(activation a, float x)
{
    switch (a) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_LEAKY: return x > 0 ? x : 0.1f * x;
    case ACT_RELU6: return x < 0 ? 0 : (x > 6 ? 6 : x);
    case ACT_LOGISTIC: return sigmoidf(x);
    case ACT_TANH: return tanhf(x);
    case ACT_ELU: return x > 0 ? x : expm1f(x);
    case ACT_SELU: return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * expm1f(x));
    case ACT_SWISH: return x * sigmoidf(x);
    case ACT_MISH: return x * tanhf(softplusf(x));
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    default: return x;
    }
}

/* d act / d x at x */
static inline float grad1(activation a, float x)
{
    switch (a) {
    case ACT_RELU: return x > 0 ? 1.0f : 0.0f;
    case ACT_LEAKY: return x > 0 ? 1.0f : 0.1f;
    case ACT_RELU6: return (x > 0 && x < 6) ? 1.0f : 0.0f;
    case ACT_LOGISTIC: { float s = sigmoidf(x); return s * (1 - s); }
    case ACT_TANH: { float t = tanhf(x); return 1 - t * t; }
    case ACT_ELU: return x > 0 ? 1.0f : expf(x);
    case ACT_SELU: return SELU_SCALE * (x > 0 ? 1.0f : SELU_ALPHA * expf(x));
    case ACT_SWISH: { float s = sigmoidf(x); return s + x * s * (1 - s); }
    case ACT_MISH: {
        float sp = softplusf(x), t = tanhf(sp), s = sigmoidf(x);
        return t + x * (1 - t * t) * s;
    }
    case ACT_GELU: {
        float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
        return cdf + x * pdf;
    }
    default: return 1.0f;
    }
}

void activation_forward(activation a, float *y, const float *x, int batch, int channels,
                        int spatial, const float *slope)
{
    size_t n = (size_t)batch * channels * spatial;
    if (a == ACT_LINEAR) {
        if (y != x) memmove(y, x, n * sizeof *y);
        return;
    }
    if (a == ACT_PRELU) {
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++) {
                size_t o = ((size_t)b * channels + c) * spatial;
                float s = slope[c];
                for (int i = 0; i < spatial; i++) {
                    float v = x[o + i];
                    y[o + i] = v > 0 ? v : s * v;
                }
            }
        return;
    }
    if (a == ACT_RELU) {
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = act1(a, x[i]);
}

void activation_backward(activation a, float *dx, const float *dy, const float *x, int batch,
                         int channels, int spatial, const float *slope, float *dslope)
{
    size_t n = (size_t)batch * channels * spatial;
    if (a == ACT_LINEAR) {
        for (size_t i = 0; i < n; i++) dx[i] += dy[i];
        return;
    }
    if (a == ACT_PRELU) {
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++) {
                size_t o = ((size_t)b * channels + c) * spatial;
                float s = slope[c], ds = 0;
                for (int i = 0; i < spatial; i++) {
                    float v = x[o + i];
                    if (v > 0) dx[o + i] += dy[o + i];
                    else {
                        dx[o + i] += s * dy[o + i];
                        ds += v * dy[o + i];
                    }
                }
                if (dslope) dslope[c] += ds;
            }
        return;
    }
    if (a == ACT_RELU) {
        for (size_t i = 0; i < n; i++) {
            float g = dy[i], v = x[i];   /* unconditional loads: vectorizes */
            dx[i] += v > 0 ? g : 0.0f;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * grad1(a, x[i]);
}

void activation_gradient(activation a, float *dx, const float *dy, const float *x, size_t n)
{
    if (a == ACT_LINEAR) {
        memcpy(dx, dy, n * sizeof *dx);
        return;
    }
    if (a == ACT_RELU) {
        /* both loads unconditional, so the select vectorizes */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i], v = x[i];
            dx[i] = v > 0 ? g : 0.0f;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * grad1(a, x[i]);
}
