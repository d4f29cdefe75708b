/* conv_winograd.c - the Winograd path of [convolutional] (see
 * conv_winograd.h): buffer sizes, the filter transforms U and their packed
 * copies, the batched passes over a thread's samples, and batch-1 inference
 * in three phases shared by the threads.
 *
 * A thread's workspace slice starts with its Winograd scratch: the bordered
 * planes (winograd_plane_floats), then V and M (or, for the kernel gradient,
 * V and the output gradient's transform), then the kernel gradient's
 * transform W [16][out_c][blocks * c]. */
#include "conv_winograd.h"

#include <string.h>

#define WINO_MIN_CHANNELS 8
/* Samples per Winograd GEMM block: about WINO_TILES 2x2 tiles (9 panels of
 * the bf16 GEMM's 32 columns), but one sample from half that up (measured
 * on shallow.cfg, bf16: its 12x12 and 6x6 outputs gain ~8% per pass at 288
 * tiles over 252, its 24x24 outputs lose ~5% at 288 over 144). */
#define WINO_TILES 288
/* Single-sample inference of a Winograd shape with at least
 * WINO_SERIAL_TILES tiles: the threads share each sample in three phases,
 * the input transform by channels, the 16 GEMMs by transform index, the
 * output transform by filters (V and M in thread 0's slice), with U kept
 * while the weights stay. Fewer tiles (a 6x6 output has 9) would read U,
 * 16/9 times the weights per block, for too little work. */
#define WINO_SERIAL_TILES 64

/* ---- sizes --------------------------------------------------------------- */

/* Tiles per sample of the forward pass (output grid) and of the input
 * gradient (input grid); the larger sizes the buffers. */
static int wino_tiles(const layer *l)
{
    int fw = ((l->out_h + 1) / 2) * ((l->out_w + 1) / 2), bw = ((l->h + 1) / 2) * ((l->w + 1) / 2);
    return fw > bw ? fw : bw;
}

/* U for the forward pass and, with several blocks, a second copy in the
 * input gradient's layout (see wino_u). */
static size_t wino_u_floats(const conv_wino *w, const layer *l)
{
    int blocks = w->wbh * w->wbw;
    return (size_t)16 * blocks * l->c * l->out_c * (blocks > 1 ? 2 : 1);
}

static size_t wino_plane(const conv_wino *w, const layer *l)
{
    size_t a = winograd_plane_floats((l->out_h + 1) / 2, (l->out_w + 1) / 2, w->cs);
    size_t b = winograd_plane_floats((l->h + 1) / 2, (l->w + 1) / 2, w->cs);
    return ((a > b ? a : b) + 15) & ~(size_t)15;
}

/* Rows of V (the blocks' inputs stacked) plus rows of M (or of the output
 * gradient's transform) of the largest pass. */
static size_t wino_rows(const conv_wino *w, const layer *l)
{
    size_t b = (size_t)w->wbh * w->wbw, fw = b * l->c + l->out_c, bw = b * l->out_c + l->c;
    return fw > bw ? fw : bw;
}

size_t conv_wino_workspace(const conv_wino *w, const layer *l)
{
    if (!w->on) return 0;
    return wino_plane(w, l) + (size_t)16 * wino_rows(w, l) * w->cs * wino_tiles(l) +
           (size_t)16 * w->wbh * w->wbw * l->c * l->out_c;
}

void conv_wino_make(conv_wino *w, layer *l, int kh, int kw, int sh, int sw, int ph, int pw, int groups)
{
    w->kh = kh;
    w->kw = kw;
    w->ph = ph;
    w->pw = pw;
    /* padding below the kernel size: the input gradient is then a
     * convolution with padding size - 1 - pad */
    w->on = kh >= 3 && kh <= 6 && kw >= 3 && kw <= 6 && sh == 1 && sw == 1 && groups == 1 && ph < kh && pw < kw &&
            l->c >= WINO_MIN_CHANNELS && l->out_c >= WINO_MIN_CHANNELS;
    if (!w->on) return;
    int tiles = wino_tiles(l);
    w->cs = 2 * tiles >= WINO_TILES ? 1 : WINO_TILES / tiles;
    w->wbh = winograd_blocks(kh);
    w->wbw = winograd_blocks(kw);
    l->extra_fixed += wino_u_floats(w, l);   /* U, after the affine tail's part */
}

