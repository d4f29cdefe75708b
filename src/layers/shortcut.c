/* shortcut.c - residual addition: out = act(previous + layer[from] + ...),
 * Darknet's [shortcut].
 *
 * Keys: from (one layer or, as in AlexeyAB's Darknet, a comma list;
 * negative = relative), activation (linear), weights_type (none,
 * per_feature (alias per_layer), per_channel), weights_normalization (only
 * none: Darknet trains relu/softmax-normalized weights with an approximate
 * gradient that fer does not reproduce).
 *
 * Layers of other shapes add as in Darknet (pjreddie's shortcut_cpu, which
 * AlexeyAB's multilayer version equals when the sizes match): only the
 * first min(C, C_from) channels add, and when the sizes differ the larger
 * map is sampled with stride = W_from / W (the smaller one lands on every
 * (W / W_from)-th cell), integer ratios that must agree in width and height;
 * the overlap is the smaller map. A source of another size needs a single
 * `from` without weights. AlexeyAB's Darknet asserts equal sizes for every
 * shortcut, so only pjreddie's builds these (`fer darknet-check` says so).
 *
 * weights_type adds AlexeyAB's learned weights: out = w_0 * previous +
 * sum_i w_i * layer[from_i], one weight per input (per_feature) or per input
 * and channel (per_channel), initialized to 1, stored in the .weights file
 * as Darknet does ([n+1] or [n+1][C]). */
#include "layers.h"

#include <stdlib.h>
#include <string.h>

static const char *const shortcut_keys[] = {
    "from", "activation", "weights_type", "weights_normalization", "stopbackward", "freeze", NULL,
};

typedef enum { WEIGHTS_NONE, WEIGHTS_PER_FEATURE, WEIGHTS_PER_CHANNEL } weights_kind;

typedef struct shortcut {
    weights_kind weights;
    int wparam;        /* index of the weights param, or -1 */
} shortcut;

/* How a source of size aw x ah x ac adds into an output of ow x oh x oc:
 * source cell (k, j*stride, i*stride) adds to output cell (k, j*sample,
 * i*sample) for k < c, j < h, i < w. */
typedef struct overlap {
    int stride, sample, w, h, c;
} overlap;

static overlap overlap_of(int ow, int oh, int oc, int aw, int ah, int ac)
{
    overlap o;
    o.stride = aw / ow < 1 ? 1 : aw / ow;
    o.sample = ow / aw < 1 ? 1 : ow / aw;
    o.w = ow < aw ? ow : aw;
    o.h = oh < ah ? oh : ah;
    o.c = oc < ac ? oc : ac;
    return o;
}

static int read_weights_kind(const cfg_file *f, cfg_section *s, shortcut *p, fer_err *e)
{
    const char *t = cfg_str(s, "weights_type", "none");
    const char *norm = cfg_str(s, "weights_normalization", "none");
    if (!strcmp(t, "none")) p->weights = WEIGHTS_NONE;
    else if (!strcmp(t, "per_feature") || !strcmp(t, "per_layer")) p->weights = WEIGHTS_PER_FEATURE;
    else if (!strcmp(t, "per_channel")) p->weights = WEIGHTS_PER_CHANNEL;
    else
        return fer_fail(e, "%s:%d: [%s] weights_type=%s: expected none, per_feature (per_layer) or per_channel",
                        f->path, cfg_line(s, "weights_type"), s->name, t);
    if (!strcmp(norm, "relu") || !strcmp(norm, "avg_relu") || !strcmp(norm, "softmax"))
        return fer_fail(e, "%s:%d: [%s] weights_normalization=%s: not supported (Darknet trains normalized "
                           "shortcut weights with an approximate gradient; fer supports only none)",
                        f->path, cfg_line(s, "weights_normalization"), s->name, norm);
    if (strcmp(norm, "none"))
        return fer_fail(e, "%s:%d: [%s] weights_normalization=%s: expected none (relu and softmax are not supported)",
                        f->path, cfg_line(s, "weights_normalization"), s->name, norm);
    return 0;
}

