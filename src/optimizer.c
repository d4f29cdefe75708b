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

double optimizer_step(optimizer *opt, network *net, float lr, float scale)
{
    const net_options *o = &net->opt;
    double norm2 = 0;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            param *p = &l->params[j];
            if (!p->trainable || l->frozen) continue;
            for (size_t k = 0; k < p->n; k++) norm2 += (double)p->grad[k] * p->grad[k];
        }
    }
    double norm = sqrt(norm2) * scale;
    if (o->clip > 0 && norm > o->clip) scale *= (float)(o->clip / norm);
    opt->t++;
    float b1 = o->beta1, b2 = o->beta2;
    float c1 = 1.0f - powf(b1, (float)opt->t), c2 = 1.0f - powf(b2, (float)opt->t);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->frozen) continue;
        for (int j = 0; j < l->n_params; j++) {
            param *p = &l->params[j];
            if (!p->trainable) continue;
            size_t off = (size_t)(p->data - net->params);
            float *m = opt->m + off, *v = opt->v + off, *w = p->data;
            const float *g = p->grad;
            float wd = p->decay ? o->decay : 0;
            switch (o->optimizer) {
            case OPT_SGD:
                for (size_t k = 0; k < p->n; k++) {
                    float gk = g[k] * scale + wd * w[k];
                    m[k] = o->momentum * m[k] + gk;
                    w[k] -= lr * (o->nesterov ? gk + o->momentum * m[k] : m[k]);
                }
                break;
            case OPT_ADAM:
            case OPT_ADAMW:
                for (size_t k = 0; k < p->n; k++) {
                    float gk = g[k] * scale + (o->optimizer == OPT_ADAM ? wd * w[k] : 0);
                    m[k] = b1 * m[k] + (1 - b1) * gk;
                    v[k] = b2 * v[k] + (1 - b2) * gk * gk;
                    float step = (m[k] / c1) / (sqrtf(v[k] / c2) + o->epsilon);
                    if (o->optimizer == OPT_ADAMW) w[k] -= lr * wd * w[k];
                    w[k] -= lr * step;
                }
                break;
            }
        }
    }
    return norm;
}
