/* common.c - the pieces layers share: activation key, the batch-norm/bias/
 * activation tail of convolutional and connected layers, layer references. */
#include "layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int layer_read_activation(layer *l, const cfg_file *f, cfg_section *s, const char *def, fer_err *e)
{
    const char *name = cfg_str(s, "activation", def), *why = NULL;
    int rc = activation_from_name(name, &l->act, &why);
    if (rc == -2)
        return fer_fail(e, "%s:%d: [%s] activation=%s: not supported: %s", f->path, cfg_line(s, "activation"),
                        s->name, name, why);
    if (rc)
        return fer_fail(e, "%s:%d: [%s] activation=%s: unknown (%s)", f->path, cfg_line(s, "activation"), s->name,
                        name, activation_names());
    if (l->act == ACT_PRELU && !layer_add_param(l, "prelu_slope", (size_t)l->out_c, 1, 0, INIT_PRELU, 0, e))
        return -1;
    if (l->act == ACT_PRELU) l->params[l->n_params - 1].darknet = 0;
    return 0;
}

int layer_prelu_param(const layer *l)
{
    if (l->act != ACT_PRELU) return -1;
    for (int i = 0; i < l->n_params; i++)
        if (!strcmp(l->params[i].name, "prelu_slope")) return i;
    return -1;
}

/* extra layout: [pre (outputs) if act != linear] [z (outputs) if bn] per
 * sample; fixed: [mean (C), var (C)] if bn. pre is the activation's input
 * (the output itself when linear); z is the batch norm's input. */
void affine_extra_size(const layer *l, const affine_tail *t, size_t *per_sample, size_t *fixed)
{
    size_t o = (size_t)l->outputs;
    *per_sample = (l->act != ACT_LINEAR ? o : 0) + (t->batch_normalize ? o : 0);
    *fixed = t->batch_normalize ? 2 * (size_t)l->out_c : 0;
}

typedef struct tail_bufs { float *pre, *z, *mean, *var; } tail_bufs;

static tail_bufs bufs(layer *l, const affine_tail *t)
{
    tail_bufs b;
    size_t n = (size_t)l->batch * l->outputs;
    float *p = l->extra;
    b.pre = l->act != ACT_LINEAR ? p : l->output;
    if (l->act != ACT_LINEAR) p += n;
    b.z = b.pre;
    b.mean = b.var = NULL;
    if (t->batch_normalize) {
        b.z = p;
        b.mean = p + n;
        b.var = b.mean + l->out_c;
    }
    return b;
}

float *affine_z(layer *l, const affine_tail *t) { return bufs(l, t).z; }

typedef struct tail_job {
    layer *l;
    network *net;
    const affine_tail *t;
    tail_bufs b;
    const float *dy;     /* backward: dL/d(pre) */
    float *dz;           /* backward: dL/dz */
    int phase;           /* 0: normalize or bias, 1: activation */
} tail_job;

static void tail_forward_part(void *arg, int th)
{
    tail_job *j = arg;
    layer *l = j->l;
    int nt = j->net->ctx->nthreads, lo, hi, spatial = l->out_h * l->out_w;
    const affine_tail *t = j->t;
    if (j->phase == 0) {
        split_range(l->out_c, nt, th, &lo, &hi);
        const float *bias = l->params[t->bias].data;
        if (!t->batch_normalize) {
            bias_forward(j->b.pre, bias, l->batch, l->out_c, spatial, lo, hi);
        } else if (j->net->train) {
            batchnorm_forward_train(j->b.z, j->b.pre, j->b.mean, j->b.var, l->params[t->mean].data,
                                    l->params[t->var].data, l->params[t->scale].data, bias, l->batch, l->out_c,
                                    spatial, j->net->opt.bn_momentum, lo, hi);
        } else {
            batchnorm_forward_infer(j->b.z, j->b.pre, l->params[t->mean].data, l->params[t->var].data,
                                    l->params[t->scale].data, bias, l->batch, l->out_c, spatial, lo, hi);
        }
    } else {
        split_range(l->batch, nt, th, &lo, &hi);
        int pi = layer_prelu_param(l);
        size_t off = (size_t)lo * l->outputs;
        activation_forward(l->act, l->output + off, j->b.pre + off, hi - lo, l->out_c, spatial,
                           pi >= 0 ? l->params[pi].data : NULL);
    }
}

/* Training-mode batch norm over a mini-batch shared by several processes
 * (net->sum_stats set): the mean and variance of the global mini-batch.
 * Returns 0 when done, -1 (nothing written) when out of memory: the caller
 * then normalizes with this process's own statistics. */
