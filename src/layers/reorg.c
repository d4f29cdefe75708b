/* reorg.c - AlexeyAB Darknet's two space-to-depth layers, both a fixed
 * permutation of each sample's values, computed exactly as Darknet's
 * reorg_cpu indexes them (so weights trained in Darknet see the same
 * layout):
 *
 * reorg_cpu(x, W, H, C, stride s, forward, out) walks k < C, j < H, i < W
 * with C' = C / s^2 and o = k / C', and pairs
 *   a = i + W * (j + H * k)                                   ([C, H, W] view)
 *   z = (i*s + o % s) + W*s * ((j*s + o / s) + H*s * (k % C')) ([C', H*s, W*s] view)
 * forward=0: out[a] = x[z]; forward=1: out[z] = x[a].
 *
 * [reorg] (AlexeyAB's reorg_old_layer.c, which is pjreddie's reorg): calls it
 * with the INPUT's W, H, C. Without reverse that is forward=0 and the output
 * is declared (W/s) x (H/s) x (C*s^2): the famous oddity that the values are
 * not the natural space-to-depth, the next layer reads Darknet's layout as
 * is. With reverse=1, forward=1 and the output is (W*s) x (H*s) x (C/s^2).
 * [reorg3d] (AlexeyAB's reorg_layer.c): calls it with the OUTPUT's W, H, C:
 * without reverse the natural space-to-depth (out channel k takes input
 * channel k % C at offset k / C in the s x s block); with reverse=1 the
 * output is (W*s) x (H*s) x (C/s^2), indexed with C' = C/s^4 as Darknet
 * does.
 *
 * Both need the sizes that make the map a permutation (Darknet reads out of
 * bounds otherwise): the reorg's C divisible by s^2, and W and H divisible
 * by s when shrinking. Keys: stride (1), reverse (0). */
#include "layers.h"

#include <stdlib.h>

static const char *const reorg_keys[] = { "stride", "reverse", "stopbackward", "freeze", NULL };

typedef struct reorg {
    int s, forward;     /* reorg_cpu's stride and direction */
    int w, h, c;        /* the dimensions reorg_cpu is called with */
} reorg;

/* The z of Darknet's reorg_cpu for a = i + w*(j + h*k) (see the top). */
static inline size_t reorg_z(const reorg *r, int i, int j, int k)
{
    int cs = r->c / (r->s * r->s), o = k / cs;
    return (size_t)(i * r->s + o % r->s) +
           (size_t)r->w * r->s * ((size_t)(j * r->s + o / r->s) + (size_t)r->h * r->s * (size_t)(k % cs));
}

/* out = the permutation of x (forward pass), or dx += its inverse applied to
 * dy (backward pass), one sample of w*h*c values. */
static void reorg_sample(const reorg *r, const float *x, float *out, int backward)
{
    size_t a = 0;
    for (int k = 0; k < r->c; k++)
        for (int j = 0; j < r->h; j++)
            for (int i = 0; i < r->w; i++, a++) {
                size_t z = reorg_z(r, i, j, k);
                size_t to = r->forward ? z : a, from = r->forward ? a : z;
                if (backward) out[from] += x[to];
                else out[to] = x[from];
            }
}

/* Reads the keys and sets l's output shape. is3d: [reorg3d]. */
static int reorg_setup(layer *l, const cfg_file *f, cfg_section *s, int is3d, fer_err *e)
{
    reorg *r = calloc(1, sizeof *r);
    if (!r) return fer_fail(e, "out of memory");
    l->priv = r;
    int reverse;
    if (cfg_int(f, s, "stride", 1, &r->s, e) || cfg_int(f, s, "reverse", 0, &reverse, e)) return -1;
    if (r->s < 1 || r->s > 64)
        return fer_fail(e, "%s:%d: [%s] stride=%d: must be 1..64", f->path, cfg_line(s, "stride"), s->name, r->s);
    int s2 = r->s * r->s;
    if (!reverse && (l->w % r->s || l->h % r->s))
        return fer_fail(e, "%s:%d: [%s] stride=%d: the input is %dx%d, not a multiple of %d (Darknet would read "
                           "outside it)", f->path, cfg_line(s, "stride"), s->name, r->s, l->w, l->h, r->s);
    l->out_w = reverse ? l->w * r->s : l->w / r->s;
    l->out_h = reverse ? l->h * r->s : l->h / r->s;
    l->out_c = reverse ? l->c / s2 : l->c * s2;
    r->forward = reverse;
    r->w = is3d ? l->out_w : l->w;
    r->h = is3d ? l->out_h : l->h;
    r->c = is3d ? l->out_c : l->c;
    if ((reverse && l->c % s2) || r->c % s2 || r->c < s2)
        return fer_fail(e, "%s:%d: [%s] stride=%d%s: %d channels; Darknet's indexing needs a multiple of %d here "
                           "(it would read outside the input otherwise)", f->path, cfg_line(s, "stride"), s->name,
                        r->s, reverse ? " reverse=1" : "", l->c, is3d && reverse ? s2 * s2 : s2);
    l->outputs = l->out_c * l->out_h * l->out_w;
    return 0;
}

static int reorg_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    return reorg_setup(l, f, s, 0, e);
}

static int reorg3d_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    return reorg_setup(l, f, s, 1, e);
}

static void reorg_forward(layer *l, network *net, const float *in)
{
    (void)net;
    for (int b = 0; b < l->batch; b++)
        reorg_sample(l->priv, in + (size_t)b * l->inputs, l->output + (size_t)b * l->outputs, 0);
}

static void reorg_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    for (int b = 0; b < l->batch; b++)
        reorg_sample(l->priv, l->doutput + (size_t)b * l->outputs, din + (size_t)b * l->inputs, 1);
}

const layer_type reorg_type = {
    "reorg", reorg_keys, reorg_make, reorg_forward, reorg_backward, NULL,
};

const layer_type reorg3d_type = {
    "reorg3d", reorg_keys, reorg3d_make, reorg_forward, reorg_backward, NULL,
};
