/* common.c - the pieces layers share: activation key, the batch-norm/bias/
 * activation tail of convolutional and connected layers, layer references. */
#include "layers.h"

#include <string.h>

int layer_read_activation(layer *l, const cfg_file *f, cfg_section *s, const char *def, fer_err *e)
{
    const char *name = cfg_str(s, "activation", def);
    if (activation_from_name(name, &l->act))
        return fer_fail(e, "%s:%d: [%s] activation=%s: unknown (linear, relu, leaky, relu6, logistic, tanh, elu, selu, swish, mish, gelu, prelu)",
                        f->path, cfg_line(s, "activation"), s->name, name);
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

/* extra layout: [pre (outputs) if act != linear] [dpre (outputs)]
 *               [z (outputs), xhat (outputs) if bn] ... fixed: [mean C, var C if bn] */
void affine_extra_size(const layer *l, const affine_tail *t, size_t *per_sample, size_t *fixed)
{
    size_t o = (size_t)l->outputs;
    *per_sample = (l->act != ACT_LINEAR ? o : 0) + o + (t->batch_normalize ? 2 * o : 0);
    *fixed = t->batch_normalize ? 2 * (size_t)l->out_c : 0;
}

typedef struct tail_bufs { float *pre, *dpre, *z, *xhat, *mean, *var; } tail_bufs;

static tail_bufs bufs(layer *l, const affine_tail *t)
{
    tail_bufs b;
    size_t n = (size_t)l->batch * l->outputs;
    float *p = l->extra;
    b.pre = l->act != ACT_LINEAR ? p : l->output;
    if (l->act != ACT_LINEAR) p += n;
    b.dpre = p;
    p += n;
    b.z = b.xhat = b.mean = b.var = NULL;
    if (t->batch_normalize) {
        b.z = p;
        b.xhat = p + n;
        b.mean = p + 2 * n;
        b.var = b.mean + l->out_c;
    }
    return b;
}

float *affine_z(layer *l, const affine_tail *t)
{
    tail_bufs b = bufs(l, t);
    return t->batch_normalize ? b.z : b.pre;
}

void affine_forward(layer *l, network *net, const affine_tail *t)
{
    tail_bufs b = bufs(l, t);
    int spatial = l->out_h * l->out_w;
    const float *bias = l->params[t->bias].data;
    if (t->batch_normalize) {
        const float *scale = l->params[t->scale].data;
        float *rm = l->params[t->mean].data, *rv = l->params[t->var].data;
        if (net->train)
            batchnorm_forward_train(b.z, b.xhat, b.pre, b.mean, b.var, rm, rv, scale, bias, l->batch,
                                    l->out_c, spatial, net->opt.bn_momentum);
        else
            batchnorm_forward_infer(b.z, b.pre, rm, rv, scale, bias, l->batch, l->out_c, spatial);
    } else {
        bias_forward(b.pre, bias, l->batch, l->out_c, spatial);
    }
    if (l->act != ACT_LINEAR) {
        int pi = layer_prelu_param(l);
        activation_forward(l->act, l->output, b.pre, l->batch, l->out_c, spatial,
                           pi >= 0 ? l->params[pi].data : NULL);
    }
}

float *affine_backward(layer *l, network *net, const affine_tail *t)
{
    tail_bufs b = bufs(l, t);
    int spatial = l->out_h * l->out_w;
    size_t n = (size_t)l->batch * l->outputs;
    float *dpre = b.dpre;
    if (l->act != ACT_LINEAR) {
        int pi = layer_prelu_param(l);
        memset(dpre, 0, n * sizeof *dpre);
        activation_backward(l->act, dpre, l->doutput, b.pre, l->batch, l->out_c, spatial,
                            pi >= 0 ? l->params[pi].data : NULL, pi >= 0 ? l->params[pi].grad : NULL);
    } else {
        memcpy(dpre, l->doutput, n * sizeof *dpre);
    }
    float *dbias = l->params[t->bias].grad;
    if (!t->batch_normalize) {
        bias_backward(dbias, dpre, l->batch, l->out_c, spatial);
        return dpre;
    }
    /* dz overwrites dpre: batchnorm_backward reads dy[o+i] before writing dz[o+i]
     * within each channel, and dpre is not needed afterwards. */
    batchnorm_backward(dpre, dpre, b.xhat, b.z, b.var, l->params[t->mean].data,
                       l->params[t->var].data, l->params[t->scale].data,
                       l->params[t->scale].grad, dbias, l->batch, l->out_c, spatial, net->train);
    return dpre;
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