static int tail_forward_synced(layer *l, network *net, const affine_tail *t, tail_bufs b)
{
    int C = l->out_c, spatial = l->out_h * l->out_w;
    double *s = malloc((2 * (size_t)C + 1) * sizeof *s);
    if (!s) return -1;
    batchnorm_sums(b.z, s, l->batch, C, spatial, 0, C);
    s[C] = (double)l->batch * spatial;
    net->sum_stats(net->dist_user, s, C + 1);
    double count = s[C];
    for (int c = 0; c < C; c++) b.mean[c] = (float)(s[c] / count);
    batchnorm_sums_sq(b.z, b.mean, s, l->batch, C, spatial, 0, C);
    net->sum_stats(net->dist_user, s, C);
    for (int c = 0; c < C; c++) b.var[c] = (float)(s[c] / count);
    batchnorm_normalize(b.z, b.pre, b.mean, b.var, l->params[t->mean].data, l->params[t->var].data,
                        l->params[t->scale].data, l->params[t->bias].data, l->batch, C, spatial, net->opt.bn_momentum,
                        count, 0, C);
    free(s);
    return 0;
}

/* Its backward pass: dscale and dbias get this process's share, dL/dz the
 * global batch's means of dy and dy * xhat. */
static int tail_backward_synced(layer *l, network *net, const affine_tail *t, tail_job *j)
{
    int C = l->out_c, spatial = l->out_h * l->out_w;
    double *s = malloc((2 * (size_t)C + 1) * sizeof *s);
    if (!s) return -1;
    batchnorm_backward_sums(j->dy, j->b.z, j->b.mean, j->b.var, l->params[t->scale].grad, l->params[t->bias].grad, s,
                            s + C, l->batch, C, spatial, 0, C);
    s[2 * C] = (double)l->batch * spatial;
    net->sum_stats(net->dist_user, s, 2 * C + 1);
    batchnorm_backward_dz(j->dz, j->dy, j->b.z, j->b.mean, j->b.var, l->params[t->scale].data, s, s + C, s[2 * C],
                          l->batch, C, spatial, 0, C);
    free(s);
    return 0;
}

static int tail_synced(const network *net, const affine_tail *t)
{
    return t->batch_normalize && net->train && net->sum_stats;
}

void affine_forward(layer *l, network *net, const affine_tail *t)
{
    tail_job j = { l, net, t, bufs(l, t), NULL, NULL, 0 };
    int nt = net->ctx->nthreads;
    int small = (size_t)l->batch * l->outputs < 16384;
    int synced = tail_synced(net, t) && tail_forward_synced(l, net, t, j.b) == 0;
    if (!synced && small) {
        for (int th = 0; th < nt; th++) tail_forward_part(&j, th);
    } else if (!synced) {
        thread_pool_run(net->ctx->pool, nt, tail_forward_part, &j);
    }
    if (l->act == ACT_LINEAR) return;
    j.phase = 1;
    if (small || l->act == ACT_PRELU) {   /* prelu: one pass, channels by sample are cheap */
        for (int th = 0; th < nt; th++) tail_forward_part(&j, th);
    } else {
        thread_pool_run(net->ctx->pool, nt, tail_forward_part, &j);
    }
}

typedef struct folded_job { layer *l; float *z; const float *bias, *slope; int nt; } folded_job;

static void folded_part(void *arg, int th)
{
    const folded_job *j = arg;
    layer *l = j->l;
    int lo, hi, spatial = l->out_h * l->out_w;
    split_range(l->batch, j->nt, th, &lo, &hi);
    for (int b = lo; b < hi; b++)
        for (int c = 0; c < l->out_c; c++) {
            size_t o = ((size_t)b * l->out_c + c) * spatial;
            float *z = j->z + o, add = j->bias[c];
            for (int i = 0; i < spatial; i++) z[i] += add;
            /* the plane is still in cache */
            activation_forward(l->act, l->output + o, z, 1, 1, spatial, j->slope ? j->slope + c : NULL);
        }
}

void affine_forward_folded(layer *l, network *net, const affine_tail *t, const float *bias)
{
    int pi = layer_prelu_param(l);
    folded_job j = { l, bufs(l, t).z, bias, pi >= 0 ? l->params[pi].data : NULL, net->ctx->nthreads };
    if ((size_t)l->batch * l->outputs < 16384 || l->batch < j.nt) j.nt = 1;
    if (j.nt == 1) folded_part(&j, 0);
    else thread_pool_run(net->ctx->pool, j.nt, folded_part, &j);
}

