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
    int kh, kw, sh, sw;     /* first: the summary printer reads these four */
    int padding;
    int *rows, *cols;       /* [out_h], [out_w]: input rows / columns inside each window */
} local_avgpool;

static const char *const local_avgpool_keys[] = {
    "size", "stride", "stride_x", "stride_y", "padding", "stopbackward", "freeze", NULL,
};

static int local_avgpool_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    local_avgpool *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int size, stride;
    if (cfg_int(f, s, "size", 2, &size, e) || cfg_int(f, s, "stride", size, &stride, e) ||
        cfg_int(f, s, "stride_x", stride, &p->sw, e) || cfg_int(f, s, "stride_y", stride, &p->sh, e) ||
        cfg_int(f, s, "padding", size - 1, &p->padding, e))
        return -1;
    p->kh = p->kw = size;
    if (size < 1 || size > 64 || p->sh < 1 || p->sw < 1 || p->sh > 64 || p->sw > 64 || p->padding < 0 ||
        p->padding > 128)
        return fer_fail(e, "%s:%d: [%s] size and stride must be in 1..64 and padding in 0..128", f->path,
                        s->line, s->name);
    if (l->h + p->padding < size || l->w + p->padding < size)
        return fer_fail(e, "%s:%d: [%s] size %d is larger than the input %dx%d", f->path, s->line, s->name,
                        size, l->w, l->h);
    l->out_c = l->c;
    l->out_h = (l->h + p->padding - size) / p->sh + 1;
    l->out_w = (l->w + p->padding - size) / p->sw + 1;
    l->outputs = l->out_c * l->out_h * l->out_w;
    l->flops = (double)l->outputs * size * size;
    p->rows = malloc((size_t)l->out_h * sizeof *p->rows);
    p->cols = malloc((size_t)l->out_w * sizeof *p->cols);
    if (!p->rows || !p->cols) return fer_fail(e, "out of memory");
    int off = -p->padding / 2;
    for (int o = 0; o < l->out_h; o++) {
        int lo = o * p->sh + off, hi = lo + size;
        p->rows[o] = (hi < l->h ? hi : l->h) - (lo > 0 ? lo : 0);
        if (p->rows[o] < 0) p->rows[o] = 0;
    }
    for (int o = 0; o < l->out_w; o++) {
        int lo = o * p->sw + off, hi = lo + size;
        p->cols[o] = (hi < l->w ? hi : l->w) - (lo > 0 ? lo : 0);
        if (p->cols[o] < 0) p->cols[o] = 0;
    }
    return 0;
}

static void local_avgpool_free(layer *l)
{
    local_avgpool *p = l->priv;
    if (!p) return;
    free(p->rows);
    free(p->cols);
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
    int off = -p->padding / 2, ow = l->out_w;
    size_t iplane = (size_t)l->h * l->w, oplane = (size_t)l->out_h * ow;
    float inv[1024];   /* 1 / count per output column of the current row, in chunks */
    for (int bc = lo; bc < hi; bc++) {
        for (int oy = 0; oy < l->out_h; oy++) {
            float *o = din ? l->doutput + bc * oplane + (size_t)oy * ow : l->output + bc * oplane + (size_t)oy * ow;
            for (int c0 = 0; c0 < ow; c0 += 1024) {
                int c1 = ow - c0 < 1024 ? ow : c0 + 1024;
                for (int ox = c0; ox < c1; ox++) {
                    int n = p->rows[oy] * p->cols[ox];
                    inv[ox - c0] = n ? 1.0f / (float)n : 0.0f;
                }
                if (din) {
                    /* g = dy / count, then scattered to the window's cells */
                    float g[1024];
                    for (int ox = c0; ox < c1; ox++) g[ox - c0] = o[ox] * inv[ox - c0];
                    for (int i = 0; i < p->kh; i++) {
                        int y = oy * p->sh + off + i;
                        if (y < 0 || y >= l->h) continue;
                        float *r = din + bc * iplane + (size_t)y * l->w;
                        for (int j = 0; j < p->kw; j++) {
                            int x0 = off + j, xlo, xhi;
                            tap_range(x0 + c0 * p->sw, p->sw, l->w, c1 - c0, &xlo, &xhi);
                            float *rr = r + x0 + c0 * p->sw;
                            for (int k = xlo; k < xhi; k++) rr[k * p->sw] += g[k];
                        }
                    }
                } else {
                    for (int ox = c0; ox < c1; ox++) o[ox] = 0;
                    for (int i = 0; i < p->kh; i++) {
                        int y = oy * p->sh + off + i;
                        if (y < 0 || y >= l->h) continue;
                        const float *r = in + bc * iplane + (size_t)y * l->w;
                        for (int j = 0; j < p->kw; j++) {
                            int x0 = off + j, xlo, xhi;
                            tap_range(x0 + c0 * p->sw, p->sw, l->w, c1 - c0, &xlo, &xhi);
                            const float *rr = r + x0 + c0 * p->sw;
                            float *oo = o + c0;
                            for (int k = xlo; k < xhi; k++) oo[k] += rr[k * p->sw];
                        }
                    }
                    for (int ox = c0; ox < c1; ox++) o[ox] *= inv[ox - c0];
                }
            }
        }
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
    "local_avgpool", local_avgpool_keys, local_avgpool_make, local_avgpool_forward, local_avgpool_backward,
    local_avgpool_free,
};
