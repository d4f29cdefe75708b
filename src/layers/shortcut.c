/* shortcut.c - residual addition: out = act(previous + layer[from]). Both
 * must have the same shape. Keys: from (negative = relative), activation. */
#include "layers.h"

#include <string.h>

static const char *const shortcut_keys[] = { "from", "activation", "stopbackward", "freeze", NULL };

static int shortcut_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    int from;
    if (cfg_int_req(f, s, "from", &from, e)) return -1;
    if (layer_ref(from, l->index, f, s, "from", &l->sources[0], e)) return -1;
    l->n_sources = 1;
    const layer *src = &net->layers[l->sources[0]];
    if (src->out_c != l->c || src->out_h != l->h || src->out_w != l->w)
        return fer_fail(e, "%s:%d: [%s] from=%d: layer %d outputs %dx%dx%d but the previous layer outputs %dx%dx%d",
                        f->path, cfg_line(s, "from"), s->name, from, l->sources[0], src->out_w,
                        src->out_h, src->out_c, l->w, l->h, l->c);
    l->out_c = l->c;
    l->out_h = l->h;
    l->out_w = l->w;
    l->outputs = l->inputs;
    if (layer_read_activation(l, f, s, "linear", e)) return -1;
    /* pre-activation sum and its gradient */
    l->extra_per_sample = l->act != ACT_LINEAR ? 2 * (size_t)l->outputs : 0;
    l->flops = (double)l->outputs;
    return 0;
}

static void shortcut_forward(layer *l, network *net, const float *in)
{
    size_t n = (size_t)l->batch * l->outputs;
    const float *other = net->layers[l->sources[0]].output;
    float *pre = l->act != ACT_LINEAR ? l->extra : l->output;
    for (size_t i = 0; i < n; i++) pre[i] = in[i] + other[i];
    if (l->act != ACT_LINEAR) {
        int pi = layer_prelu_param(l);
        activation_forward(l->act, l->output, pre, l->batch, l->out_c, l->out_h * l->out_w,
                           pi >= 0 ? l->params[pi].data : NULL);
    }
}

static void shortcut_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in;
    size_t n = (size_t)l->batch * l->outputs;
    const float *dpre = l->doutput;
    if (l->act != ACT_LINEAR) {
        float *d = l->extra + n;
        int pi = layer_prelu_param(l);
        if (pi < 0) {
            activation_gradient(l->act, d, l->doutput, l->extra, n);
        } else {
            memset(d, 0, n * sizeof *d);
            activation_backward(l->act, d, l->doutput, l->extra, l->batch, l->out_c, l->out_h * l->out_w,
                                l->params[pi].data, l->params[pi].grad);
        }
        dpre = d;
    }
    if (din)
        for (size_t i = 0; i < n; i++) din[i] += dpre[i];
    float *dother = net->layers[l->sources[0]].doutput;
    if (!l->stopbackward)
        for (size_t i = 0; i < n; i++) dother[i] += dpre[i];
}

const layer_type shortcut_type = {
    "shortcut", shortcut_keys, shortcut_make, shortcut_forward, shortcut_backward, NULL,
};
