/* convolutional.c - 2-D convolution (grouped, strided, padded, non-square),
 * optionally followed by batch norm, then bias and activation.
 * Weights: [filters][channels/groups][size_h][size_w] (Darknet's layout).
 * Keys: filters, size (or size_h/size_w), stride (or stride_y/stride_x), pad,
 * padding, dilation, groups, batch_normalize, activation.
 * dilation=d spreads the kernel's taps d pixels apart and, as in AlexeyAB's
 * Darknet, multiplies the padding by d; Darknet sizes the output as if d were
 * 1, which agrees only with 'same' padding (2 * padding == size - 1 on each
 * side), so other paddings are refused with dilation > 1.
 *
 * Computation: im2col + GEMM. When a batch has at least as many samples as
 * threads, each thread takes a range of samples; several samples with small
 * outputs are unfolded side by side so each GEMM has >= ~512 columns. Below
 * that (batch 1, latency), samples run one by one with a parallel GEMM.
 * Three shapes skip im2col (none of them dilated): depthwise convolutions, convolutions of a
 * single input plane (a grayscale first layer, where the GEMM's K would be
 * the kernel's 9 or 25 taps), which runs plane_conv's direct kernel, and
 * stride-1 convolutions of several channels with 3x3 to 6x6 kernels, which
 * run Winograd (conv_winograd.c, chosen by conv_wino_make): batched, or at
 * batch 1 for inference where a layer has many tiles (conv_wino_serial).
 * Inference without gradients keeps caches keyed on net->weights_version:
 * batch norm folded into the weights (conv_weights), the Winograd filter
 * transforms (conv_wino_prepare), the weights packed for a packing GEMM
 * (packed_weights). */
#include "conv_winograd.h"

#include <stdlib.h>
#include <string.h>

typedef struct conv {
    int kh, kw, sh, sw;
    int ph, pw;
    int dh, dw;             /* dilation (1: taps side by side) */
    int groups;
    affine_tail tail;
    int weights;            /* param index */
    int nb;                 /* samples unfolded side by side per GEMM */
    conv_wino wino;         /* the Winograd path (conv_winograd.h) */
    /* batch-1 inference: the weights packed whole for the GEMM (packed_weights) */
    float *packed;
    size_t packed_floats;
    int packed_side, packed_folded;
    unsigned packed_version;
    /* inference without gradients: the batch norm folded into the weights,
     * [out_c][ksize] then the shift [out_c] (conv_weights) */
    float *folded;
    unsigned folded_version;
    int folded_valid;
} conv;

static const char *const conv_keys[] = {
    "filters", "size", "size_h", "size_w", "stride", "stride_y", "stride_x", "pad", "padding",
    "dilation", "groups", "batch_normalize", "activation", "stopbackward", "freeze", NULL,
};

#define CONV_MIN_COLUMNS 512

static int is_pointwise(const conv *p)
{
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0;
}

/* One filter per input channel: runs the direct depthwise kernel. */
static int is_depthwise(const layer *l, const conv *p)
{
    return p->dh == 1 && p->dw == 1 && p->groups > 1 && p->groups == l->c && l->out_c == l->c;
}

/* One input plane, no groups, a small kernel: plane_conv's direct kernel. */
static int is_single_plane(const layer *l, const conv *p)
{
    return p->dh == 1 && p->dw == 1 && l->c == 1 && p->groups == 1 && p->kh * p->kw <= PLANE_CONV_MAX_TAPS;
}

/* Floats of a thread's first workspace slice: unfolded columns, or the
 * bordered plane and its gradient for plane_conv. */
static size_t col_floats(const layer *l, const conv *p)
{
    size_t n = (size_t)l->out_h * l->out_w, cols = (size_t)(l->c / p->groups) * p->kh * p->kw * p->nb * n;
    if (is_single_plane(l, p)) {
        size_t pad = 2 * plane_conv_pad_floats(l->out_h, l->out_w, p->kh, p->kw, p->sh, p->sw);
        if (pad > cols) cols = pad;
    }
    return cols;
}

/* The part of a thread's slice before its private dW: the unfolded columns
 * and GEMM output, or the Winograd scratch, whichever is larger. */
static size_t front_floats(const layer *l, const conv *p)
{
    size_t n = (size_t)l->out_h * l->out_w, a = col_floats(l, p) + (size_t)(l->out_c / p->groups) * p->nb * n;
    size_t b = conv_wino_workspace(&p->wino, l);
    return a > b ? a : b;
}

