/* scale_channels.c - AlexeyAB Darknet's [scale_channels], the multiply of
 * a squeeze-and-excitation block (EfficientNet): out = act(layer[from] *
 * s), where s is this layer's input, one factor per channel ([C, 1, 1],
 * broadcast over the plane) or, with scale_wh=1, one per position
 * ([1, H, W], broadcast over the channels). The output has layer[from]'s
 * shape; the gradient flows to both factors.
 *
 * Keys: from (required; negative = relative), scale_wh (0), activation
 * (linear; not swish or mish, which Darknet's layer does not compute). */
#include "layers.h"

#include <stdlib.h>
#include <string.h>

static const char *const scale_channels_keys[] = {
    "from", "scale_wh", "activation", "stopbackward", "freeze", NULL,
};

typedef struct scale_channels { int scale_wh; } scale_channels;

static int check_shapes(const layer *l, const layer *src, int scale_wh, int from, const cfg_file *f,
                        cfg_section *s, fer_err *e)
{
    int ok = scale_wh ? (l->c == 1 && l->h == src->out_h && l->w == src->out_w)
                      : (l->h == 1 && l->w == 1 && l->c == src->out_c);
    if (ok) return 0;
    return fer_fail(e, "%s:%d: [%s] from=%d: the previous layer outputs %dx%dx%d but layer %d outputs %dx%dx%d; "
                       "%s", f->path, cfg_line(s, "from"), s->name, from, l->w, l->h, l->c, src->index, src->out_w,
                    src->out_h, src->out_c,
                    scale_wh ? "with scale_wh=1 the factors must be 1 channel of layer[from]'s width and height"
                             : "the factors must be 1x1 with layer[from]'s channels");
}

static int scale_channels_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    scale_channels *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int from;
    if (cfg_int_req(f, s, "from", &from, e) || cfg_int(f, s, "scale_wh", 0, &p->scale_wh, e)) return -1;
    if (layer_ref(from, l->index, f, s, "from", &l->sources[0], e)) return -1;
    l->n_sources = 1;
    const layer *src = &net->layers[l->sources[0]];
    if (check_shapes(l, src, p->scale_wh, from, f, s, e)) return -1;
    l->out_c = src->out_c;
    l->out_h = src->out_h;
    l->out_w = src->out_w;
    l->outputs = src->outputs;
    if (layer_read_activation(l, f, s, "linear", e)) return -1;
    if (l->act == ACT_SWISH || l->act == ACT_MISH)
        return fer_fail(e, "%s:%d: [%s] activation=%s: not supported (Darknet's [scale_channels] does not compute "
                           "swish or mish)", f->path, cfg_line(s, "activation"), s->name, activation_name(l->act));
    /* pre-activation product and its gradient */
    l->extra_per_sample = l->act != ACT_LINEAR ? 2 * (size_t)l->outputs : 0;
    l->flops = (double)l->outputs;
    return 0;
}

/* The factor for output cell (k, q) of a sample: s[k] or s[q]. */
static inline float factor(const float *sc, int scale_wh, int k, size_t q) { return scale_wh ? sc[q] : sc[k]; }

static void scale_channels_forward(layer *l, network *net, const float *in)
{
    const scale_channels *p = l->priv;
    const layer *src = &net->layers[l->sources[0]];
    size_t plane = (size_t)l->out_h * l->out_w;
    float *pre = l->act != ACT_LINEAR ? l->extra : l->output;
    for (int b = 0; b < l->batch; b++) {
        const float *sc = in + (size_t)b * l->inputs, *x = src->output + (size_t)b * l->outputs;
        float *y = pre + (size_t)b * l->outputs;
        for (int k = 0; k < l->out_c; k++)
            for (size_t q = 0; q < plane; q++) y[k * plane + q] = factor(sc, p->scale_wh, k, q) * x[k * plane + q];
    }
    if (l->act != ACT_LINEAR) {
        int pi = layer_prelu_param(l);
        activation_forward(l->act, l->output, pre, l->batch, l->out_c, (int)plane, pi >= 0 ? l->params[pi].data : NULL);
    }
}

static void scale_channels_backward(layer *l, network *net, const float *in, float *din)
{
    const scale_channels *p = l->priv;
    layer *src = &net->layers[l->sources[0]];
    const float *dpre = layer_act_dpre(l);
    size_t plane = (size_t)l->out_h * l->out_w;
    for (int b = 0; b < l->batch; b++) {
        const float *sc = in + (size_t)b * l->inputs, *x = src->output + (size_t)b * l->outputs;
        const float *dy = dpre + (size_t)b * l->outputs;
        float *dsc = din ? din + (size_t)b * l->inputs : NULL;
        float *dx = l->stopbackward ? NULL : src->doutput + (size_t)b * l->outputs;
        for (int k = 0; k < l->out_c; k++) {
            double dk = 0;
            for (size_t q = 0; q < plane; q++) {
                float g = dy[k * plane + q];
                if (dx) dx[k * plane + q] += factor(sc, p->scale_wh, k, q) * g;
                if (!dsc) continue;
                if (p->scale_wh) dsc[q] += g * x[k * plane + q];
                else dk += (double)g * x[k * plane + q];
            }
            if (dsc && !p->scale_wh) dsc[k] += (float)dk;
        }
    }
}

const layer_type scale_channels_type = {
    "scale_channels", scale_channels_keys, scale_channels_make, scale_channels_forward, scale_channels_backward,
    NULL,
};
