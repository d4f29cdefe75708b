/* network.h - the network: [net] options, build from a cfg, passes, summary. */
#ifndef FER_ENGINE_NETWORK_H
#define FER_ENGINE_NETWORK_H

#include "layer.h"

/* ---- network ------------------------------------------------------------- */

typedef enum {
    POLICY_CONSTANT, POLICY_STEPS, POLICY_POLY, POLICY_EXP, POLICY_COSINE,
    POLICY_SGDR, POLICY_PLATEAU,
    POLICY_STEP, POLICY_SIG, POLICY_RANDOM    /* Darknet's step, sigmoid, random */
} lr_policy;

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW } optimizer_kind;

#define FER_MAX_STEPS 32

/* Every [net] key: the model's input and the training recipe. */
typedef struct net_options {
    int width, height, channels;
    int batch, subdivisions;
    float learning_rate, momentum, decay;
    int nesterov;
    int adam;                        /* Darknet's adam=1: the optimizer is adam unless optimizer= says otherwise */
    optimizer_kind optimizer;
    float beta1, beta2, epsilon;
    float clip;                      /* gradient norm clip; 0 = off */
    lr_policy policy;
    int n_steps, n_scales;           /* a valid cfg has as many of each */
    int steps[FER_MAX_STEPS];
    float scales[FER_MAX_STEPS];
    float gamma, power;
    int step;                        /* step: lr * step_scale^(update / step); sig: the midpoint */
    float step_scale;                /* step: [net] scale (Darknet's meaning under policy=step) */
    int max_batches, epochs, burn_in;
    float burn_in_power;
    float min_lr;                    /* floor for cosine, sgdr, plateau */
    int sgdr_period, sgdr_mult;      /* first restart period (epochs), growth */
    float plateau_factor;
    int plateau_patience;
    int patience;                    /* early stopping, epochs; 0 = off */
    float label_smoothing;
    float label_smooth_eps;          /* AlexeyAB's: 1-eps for the true class, eps/(classes-1) for the rest */
    float bn_momentum;
    /* augmentation */
    float flip, vflip, angle, scale, translate;
    int crop;
    float erase, erase_min, erase_max;
    float brightness, contrast;
    int mixup, cutmix;               /* Darknet's switches (0/1): blend another image in / paste a box of it */
    float mix_prob;                  /* probability that a training image is mixed */
    float mixup_alpha, cutmix_alpha; /* > 0: ratio ~ Beta(alpha, alpha); 0: Darknet's (1/2; box sides 30-80%) */
    float class_balance;             /* p in [0,1]: class k drawn in proportion to count_k^(1-p); 0 a plain shuffle */
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
    /* When crop_view_set, a leading [crop] (layer 0) takes the window whose
     * corner is (crop_view_row, crop_view_col), or its centre when they are
     * negative, and deeper [crop]s their centre, in training too:
     * test-time augmentation's corners (evaluate_probs), the clean views of
     * batch-norm re-estimation (bn_recalibrate). Unset: random windows in
     * training, the centre at inference. */
    int crop_view_set, crop_view_row, crop_view_col;
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
    /* Data-parallel training (src/train/dist.h) sets these; a single
     * process leaves them 0/NULL. sample_base is the index within the
     * global mini-batch of this pass's sample 0 (dropout keys its masks by
     * it). grads_ready, when set, is called after each layer's backward
     * pass (its gradients are complete). sum_stats, when set, sums n
     * doubles over the processes in place: batch-norm statistics become
     * those of the global mini-batch (sync_bn); non-zero on failure. */
    int sample_base;
    void (*grads_ready)(void *user, network *net, int layer);
    int (*sum_stats)(void *user, double *buf, int n);
    void *dist_user;
};

/* darknet_keys.c: Darknet keys fer accepts without doing what they ask.
 * [net]: a warning for each augmentation key whose value would change
 * Darknet's training (training here will NOT do it); the rest stay "not
 * used here". A layer section: Darknet's per-layer keys (xnor, binary,
 * dontload, ...) that its type does not read are marked used, with a
 * warning unless 0. Both fail only on a malformed value. */
int darknet_net_keys(const cfg_file *f, cfg_section *s, const log_hook *log, fer_err *e);
int darknet_layer_keys(const cfg_file *f, cfg_section *s, const log_hook *log, fer_err *e);

/* Builds a network from a cfg file. ctx may be NULL (one thread, best ISA). */
int net_from_cfg(network **out, const char *cfg_path, fer_ctx *ctx, fer_err *e);
int net_from_text(network **out, const char *name, const char *text, fer_ctx *ctx, fer_err *e);
/* The layers, their shapes, parameter counts and FLOPs only: no parameter or
 * activation memory (a summary of a large cfg takes kilobytes); it cannot
 * run, load weights or change its batch. */
int net_shapes_from_cfg(network **out, const char *cfg_path, fer_ctx *ctx, fer_err *e);
/* Re-sizes activations for a batch; grads=1 allocates output gradients. */
int net_set_batch(network *net, int batch, int grads, fer_err *e);
void net_init_weights(network *net, uint64_t seed);
void net_forward(network *net);
/* 0 when the first `rows` samples of the last forward pass's output are
 * finite; otherwise an error naming the first layer whose output is NaN or
 * Inf. Every command that reads a network's output calls it. */
int net_check_output(const network *net, int rows, fer_err *e);
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

#endif