void affine_fold(const layer *l, const affine_tail *t, float *g, float *h)
{
    const float *bias = l->params[t->bias].data;
    for (int c = 0; c < l->out_c; c++) {
        if (!t->batch_normalize) {
            g[c] = 1.0f;
            h[c] = bias[c];
            continue;
        }
        float inv = 1.0f / sqrtf(l->params[t->var].data[c] + FER_BN_EPS);
        g[c] = l->params[t->scale].data[c] * inv;
        h[c] = bias[c] - l->params[t->mean].data[c] * g[c];
    }
}

static void tail_backward_part(void *arg, int th)
{
    tail_job *j = arg;
    layer *l = j->l;
    int nt = j->net->ctx->nthreads, lo, hi, spatial = l->out_h * l->out_w;
    const affine_tail *t = j->t;
    if (j->phase == 1) {   /* activation: by samples */
        split_range(l->batch, nt, th, &lo, &hi);
        size_t off = (size_t)lo * l->outputs, n = (size_t)(hi - lo) * l->outputs;
        activation_gradient(l->act, j->dz + off, l->doutput + off, j->b.pre + off, n);
        return;
    }
    split_range(l->out_c, nt, th, &lo, &hi);
    float *dbias = l->params[t->bias].grad;
    if (!t->batch_normalize) {
        bias_backward(dbias, j->dy, l->batch, l->out_c, spatial, lo, hi);
        return;
    }
    batchnorm_backward(j->dz, j->dy, j->b.z, j->b.mean, j->b.var, l->params[t->mean].data, l->params[t->var].data,
                       l->params[t->scale].data, l->params[t->scale].grad, dbias, l->batch, l->out_c, spatial,
                       j->net->train, lo, hi);
}

const float *affine_backward(layer *l, network *net, const affine_tail *t)
{
    tail_job j = { l, net, t, bufs(l, t), l->doutput, net->scratch, 1 };
    int spatial = l->out_h * l->out_w, nt = net->ctx->nthreads;
    int small = (size_t)l->batch * l->outputs < 16384;
    if (l->act == ACT_PRELU) {
        int pi = layer_prelu_param(l);
        memset(j.dz, 0, (size_t)l->batch * l->outputs * sizeof(float));
        activation_backward(l->act, j.dz, l->doutput, j.b.pre, l->batch, l->out_c, spatial, l->params[pi].data,
                            l->params[pi].grad);
        j.dy = j.dz;
    } else if (l->act != ACT_LINEAR) {
        if (small) for (int th = 0; th < nt; th++) tail_backward_part(&j, th);
        else thread_pool_run(net->ctx->pool, nt, tail_backward_part, &j);
        j.dy = j.dz;
    }
    /* with batch norm, dL/dz overwrites the scratch (it may alias dy: each
     * channel is read before it is written); without it, dz = dy */
    if (!t->batch_normalize) j.dz = (float *)j.dy;
    j.phase = 0;
    if (tail_synced(net, t) && tail_backward_synced(l, net, t, &j) == 0) return j.dz;
    if (small) for (int th = 0; th < nt; th++) tail_backward_part(&j, th);
    else thread_pool_run(net->ctx->pool, nt, tail_backward_part, &j);
    return j.dz;
}

void split_range(int n, int parts, int t, int *lo, int *hi)
{
    *lo = (int)((long long)n * t / parts);
    *hi = (int)((long long)n * (t + 1) / parts);
}

int layer_ref(int ref, int index, const cfg_file *f, cfg_section *s, const char *key, int *out,
              fer_err *e)
{
    int abs = ref < 0 ? index + ref : ref;
    if (abs < 0 || abs >= index)
        return fer_fail(e, "%s:%d: [%s] %s=%d refers to layer %d, but only layers 0..%d come before layer %d",
                        f->path, cfg_line(s, key), s->name, key, ref, abs, index - 1, index);
    *out = abs;
    return 0;
}

/* The gradient before the layer's activation, for layers that keep their
 * pre-activation output in extra[0, n) (n = batch * outputs): doutput
 * through the activation's derivative, in extra[n, 2n) (doutput itself for
 * a linear activation). */
const float *layer_act_dpre(layer *l)
{
    if (l->act == ACT_LINEAR) return l->doutput;
    size_t n = (size_t)l->batch * l->outputs;
    float *d = l->extra + n;
    int pi = layer_prelu_param(l);
    if (pi < 0) {
        activation_gradient(l->act, d, l->doutput, l->extra, n);
    } else {
        memset(d, 0, n * sizeof *d);
        activation_backward(l->act, d, l->doutput, l->extra, l->batch, l->out_c, l->out_h * l->out_w,
                            l->params[pi].data, l->params[pi].grad);
    }
    return d;
}
