/* avgpool.c - global average pooling: [c, h, w] -> [c, 1, 1] (Darknet's
 * [avgpool] has no keys), and windowed average pooling ([local_avgpool]). */
#include "layers.h"

#include <stdlib.h>

static const char *const avgpool_keys[] = { "stopbackward", "freeze", NULL };

static int avgpool_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)f; (void)s; (void)net; (void)e;
    l->out_c = l->c;
    l->out_h = l->out_w = 1;
    l->outputs = l->c;
    l->flops = (double)l->inputs;
    return 0;
}

static void avgpool_forward(layer *l, network *net, const float *in)
{
    (void)net;
    int plane = l->h * l->w;
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        const float *p = in + (size_t)bc * plane;
        double s = 0;
        for (int i = 0; i < plane; i++) s += p[i];
        l->output[bc] = (float)(s / plane);
    }
}

static void avgpool_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    int plane = l->h * l->w;
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        float g = l->doutput[bc] / (float)plane;
        float *d = din + (size_t)bc * plane;
        for (int i = 0; i < plane; i++) d[i] += g;
    }
}

const layer_type avgpool_type = {
    "avgpool", avgpool_keys, avgpool_make, avgpool_forward, avgpool_backward, NULL,
};

/* [local_avgpool] (the name AlexeyAB's Darknet gives it): windowed average
 * pooling with [maxpool]'s geometry, out = (in + padding - size) / stride +
 * 1, windows starting at -padding/2, padding defaulting to size-1 (so
 * size=3 stride=1 keeps the size: Inception's 'same' average pools). A
 * window averages the cells inside the input only (the padding is not
 * counted, as Keras' 'same' and PyTorch's count_include_pad=False do); a
 * window entirely in the padding outputs 0.
 * Keys: size, stride (or stride_x/stride_y), padding. */
typedef struct local_avgpool {
    pool_window g;
    float *inv;             /* [out_h * out_w]: 1 / the input cells inside each window (0 for none) */
} local_avgpool;

/* The input cells of dimension n that window o covers (stride st, offset off). */
static int cells_inside(int o, int st, int off, int size, int n)
{
    int lo = o * st + off, hi = lo + size;
    int k = (hi < n ? hi : n) - (lo > 0 ? lo : 0);
    return k > 0 ? k : 0;
}

static int local_avgpool_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    local_avgpool *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    if (pool_window_make(l, f, s, &p->g, e)) return -1;
    p->inv = malloc((size_t)l->out_h * l->out_w * sizeof *p->inv);
    if (!p->inv) return fer_fail(e, "out of memory");
    int off = -p->g.padding / 2;
    for (int oy = 0; oy < l->out_h; oy++)
        for (int ox = 0; ox < l->out_w; ox++) {
            int n = cells_inside(oy, p->g.sh, off, p->g.kh, l->h) * cells_inside(ox, p->g.sw, off, p->g.kw, l->w);
            p->inv[oy * l->out_w + ox] = n ? 1.0f / (float)n : 0.0f;
        }
    return 0;
}

static void local_avgpool_free(layer *l)
{
    local_avgpool *p = l->priv;
    if (p) free(p->inv);
}

typedef struct lavg_job {
    layer *l;
    const float *in;
    float *din;
    int nt;
} lavg_job;

/* Forward (din NULL) or backward of planes (sample, channel) [lo, hi):
 * taps clipped to the input once per row (tap_range), so the inner loops
 * run without bounds checks. Backward adds dy / count to every cell of the
 * window; planes are disjoint, so threads never share a cell. */
static void lavg_planes(layer *l, const float *in, float *din, int lo, int hi)
{
    local_avgpool *p = l->priv;
    const pool_window *pw = &p->g;
    int off = -pw->padding / 2, ow = l->out_w, sw = pw->sw;
    size_t iplane = (size_t)l->h * l->w, oplane = (size_t)l->out_h * ow;
    for (int bc = lo; bc < hi; bc++)
        for (int oy = 0; oy < l->out_h; oy++) {
            const float *inv = p->inv + (size_t)oy * ow;
            float *o = (din ? l->doutput : l->output) + bc * oplane + (size_t)oy * ow;
            if (!din)
                for (int ox = 0; ox < ow; ox++) o[ox] = 0;
            for (int i = 0; i < pw->kh; i++) {
                int y = oy * pw->sh + off + i;
                if (y < 0 || y >= l->h) continue;
                size_t row = bc * iplane + (size_t)y * l->w;
                for (int j = 0; j < pw->kw; j++) {
                    int x0 = off + j, xlo, xhi;
                    tap_range(x0, sw, l->w, ow, &xlo, &xhi);
                    if (din) {
                        float *r = din + row + x0;
                        for (int ox = xlo; ox < xhi; ox++) r[ox * sw] += o[ox] * inv[ox];
                    } else {
                        const float *r = in + row + x0;
                        for (int ox = xlo; ox < xhi; ox++) o[ox] += r[ox * sw];
                    }
                }
            }
            if (!din)
                for (int ox = 0; ox < ow; ox++) o[ox] *= inv[ox];
        }
}

static void lavg_part(void *arg, int t)
{
    lavg_job *j = arg;
    int lo, hi;
    split_range(j->l->batch * j->l->c, j->nt, t, &lo, &hi);
    lavg_planes(j->l, j->in, j->din, lo, hi);
}

static void lavg_run(layer *l, network *net, const float *in, float *din)
{
    lavg_job j = { l, in, din, net->ctx ? net->ctx->nthreads : 1 };
    if ((size_t)l->batch * l->outputs < 16384) j.nt = 1;
    if (j.nt == 1) lavg_planes(l, in, din, 0, l->batch * l->c);
    else thread_pool_run(net->ctx->pool, j.nt, lavg_part, &j);
}

static void local_avgpool_forward(layer *l, network *net, const float *in) { lavg_run(l, net, in, NULL); }

static void local_avgpool_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in;
    if (din) lavg_run(l, net, NULL, din);
}

const layer_type local_avgpool_type = {
    "local_avgpool", pool_window_keys, local_avgpool_make, local_avgpool_forward, local_avgpool_backward,
    local_avgpool_free,
};
