/* layers.h - src/layers/ holds one file per layer type (registry.c maps cfg
 * section names to them); this header has the helpers they share. */
#ifndef FER_LAYERS_H
#define FER_LAYERS_H

#include "engine/engine.h"
#include "kernels/kernels.h"
#include "kernels/norm.h"

/* Reads "activation" (default def) into l->act, adding the PReLU slope
 * parameter when needed. */
int layer_read_activation(layer *l, const cfg_file *f, cfg_section *s, const char *def, fer_err *e);
/* The index of the PReLU slope param, or -1. */
int layer_prelu_param(const layer *l);
/* dL/d pre-activation of a layer that keeps its pre-activation output in
 * extra[0, n): doutput when linear, else extra[n, 2n) (common.c). */
const float *layer_act_dpre(layer *l);

/* Batch norm + bias + activation, the tail that convolutional and connected
 * layers share. Buffers live in l->extra, laid out by affine_extra_size. */
typedef struct affine_tail {
    int batch_normalize;
    int bias, scale, mean, var;  /* param indices (scale/mean/var only with batch norm) */
} affine_tail;

/* Per-sample and fixed extra floats the tail needs for l->outputs values. */
void affine_extra_size(const layer *l, const affine_tail *t, size_t *per_sample, size_t *fixed);
/* The buffer the layer's linear part must write z into: [batch, outputs]. */
float *affine_z(layer *l, const affine_tail *t);
/* output = act(bn(z) or z + bias). */
void affine_forward(layer *l, network *net, const affine_tail *t);
/* Inference with the batch norm folded into the layer's weights: output =
 * act(z + bias[c]) in one pass per plane (z is modified). */
void affine_forward_folded(layer *l, network *net, const affine_tail *t, const float *bias);
/* For inference without gradients: the per-channel factor and shift of
 * the batch norm in inference mode, y = z * g[c] + h[c]. */
void affine_fold(const layer *l, const affine_tail *t, float *g, float *h);
/* From l->doutput, accumulates parameter gradients and returns dL/dz
 * ([batch, outputs]: net->scratch or l->doutput; valid until the next
 * layer's backward pass). */
const float *affine_backward(layer *l, network *net, const affine_tail *t);

/* A pooling window with Darknet's [maxpool] geometry: out = (in + padding -
 * size) / stride + 1, windows starting at -padding/2 (cells outside the
 * input are skipped), for [maxpool] and [local_avgpool]. */
typedef struct pool_window {
    int kh, kw, sh, sw;
    int padding;
} pool_window;

extern const char *const pool_window_keys[];   /* size, stride, stride_x/_y, padding, freeze, stopbackward */
/* Reads the keys (size 2, stride = size, padding = size-1 by default),
 * checks them and sets l's output shape, FLOPs and window. */
int pool_window_make(layer *l, const cfg_file *f, cfg_section *s, pool_window *p, fer_err *e);

/* Splits [0, n) into nthreads ranges; range t is [*lo, *hi). */
void split_range(int n, int parts, int t, int *lo, int *hi);

/* Resolves a Darknet layer reference (negative = relative to `index`). */
int layer_ref(int ref, int index, const cfg_file *f, cfg_section *s, const char *key, int *out,
              fer_err *e);

#endif