static int conv_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    conv *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int filters, size, stride, pad, padding, dilation, bn;
    if (cfg_int_req(f, s, "filters", &filters, e) || cfg_int(f, s, "size", 1, &size, e) ||
        cfg_int(f, s, "size_h", size, &p->kh, e) || cfg_int(f, s, "size_w", size, &p->kw, e) ||
        cfg_int(f, s, "stride", 1, &stride, e) || cfg_int(f, s, "stride_y", stride, &p->sh, e) ||
        cfg_int(f, s, "stride_x", stride, &p->sw, e) || cfg_int(f, s, "pad", 0, &pad, e) ||
        cfg_int(f, s, "padding", 0, &padding, e) || cfg_int(f, s, "dilation", 1, &dilation, e) ||
        cfg_int(f, s, "groups", 1, &p->groups, e) ||
        cfg_int(f, s, "batch_normalize", 0, &bn, e))
        return -1;
    if (filters < 1 || filters > 65536)
        return fer_fail(e, "%s:%d: [%s] filters=%d: must be in 1..65536", f->path, cfg_line(s, "filters"), s->name, filters);
    if (p->kh < 1 || p->kw < 1 || p->kh > 64 || p->kw > 64)
        return fer_fail(e, "%s:%d: [%s] size must be in 1..64", f->path, cfg_line(s, "size"), s->name);
    if (p->sh < 1 || p->sw < 1 || p->sh > 64 || p->sw > 64)
        return fer_fail(e, "%s:%d: [%s] stride must be in 1..64", f->path, cfg_line(s, "stride"), s->name);
    if (padding < 0 || padding > 64)
        return fer_fail(e, "%s:%d: [%s] padding must be in 0..64", f->path, cfg_line(s, "padding"), s->name);
    if (p->groups < 1 || l->c % p->groups || filters % p->groups)
        return fer_fail(e, "%s:%d: [%s] groups=%d must divide both the input channels (%d) and filters (%d)",
                        f->path, cfg_line(s, "groups"), s->name, p->groups, l->c, filters);
    if (dilation < 1 || dilation > 64)
        return fer_fail(e, "%s:%d: [%s] dilation must be in 1..64", f->path, cfg_line(s, "dilation"), s->name);
    /* pad=1 means 'same'-style padding of size/2 on each side (Darknet). */
    p->ph = pad ? p->kh / 2 : padding;
    p->pw = pad ? p->kw / 2 : padding;
    p->dh = p->kh > 1 ? dilation : 1;   /* a 1-tap axis has nothing to spread */
    p->dw = p->kw > 1 ? dilation : 1;
    if ((p->dh > 1 && 2 * p->ph != p->kh - 1) || (p->dw > 1 && 2 * p->pw != p->kw - 1))
        return fer_fail(e,
                        "%s:%d: [%s] dilation=%d needs 'same' padding (pad=1 with an odd size, or padding=(size-1)/2): "
                        "Darknet sizes this layer's output as if it were not dilated",
                        f->path, cfg_line(s, "dilation"), s->name, dilation);
    p->ph *= p->dh;
    p->pw *= p->dw;
    int eh = p->dh * (p->kh - 1) + 1, ew = p->dw * (p->kw - 1) + 1;   /* the dilated kernel's extent */
    p->tail.batch_normalize = bn != 0;
    if (l->h + 2 * p->ph < eh || l->w + 2 * p->pw < ew)
        return fer_fail(e, "%s:%d: [%s] kernel %dx%d is larger than the padded input %dx%d", f->path,
                        s->line, s->name, ew, eh, l->w + 2 * p->pw, l->h + 2 * p->ph);
    l->out_c = filters;
    l->out_h = (l->h + 2 * p->ph - eh) / p->sh + 1;
    l->out_w = (l->w + 2 * p->pw - ew) / p->sw + 1;
    int cg = l->c / p->groups;
    int ksize = cg * p->kh * p->kw;
    /* Darknet order: biases, [scales, rolling_mean, rolling_variance], weights */
    p->tail.bias = l->n_params;
    if (!layer_add_param(l, "biases", (size_t)filters, 1, 0, INIT_ZERO, 0, e)) return -1;
    if (bn) {
        p->tail.scale = l->n_params;
        if (!layer_add_param(l, "scales", (size_t)filters, 1, 0, INIT_ONE, 0, e)) return -1;
        p->tail.mean = l->n_params;
        if (!layer_add_param(l, "rolling_mean", (size_t)filters, 0, 0, INIT_ZERO, 0, e)) return -1;
        p->tail.var = l->n_params;
        if (!layer_add_param(l, "rolling_variance", (size_t)filters, 0, 0, INIT_ONE, 0, e)) return -1;
    }
    p->weights = l->n_params;
    if (!layer_add_param(l, "weights", (size_t)filters * ksize, 1, 1, INIT_HE, ksize, e)) return -1;
    if (layer_read_activation(l, f, s, "logistic", e)) return -1;
    l->outputs = l->out_c * l->out_h * l->out_w;
    affine_extra_size(l, &p->tail, &l->extra_per_sample, &l->extra_fixed);
    size_t n = (size_t)l->out_h * l->out_w;
    p->nb = (int)((CONV_MIN_COLUMNS + n - 1) / n);
    if (p->nb > 64) p->nb = 64;
    /* per thread: unfolded columns [ksize, nb*n] (or plane_conv's bordered
     * plane and its gradient, if larger: col_floats) and a GEMM output /
     * gathered gradient [filters/groups, nb*n], or the Winograd scratch if
     * larger (front_floats); then a private dW [filters, ksize] */
    if (p->dh == 1 && p->dw == 1) conv_wino_make(&p->wino, l, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw, p->groups);
    l->workspace_per_thread = front_floats(l, p) + (size_t)filters * ksize;
    if (is_depthwise(l, p)) l->workspace_per_thread = 0;   /* direct kernel, no columns */
    l->flops = 2.0 * filters * ksize * (double)n;
    l->window = (layer_window){ p->kh, p->kw, p->sh, p->sw, dilation > 1 ? dilation : 0 };
    return 0;
}

