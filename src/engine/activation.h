/* activation.h - activation functions by name, forward and backward. */
#ifndef FER_ENGINE_ACTIVATION_H
#define FER_ENGINE_ACTIVATION_H

#include "util.h"

/* ---- activations --------------------------------------------------------- */

typedef enum {
    ACT_LINEAR, ACT_RELU, ACT_LEAKY, ACT_RELU6, ACT_LOGISTIC, ACT_TANH,
    ACT_ELU, ACT_SELU, ACT_SWISH, ACT_MISH, ACT_GELU, ACT_PRELU,
    /* the rest of AlexeyAB Darknet's elementwise activations */
    ACT_HARD_MISH, ACT_HARDTAN, ACT_LHTAN, ACT_PLSE, ACT_STAIR, ACT_RAMP,
    ACT_LOGGY, ACT_RELIE, ACT_COUNT
} activation;

/* 0 and *out set for a known name; -1 for an unknown one; -2 for a Darknet
 * activation fer refuses (*why then says why). */
int activation_from_name(const char *name, activation *out, const char **why);
/* The names activation_from_name knows, comma-separated, for messages. */
const char *activation_names(void);
const char *activation_name(activation a);

/* y = act(x) over n = batch*channels*spatial values; slope is the PReLU
 * per-channel slope [channels] (NULL otherwise). x and y may alias. */
void activation_forward(activation a, float *y, const float *x, int batch,
                        int channels, int spatial, const float *slope);
/* dx += dy * act'(x); for PReLU also dslope[c] += sum dy*x over x<0. */
void activation_backward(activation a, float *dx, const float *dy, const float *x,
                         int batch, int channels, int spatial, const float *slope,
                         float *dslope);
/* dx = dy * act'(x) over n values, overwriting dx (no zeroing pass first);
 * not for PReLU, whose slope gradient needs activation_backward. */
void activation_gradient(activation a, float *dx, const float *dy, const float *x, size_t n);

#endif
