/* convolutional.c - 2-D convolution (grouped, strided, padded, non-square),
 * optionally followed by batch norm, then bias and activation.
 * Weights: [filters][channels/groups][size_h][size_w] (Darknet's layout).
 * Keys: filters, size (or size_h/size_w), stride (or stride_y/stride_x), pad,
 * padding, groups, batch_normalize, activation. */
#include "layers.h"

#include <stdlib.h>
#include <string.h>

typedef struct conv {
    int kh, kw, sh, sw;     /* first: the summary printer reads these four */
    int ph, pw;
    int groups;
    affine_tail tail;
    int weights;            /* param index */
} conv;

static const char *const conv_keys[] = {
    "filters", "size", "size_h", "size_w", "stride", "stride_y", "stride_x", "pad", "padding",
    "groups", "batch_normalize", "activation", "stopbackward", "freeze", NULL,
};

static int conv_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    conv *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int filters, size, stride, pad, padding, bn;
    if (cfg_int_req(f, s, "filters", &filters, e) || cfg_int(f, s, "size", 1, &size, e) ||
        cfg_int(f, s, "size_h", size, &p->kh, e) || cfg_int(f, s, "size_w", size, &p->kw, e) ||
        cfg_int(f, s, "stride", 1, &stride, e) || cfg_int(f, s, "stride_y", stride, &p->sh, e) ||
        cfg_int(f, s, "stride_x", stride, &p->sw, e) || cfg_int(f, s, "pad", 0, &pad, e) ||
        cfg_int(f, s, "padding", 0, &padding, e) || cfg_int(f, s, "groups", 1, &p->groups, e) ||
        cfg_int(f, s, "batch_normalize", 0, &bn, e))
        return -1;
    if (filters < 1 || filters > 65536)
        return fer_fail(e, "%s:%d: [%s] filters=%d: must be in 1..65536", f->path, cfg_line(s, "filters"), s->name, filters);
    if (p->kh < 1 || p->kw < 1 || p->kh > 64 || p->kw > 64)
        return fer_fail(e, "%s:%d: [%s] size must be in 1..64", f->path, cfg_line(s, "size"), s->name);
    if (p->sh < 1 || p->sw < 1 || p->sh > 64 || p->sw > 64)
        return fer_fail(e, "%s:%d: [%s] stride must be in 1..64", f->path, cfg_line(s, "stride"), s->name);
    if (padding < 0 || padding > 64)
        return fer_fail(e, "%s:%d: [%s] padding must be in 0..64", f->path, cfg_line(s, "padding"), s->name);
    if (p->groups < 1 || l->c % p->groups || filters % p->groups)
        return fer_fail(e, "%s:%d: [%s] groups=%d must divide both the input channels (%d) and filters (%d)",
                        f->path, cfg_line(s, "groups"), s->name, p->groups, l->c, filters);
    /* pad=1 means 'same'-style padding of size/2 on each side (Darknet). */
    p->ph = pad ? p->kh / 2 : padding;
    p->pw = pad ? p->kw / 2 : padding;
    p->tail.batch_normalize = bn != 0;
    l->out_c = filters;
    l->out_h = (l->h + 2 * p->ph - p->kh) / p->sh + 1;
    l->out_w = (l->w + 2 * p->pw - p->kw) / p->sw + 1;
    if (l->h + 2 * p->ph < p->kh || l->w + 2 * p->pw < p->kw)
        return fer_fail(e, "%s:%d: [%s] kernel %dx%d is larger than the padded input %dx%d", f->path,
                        s->line, s->name, p->kw, p->kh, l->w + 2 * p->pw, l->h + 2 * p->ph);
    int cg = l->c / p->groups;
    int ksize = cg * p->kh * p->kw;
    /* Darknet order: biases, [scales, rolling_mean, rolling_variance], weights */
    p->tail.bias = l->n_params;
    if (!layer_add_param(l, "biases", (size_t)filters, 1, 0, INIT_ZERO, 0, e)) return -1;
    if (bn) {
        p->tail.scale = l->n_params;
        if (!layer_add_param(l, "scales", (size_t)filters, 1, 0, INIT_ONE, 0, e)) return -1;
        p->tail.mean = l->n_params;
        if (!layer_add_param(l, "rolling_mean", (size_t)filters, 0, 0, INIT_ZERO, 0, e)) return -1;
        p->tail.var = l->n_params;
        if (!layer_add_param(l, "rolling_variance", (size_t)filters, 0, 0, INIT_ONE, 0, e)) return -1;
    }
    p->weights = l->n_params;
    if (!layer_add_param(l, "weights", (size_t)filters * ksize, 1, 1, INIT_HE, ksize, e)) return -1;
    if (layer_read_activation(l, f, s, "logistic", e)) return -1;
    l->outputs = l->out_c * l->out_h * l->out_w;
    affine_extra_size(l, &p->tail, &l->extra_per_sample, &l->extra_fixed);
    size_t col = (size_t)ksize * l->out_h * l->out_w;
    /* per thread: one im2col buffer, and a private dW for the backward pass */
    l->workspace_per_thread = col + (size_t)filters * ksize;
    l->flops = 2.0 * filters * ksize * l->out_h * l->out_w;
    return 0;
}

