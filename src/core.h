/* core.h - the engine's internal types: errors, allocation, the layer header,
 * the network, and the execution context (threads, RNG, kernel table).
 *
 * Tensors are float32, NCHW, batch-major: a buffer of shape [batch, c, h, w]
 * holds sample b, channel k, row y, column x at ((b*c + k)*h + y)*w + x.
 *
 * Gradients are true gradients: `dX` is dLoss/dX (Darknet stores the negated
 * delta; fer does not). Backward passes ACCUMULATE into input gradients and
 * parameter gradients, so callers zero them first; this makes multi-consumer
 * outputs (route, shortcut) and gradient accumulation (subdivisions) free. */
#ifndef FER_CORE_H
#define FER_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fer.h"

/* ---- errors -------------------------------------------------------------- */

/* Library functions return 0 on success and -1 on failure, with a message in
 * the caller's fer_err. Only main() exits. */
int fer_fail(fer_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- checked allocation -------------------------------------------------- */

/* All engine allocations go through these. They return NULL (and fill e) on
 * failure; sizes are checked for overflow. Memory is 64-byte aligned. */
void *fer_alloc(size_t count, size_t size, fer_err *e);
void fer_free(void *p);

/* ---- cfg ----------------------------------------------------------------- */

typedef struct cfg_option {
    char *key, *value;
    int line;
    int used;
} cfg_option;

typedef struct cfg_section {
    char *name;           /* without brackets, e.g. "convolutional" */
    int line;
    int n_options;
    cfg_option *options;
} cfg_section;

typedef struct cfg_file {
    char *path;
    int n_sections;
    cfg_section *sections;
} cfg_file;

int cfg_read(cfg_file *out, const char *path, fer_err *e);
int cfg_parse_text(cfg_file *out, const char *path, const char *text, fer_err *e);
/* A file of key=value lines with no sections (.data files): one section. */
int cfg_read_flat(cfg_file *out, const char *path, fer_err *e);
void cfg_free(cfg_file *cfg);

/* Typed getters. A missing key yields the default (the *_req variants fail
 * instead); a malformed value is an error naming file:line and the key. */
int cfg_int(const cfg_file *f, cfg_section *s, const char *key, int def, int *out, fer_err *e);
int cfg_int_req(const cfg_file *f, cfg_section *s, const char *key, int *out, fer_err *e);
int cfg_float(const cfg_file *f, cfg_section *s, const char *key, float def, float *out, fer_err *e);
const char *cfg_str(cfg_section *s, const char *key, const char *def);
int cfg_has(cfg_section *s, const char *key);
/* Comma-separated lists; *n receives the count (at most max). */
int cfg_int_list(const cfg_file *f, cfg_section *s, const char *key, int *out, int max, int *n, fer_err *e);
int cfg_float_list(const cfg_file *f, cfg_section *s, const char *key, float *out, int max, int *n, fer_err *e);
/* Line of a key (or of the section when absent), for messages. */
int cfg_line(cfg_section *s, const char *key);
/* After a section was made: a key outside `known` (NULL-terminated) is an
 * error; a known key that this configuration did not read is a warning. */
int cfg_check_keys(const cfg_file *f, cfg_section *s, const char *const *known, fer_err *e);

/* ---- activations --------------------------------------------------------- */

typedef enum {
    ACT_LINEAR, ACT_RELU, ACT_LEAKY, ACT_RELU6, ACT_LOGISTIC, ACT_TANH,
    ACT_ELU, ACT_SELU, ACT_SWISH, ACT_MISH, ACT_GELU, ACT_PRELU, ACT_COUNT
} activation;

int activation_from_name(const char *name, activation *out);
const char *activation_name(activation a);

/* y = act(x) over n = batch*channels*spatial values; slope is the PReLU
 * per-channel slope [channels] (NULL otherwise). x and y may alias. */
void activation_forward(activation a, float *y, const float *x, int batch,
                        int channels, int spatial, const float *slope);
/* dx += dy * act'(x); for PReLU also dslope[c] += sum dy*x over x<0. */
void activation_backward(activation a, float *dx, const float *dy, const float *x,
                         int batch, int channels, int spatial, const float *slope,
                         float *dslope);
/* dx = dy * act'(x) over n values, overwriting dx (no zeroing pass first);
 * not for PReLU, whose slope gradient needs activation_backward. */
void activation_gradient(activation a, float *dx, const float *dy, const float *x, size_t n);

/* ---- context: threads, RNG, kernels -------------------------------------- */

typedef struct thread_pool thread_pool;

/* Runs fn(arg, i) for i in [0, n) across the pool; returns when all are done. */
typedef void (*parallel_fn)(void *arg, int i);
thread_pool *thread_pool_new(int nthreads, fer_err *e);
void thread_pool_run(thread_pool *p, int n, parallel_fn fn, void *arg);
int thread_pool_size(const thread_pool *p);
void thread_pool_free(thread_pool *p);

typedef struct rng { uint64_t s[4]; } rng;
void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
float rng_uniform(rng *r);            /* [0, 1) */
float rng_normal(rng *r);             /* N(0, 1) */
int rng_int(rng *r, int n);           /* [0, n) */
void rng_permutation(rng *r, int *order, int n);   /* order = a uniform shuffle of 0..n-1 */

/* FER_SIMD_CLONES before a plain-C loop kernel builds it for AVX-512, AVX2
 * and baseline x86-64; the loader picks the version the CPU runs (GCC's
 * target_clones, resolved once at start-up). Elsewhere it is empty. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FER_NO_CLONES)
#define FER_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FER_SIMD_CLONES
#endif

/* The fast kernels in use, chosen once when the context is made. */
typedef struct kernel_table {
    const char *isa;
    int bf16;   /* gemm is gemm_bf16: operands rounded to bfloat16, fp32 accumulation */
    /* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major, op = transpose when t* */
    void (*gemm)(int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);
    /* Optional (NULL when the GEMM has none; bf16 has): an operand packed
     * whole once (gemm_pack) and reused by gemm_pre, for weights that stay
     * fixed across calls. Side GEMM_SIDE_A packs op(A) [rows = M, K], side
     * GEMM_SIDE_B op(B) [K, rows = N]; trans is ta or tb. The packed form
     * is split into panels of pack_unit[side] rows: a product over rows
     * [lo, hi) of a packed operand (lo a multiple of the unit) starts at
     * panel lo / unit, gemm_pack_offset floats in. */
    size_t (*gemm_pack_floats)(int side, int rows, int K);
    void (*gemm_pack)(int side, int trans, int rows, int K, const float *src, int ld, float *dst);
    /* gemm with op(A) and/or op(B) given packed (pA, pB; NULL: A or B as
     * usual, which the packed side ignores). A packed operand starts on a
     * 64-byte boundary (fer_alloc's), as must each panel offset into it. */
    void (*gemm_pre)(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *pA,
                     const float *B, int ldb, const float *pB, float beta, float *C, int ldc);
    int pack_unit[2];
} kernel_table;

enum { GEMM_SIDE_A = 0, GEMM_SIDE_B = 1 };

/* Floats into a packed operand (K deep) where its row lo (a multiple of
 * the side's pack_unit) starts. */
static inline size_t gemm_pack_offset(const kernel_table *k, int side, int lo, int K)
{
    return k->gemm_pack_floats(side, lo, K);
}

/* gemm split across the context's threads by rows (or columns when M is small). */
void gemm_parallel(fer_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The same with an operand given packed (ctx->k.gemm_pre; pA and/or pB
 * non-NULL), split across threads along the longer side of C (along M
 * when both are packed), in whole panels where that is a packed operand's
 * rows. */
void gemm_parallel_pre(fer_ctx *ctx, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *pA, const float *B, int ldb, const float *pB, float beta, float *C, int ldc);

struct fer_ctx {
    thread_pool *pool;
    int nthreads;
    kernel_table k;
    rng rng;
};

/* ---- layers -------------------------------------------------------------- */

typedef enum { INIT_ZERO, INIT_ONE, INIT_HE, INIT_PRELU } param_init;

/* One parameter tensor of a layer, in .weights order. data and grad point into
 * the network's single parameter and gradient blocks. */
typedef struct param {
    const char *name;
    size_t n;
    float *data;      /* [n] */
    float *grad;      /* [n] dLoss/d data (zero for non-trainable state) */
    int trainable;    /* rolling statistics are state, not trained */
    int decay;        /* weight decay applies (weights only) */
    int darknet;      /* stored in Darknet's layout (1) or a fer extension (0) */
    param_init init;
    int fan_in;       /* for INIT_HE */
} param;

#define FER_MAX_PARAMS 8
#define FER_MAX_SOURCES 16

typedef struct network network;
typedef struct layer layer;

typedef struct layer_type {
    const char *name;
    const char *const *keys;   /* every key the section accepts, NULL-terminated */
    /* Reads the section's keys, sets the output shape, declares parameters
     * and buffer sizes. net->layers[0 .. l->index-1] are already made. */
    int (*make)(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e);
    /* out = f(in); in is [batch, c, h, w], l->output is [batch, out_c, out_h, out_w]. */
    void (*forward)(layer *l, network *net, const float *in);
    /* Accumulates parameter gradients and, when din != NULL, dLoss/d in. */
    void (*backward)(layer *l, network *net, const float *in, float *din);
    void (*free)(layer *l);
} layer_type;

struct layer {
    const layer_type *type;
    int index, line;
    int batch;
    int c, h, w;                /* input shape per sample */
    int out_c, out_h, out_w;    /* output shape per sample */
    int inputs, outputs;        /* c*h*w, out_c*out_h*out_w */
    float *output;              /* [batch, out_c, out_h, out_w] */
    float *doutput;             /* [batch, out_c, out_h, out_w] dLoss/d output; NULL without gradients */
    activation act;
    int n_params;
    param params[FER_MAX_PARAMS];
    int n_sources;
    int sources[FER_MAX_SOURCES];   /* absolute layer indices (route, shortcut) */
    /* Scratch that lives from forward to backward: batch*extra_per_sample +
     * extra_fixed floats, carved up by the layer itself. */
    size_t extra_per_sample, extra_fixed;
    float *extra;
    /* Scratch used only inside one forward/backward call, shared by all
     * layers: workspace_per_thread floats for each thread. */
    size_t workspace_per_thread;
    double flops;               /* forward floating-point operations per sample */
    int stopbackward;           /* no gradient flows below this layer */
    int frozen;                 /* parameters are not updated; runs in inference mode */
    void *priv;                 /* layer-type-specific settings */
};

/* Declares parameter tensor i of l. */
param *layer_add_param(layer *l, const char *name, size_t n, int trainable,
                       int decay, param_init init, int fan_in, fer_err *e);

/* Finds the layer type for a section name (aliases included); NULL if none. */
const layer_type *layer_type_find(const char *name);
/* All section names the registry knows, for help text. */
void layer_type_list(FILE *out);

/* ---- network ------------------------------------------------------------- */

typedef enum {
    POLICY_CONSTANT, POLICY_STEPS, POLICY_POLY, POLICY_EXP, POLICY_COSINE,
    POLICY_SGDR, POLICY_PLATEAU
} lr_policy;

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW } optimizer_kind;

#define FER_MAX_STEPS 32

/* Every [net] key: the model's input and the training recipe. */
typedef struct net_options {
    int width, height, channels;
    int batch, subdivisions;
    float learning_rate, momentum, decay;
    int nesterov;
    optimizer_kind optimizer;
    float beta1, beta2, epsilon;
    float clip;                      /* gradient norm clip; 0 = off */
    lr_policy policy;
    int n_steps;
    int steps[FER_MAX_STEPS];
    float scales[FER_MAX_STEPS];
    float gamma, power;
    int max_batches, epochs, burn_in;
    float burn_in_power;
    float min_lr;                    /* floor for cosine, sgdr, plateau */
    int sgdr_period, sgdr_mult;      /* first restart period (epochs), growth */
    float plateau_factor;
    int plateau_patience;
    int patience;                    /* early stopping, epochs; 0 = off */
    float label_smoothing;
    float bn_momentum;
    /* augmentation */
    float flip, vflip, angle, scale, translate;
    int crop;
    float erase, erase_min, erase_max;
    float brightness, contrast;
    char class_weights[256];
} net_options;

struct network {
    char *cfg_path;
    int n;
    layer *layers;
    net_options opt;
    int batch;                /* samples per forward pass (batch/subdivisions when training) */
    int inputs;               /* channels*height*width */
    int classes;              /* outputs of the last layer */
    fer_ctx *ctx;
    int own_ctx;
    /* one block each: parameters, their gradients */
    size_t n_param_floats;
    float *params, *grads;
    /* activations: outputs, output gradients, layer extras */
    float *act_block;
    size_t act_floats;
    float *workspace;         /* [nthreads * max workspace_per_thread] */
    float *scratch;           /* [max over layers of batch * outputs]: a layer's transient gradient */
    size_t workspace_per_thread;
    float *input;             /* [batch, inputs] the input of layer 0 */
    float *dinput;            /* [batch, inputs] dLoss/d input, when requested */
    float *truth;             /* [batch, classes] target distribution */
    float *class_weight;      /* [classes] loss weight per class, NULL = 1 */
    int train;                /* batch statistics, dropout on */
    int no_dropout;           /* with train: dropout off (batch-norm re-estimation) */
    int has_truth;            /* truth holds targets: the loss layer computes the loss */
    int loss_layer;           /* index of the last [softmax], or -1 */
    int want_dinput;
    int grads_enabled;
    double loss;              /* mean loss of the last forward with truth */
    uint64_t seen;            /* images trained on */
    /* Changes whenever the weights may have (load, init, optimizer step,
     * a training-mode forward pass: batch-norm statistics) or the layers'
     * buffers moved (net_set_batch): a layer's cache of
     * transformed weights is valid while it matches. Layers use caches only
     * in networks without gradients; code that writes parameters of such a
     * network directly must bump it too. */
    unsigned weights_version;
    int major, minor, revision;
    rng rng;                  /* dropout, init */
};

/* Builds a network from a cfg file. ctx may be NULL (one thread, best ISA). */
int net_from_cfg(network **out, const char *cfg_path, fer_ctx *ctx, fer_err *e);
int net_from_text(network **out, const char *name, const char *text, fer_ctx *ctx, fer_err *e);
/* Re-sizes activations for a batch; grads=1 allocates output gradients. */
int net_set_batch(network *net, int batch, int grads, fer_err *e);
void net_init_weights(network *net, uint64_t seed);
void net_forward(network *net);
/* Backward from the loss (the last layer) through every layer. */
void net_backward(network *net);
/* Backward from layer `from` whose doutput the caller has filled. */
void net_backward_from(network *net, int from);
void net_zero_grads(network *net);
void net_zero_doutputs(network *net);
float *net_output(network *net);
void net_free(network *net);
/* Total trainable parameters (excluding rolling statistics). */
size_t net_count_params(const network *net, int trainable_only);
double net_flops(const network *net);
void net_print_summary(const network *net, FILE *out);

/* Resizes (center-cropping when the cfg crops) and writes an image into
 * net->input sample b. */
int net_put_image(network *net, int b, const fer_image *im, fer_err *e);

/* ---- weights ------------------------------------------------------------- */

int weights_load(network *net, const char *path, int upto, fer_err *e);
int weights_save(const network *net, const char *path, int upto, fer_err *e);
/* fer's half-precision extension (see weights.c): header revision "f16\0" */
#define FER_HALF_REVISION 0x00363166
int weights_save_as(const network *net, const char *path, int upto, int half, fer_err *e);
int weights_value_size(const int32_t hdr[3]);   /* bytes per stored value: 4, or 2 for half files */
uint16_t half_from_float(float v);              /* IEEE binary16, round to nearest even */
float half_to_float(uint16_t h);

/* ---- .data files and label names ----------------------------------------- */

#define FER_MAX_CLASSES 1000

typedef struct data_cfg {
    char path[1024];
    int classes;
    char labels_path[1024];
    char train[1024], valid[1024], test[1024];
    char train_usage[64], valid_usage[64], test_usage[64];
    char backup[1024];
    char **names;             /* [classes] label names */
} data_cfg;

#define FER_DEFAULT_DATA "data/fer2013.data"

/* Reads a .data file and its labels file (required keys: classes, labels). */
int data_cfg_read(data_cfg *d, const char *path, fer_err *e);
/* Names "0".."classes-1" when no .data file is at hand. */
int data_cfg_default_names(data_cfg *d, int classes, fer_err *e);
void data_cfg_free(data_cfg *d);

/* ---- files --------------------------------------------------------------- */

/* Reads a whole file (NUL-terminated); *len excludes the NUL. */
char *read_file(const char *path, size_t *len, fer_err *e);
/* Opens path.tmp for writing; atomic_close renames it over path. */
FILE *atomic_open(const char *path, char *tmp, size_t tmplen, fer_err *e);
int atomic_close(FILE *f, const char *tmp, const char *path, fer_err *e);

#endif
