/* maxpool.c - max pooling with Darknet's geometry: out = (in + padding - size)
 * / stride + 1, windows start at -padding/2, cells outside are skipped.
 * padding defaults to size-1, so size=2 stride=2 halves (rounding up) and
 * size=3 stride=1 keeps the size ('same' pooling).
 * Keys: size, stride (or stride_x/stride_y), padding. */
#include "layers.h"

#include <math.h>
#include <stdlib.h>

typedef pool_window maxpool;

const char *const pool_window_keys[] = {
    "size", "stride", "stride_x", "stride_y", "padding", "stopbackward", "freeze", NULL,
};

int pool_window_make(layer *l, const cfg_file *f, cfg_section *s, pool_window *p, fer_err *e)
{
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
    l->window = (layer_window){ p->kh, p->kw, p->sh, p->sw, 0 };
    return 0;
}

static int maxpool_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    maxpool *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    if (pool_window_make(l, f, s, p, e)) return -1;
    l->extra_per_sample = (size_t)l->outputs;   /* argmax index per output, as int */
    return 0;
}

typedef struct pool_job {
    layer *l;
    const float *in;
    int nt;
} pool_job;

/* One window cell for outputs [lo, hi): r[ox*sw] against the running max. */
#define POOL_TAP(SW)                                                                                   \
    for (int ox = lo; ox < hi; ox++) {                                                                 \
        float v = r[ox * (SW)], m = o[ox];                                                             \
        int msk = -(v > m); /* a mask, not a branch */                                                 \
        ai[ox] = (ai[ox] & ~msk) | ((base + ox * (SW)) & msk);                                         \
        o[ox] = v > m ? v : m;                                                                         \
    }

static void pool_tap(const float *restrict r, int base, int sw, int lo, int hi, float *restrict o,
                     int *restrict ai)
{
    if (sw == 1) POOL_TAP(1)          /* constant strides vectorize */
    else if (sw == 2) POOL_TAP(2)
    else POOL_TAP(sw)
}

/* One output row of a 2x2/2 pool whose windows lie inside the input: masks
 * and selects instead of branches, so the compiler vectorizes; ties keep
 * the first cell in row-major order. */
static void pool_2x2_row(const float *restrict r0, const float *restrict r1, int w, int base, int ow,
                         float *restrict o, int *restrict ai)
{
    for (int ox = 0; ox < ow; ox++) {
        float v0 = r0[2 * ox], v1 = r0[2 * ox + 1], v2 = r1[2 * ox], v3 = r1[2 * ox + 1];
        int m1 = -(v1 > v0);
        float b = v1 > v0 ? v1 : v0;
        int idx = m1 & 1;
        int m2 = -(v2 > b);
        b = v2 > b ? v2 : b;
        idx = (idx & ~m2) | (w & m2);
        int m3 = -(v3 > b);
        b = v3 > b ? v3 : b;
        idx = (idx & ~m3) | ((w + 1) & m3);
        o[ox] = b;
        ai[ox] = base + 2 * ox + idx;
    }
}

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
                pool_2x2_row(r0, r1, w, base, l->out_w, o, ai);
            }
            continue;
        }
        int ow = l->out_w;
        for (int oy = 0; oy < l->out_h; oy++) {
            float *o = out + oy * ow;
            int *ai = a + oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                o[ox] = -INFINITY;
                ai[ox] = -1;
            }
            /* taps in row-major order, each over the outputs whose window
             * cell is inside the input: the inner loop has no bounds checks
             * and only selects, so it vectorizes (random data would
             * mispredict branches); strict > keeps the first maximum.
             * A window of only -inf or NaN outputs 0 and passes no gradient,
             * like a window entirely in the padding. */
            for (int i = 0; i < p->kh; i++) {
                int y = oy * p->sh + off + i;
                if (y < 0 || y >= l->h) continue;
                const float *r = src + y * l->w;
                for (int j = 0; j < p->kw; j++) {
                    int x0 = off + j, xlo, xhi;
                    tap_range(x0, p->sw, l->w, ow, &xlo, &xhi);
                    pool_tap(r + x0, y * l->w + x0, p->sw, xlo, xhi, o, ai);
                }
            }
            for (int ox = 0; ox < ow; ox++)
                if (ai[ox] < 0) o[ox] = 0;
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

typedef struct pool_back_job {
    layer *l;
    float *din;
    int nt;
} pool_back_job;

/* Scatters the output gradient of planes (sample, channel) [lo, hi) of
 * thread t's share to their argmax inputs: planes are disjoint. */
static void pool_back_part(void *arg, int t)
{
    const pool_back_job *j = arg;
    layer *l = j->l;
    const int *arg_max = (const int *)l->extra;
    int plane = l->out_h * l->out_w, lo, hi;
    split_range(l->batch * l->c, j->nt, t, &lo, &hi);
    for (int bc = lo; bc < hi; bc++) {
        float *d = j->din + (size_t)bc * l->h * l->w;
        const float *dy = l->doutput + (size_t)bc * plane;
        const int *a = arg_max + (size_t)bc * plane;
        for (int i = 0; i < plane; i++)
            if (a[i] >= 0) d[a[i]] += dy[i];
    }
}

static void maxpool_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in;
    if (!din) return;
    pool_back_job j = { l, din, net->ctx->nthreads };
    if ((size_t)l->batch * l->outputs < 16384) j.nt = 1;
    if (j.nt == 1) pool_back_part(&j, 0);
    else thread_pool_run(net->ctx->pool, j.nt, pool_back_part, &j);
}

const layer_type maxpool_type = {
    "maxpool", pool_window_keys, maxpool_make, maxpool_forward, maxpool_backward, NULL,
};