void conv_wino_free(conv_wino *w)
{
    fer_free(w->upack[0]);
    fer_free(w->upack[1]);
}

/* ---- the filter transforms ----------------------------------------------- */

/* The transformed filters at the end of the layer's extra: for the
 * forward pass U [16][out_c][blocks * c] (block b's filters at columns
 * b * c..: one GEMM sums the blocks); for the input gradient, the same
 * values as [16][blocks * out_c][c] (block b at rows b * out_c..: one
 * transposed GEMM), which for a single block is U itself. */
static float *wino_u(const conv_wino *w, const layer *l, int grad)
{
    float *u = l->extra + (size_t)l->batch * l->extra_per_sample + l->extra_fixed - wino_u_floats(w, l);
    return grad && w->wbh * w->wbw > 1 ? u + (size_t)16 * w->wbh * w->wbw * l->c * l->out_c : u;
}

/* Padding of block (bh, bw)'s input: the layer's input shifted to the
 * block's anchor, or for the input gradient dz shifted to the rotated
 * filter's block (winograd.c). */
static void wino_pads(const conv_wino *w, int grad, int bh, int bw, int *ph, int *pw)
{
    *ph = grad ? w->kh - 1 - w->ph - 3 * bh : w->ph - winograd_anchor(w->kh, bh);
    *pw = grad ? w->kw - 1 - w->pw - 3 * bw : w->pw - winograd_anchor(w->kw, bw);
}

typedef struct wino_filters_job {
    const conv_wino *w;
    const layer *l;
    const float *weights;
    int nt, grad;
} wino_filters_job;

static void wino_filters_part(void *arg, int t)
{
    const wino_filters_job *j = arg;
    const conv_wino *w = j->w;
    const layer *l = j->l;
    int lo, hi, blocks = w->wbh * w->wbw;
    split_range(l->out_c, j->nt, t, &lo, &hi);
    for (int b = 0; b < blocks; b++) {
        float *u = wino_u(w, l, j->grad);
        size_t ldu = (size_t)blocks * l->c, uplane = (size_t)l->out_c * blocks * l->c;
        if (j->grad) {
            u += (size_t)b * l->out_c * l->c;
            ldu = (size_t)l->c;
        } else {
            u += (size_t)b * l->c;
        }
        winograd_filters(j->weights, l->c, w->kh, w->kw, winograd_anchor(w->kh, b / w->wbw),
                         winograd_anchor(w->kw, b % w->wbw), lo, hi, u, ldu, uplane);
    }
}

/* Rows and depth of the GEMM's A for U_xi: the forward pass multiplies
 * [out_c][blocks * c], the input gradient [c][blocks * out_c]. */
static void wino_a_shape(const conv_wino *w, const layer *l, int grad, int *rows, int *K)
{
    int blocks = w->wbh * w->wbw;
    *rows = grad ? l->c : l->out_c;
    *K = blocks * (grad ? l->out_c : l->c);
}

/* The packed U_xi of a pass, or NULL (no packing GEMM, out of memory). */
static const float *wino_upack(const conv_wino *w, const layer *l, const kernel_table *k, int grad, int x)
{
    if (!w->upacked[grad] || !k->gemm_pre || w->upack_by != k->gemm_pack) return NULL;
    int rows, K;
    wino_a_shape(w, l, grad, &rows, &K);
    return w->upack[grad] + (size_t)x * k->gemm_pack_floats(GEMM_SIDE_A, rows, K);
}

typedef struct wino_pack_job {
    conv_wino *w;
    const layer *l;
    const kernel_table *k;
    int nt, grad;
} wino_pack_job;

