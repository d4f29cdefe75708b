/* optimizer.c - parameter updates: SGD with momentum (optionally Nesterov),
 * Adam, and AdamW, with L2 weight decay on tensors marked `decay` and
 * optional gradient-norm clipping. State lives in two blocks parallel to the
 * network's parameter block. */
#include "train.h"

#include <math.h>
#include <string.h>

int optimizer_init(optimizer *opt, const network *net, fer_err *e)
{
    memset(opt, 0, sizeof *opt);
    opt->n = net->n_param_floats;
    opt->m = fer_alloc(opt->n, sizeof(float), e);
    opt->v = opt->m ? fer_alloc(opt->n, sizeof(float), e) : NULL;
    if (!opt->v) {
        optimizer_free(opt);
        return -1;
    }
    return 0;
}

void optimizer_free(optimizer *opt)
{
    fer_free(opt->m);
    fer_free(opt->v);
    opt->m = opt->v = NULL;
}

/* One optimizer step split across the thread pool: part t of every trainable
 * tensor's elements (the update is elementwise, so any split gives the same
 * bits). Phase 0 sums the squared gradient for clipping (its summation order,
 * and so the last bits of a clipped step, depend on the thread count), phase
 * 1 updates. */
typedef struct step_job {
    optimizer *opt;
    network *net;
    float lr, scale, c1, c2;
    int phase, parts;
    double norm2[256];   /* phase 0: per part */
} step_job;

static void tensor_range(const param *p, const step_job *j, int t, size_t *lo, size_t *hi)
{
    *lo = p->n * (size_t)t / (size_t)j->parts;
    *hi = p->n * (size_t)(t + 1) / (size_t)j->parts;
}

/* sum of g[k]^2 in double (a float square overflows past ~1.8e19) over 8
 * spelled-out partial sums, so that it vectorizes */
static double sum_squares(const float *g, size_t n)
{
    double part[8] = { 0 }, s = 0;
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int q = 0; q < 8; q++) part[q] += (double)g[k + q] * g[k + q];
    for (; k < n; k++) s += (double)g[k] * g[k];
    for (int q = 0; q < 8; q++) s += part[q];
    return s;
}

static void sgd_update(float *restrict w, float *restrict m, const float *restrict g, size_t n, float lr,
                       float scale, float wd, float mom, int nesterov)
{
    if (nesterov) {
        for (size_t k = 0; k < n; k++) {
            float gk = g[k] * scale + wd * w[k];
            m[k] = mom * m[k] + gk;
            w[k] -= lr * (gk + mom * m[k]);
        }
    } else {
        for (size_t k = 0; k < n; k++) {
            float gk = g[k] * scale + wd * w[k];
            m[k] = mom * m[k] + gk;
            w[k] -= lr * m[k];
        }
    }
}

static void adam_update(float *restrict w, float *restrict m, float *restrict v, const float *restrict g, size_t n,
                        const net_options *o, float lr, float scale, float wd, float c1, float c2)
{
    float b1 = o->beta1, b2 = o->beta2, eps = o->epsilon;
    int adamw = o->optimizer == OPT_ADAMW;
    for (size_t k = 0; k < n; k++) {
        float gk = g[k] * scale + (adamw ? 0 : wd * w[k]);
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        float step = (m[k] / c1) / (sqrtf(v[k] / c2) + eps);
        if (adamw) w[k] -= lr * wd * w[k];
        w[k] -= lr * step;
    }
}

static void step_part(void *arg, int t)
{
    step_job *j = arg;
    network *net = j->net;
    const net_options *o = &net->opt;
    double norm2 = 0;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->frozen) continue;
        for (int jj = 0; jj < l->n_params; jj++) {
            param *p = &l->params[jj];
            if (!p->trainable) continue;
            size_t lo, hi;
            tensor_range(p, j, t, &lo, &hi);
            if (hi <= lo) continue;
            if (j->phase == 0) {
                norm2 += sum_squares(p->grad + lo, hi - lo);
                continue;
            }
            size_t off = (size_t)(p->data - net->params) + lo;
            float wd = p->decay ? o->decay : 0;
            if (o->optimizer == OPT_SGD)
                sgd_update(p->data + lo, j->opt->m + off, p->grad + lo, hi - lo, j->lr, j->scale, wd, o->momentum,
                           o->nesterov);
            else
                adam_update(p->data + lo, j->opt->m + off, j->opt->v + off, p->grad + lo, hi - lo, o, j->lr,
                            j->scale, wd, j->c1, j->c2);
        }
    }
    if (j->phase == 0) j->norm2[t] = norm2;
}

double optimizer_step(optimizer *opt, network *net, float lr, float scale)
{
    const net_options *o = &net->opt;
    step_job j = { .opt = opt, .net = net, .lr = lr, .scale = scale, .phase = 0 };
    net->weights_version++;
    j.parts = net->ctx ? net->ctx->nthreads : 1;
    if (j.parts > 256) j.parts = 256;
    /* small networks (the tests') are not worth waking the pool for */
    int threaded = j.parts > 1 && net->n_param_floats >= 65536;
    if (!threaded) j.parts = 1;
    double norm = 0;
    if (o->clip > 0) {
        if (threaded) thread_pool_run(net->ctx->pool, j.parts, step_part, &j);
        else step_part(&j, 0);
        double norm2 = 0;
        for (int t = 0; t < j.parts; t++) norm2 += j.norm2[t];
        norm = sqrt(norm2) * scale;
        if (norm > o->clip) j.scale *= (float)(o->clip / norm);
    }
    opt->t++;
    j.c1 = 1.0f - powf(o->beta1, (float)opt->t);
    j.c2 = 1.0f - powf(o->beta2, (float)opt->t);
    j.phase = 1;
    if (threaded) thread_pool_run(net->ctx->pool, j.parts, step_part, &j);
    else step_part(&j, 0);
    return norm;
}
