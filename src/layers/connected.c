/* connected.c - fully connected layer over the flattened input, optionally
 * with batch norm, then bias and activation.
 * Weights: [outputs][inputs] (Darknet's layout). Darknet file order: biases,
 * weights, then [scales, rolling_mean, rolling_variance] with batch norm.
 * Keys: output, activation, batch_normalize. */
#include "layers.h"

#include <stdlib.h>

typedef struct connected {
    affine_tail tail;
    int weights;
} connected;

static const char *const connected_keys[] = {
    "output", "activation", "batch_normalize", "stopbackward", "freeze", NULL,
};

static int connected_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    connected *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int outputs, bn;
    if (cfg_int_req(f, s, "output", &outputs, e) || cfg_int(f, s, "batch_normalize", 0, &bn, e)) return -1;
    if (outputs < 1 || outputs > (1 << 20))
        return fer_fail(e, "%s:%d: [%s] output=%d: must be in 1..1048576", f->path, cfg_line(s, "output"), s->name, outputs);
    if ((double)outputs * l->inputs > 4e9)
        return fer_fail(e, "%s:%d: [%s] %d x %d weights is too many", f->path, s->line, s->name, outputs, l->inputs);
    l->out_c = outputs;
    l->out_h = l->out_w = 1;
    l->outputs = outputs;
    p->tail.batch_normalize = bn != 0;
    p->tail.bias = l->n_params;
    if (!layer_add_param(l, "biases", (size_t)outputs, 1, 0, INIT_ZERO, 0, e)) return -1;
    p->weights = l->n_params;
    if (!layer_add_param(l, "weights", (size_t)outputs * l->inputs, 1, 1, INIT_HE, l->inputs, e)) return -1;
    if (bn) {
        p->tail.scale = l->n_params;
        if (!layer_add_param(l, "scales", (size_t)outputs, 1, 0, INIT_ONE, 0, e)) return -1;
        p->tail.mean = l->n_params;
        if (!layer_add_param(l, "rolling_mean", (size_t)outputs, 0, 0, INIT_ZERO, 0, e)) return -1;
        p->tail.var = l->n_params;
        if (!layer_add_param(l, "rolling_variance", (size_t)outputs, 0, 0, INIT_ONE, 0, e)) return -1;
    }
    if (layer_read_activation(l, f, s, "logistic", e)) return -1;
    affine_extra_size(l, &p->tail, &l->extra_per_sample, &l->extra_fixed);
    l->flops = 2.0 * outputs * l->inputs;
    return 0;
}

static void connected_forward(layer *l, network *net, const float *in)
{
    connected *p = l->priv;
    float *z = affine_z(l, &p->tail);
    /* z[batch, out] = in[batch, in] * W[out, in]^T */
    gemm_parallel(net->ctx, 0, 1, l->batch, l->outputs, l->inputs, 1.0f, in, l->inputs,
                  l->params[p->weights].data, l->inputs, 0.0f, z, l->outputs);
    affine_forward(l, net, &p->tail);
}

static void connected_backward(layer *l, network *net, const float *in, float *din)
{
    connected *p = l->priv;
    const float *dz = affine_backward(l, net, &p->tail);
    if (!l->frozen)   /* dW[out, in] += dz[batch, out]^T * in[batch, in] */
        gemm_parallel(net->ctx, 1, 0, l->outputs, l->inputs, l->batch, 1.0f, dz, l->outputs, in,
                      l->inputs, 1.0f, l->params[p->weights].grad, l->inputs);
    if (din)          /* din[batch, in] += dz[batch, out] * W[out, in] */
        gemm_parallel(net->ctx, 0, 0, l->batch, l->inputs, l->outputs, 1.0f, dz, l->outputs,
                      l->params[p->weights].data, l->inputs, 1.0f, din, l->inputs);
}

const layer_type connected_type = {
    "connected", connected_keys, connected_make, connected_forward, connected_backward, NULL,
};