static void wino_pack_part(void *arg, int t)
{
    const wino_pack_job *j = arg;
    int lo, hi, rows, K;
    split_range(16, j->nt, t, &lo, &hi);
    wino_a_shape(j->w, j->l, j->grad, &rows, &K);
    size_t pf = j->k->gemm_pack_floats(GEMM_SIDE_A, rows, K), uplane = (size_t)rows * K;
    const float *U = wino_u(j->w, j->l, j->grad);
    for (int x = lo; x < hi; x++)   /* forward: A = U_x; gradient: A^T, A = Ug_x [K][c] */
        j->k->gemm_pack(GEMM_SIDE_A, j->grad, rows, K, U + (size_t)x * uplane, j->grad ? rows : K,
                        j->w->upack[j->grad] + (size_t)x * pf);
}

/* Packs the 16 U_xi of a pass for a GEMM that has packing. */
static void wino_pack(conv_wino *w, const layer *l, network *net, int grad)
{
    const kernel_table *k = &net->ctx->k;
    w->upacked[grad] = 0;
    w->upack_by = k->gemm_pack;
    if (!k->gemm_pre) return;
    int rows, K;
    wino_a_shape(w, l, grad, &rows, &K);
    size_t need = 16 * k->gemm_pack_floats(GEMM_SIDE_A, rows, K);
    if (w->upack_floats[grad] != need) {
        fer_free(w->upack[grad]);
        w->upack[grad] = fer_alloc(need, sizeof(float), NULL);
        w->upack_floats[grad] = w->upack[grad] ? need : 0;
        if (!w->upack[grad]) return;
    }
    wino_pack_job j = { w, l, k, net->ctx->nthreads, grad };
    if (j.nt == 1) wino_pack_part(&j, 0);
    else thread_pool_run(net->ctx->pool, j.nt, wino_pack_part, &j);
    w->upacked[grad] = 1;
}

/* The forward pass makes U; the input gradient reuses it, or with several
 * blocks (grad) transforms the weights again in its layout. */
void conv_wino_prepare(conv_wino *w, layer *l, network *net, const float *weights, int folded, int grad)
{
    /* without gradients (inference), U is kept while the weights stay */
    int keep = !grad && !net->grads_enabled;
    if (keep && w->u_valid && w->u_version == net->weights_version && w->u_folded == folded &&
        w->upack_by == net->ctx->k.gemm_pack)
        return;
    if (!grad || w->wbh * w->wbw > 1) {
        wino_filters_job j = { w, l, weights, net->ctx->nthreads, grad };
        if (j.nt == 1) wino_filters_part(&j, 0);
        else thread_pool_run(net->ctx->pool, j.nt, wino_filters_part, &j);
    }
    wino_pack(w, l, net, grad);
    if (!grad) {
        w->u_valid = keep;
        w->u_version = net->weights_version;
        w->u_folded = folded;
    }
}

/* ---- batch-1 inference, shared by the threads ---------------------------- */

typedef struct wino_one_job {
    const conv_wino *w;
    const layer *l;
    const network *net;
    const float *in;     /* [batch, c, h, w] */
    float *z;            /* [batch, out_c, out_h, out_w] */
    int b, phase;        /* the sample, the phase (0: V, 1: the GEMMs, 2: the output) */
} wino_one_job;

