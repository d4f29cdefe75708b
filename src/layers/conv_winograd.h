/* conv_winograd.h - the Winograd path of [convolutional] (conv_winograd.c):
 * conv_wino, a layer's Winograd settings and its cache of transformed
 * filters, and the passes convolutional.c dispatches to: batched forward
 * and input gradient (conv_wino_range), the kernel gradient
 * (conv_wino_dw_range), and batch-1 inference shared by the threads
 * (conv_wino_forward_serial). The transforms themselves are the kernels'
 * (kernels/winograd.c).
 *
 * A stride-1 convolution of several channels with a 3x3 to 6x6 kernel runs
 * its forward pass and input gradient as F(2x2, 3x3) and its kernel
 * gradient as F(3x3, 2x2) (16 multiply-adds per 2x2 outputs and channel
 * pair instead of 36), a larger kernel as a sum of 3x3 blocks (a 5x5: four,
 * 64 multiply-adds instead of 100). */
#ifndef FER_LAYERS_CONV_WINOGRAD_H
#define FER_LAYERS_CONV_WINOGRAD_H

#include "layers.h"

typedef struct conv_wino {
    int on;                 /* the layer's shape runs Winograd (conv_wino_make) */
    int kh, kw, ph, pw;     /* the layer's kernel and padding */
    int wbh, wbw;           /* its 3x3 blocks down and across the kernel */
    int cs;                 /* samples per Winograd GEMM block */
    /* U, the transformed filters, lives at the end of the layer's extra */
    int u_valid;            /* U holds the transform of the current weights */
    int u_folded;           /* ... of the folded weights */
    unsigned u_version;     /* the net->weights_version it was made at */
    /* with a GEMM that packs (bf16): each U_xi packed once per pass as the
     * GEMM's A, for the forward pass [0] and the input gradient [1] */
    float *upack[2];
    size_t upack_floats[2];
    int upacked[2];
    void (*upack_by)(int, int, int, int, const float *, int, float *);   /* the packer that made upack */
} conv_wino;

/* After l's shapes and its affine tail's extra are set: decides whether l
 * (kernel kh x kw, stride sh x sw, padding ph x pw, groups) runs Winograd
 * and, when it does, lays out the blocks and adds U to l->extra_fixed. */
void conv_wino_make(conv_wino *w, layer *l, int kh, int kw, int sh, int sw, int ph, int pw, int groups);
/* Floats of a thread's Winograd scratch (0 when off), at the start of its
 * workspace slice. */
size_t conv_wino_workspace(const conv_wino *w, const layer *l);
/* U from the weights (folded: with the batch norm folded in), before the
 * passes of the forward pass (grad 0) or the input gradient (grad 1); kept
 * across inference passes while the weights stay. */
void conv_wino_prepare(conv_wino *w, layer *l, network *net, const float *weights, int folded, int grad);
/* Samples [lo, hi) in thread t's workspace slice: grad 0, the forward pass
 * z = conv(src = in) into dst = z [batch, out_c, out_h, out_w]; grad 1, the
 * input gradient dst = din [batch, c, h, w] += from src = dz. */
void conv_wino_range(const conv_wino *w, const layer *l, const network *net, int t, int lo, int hi, int grad,
                     const float *src, float *dst);
/* The kernel gradient of samples [lo, hi) from in and dz, added to the
 * thread's private dw [out_c, c * kh * kw]. */
void conv_wino_dw_range(const conv_wino *w, const layer *l, const network *net, int t, int lo, int hi,
                        const float *in, const float *dz, float *dw);
/* 1 when a batch-1 inference pass should run conv_wino_forward_serial:
 * enough tiles to share among several threads, no gradients. */
int conv_wino_serial(const conv_wino *w, const layer *l, const network *net);
/* Forward pass of each sample in turn, its phases split across the
 * threads: z [batch, out_c, out_h, out_w] = conv(in) with weights. */
void conv_wino_forward_serial(conv_wino *w, layer *l, network *net, const float *in, const float *weights, int folded,
                              float *z);
void conv_wino_free(conv_wino *w);

#endif