/* Checks that source `src` (reference `ref` in the cfg) can add into l. */
static int check_source(const layer *l, const layer *src, int ref, int single, const shortcut *p,
                        const cfg_file *f, cfg_section *s, fer_err *e)
{
    if (src->out_w == l->w && src->out_h == l->h) return 0;
    int line = cfg_line(s, "from");
    if (!single || p->weights != WEIGHTS_NONE)
        return fer_fail(e, "%s:%d: [%s] from=%d: layer %d outputs %dx%dx%d but the previous layer outputs %dx%dx%d; "
                           "with several layers or weights, Darknet needs each to have the previous layer's width "
                           "and height", f->path, line, s->name, ref, src->index, src->out_w, src->out_h, src->out_c,
                        l->w, l->h, l->c);
    /* Darknet asserts that the ratios agree: w_from/w == h_from/h and w/w_from == h/h_from */
    overlap across = overlap_of(l->w, l->h, l->c, src->out_w, src->out_h, src->out_c);
    overlap down = overlap_of(l->h, l->w, l->c, src->out_h, src->out_w, src->out_c);
    if (across.stride != down.stride || across.sample != down.sample)
        return fer_fail(e, "%s:%d: [%s] from=%d: layer %d outputs %dx%dx%d but the previous layer outputs %dx%dx%d; "
                           "Darknet adds maps of other sizes only when width and height scale by the same integer "
                           "factor", f->path, line, s->name, ref, src->index, src->out_w, src->out_h, src->out_c,
                        l->w, l->h, l->c);
    return 0;
}

static int shortcut_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    shortcut *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    p->wparam = -1;
    int refs[FER_MAX_SOURCES], n;
    if (!cfg_has(s, "from"))
        return fer_fail(e, "%s:%d: [%s] needs the key 'from'", f->path, s->line, s->name);
    if (cfg_int_list(f, s, "from", refs, FER_MAX_SOURCES - 1, &n, e) || read_weights_kind(f, s, p, e)) return -1;
    l->n_sources = n;
    for (int i = 0; i < n; i++) {
        if (layer_ref(refs[i], l->index, f, s, "from", &l->sources[i], e)) return -1;
        if (check_source(l, &net->layers[l->sources[i]], refs[i], n == 1, p, f, s, e)) return -1;
    }
    l->out_c = l->c;
    l->out_h = l->h;
    l->out_w = l->w;
    l->outputs = l->inputs;
    if (p->weights != WEIGHTS_NONE) {
        size_t nw = (size_t)(n + 1) * (p->weights == WEIGHTS_PER_CHANNEL ? (size_t)l->c : 1);
        if (!layer_add_param(l, "weights", nw, 1, 0, INIT_ONE, 0, e)) return -1;
        p->wparam = l->n_params - 1;
    }
    if (layer_read_activation(l, f, s, "linear", e)) return -1;
    /* pre-activation sum and its gradient */
    l->extra_per_sample = l->act != ACT_LINEAR ? 2 * (size_t)l->outputs : 0;
    l->flops = (double)l->outputs * n * (p->weights != WEIGHTS_NONE ? 2 : 1);
    return 0;
}

/* The weight of input i (0 = the previous layer) for channel k; 1 without weights. */
static float weight_of(const layer *l, const shortcut *p, int i, int k)
{
    if (p->wparam < 0) return 1.0f;
    const float *w = l->params[p->wparam].data;
    return p->weights == WEIGHTS_PER_CHANNEL ? w[i * l->c + k] : w[i];
}

static float *weight_grad(const layer *l, const shortcut *p, int i, int k)
{
    float *g = l->params[p->wparam].grad;
    return p->weights == WEIGHTS_PER_CHANNEL ? &g[i * l->c + k] : &g[i];
}

static int same_shape(const layer *l, const layer *src)
{
    return src->out_w == l->w && src->out_h == l->h && src->out_c == l->c;
}

/* out[k] += w(k) * the overlapping cells of add, for one sample. */
static void add_source(float *out, const float *add, const layer *l, const layer *src, const shortcut *p, int i)
{
    if (p->wparam < 0 && same_shape(l, src)) {
        for (int q = 0; q < l->outputs; q++) out[q] += add[q];
        return;
    }
    overlap o = overlap_of(l->w, l->h, l->c, src->out_w, src->out_h, src->out_c);
    for (int k = 0; k < o.c; k++) {
        float w = weight_of(l, p, i, k);
        const float *a = add + (size_t)k * src->out_h * src->out_w;
        float *y = out + (size_t)k * l->h * l->w;
        for (int j = 0; j < o.h; j++)
            for (int x = 0; x < o.w; x++)
                y[(size_t)j * o.sample * l->w + (size_t)x * o.sample] +=
                    w * a[(size_t)j * o.stride * src->out_w + (size_t)x * o.stride];
    }
}