static void wino_one_part(void *arg, int t)
{
    const wino_one_job *j = arg;
    const conv_wino *w = j->w;
    const layer *l = j->l;
    const network *net = j->net;
    int nt = net->ctx->nthreads, blocks = w->wbh * w->wbw, lo, hi;
    int th = (l->out_h + 1) / 2, tw = (l->out_w + 1) / 2;
    size_t T = (size_t)th * tw, uplane = (size_t)l->out_c * blocks * l->c;
    float *V = net->workspace + wino_plane(w, l), *Mt = V + (size_t)16 * blocks * l->c * T;
    if (j->phase == 0) {   /* V rows of channels [lo, hi) of every block */
        split_range(l->c, nt, t, &lo, &hi);
        float *plane = net->workspace + (size_t)t * net->workspace_per_thread;
        for (int b = 0; b < blocks && hi > lo; b++) {
            int ph, pw;
            wino_pads(w, 0, b / w->wbw, b % w->wbw, &ph, &pw);
            winograd_input(j->in + (size_t)j->b * l->inputs + (size_t)lo * l->h * l->w, (size_t)l->inputs, 1,
                           hi - lo, l->h, l->w, ph, pw, th, tw, plane, V + ((size_t)b * l->c + lo) * T, T,
                           (size_t)blocks * l->c * T);
        }
    } else if (j->phase == 1) {
        split_range(16, nt, t, &lo, &hi);
        const float *U = wino_u(w, l, 0);
        const kernel_table *k = &net->ctx->k;
        for (int x = lo; x < hi; x++) {
            const float *pu = wino_upack(w, l, k, 0, x), *vx = V + (size_t)x * blocks * l->c * T;
            float *mx = Mt + (size_t)x * l->out_c * T;
            if (pu) k->gemm_pre(0, 0, l->out_c, (int)T, blocks * l->c, 1.0f, NULL, 0, pu, vx, (int)T, NULL, 0.0f, mx, (int)T);
            else k->gemm(0, 0, l->out_c, (int)T, blocks * l->c, 1.0f, U + (size_t)x * uplane, blocks * l->c, vx,
                         (int)T, 0.0f, mx, (int)T);
        }
    } else {
        split_range(l->out_c, nt, t, &lo, &hi);
        if (hi > lo)
            winograd_output(Mt + (size_t)lo * T, hi - lo, T, (size_t)l->out_c * T, 1, th, tw, l->out_h, l->out_w, 0,
                            j->z + (size_t)j->b * l->outputs + (size_t)lo * l->out_h * l->out_w,
                            (size_t)l->outputs);
    }
}

int conv_wino_serial(const conv_wino *w, const layer *l, const network *net)
{
    int tiles = ((l->out_h + 1) / 2) * ((l->out_w + 1) / 2);
    return w->on && !net->grads_enabled && net->ctx->nthreads > 1 && tiles >= WINO_SERIAL_TILES;
}

void conv_wino_forward_serial(conv_wino *w, layer *l, network *net, const float *in, const float *weights, int folded,
                              float *z)
{
    conv_wino_prepare(w, l, net, weights, folded, 0);
    for (int b = 0; b < l->batch; b++)
        for (int phase = 0; phase < 3; phase++) {
            wino_one_job j = { w, l, net, in, z, b, phase };
            thread_pool_run(net->ctx->pool, net->ctx->nthreads, wino_one_part, &j);
        }
}

/* ---- the batched passes -------------------------------------------------- */

/* V [16][blocks * cin][T] of cnt samples from src: each block's shifted
 * input at rows b * cin. */
static void wino_inputs(const conv_wino *w, int grad, const float *src, size_t isz, int cnt, int cin, int ih, int iw,
                        int th, int tw, float *plane, float *V, size_t T)
{
    int blocks = w->wbh * w->wbw;
    for (int b = 0; b < blocks; b++) {
        int ph, pw;
        wino_pads(w, grad, b / w->wbw, b % w->wbw, &ph, &pw);
        winograd_input(src, isz, cnt, cin, ih, iw, ph, pw, th, tw, plane, V + (size_t)b * cin * T, T,
                       (size_t)blocks * cin * T);
    }
}

