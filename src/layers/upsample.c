/* upsample.c - Darknet's [upsample] (blas.c upsample_cpu): nearest-neighbour
 * upsampling by an integer `stride`, out[k][y][x] = scale * in[k][y/s][x/s]
 * (W*s x H*s). A negative stride is Darknet's downsample: out[k][y][x] =
 * scale * the sum of the s x s block at (y*s, x*s) (W/s x H/s; the input's
 * width and height must be multiples of s, which Darknet's indexing
 * assumes).
 *
 * Keys: stride (2), scale (1). */
#include "layers.h"

#include <stdlib.h>

static const char *const upsample_keys[] = { "stride", "scale", "stopbackward", "freeze", NULL };

typedef struct upsample {
    int s;          /* |stride| */
    int down;       /* stride < 0: sum s x s blocks */
    float scale;
} upsample;

static int upsample_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    upsample *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int stride;
    if (cfg_int(f, s, "stride", 2, &stride, e) || cfg_float(f, s, "scale", 1, &p->scale, e)) return -1;
    if (stride == 0 || stride > 64 || stride < -64)
        return fer_fail(e, "%s:%d: [%s] stride=%d: must be 1..64 (upsample) or -64..-1 (Darknet's downsample)",
                        f->path, cfg_line(s, "stride"), s->name, stride);
    p->down = stride < 0;
    p->s = p->down ? -stride : stride;
    if (p->down && (l->w % p->s || l->h % p->s))
        return fer_fail(e, "%s:%d: [%s] stride=%d: the input is %dx%d, not a multiple of %d (Darknet's downsample "
                           "indexes the input as out_w*%d wide)", f->path, cfg_line(s, "stride"), s->name, stride,
                        l->w, l->h, p->s, p->s);
    l->out_c = l->c;
    l->out_w = p->down ? l->w / p->s : l->w * p->s;
    l->out_h = p->down ? l->h / p->s : l->h * p->s;
    l->outputs = l->out_c * l->out_h * l->out_w;
    l->flops = (double)(p->down ? l->inputs : l->outputs);
    return 0;
}

/* The map between the large grid (lw x lh) and the small one (lw/s x lh/s):
 * large cell (y, x) belongs to small cell (y/s, x/s). */
static inline size_t small_of(int y, int x, int s, int sw) { return (size_t)(y / s) * sw + (size_t)(x / s); }

static void upsample_forward(layer *l, network *net, const float *in)
{
    (void)net;
    const upsample *p = l->priv;
    int lw = p->down ? l->w : l->out_w, lh = p->down ? l->h : l->out_h, sw = lw / p->s;
    size_t large = (size_t)lw * lh, small = large / ((size_t)p->s * p->s);
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        if (p->down) {
            const float *x = in + (size_t)bc * large;
            float *y = l->output + (size_t)bc * small;
            for (size_t q = 0; q < small; q++) y[q] = 0;
            for (int r = 0; r < lh; r++)
                for (int c = 0; c < lw; c++) y[small_of(r, c, p->s, sw)] += p->scale * x[(size_t)r * lw + c];
        } else {
            const float *x = in + (size_t)bc * small;
            float *y = l->output + (size_t)bc * large;
            for (int r = 0; r < lh; r++)
                for (int c = 0; c < lw; c++) y[(size_t)r * lw + c] = p->scale * x[small_of(r, c, p->s, sw)];
        }
    }
}

static void upsample_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    const upsample *p = l->priv;
    int lw = p->down ? l->w : l->out_w, lh = p->down ? l->h : l->out_h, sw = lw / p->s;
    size_t large = (size_t)lw * lh, small = large / ((size_t)p->s * p->s);
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        if (p->down) {
            const float *dy = l->doutput + (size_t)bc * small;
            float *dx = din + (size_t)bc * large;
            for (int r = 0; r < lh; r++)
                for (int c = 0; c < lw; c++) dx[(size_t)r * lw + c] += p->scale * dy[small_of(r, c, p->s, sw)];
        } else {
            const float *dy = l->doutput + (size_t)bc * large;
            float *dx = din + (size_t)bc * small;
            for (int r = 0; r < lh; r++)
                for (int c = 0; c < lw; c++) dx[small_of(r, c, p->s, sw)] += p->scale * dy[(size_t)r * lw + c];
        }
    }
}

const layer_type upsample_type = {
    "upsample", upsample_keys, upsample_make, upsample_forward, upsample_backward, NULL,
};
