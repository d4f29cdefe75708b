/* activations.c - elementwise activation functions and their derivatives.
 * leaky uses slope 0.1 (Darknet's); gelu is the exact erf form (PyTorch's
 * default); prelu has a learned slope per channel. hard_mish, hardtan,
 * lhtan, plse, stair, ramp, loggy and relie are AlexeyAB Darknet's
 * (src/activations.h), with the same derivatives, including at stair's
 * corners where Darknet's derivative is 0. */
#include "engine.h"

#include <math.h>
#include <string.h>

static const char *const names[ACT_COUNT] = {
    "linear", "relu", "leaky", "relu6", "logistic", "tanh",
    "elu", "selu", "swish", "mish", "gelu", "prelu",
    "hard_mish", "hardtan", "lhtan", "plse", "stair", "ramp", "loggy", "relie",
};

/* Darknet activations fer does not compute, and why. */
static const struct { const char *name, *why; } refused[] = {
    { "normalize_channels", "Darknet normalizes across the channels at each position with it (a layer-level "
                            "operation trained with an approximate gradient); fer does not implement it" },
    { "normalize_channels_softmax", "Darknet takes a softmax across the channels at each position with it (a "
                                    "layer-level operation trained with an approximate gradient); fer does not "
                                    "implement it" },
    { "normalize_channels_softmax_maxval", "Darknet takes a softmax across the channels at each position with it "
                                           "(a layer-level operation trained with an approximate gradient); fer "
                                           "does not implement it" },
    { "revleaky", "Darknet computes leaky with it, but its GPU build divides the gradient by leaky's slope while "
                  "its CPU build multiplies; fer does not pick one (use leaky)" },
};

int activation_from_name(const char *name, activation *out, const char **why)
{
    for (int i = 0; i < ACT_COUNT; i++)
        if (!strcmp(names[i], name)) { *out = (activation)i; return 0; }
    if (!strcmp(name, "sigmoid")) { *out = ACT_LOGISTIC; return 0; }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (!strcmp(refused[i].name, name)) {
            if (why) *why = refused[i].why;
            return -2;
        }
    return -1;
}

const char *activation_names(void)
{
    return "linear, relu, leaky, relu6, logistic (sigmoid), tanh, elu, selu, swish, mish, gelu, prelu, hard_mish, "
           "hardtan, lhtan, plse, stair, ramp, loggy, relie";
}

const char *activation_name(activation a) { return a < ACT_COUNT ? names[a] : "?"; }

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float softplusf(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

/* Darknet's stair: flat at floor(x/2) on [2k, 2k+1), slope 1 on [2k+1, 2k+2) */
static inline float stairf(float x)
{
    float n = floorf(x);
    float half = floorf(x / 2);
    return fmodf(n, 2.0f) == 0.0f ? half : (x - n) + half;
}

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
    case ACT_HARD_MISH: return x > 0 ? x : (x > -2 ? x * x / 2 + x : 0.0f);
    case ACT_HARDTAN: return x < -1 ? -1.0f : (x > 1 ? 1.0f : x);
    case ACT_LHTAN: return x < 0 ? 0.001f * x : (x > 1 ? 0.001f * (x - 1) + 1 : x);
    case ACT_PLSE: return x < -4 ? 0.01f * (x + 4) : (x > 4 ? 0.01f * (x - 4) + 1 : 0.125f * x + 0.5f);
    case ACT_STAIR: return stairf(x);
    case ACT_RAMP: return (x > 0 ? x : 0.0f) + 0.1f * x;
    case ACT_LOGGY: return 2.0f / (1.0f + expf(-x)) - 1;
    case ACT_RELIE: return x > 0 ? x : 0.01f * x;
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
    case ACT_HARD_MISH: return x > 0 ? 1.0f : (x > -2 ? x + 1 : 0.0f);
    case ACT_HARDTAN: return (x > -1 && x < 1) ? 1.0f : 0.0f;
    case ACT_LHTAN: return (x > 0 && x < 1) ? 1.0f : 0.001f;
    case ACT_PLSE: return (x < -4 || x > 4) ? 0.01f : 0.125f;
    case ACT_STAIR: { float y = stairf(x); return floorf(y) == y ? 0.0f : 1.0f; }
    case ACT_RAMP: return x > 0 ? 1.1f : 0.1f;
    case ACT_LOGGY: { float s = sigmoidf(x); return 2 * s * (1 - s); }
    case ACT_RELIE: return x > 0 ? 1.0f : 0.01f;
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