void conv_wino_range(const conv_wino *w, const layer *l, const network *net, int t, int lo, int hi, int grad,
                     const float *src, float *dst)
{
    float *plane = net->workspace + (size_t)t * net->workspace_per_thread;
    int cin = grad ? l->out_c : l->c, cout = grad ? l->c : l->out_c;
    int ih = grad ? l->out_h : l->h, iw = grad ? l->out_w : l->w;
    int oh = grad ? l->h : l->out_h, ow = grad ? l->w : l->out_w;
    int th = (oh + 1) / 2, tw = (ow + 1) / 2, tiles = th * tw, blocks = w->wbh * w->wbw;
    size_t isz = (size_t)cin * ih * iw, osz = (size_t)cout * oh * ow;
    size_t uplane = (size_t)l->out_c * blocks * l->c;   /* U [16][out_c][blocks * c] or [16][blocks * out_c][c] */
    const float *U = wino_u(w, l, grad);
    const kernel_table *k = &net->ctx->k;
    for (int b0 = lo; b0 < hi; b0 += w->cs) {
        int cnt = hi - b0 < w->cs ? hi - b0 : w->cs;
        size_t T = (size_t)cnt * tiles;
        float *V = plane + wino_plane(w, l), *Mt = V + (size_t)16 * blocks * cin * T;
        wino_inputs(w, grad, src + (size_t)b0 * isz, isz, cnt, cin, ih, iw, th, tw, plane, V, T);
        for (int x = 0; x < 16; x++) {
            float *mx = Mt + (size_t)x * cout * T;
            const float *vx = V + (size_t)x * blocks * cin * T;
            const float *pu = wino_upack(w, l, k, grad, grad ? winograd_flip(x) : x);
            if (pu)   /* U_xi (the input gradient: flipped, transposed) packed once */
                k->gemm_pre(grad, 0, cout, (int)T, blocks * cin, 1.0f, NULL, 0, pu, vx, (int)T, NULL, 0.0f, mx,
                            (int)T);
            else if (grad)   /* U [blocks * out_c][c], flipped and transposed */
                k->gemm(1, 0, cout, (int)T, blocks * cin, 1.0f, U + (size_t)winograd_flip(x) * uplane, cout, vx,
                        (int)T, 0.0f, mx, (int)T);
            else   /* all blocks in one product: K = blocks * c */
                k->gemm(0, 0, cout, (int)T, blocks * cin, 1.0f, U + (size_t)x * uplane, blocks * cin, vx, (int)T,
                        0.0f, mx, (int)T);
        }
        winograd_output(Mt, cout, T, (size_t)cout * T, cnt, th, tw, oh, ow, grad, dst + (size_t)b0 * osz, osz);
    }
}

/* By Winograd F(3x3, 2x2) (see winograd.c). */
void conv_wino_dw_range(const conv_wino *w, const layer *l, const network *net, int t, int lo, int hi,
                        const float *in, const float *dz, float *dw)
{
    if (hi <= lo) return;
    float *plane = net->workspace + (size_t)t * net->workspace_per_thread;
    int th = (l->out_h + 1) / 2, tw = (l->out_w + 1) / 2, tiles = th * tw, blocks = w->wbh * w->wbw;
    int bc = blocks * l->c;
    float *V = plane + wino_plane(w, l);
    float *W = V + (size_t)16 * wino_rows(w, l) * w->cs * wino_tiles(l);
    const kernel_table *k = &net->ctx->k;
    for (int b0 = lo; b0 < hi; b0 += w->cs) {
        int cnt = hi - b0 < w->cs ? hi - b0 : w->cs;
        size_t T = (size_t)cnt * tiles;
        float *Gz = V + (size_t)16 * bc * T;
        wino_inputs(w, 0, in + (size_t)b0 * l->inputs, (size_t)l->inputs, cnt, l->c, l->h, l->w, th, tw, plane, V, T);
        winograd_grad_input(dz + (size_t)b0 * l->outputs, (size_t)l->outputs, cnt, l->out_c, l->out_h, l->out_w, th,
                            tw, plane, Gz, T);
        for (int x = 0; x < 16; x++)
            k->gemm(0, 1, l->out_c, bc, (int)T, 1.0f, Gz + (size_t)x * l->out_c * T, (int)T, V + (size_t)x * bc * T,
                    (int)T, b0 == lo ? 0.0f : 1.0f, W + (size_t)x * l->out_c * bc, bc);
    }
    for (int b = 0; b < blocks; b++)
        winograd_dw_output(W + (size_t)b * l->c, l->out_c, l->c, (size_t)bc, w->kh, w->kw,
                           winograd_anchor(w->kh, b / w->wbw), winograd_anchor(w->kw, b % w->wbw), 0, l->out_c, dw);
}
