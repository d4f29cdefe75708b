/* batchnorm.c - a standalone batch-normalization layer (per channel), with
 * an optional activation (a fer extension; default linear). File order is
 * AlexeyAB Darknet's: biases, scales, rolling_mean, rolling_variance. */
#include "layers.h"

#include <stdlib.h>
#include <string.h>

static const char *const batchnorm_keys[] = { "activation", "stopbackward", "freeze", NULL };

static int batchnorm_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    affine_tail *t = calloc(1, sizeof *t);
    if (!t) return fer_fail(e, "out of memory");
    l->priv = t;
    l->out_c = l->c;
    l->out_h = l->h;
    l->out_w = l->w;
    l->outputs = l->inputs;
    t->batch_normalize = 1;
    t->bias = 0;
    t->scale = 1;
    t->mean = 2;
    t->var = 3;
    if (!layer_add_param(l, "biases", (size_t)l->c, 1, 0, INIT_ZERO, 0, e) ||
        !layer_add_param(l, "scales", (size_t)l->c, 1, 0, INIT_ONE, 0, e) ||
        !layer_add_param(l, "rolling_mean", (size_t)l->c, 0, 0, INIT_ZERO, 0, e) ||
        !layer_add_param(l, "rolling_variance", (size_t)l->c, 0, 0, INIT_ONE, 0, e))
        return -1;
    if (layer_read_activation(l, f, s, "linear", e)) return -1;
    affine_extra_size(l, t, &l->extra_per_sample, &l->extra_fixed);
    l->flops = 2.0 * l->inputs;
    return 0;
}

static void batchnorm_layer_forward(layer *l, network *net, const float *in)
{
    affine_tail *t = l->priv;
    memcpy(affine_z(l, t), in, (size_t)l->batch * l->inputs * sizeof *in);
    affine_forward(l, net, t);
}

static void batchnorm_layer_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in;
    const float *dz = affine_backward(l, net, l->priv);
    if (!din) return;
    size_t n = (size_t)l->batch * l->inputs;
    for (size_t i = 0; i < n; i++) din[i] += dz[i];
}

const layer_type batchnorm_type = {
    "batchnorm", batchnorm_keys, batchnorm_make, batchnorm_layer_forward, batchnorm_layer_backward, NULL,
};
