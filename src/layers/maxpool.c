/* maxpool.c - max pooling with Darknet's geometry: out = (in + padding - size)
 * / stride + 1, windows start at -padding/2, cells outside are skipped.
 * padding defaults to size-1, so size=2 stride=2 halves (rounding up) and
 * size=3 stride=1 keeps the size ('same' pooling).
 * Keys: size, stride (or stride_x/stride_y), padding. */
#include "layers.h"

#include <float.h>
#include <stdlib.h>

typedef struct maxpool {
    int kh, kw, sh, sw;     /* first: the summary printer reads these four */
    int padding;
} maxpool;

static const char *const maxpool_keys[] = {
    "size", "stride", "stride_x", "stride_y", "padding", "stopbackward", "freeze", NULL,
};

static int maxpool_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    maxpool *p = calloc(1, sizeof *p);
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
    l->out_c = l->c;
    l->out_h = (l->h + p->padding - size) / p->sh + 1;
    l->out_w = (l->w + p->padding - size) / p->sw + 1;
    if (l->h + p->padding < size || l->w + p->padding < size)
        return fer_fail(e, "%s:%d: [%s] size %d is larger than the input %dx%d", f->path, s->line, s->name,
                        size, l->w, l->h);
    l->outputs = l->out_c * l->out_h * l->out_w;
    l->extra_per_sample = (size_t)l->outputs;   /* argmax index per output, as int */
    l->flops = (double)l->outputs * size * size;
    return 0;
}

typedef struct pool_job {
    layer *l;
    const float *in;
    int nt;
} pool_job;

/* Planes (sample, channel) [lo, hi) of the forward pass. */
static void maxpool_planes(layer *l, const float *in, int lo, int hi)
{
    maxpool *p = l->priv;
    int *arg = (int *)l->extra;
    int off = -p->padding / 2;
    int oplane = l->out_h * l->out_w, iplane = l->h * l->w;
    /* 2x2 stride 2 windows that never leave the input: no bounds checks */
    int fast = p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2 && off == 0 && l->out_h * 2 <= l->h &&
               l->out_w * 2 <= l->w;
    for (int bc = lo; bc < hi; bc++) {
        const float *src = in + (size_t)bc * iplane;
        float *out = l->output + (size_t)bc * oplane;
        int *a = arg + (size_t)bc * oplane;
        if (fast) {
            int w = l->w;
            for (int oy = 0; oy < l->out_h; oy++) {
                const float *r0 = src + (size_t)(2 * oy) * w, *r1 = r0 + w;
                float *o = out + oy * l->out_w;
                int *ai = a + oy * l->out_w;
                int base = 2 * oy * w;
                /* selects instead of branches, so the compiler vectorizes;
                 * ties keep the first cell in row-major order */
                for (int ox = 0; ox < l->out_w; ox++) {
                    float v0 = r0[2 * ox], v1 = r0[2 * ox + 1], v2 = r1[2 * ox], v3 = r1[2 * ox + 1];
                    float best = v0;
                    int idx = 0;
                    idx = v1 > best ? 1 : idx;
                    best = v1 > best ? v1 : best;
                    idx = v2 > best ? w : idx;
                    best = v2 > best ? v2 : best;
                    idx = v3 > best ? w + 1 : idx;
                    best = v3 > best ? v3 : best;
                    o[ox] = best;
                    ai[ox] = base + 2 * ox + idx;
                }
            }
            continue;
        }
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                float best = -FLT_MAX;
                int bi = -1;
                for (int i = 0; i < p->kh; i++) {
                    int y = oy * p->sh + off + i;
                    if (y < 0 || y >= l->h) continue;
                    for (int j = 0; j < p->kw; j++) {
                        int x = ox * p->sw + off + j;
                        if (x < 0 || x >= l->w) continue;
                        float v = src[y * l->w + x];
                        if (v > best || bi < 0) { best = v; bi = y * l->w + x; }
                    }
                }
                out[oy * l->out_w + ox] = bi < 0 ? 0 : best;
                a[oy * l->out_w + ox] = bi;
            }
    }
}

static void maxpool_part(void *arg, int t)
{
    pool_job *j = arg;
    int lo, hi;
    split_range(j->l->batch * j->l->c, j->nt, t, &lo, &hi);
    maxpool_planes(j->l, j->in, lo, hi);
}

static void maxpool_forward(layer *l, network *net, const float *in)
{
    int nt = net->ctx->nthreads;
    if ((size_t)l->batch * l->outputs < 16384 || nt == 1) {
        maxpool_planes(l, in, 0, l->batch * l->c);
        return;
    }
    pool_job j = { l, in, nt };
    thread_pool_run(net->ctx->pool, nt, maxpool_part, &j);
}

static void maxpool_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net;
    (void)in;
    if (!din) return;
    const int *arg = (const int *)l->extra;
    int plane = l->out_h * l->out_w;
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        float *d = din + (size_t)bc * l->h * l->w;
        const float *dy = l->doutput + (size_t)bc * plane;
        const int *a = arg + (size_t)bc * plane;
        for (int i = 0; i < plane; i++)
            if (a[i] >= 0) d[a[i]] += dy[i];
    }
}

const layer_type maxpool_type = {
    "maxpool", maxpool_keys, maxpool_make, maxpool_forward, maxpool_backward, NULL,
};