static void shortcut_forward(layer *l, network *net, const float *in)
{
    const shortcut *p = l->priv;
    size_t plane = (size_t)l->h * l->w;
    float *pre = l->act != ACT_LINEAR ? l->extra : l->output;
    for (int b = 0; b < l->batch; b++) {
        float *y = pre + (size_t)b * l->outputs;
        const float *x = in + (size_t)b * l->inputs;
        if (p->wparam < 0) {
            memcpy(y, x, (size_t)l->outputs * sizeof *y);
        } else {
            for (int k = 0; k < l->c; k++) {
                float w = weight_of(l, p, 0, k);
                for (size_t q = 0; q < plane; q++) y[k * plane + q] = w * x[k * plane + q];
            }
        }
        for (int i = 0; i < l->n_sources; i++) {
            const layer *src = &net->layers[l->sources[i]];
            add_source(y, src->output + (size_t)b * src->outputs, l, src, p, i + 1);
        }
    }
    if (l->act != ACT_LINEAR) {
        int pi = layer_prelu_param(l);
        activation_forward(l->act, l->output, pre, l->batch, l->out_c, l->out_h * l->out_w,
                           pi >= 0 ? l->params[pi].data : NULL);
    }
}

/* One source's share of the backward pass for one sample: its gradient
 * (dadd, NULL under stopbackward) and its weights' gradient. */
static void source_backward(layer *l, const shortcut *p, const float *dy, const layer *src, float *dadd,
                            const float *add, int i)
{
    if (p->wparam < 0 && same_shape(l, src)) {
        if (dadd)
            for (int q = 0; q < l->outputs; q++) dadd[q] += dy[q];
        return;
    }
    overlap o = overlap_of(l->w, l->h, l->c, src->out_w, src->out_h, src->out_c);
    for (int k = 0; k < o.c; k++) {
        float w = weight_of(l, p, i, k);
        const float *g = dy + (size_t)k * l->h * l->w;
        size_t base = (size_t)k * src->out_h * src->out_w;
        double dw = 0;
        for (int j = 0; j < o.h; j++)
            for (int x = 0; x < o.w; x++) {
                float d = g[(size_t)j * o.sample * l->w + (size_t)x * o.sample];
                size_t at = base + (size_t)j * o.stride * src->out_w + (size_t)x * o.stride;
                if (dadd) dadd[at] += w * d;
                dw += (double)d * add[at];
            }
        if (p->wparam >= 0) *weight_grad(l, p, i, k) += (float)dw;
    }
}

/* The previous layer's share: din += w_0 * dy, and w_0's gradient. */
static void input_backward(layer *l, const shortcut *p, const float *dy, const float *x, float *din)
{
    if (p->wparam < 0) {
        if (din)
            for (int q = 0; q < l->outputs; q++) din[q] += dy[q];
        return;
    }
    size_t plane = (size_t)l->h * l->w;
    for (int k = 0; k < l->c; k++) {
        float w = weight_of(l, p, 0, k);
        double dw = 0;
        for (size_t q = 0; q < plane; q++) {
            if (din) din[k * plane + q] += w * dy[k * plane + q];
            dw += (double)dy[k * plane + q] * x[k * plane + q];
        }
        *weight_grad(l, p, 0, k) += (float)dw;
    }
}

static void shortcut_backward(layer *l, network *net, const float *in, float *din)
{
    const shortcut *p = l->priv;
    const float *dpre = layer_act_dpre(l);
    for (int b = 0; b < l->batch; b++) {
        const float *dy = dpre + (size_t)b * l->outputs;
        input_backward(l, p, dy, in + (size_t)b * l->inputs, din ? din + (size_t)b * l->inputs : NULL);
        for (int i = 0; i < l->n_sources; i++) {
            layer *src = &net->layers[l->sources[i]];
            float *dadd = l->stopbackward ? NULL : src->doutput + (size_t)b * src->outputs;
            source_backward(l, p, dy, src, dadd, src->output + (size_t)b * src->outputs, i + 1);
        }
    }
}

const layer_type shortcut_type = {
    "shortcut", shortcut_keys, shortcut_make, shortcut_forward, shortcut_backward, NULL,
};