static int is_pointwise(const conv *p)
{
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0;
}

typedef struct conv_job {
    layer *l;
    network *net;
    const float *in;
    float *din;
    float *z;        /* forward: [batch, out_c, oh, ow]; backward: dL/dz */
} conv_job;

static void conv_forward_part(void *arg, int t)
{
    conv_job *j = arg;
    layer *l = j->l;
    conv *p = l->priv;
    const kernel_table *k = &j->net->ctx->k;
    int nt = j->net->ctx->nthreads, lo, hi;
    split_range(l->batch, nt, t, &lo, &hi);
    float *col = j->net->workspace + (size_t)t * j->net->workspace_per_thread;
    int cg = l->c / p->groups, mg = l->out_c / p->groups;
    int ksize = cg * p->kh * p->kw, n = l->out_h * l->out_w;
    const float *w = l->params[p->weights].data;
    for (int b = lo; b < hi; b++)
        for (int g = 0; g < p->groups; g++) {
            const float *in = j->in + (size_t)b * l->inputs + (size_t)g * cg * l->h * l->w;
            const float *src = in;
            if (!is_pointwise(p)) {
                im2col(in, cg, l->h, l->w, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw, l->out_h, l->out_w, col);
                src = col;
            }
            float *out = j->z + (size_t)b * l->outputs + (size_t)g * mg * n;
            k->gemm(0, 0, mg, n, ksize, 1.0f, w + (size_t)g * mg * ksize, ksize, src, n, 0.0f, out, n);
        }
}

static void conv_forward(layer *l, network *net, const float *in)
{
    conv *p = l->priv;
    conv_job j = { l, net, in, NULL, affine_z(l, &p->tail) };
    thread_pool_run(net->ctx->pool, net->ctx->nthreads, conv_forward_part, &j);
    affine_forward(l, net, &p->tail);
}

static void conv_backward_part(void *arg, int t)
{
    conv_job *j = arg;
    layer *l = j->l;
    conv *p = l->priv;
    const kernel_table *k = &j->net->ctx->k;
    int nt = j->net->ctx->nthreads, lo, hi;
    split_range(l->batch, nt, t, &lo, &hi);
    float *col = j->net->workspace + (size_t)t * j->net->workspace_per_thread;
    int cg = l->c / p->groups, mg = l->out_c / p->groups;
    int ksize = cg * p->kh * p->kw, n = l->out_h * l->out_w;
    float *dw = col + (size_t)ksize * n;   /* this thread's dW: [out_c, ksize] */
    memset(dw, 0, (size_t)l->out_c * ksize * sizeof *dw);
    const float *w = l->params[p->weights].data;
    int need_dw = !l->frozen;
    for (int b = lo; b < hi; b++)
        for (int g = 0; g < p->groups; g++) {
            const float *in = j->in + (size_t)b * l->inputs + (size_t)g * cg * l->h * l->w;
            const float *dz = j->z + (size_t)b * l->outputs + (size_t)g * mg * n;
            const float *wg = w + (size_t)g * mg * ksize;
            if (need_dw) {
                const float *src = in;
                if (!is_pointwise(p)) {
                    im2col(in, cg, l->h, l->w, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw, l->out_h, l->out_w, col);
                    src = col;
                }
                /* dW[mg, ksize] += dz[mg, n] * col[ksize, n]^T */
                k->gemm(0, 1, mg, ksize, n, 1.0f, dz, n, src, n, 1.0f, dw + (size_t)g * mg * ksize, ksize);
            }
            if (j->din) {
                float *din = j->din + (size_t)b * l->inputs + (size_t)g * cg * l->h * l->w;
                if (is_pointwise(p)) {
                    /* din[ksize, n] += W^T[ksize, mg] * dz[mg, n] */
                    k->gemm(1, 0, ksize, n, mg, 1.0f, wg, ksize, dz, n, 1.0f, din, n);
                } else {
                    k->gemm(1, 0, ksize, n, mg, 1.0f, wg, ksize, dz, n, 0.0f, col, n);
                    col2im_add(col, cg, l->h, l->w, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw, l->out_h, l->out_w, din);
                }
            }
        }
}

static void conv_backward(layer *l, network *net, const float *in, float *din)
{
    conv *p = l->priv;
    float *dz = affine_backward(l, net, &p->tail);
    conv_job j = { l, net, in, din, dz };
    int nt = net->ctx->nthreads;
    thread_pool_run(net->ctx->pool, nt, conv_backward_part, &j);
    if (l->frozen) return;
    int ksize = l->c / p->groups * p->kh * p->kw;
    size_t nw = (size_t)l->out_c * ksize, n = (size_t)ksize * l->out_h * l->out_w;
    float *dw = l->params[p->weights].grad;
    for (int t = 0; t < nt; t++) {
        const float *part = net->workspace + (size_t)t * net->workspace_per_thread + n;
        for (size_t i = 0; i < nw; i++) dw[i] += part[i];
    }
}

const layer_type convolutional_type = {
    "convolutional", conv_keys, conv_make, conv_forward, conv_backward, NULL,
};