/* One pass of a layer, as its thread jobs see it. */
typedef struct conv_job {
    layer *l;
    network *net;
    const float *in;     /* [batch, c, h, w] */
    float *din;          /* [batch, c, h, w] or NULL */
    const float *dz;     /* backward: dL/dz [batch, out_c, oh, ow] */
    float *z;            /* forward: [batch, out_c, oh, ow] */
    int serial;          /* one sample at a time with parallel GEMMs */
    const float *w;      /* forward: the weights (conv_weights) */
    int folded;          /* forward: they have the batch norm folded in */
} conv_job;

/* Batch norm folds into the convolution at inference without gradients:
 * W'[m] = W[m] * g[m] and a shift h[m] (affine_fold), so the tail is one
 * pass of shift + activation. With gradients (training, saliency) the
 * normalization stays a separate pass, whose buffers the backward pass
 * reads. */
static int conv_folds(const layer *l, const network *net)
{
    const conv *p = l->priv;
    return p->tail.batch_normalize && !net->train && !net->grads_enabled;
}

/* The weights the convolution multiplies by: folded (conv_folds; computed
 * once per weights_version, NULL when out of memory) or the layer's own. */
static const float *conv_weights(layer *l, network *net, int folded)
{
    conv *p = l->priv;
    const float *w = l->params[p->weights].data;
    if (!folded) return w;
    if (p->folded_valid && p->folded_version == net->weights_version) return p->folded;
    size_t nw = l->params[p->weights].n, ksize = nw / (size_t)l->out_c;
    if (!p->folded) p->folded = fer_alloc(nw + 2 * (size_t)l->out_c, sizeof(float), NULL);
    if (!p->folded) return NULL;
    float *g = p->folded + nw + l->out_c, *h = p->folded + nw;
    affine_fold(l, &p->tail, g, h);
    for (int m = 0; m < l->out_c; m++)
        for (size_t i = 0; i < ksize; i++) p->folded[(size_t)m * ksize + i] = w[(size_t)m * ksize + i] * g[m];
    p->folded_valid = 1;
    p->folded_version = net->weights_version;
    return p->folded;
}

/* The workspace slices of thread t: unfolded columns (or plane_conv's
 * bordered planes), the GEMM output, the private dW (see conv_make). */
static void slices(const layer *l, const network *net, int t, float **col, float **tmp, float **dw)
{
    const conv *p = l->priv;
    *col = net->workspace + (size_t)t * net->workspace_per_thread;
    *tmp = *col + col_floats(l, p);
    *dw = *col + front_floats(l, p);
}

