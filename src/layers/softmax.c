/* softmax.c - softmax over each sample's values, and the network's loss:
 * cross-entropy against net->truth with optional label smoothing and
 * per-class weights. When this is the loss layer its backward pass starts
 * the gradient, dL/dx = w * (p - t) / (T * batch); elsewhere it back-propagates
 * doutput through the softmax Jacobian.
 * Keys: temperature (default 1), label_smoothing (default: [net]'s). */
#include "layers.h"

#include <math.h>
#include <stdlib.h>

typedef struct softmax {
    float temperature;
    float label_smoothing;
} softmax;

static const char *const softmax_keys[] = {
    "temperature", "label_smoothing", "groups", "stopbackward", "freeze", NULL,
};

static int softmax_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    softmax *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int groups;
    /* AlexeyAB's label_smooth_eps (1-eps for the true class, eps/(n-1) for
     * each other) is fer's smoothing s = eps * n / (n-1) */
    float smoothing = net->opt.label_smoothing, eps = net->opt.label_smooth_eps;
    if (eps > 0 && l->inputs > 1) smoothing = eps * (float)l->inputs / (float)(l->inputs - 1);
    if (cfg_float(f, s, "temperature", 1, &p->temperature, e) ||
        cfg_float(f, s, "label_smoothing", smoothing, &p->label_smoothing, e) ||
        cfg_int(f, s, "groups", 1, &groups, e))
        return -1;
    if (groups != 1)
        return fer_fail(e, "%s:%d: [%s] groups=%d: fer supports only groups=1", f->path, cfg_line(s, "groups"), s->name, groups);
    if (!(p->temperature > 0))
        return fer_fail(e, "%s:%d: [%s] temperature must be > 0", f->path, cfg_line(s, "temperature"), s->name);
    if (p->label_smoothing < 0 || p->label_smoothing >= 1)
        return fer_fail(e, "%s:%d: [%s] label_smoothing must be in [0,1)%s", f->path, cfg_line(s, "label_smoothing"),
                        s->name, cfg_has(s, "label_smoothing") || eps <= 0 ? "" :
                        " ([net] label_smooth_eps is too large for this many classes: it needs eps < (n-1)/n)");
    l->out_c = l->inputs;
    l->out_h = l->out_w = 1;
    l->outputs = l->inputs;
    l->flops = 3.0 * l->inputs;
    return 0;
}

static void softmax_forward(layer *l, network *net, const float *in)
{
    softmax *p = l->priv;
    int n = l->inputs;
    int is_loss = net->loss_layer == l->index;
    double loss = 0;
    for (int b = 0; b < l->batch; b++) {
        const float *x = in + (size_t)b * n;
        float *y = l->output + (size_t)b * n;
        float mx = x[0];
        for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            y[i] = expf((x[i] - mx) / p->temperature);
            sum += y[i];
        }
        for (int i = 0; i < n; i++) y[i] = (float)(y[i] / sum);
        /* log p_i = (x_i - max)/T - log(sum): exact even where p_i underflows */
        double log_sum = log(sum);
        if (!is_loss || !net->has_truth) continue;
        const float *t = net->truth + (size_t)b * n;
        double w = 1, ls = p->label_smoothing, sample = 0;
        if (net->class_weight) {
            int best = 0;
            for (int i = 1; i < n; i++) if (t[i] > t[best]) best = i;
            w = net->class_weight[best];
        }
        for (int i = 0; i < n; i++) {
            double ti = (1 - ls) * t[i] + ls / n;
            if (ti > 0) sample -= ti * ((x[i] - mx) / p->temperature - log_sum);
        }
        loss += w * sample;
    }
    if (is_loss && net->has_truth) net->loss = loss / l->batch;
}

static void softmax_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in;
    if (!din) return;
    softmax *p = l->priv;
    int n = l->inputs;
    float invT = 1.0f / p->temperature;
    int is_loss = net->loss_layer == l->index && net->has_truth;
    for (int b = 0; b < l->batch; b++) {
        const float *y = l->output + (size_t)b * n;
        float *d = din + (size_t)b * n;
        if (is_loss) {
            const float *t = net->truth + (size_t)b * n;
            float w = 1, ls = p->label_smoothing;
            if (net->class_weight) {
                int best = 0;
                for (int i = 1; i < n; i++) if (t[i] > t[best]) best = i;
                w = net->class_weight[best];
            }
            float g = w * invT / (float)l->batch;
            for (int i = 0; i < n; i++) d[i] += g * (y[i] - ((1 - ls) * t[i] + ls / n));
        }
        /* any gradient arriving on the probabilities themselves */
        const float *dy = l->doutput + (size_t)b * n;
        double dot = 0;
        for (int i = 0; i < n; i++) dot += (double)dy[i] * y[i];
        for (int i = 0; i < n; i++) d[i] += invT * y[i] * (float)(dy[i] - dot);
    }
}

const layer_type softmax_type = {
    "softmax", softmax_keys, softmax_make, softmax_forward, softmax_backward, NULL,
};