static void run_gemm(const conv_job *j, int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc)
{
    if (j->serial) gemm_parallel(j->net->ctx, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
    else j->net->ctx->k.gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

/* A single sample's output with few positions per channel (e.g. 6x6 = 36)
 * and many channels: the GEMM's columns would fill its 32-wide register
 * tiles poorly (36 of 64), so batch-1 inference computes the transposed
 * product instead, where the positions become rows (tiles of 14 or 8). */
static int narrow_output(int mg, int n)
{
    int tiles = (n + 31) / 32;
    return mg >= 32 && 4 * n < 3 * 32 * tiles;
}

/* The weights [out_c, ksize] packed whole as the GEMM's operand `side`
 * (A: z = W col; B: z^T = col^T W^T), for single-sample inference with a
 * GEMM that has packing (bf16) in a network without gradients; NULL
 * otherwise (or out of memory: the caller packs as usual). Repacked when
 * net->weights_version moves. Batch-1 inference is the one caller that
 * multiplies the same weights by one column block at a time, so packing
 * them is a large share of its time. */
static const float *packed_weights(const conv_job *j, int side)
{
    layer *l = j->l;
    network *net = j->net;
    conv *p = l->priv;
    const kernel_table *k = &net->ctx->k;
    if (!k->gemm_pre || net->grads_enabled || p->groups != 1) return NULL;
    int ksize = l->c * p->kh * p->kw;
    size_t need = k->gemm_pack_floats(side, l->out_c, ksize);
    if (p->packed && p->packed_side == side && p->packed_floats == need && p->packed_version == net->weights_version &&
        p->packed_folded == j->folded)
        return p->packed;
    if (p->packed_floats != need) {
        fer_free(p->packed);
        p->packed = fer_alloc(need, sizeof(float), NULL);
        p->packed_floats = p->packed ? need : 0;
        if (!p->packed) return NULL;
    }
    k->gemm_pack(side, side == GEMM_SIDE_B, l->out_c, ksize, j->w, ksize, p->packed);
    p->packed_side = side;
    p->packed_folded = j->folded;
    p->packed_version = net->weights_version;
    return p->packed;
}

static void conv_free(layer *l)
{
    conv *p = l->priv;
    if (!p) return;
    fer_free(p->packed);
    fer_free(p->folded);
    conv_wino_free(&p->wino);
}

/* Unfolds group g of samples [b0, b0+cnt) side by side into col [ksize, cnt*n]. */
static void unfold(const layer *l, const conv *p, const float *in, int b0, int cnt, int g, float *col)
{
    int cg = l->c / p->groups, n = l->out_h * l->out_w;
    for (int j = 0; j < cnt; j++)
        im2col(in + (size_t)(b0 + j) * l->inputs + (size_t)g * cg * l->h * l->w, cg, l->h, l->w, p->kh, p->kw,
               p->sh, p->sw, p->ph, p->pw, p->dh, p->dw, l->out_h, l->out_w, col + (size_t)j * n, cnt * n);
}

static void conv_forward_range(const conv_job *j, int t, int lo, int hi)
{
    layer *l = j->l;
    conv *p = l->priv;
    float *col, *tmp, *dw;
    slices(l, j->net, t, &col, &tmp, &dw);
    int cg = l->c / p->groups, mg = l->out_c / p->groups;
    int ksize = cg * p->kh * p->kw, n = l->out_h * l->out_w;
    const float *w = j->w;
    int total = hi - lo, chunks = (total + p->nb - 1) / p->nb;
    for (int c = 0; c < chunks; c++) {
        int b0 = lo + (int)((long long)total * c / chunks), b1 = lo + (int)((long long)total * (c + 1) / chunks);
        int cnt = b1 - b0;
        for (int g = 0; g < p->groups; g++) {
            const float *wg = w + (size_t)g * mg * ksize;
            const float *src = col;
            if (cnt == 1 && is_pointwise(p)) src = j->in + (size_t)b0 * l->inputs + (size_t)g * cg * l->h * l->w;
            else unfold(l, p, j->in, b0, cnt, g, col);
            if (cnt == 1) {
                float *z = j->z + (size_t)b0 * l->outputs + (size_t)g * mg * n;
                const float *pw = j->serial ? packed_weights(j, narrow_output(mg, n)) : NULL;
                if (j->serial && narrow_output(mg, n)) {
                    /* z^T[n, mg] = col^T W^T, then transposed into place */
                    if (pw)
                        gemm_parallel_pre(j->net->ctx, 1, 1, n, mg, ksize, 1.0f, src, n, NULL, NULL, ksize, pw, 0.0f,
                                          tmp, mg);
                    else run_gemm(j, 1, 1, n, mg, ksize, src, n, wg, ksize, 0.0f, tmp, mg);
                    for (int m = 0; m < mg; m++)
                        for (int q = 0; q < n; q++) z[(size_t)m * n + q] = tmp[(size_t)q * mg + m];
                } else if (pw) {
                    gemm_parallel_pre(j->net->ctx, 0, 0, mg, n, ksize, 1.0f, NULL, ksize, pw, src, n, NULL, 0.0f, z, n);
                } else {
                    run_gemm(j, 0, 0, mg, n, ksize, wg, ksize, src, n, 0.0f, z, n);
                }
                continue;
            }
            run_gemm(j, 0, 0, mg, cnt * n, ksize, wg, ksize, src, cnt * n, 0.0f, tmp, cnt * n);
            for (int s = 0; s < cnt; s++)
                for (int m = 0; m < mg; m++)
                    memcpy(j->z + (size_t)(b0 + s) * l->outputs + (size_t)(g * mg + m) * n,
                           tmp + (size_t)m * cnt * n + (size_t)s * n, (size_t)n * sizeof(float));
        }
    }
}

/* Batched Winograd runs in this pass: a Winograd shape and a batch of at
 * least one sample per thread (below that, conv_wino_serial decides). */
static int wino_active(const conv_job *j)
{
    const conv *p = j->l->priv;
    return p->wino.on && !j->serial;
}

static void conv_forward_part(void *arg, int t)
{
    conv_job *j = arg;
    const conv *p = j->l->priv;
    int lo, hi;
    split_range(j->l->batch, j->net->ctx->nthreads, t, &lo, &hi);
    if (wino_active(j)) conv_wino_range(&p->wino, j->l, j->net, t, lo, hi, 0, j->in, j->z);
    else conv_forward_range(j, t, lo, hi);
}

/* Depthwise forward over planes (sample, channel) [lo, hi). */
static void dw_forward_part(void *arg, int t)
{
    conv_job *j = arg;
    layer *l = j->l;
    conv *p = l->priv;
    int lo, hi, n = l->out_h * l->out_w;
    split_range(l->batch * l->c, j->net->ctx->nthreads, t, &lo, &hi);
    const float *w = j->w;
    for (int bc = lo; bc < hi; bc++) {
        int c = bc % l->c;
        depthwise_forward(j->in + (size_t)bc * l->h * l->w, l->h, l->w, w + (size_t)c * p->kh * p->kw, p->kh,
                          p->kw, p->sh, p->sw, p->ph, p->pw, l->out_h, l->out_w, j->z + (size_t)bc * n);
    }
}

/* Depthwise backward over channels [lo, hi): each thread owns its channels'
 * kernel gradients and input-gradient planes. */
static void dw_backward_part(void *arg, int t)
{
    conv_job *j = arg;
    layer *l = j->l;
    conv *p = l->priv;
    int lo, hi, n = l->out_h * l->out_w, taps = p->kh * p->kw;
    split_range(l->c, j->net->ctx->nthreads, t, &lo, &hi);
    const float *w = l->params[p->weights].data;
    float *grad = l->params[p->weights].grad;
    for (int c = lo; c < hi; c++)
        for (int b = 0; b < l->batch; b++) {
            size_t bc = (size_t)b * l->c + c;
            depthwise_backward(j->in + bc * l->h * l->w, j->dz + bc * n, l->h, l->w, w + (size_t)c * taps, p->kh,
                               p->kw, p->sh, p->sw, p->ph, p->pw, l->out_h, l->out_w,
                               l->frozen ? NULL : grad + (size_t)c * taps,
                               j->din ? j->din + bc * l->h * l->w : NULL);
        }
}

/* Single-plane forward: thread t takes a range of samples, or with fewer
 * samples than threads (latency) a range of each sample's filters. */
static void plane_forward_part(void *arg, int t)
{
    conv_job *j = arg;
    layer *l = j->l;
    conv *p = l->priv;
    float *pad, *tmp, *dw;
    slices(l, j->net, t, &pad, &tmp, &dw);
    int nt = j->net->ctx->nthreads, n = l->out_h * l->out_w, taps = p->kh * p->kw;
    int b_lo = 0, b_hi = l->batch, f_lo = 0, f_hi = l->out_c;
    if (l->batch >= nt) split_range(l->batch, nt, t, &b_lo, &b_hi);
    else split_range(l->out_c, nt, t, &f_lo, &f_hi);
    const float *w = j->w + (size_t)f_lo * taps;
    for (int b = b_lo; b < b_hi && f_hi > f_lo; b++)
        plane_conv_forward(j->in + (size_t)b * l->inputs, l->h, l->w, w, f_hi - f_lo, p->kh, p->kw, p->sh, p->sw,
                           p->ph, p->pw, l->out_h, l->out_w, pad, j->z + (size_t)b * l->outputs + (size_t)f_lo * n);
}

/* Single-plane backward over samples [lo, hi): kernel gradients into the
 * thread's private dW (summed by conv_backward), input gradients per sample. */
static void plane_backward_range(const conv_job *j, int t, int lo, int hi)
{
    layer *l = j->l;
    conv *p = l->priv;
    float *pad, *tmp, *dw;
    slices(l, j->net, t, &pad, &tmp, &dw);
    memset(dw, 0, (size_t)l->out_c * p->kh * p->kw * sizeof *dw);
    for (int b = lo; b < hi; b++)
        plane_conv_backward(j->in + (size_t)b * l->inputs, j->dz + (size_t)b * l->outputs, l->h, l->w,
                            l->params[p->weights].data, l->out_c, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw,
                            l->out_h, l->out_w, pad, l->frozen ? NULL : dw,
                            j->din ? j->din + (size_t)b * l->inputs : NULL);
}

static void plane_backward_part(void *arg, int t)
{
    conv_job *j = arg;
    int lo, hi;
    split_range(j->l->batch, j->net->ctx->nthreads, t, &lo, &hi);
    plane_backward_range(j, t, lo, hi);
}

static void conv_forward(layer *l, network *net, const float *in)
{
    conv *p = l->priv;
    int nt = net->ctx->nthreads;
    int folded = conv_folds(l, net);
    const float *w = conv_weights(l, net, folded);
    if (!w) {   /* out of memory for the folded copy: the unfolded path */
        folded = 0;
        w = conv_weights(l, net, 0);
    }
    conv_job j = { l, net, in, NULL, NULL, affine_z(l, &p->tail), l->batch < nt, w, folded };
    if (is_depthwise(l, p)) {
        if (nt == 1) dw_forward_part(&j, 0);
        else thread_pool_run(net->ctx->pool, nt, dw_forward_part, &j);
    } else if (is_single_plane(l, p)) {
        if (nt == 1) plane_forward_part(&j, 0);
        else thread_pool_run(net->ctx->pool, nt, plane_forward_part, &j);
    } else if (j.serial && conv_wino_serial(&p->wino, l, net)) {
        conv_wino_forward_serial(&p->wino, l, net, in, w, folded, j.z);
    } else if (j.serial) {
        conv_forward_range(&j, 0, 0, l->batch);
    } else {
        if (wino_active(&j)) conv_wino_prepare(&p->wino, l, net, w, folded, 0);
        thread_pool_run(net->ctx->pool, nt, conv_forward_part, &j);
    }
    if (folded) affine_forward_folded(l, net, &p->tail, w + l->params[p->weights].n);
    else affine_forward(l, net, &p->tail);
}

static void conv_backward_range(const conv_job *j, int t, int lo, int hi)
{
    layer *l = j->l;
    conv *p = l->priv;
    float *col, *tmp, *dw;
    slices(l, j->net, t, &col, &tmp, &dw);
    int cg = l->c / p->groups, mg = l->out_c / p->groups;
    int ksize = cg * p->kh * p->kw, n = l->out_h * l->out_w;
    memset(dw, 0, (size_t)l->out_c * ksize * sizeof *dw);
    const float *w = l->params[p->weights].data;
    int need_dw = !l->frozen;
    if (wino_active(j)) {
        if (need_dw) conv_wino_dw_range(&p->wino, l, j->net, t, lo, hi, j->in, j->dz, dw);
        if (j->din) conv_wino_range(&p->wino, l, j->net, t, lo, hi, 1, j->dz, j->din);
        return;
    }
    int total = hi - lo, chunks = (total + p->nb - 1) / p->nb;
    for (int c = 0; c < chunks; c++) {
        int b0 = lo + (int)((long long)total * c / chunks), b1 = lo + (int)((long long)total * (c + 1) / chunks);
        int cnt = b1 - b0, ld = cnt * n;
        for (int g = 0; g < p->groups; g++) {
            const float *wg = w + (size_t)g * mg * ksize;
            const float *dz = j->dz + (size_t)b0 * l->outputs + (size_t)g * mg * n;
            if (cnt > 1) {   /* gather dz of the chunk: [mg, cnt*n] */
                for (int s = 0; s < cnt; s++)
                    for (int m = 0; m < mg; m++)
                        memcpy(tmp + (size_t)m * ld + (size_t)s * n,
                               j->dz + (size_t)(b0 + s) * l->outputs + (size_t)(g * mg + m) * n,
                               (size_t)n * sizeof(float));
                dz = tmp;
            }
            const float *in0 = j->in + (size_t)b0 * l->inputs + (size_t)g * cg * l->h * l->w;
            int direct = cnt == 1 && is_pointwise(p);
            if (need_dw) {
                const float *src = col;
                if (direct) src = in0;
                else unfold(l, p, j->in, b0, cnt, g, col);
                /* dW[mg, ksize] += dz[mg, cnt*n] * col[ksize, cnt*n]^T */
                run_gemm(j, 0, 1, mg, ksize, ld, dz, ld, src, ld, 1.0f, dw + (size_t)g * mg * ksize, ksize);
            }
            if (!j->din) continue;
            float *din0 = j->din + (size_t)b0 * l->inputs + (size_t)g * cg * l->h * l->w;
            if (direct) {   /* din[ksize, n] += W^T[ksize, mg] * dz[mg, n] */
                run_gemm(j, 1, 0, ksize, n, mg, wg, ksize, dz, n, 1.0f, din0, n);
                continue;
            }
            run_gemm(j, 1, 0, ksize, ld, mg, wg, ksize, dz, ld, 0.0f, col, ld);
            for (int s = 0; s < cnt; s++)
                col2im_add(col + (size_t)s * n, cg, l->h, l->w, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw, p->dh,
                           p->dw, l->out_h, l->out_w, din0 + (size_t)s * l->inputs, ld);
        }
    }
}

static void conv_backward_part(void *arg, int t)
{
    conv_job *j = arg;
    int lo, hi;
    split_range(j->l->batch, j->net->ctx->nthreads, t, &lo, &hi);
    conv_backward_range(j, t, lo, hi);
}

static void conv_backward(layer *l, network *net, const float *in, float *din)
{
    conv *p = l->priv;
    int nt = net->ctx->nthreads;
    conv_job j = { l, net, in, din, affine_backward(l, net, &p->tail), NULL, l->batch < nt,
                   l->params[p->weights].data, 0 };
    if (is_depthwise(l, p)) {
        if (nt == 1) dw_backward_part(&j, 0);
        else thread_pool_run(net->ctx->pool, nt, dw_backward_part, &j);
        return;
    }
    if (is_single_plane(l, p) && j.serial) plane_backward_range(&j, 0, 0, l->batch);
    else if (is_single_plane(l, p)) thread_pool_run(net->ctx->pool, nt, plane_backward_part, &j);
    else if (j.serial) conv_backward_range(&j, 0, 0, l->batch);
    else {
        if (din && wino_active(&j)) conv_wino_prepare(&p->wino, l, net, j.w, 0, 1);
        thread_pool_run(net->ctx->pool, nt, conv_backward_part, &j);
    }
    if (l->frozen) return;
    int used = j.serial ? 1 : nt;
    size_t nw = (size_t)l->out_c * (l->c / p->groups) * p->kh * p->kw;
    float *grad = l->params[p->weights].grad;
    for (int t = 0; t < used; t++) {
        float *col, *tmp, *dw;
        slices(l, net, t, &col, &tmp, &dw);
        for (size_t i = 0; i < nw; i++) grad[i] += dw[i];
    }
}

const layer_type convolutional_type = {
    "convolutional", conv_keys, conv_make, conv_forward, conv_backward, conv_free,
};
