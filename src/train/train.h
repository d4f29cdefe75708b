/* train.h - src/train/, training: optimizers, learning-rate schedules, evaluation and
 * metrics, the training loop, and weight averaging. */
#ifndef FER_TRAIN_TRAIN_H
#define FER_TRAIN_TRAIN_H

#include <signal.h>

#include "data/dataset.h"
#include "dist.h"
#include "engine/engine.h"

/* ---- optimizer and schedule ---------------------------------------------- */

typedef struct optimizer {
    size_t n;                 /* floats in the parameter block */
    float *m, *v;             /* [n] momentum / Adam first and second moments */
    uint64_t t;               /* updates done */
} optimizer;

int optimizer_init(optimizer *opt, const network *net, fer_err *e);
void optimizer_free(optimizer *opt);
/* One update from net->grads (already averaged over the batch); scale
 * multiplies the gradients first (e.g. 1/subdivisions). Frozen layers and
 * non-trainable tensors are left untouched. Runs on net->ctx's threads.
 * Returns the gradient norm (scaled) when [net] clip is set, else 0 (the
 * norm is computed only for clipping). */
double optimizer_step(optimizer *opt, network *net, float lr, float scale);

typedef struct schedule_state {
    int plateau_reductions;   /* times the plateau policy cut the rate */
    int plateau_bad_epochs;   /* epochs since the best validation accuracy */
    float plateau_best;
} schedule_state;

/* Learning rate for update `it` (0-based) of `total`, at `epoch` (the epoch
 * index plus the fraction of it done, e.g. 2.5 halfway through the third). */
float schedule_lr(const net_options *o, const schedule_state *s, long it, long total, double epoch);
/* Feeds one epoch's validation accuracy to the plateau policy. */
void schedule_epoch_end(const net_options *o, schedule_state *s, float val_acc);

/* ---- evaluation ---------------------------------------------------------- */

/* Runs the network over a dataset in inference mode: probs [n, classes].
 * tta averages with the horizontal flip (and the four corner crops plus the
 * center when the cfg crops). */
int evaluate_probs(network *net, const dataset *ds, int tta, float *probs, fer_err *e);

typedef struct metrics {
    int classes, n;
    double accuracy, top2, loss;
    long *confusion;          /* [classes][classes] rows = true, columns = predicted */
} metrics;

int metrics_compute(metrics *m, const float *probs, const int *labels, int n, int classes, fer_err *e);
void metrics_print(const metrics *m, char **names, FILE *out);
void metrics_free(metrics *m);

/* ---- training ------------------------------------------------------------ */

/* Knobs that exist for the tests (short runs, exact interruptions). */
typedef struct train_test_knobs {
    int limit_train, limit_valid;/* use only the first N images; 0 = all */
    int stop_after;              /* stop after this many epochs in this run; 0 = off */
    int signal_at;               /* raise SIGINT after this many updates in all; 0 = off */
} train_test_knobs;

/* weights_load, and when the file does not fit the cfg: the cfg it was
 * made for, the first layer where they differ and how to fine-tune. */
int weights_load_explained(network *net, const char *path, int upto, fer_err *e);

typedef struct train_args {
    const char *cfg, *weights;   /* weights: start or resume from (may be NULL) */
    data_cfg *data;
    int clear;                   /* reset counters: fine-tuning */
    int epochs;                  /* overrides [net] epochs when > 0 */
    float lr;                    /* overrides [net] learning_rate when > 0 (a warm restart with clear) */
    uint64_t seed;
    int keep_epochs;             /* also write <backup>/<cfg>_epoch<N>.weights after each epoch N */
    int keep_from;               /* with keep_epochs, only from epoch keep_from on (0: all) */
    int bn_final;                /* re-estimate batch-norm statistics (bn_recalibrate) before writing _final */
    int bn_eval;                 /* > 0: re-estimate them over this many mini-batches before each epoch's validation */
    const char *backup;          /* overrides data's backup folder */
    const char *teacher;         /* soft targets (fer ensemble -split train -out) or NULL */
    const char *teacher_nets;    /* "CFG,WEIGHTS[,CFG,WEIGHTS...]": teachers run on each mini-batch, or NULL */
    float distill;               /* weight of the teacher's probabilities in the target, (0, 1] */
    int quiet;                   /* no notices or progress (the interrupted notices still come) */
    volatile sig_atomic_t *stop; /* set by a signal handler: save and stop after this batch */
    dist *dist;                  /* the process group (several ranks under mpirun), or NULL: one process */
    int sync_bn;                 /* with several ranks: batch-norm statistics over the global mini-batch */
    train_test_knobs test;
} train_args;

/* Trains a->cfg on a->data, writing <backup>/<cfg>_{last,best,final}.weights,
 * _last.state (to resume from) and <cfg>.log.csv. Notices and the progress
 * line go to ctx's log hook (fer_ctx_set_log). */
int train_classifier(const train_args *a, fer_ctx *ctx, fer_err *e);
/* Sets net->class_weight from [net] class_weights: "auto" gives class k the
 * weight n / (classes * count_k) over ds (0 for an absent class), a list
 * gives one non-negative number per class; "" leaves the loss unweighted. */
int train_set_class_weights(network *net, const dataset *ds, fer_err *e);

/* ---- teacher networks (teachers.c) -------------------------------------- */

/* Networks that distill into the student while it trains: each mini-batch
 * the student sees (augmented, mixed) goes through every teacher in
 * inference mode. */
typedef struct teacher_nets {
    int n;
    network **nets;           /* [n] at batch B, no gradients */
    float *mean;              /* [B, classes] the teachers' mean probabilities for the mini-batch */
    int B, classes;
} teacher_nets;

/* Builds the teachers of spec ("CFG,WEIGHTS[,CFG,WEIGHTS...]", at most 16)
 * at batch B; each must take the student's input and give its classes'
 * probabilities ([softmax] last). */
int teacher_nets_load(teacher_nets *T, const char *spec, const network *student, int B, fer_ctx *ctx, fer_err *e);
/* input: [B, student inputs], the mini-batch as the student sees it;
 * truth: [B, classes] the labels' targets, replaced by (1 - distill) of
 * them + distill x the teachers' mean probabilities. */
int teacher_nets_blend(teacher_nets *T, const float *input, float *truth, float distill, fer_err *e);
void teacher_nets_free(teacher_nets *T);

/* ---- weight averaging (average.c) ----------------------------------------- */

/* net's parameters become the element-wise mean of the files' (every tensor,
 * batch-norm statistics included; each file must fit net's cfg); seen = the
 * largest of theirs. */
int weights_average(network *net, const char *const *paths, int n, fer_err *e);
/* 1 when a layer that is not frozen keeps batch-norm rolling statistics. */
int net_has_batchnorm(const network *net);
/* Re-estimates the rolling batch-norm statistics as the mean over
 * images / B training-mode mini-batches (B = [net] batch / subdivisions;
 * images <= 0: the whole set) of their batch statistics, on samples drawn
 * without replacement and augmented as in training. The images and the
 * dropout masks depend on seed alone. Leaves net at batch B without
 * gradients; *batches_out (may be NULL) gets the batch count. */
int bn_recalibrate(network *net, const dataset *ds, int images, uint64_t seed, int clean, int dropout,
                   int *batches_out, fer_err *e);

/* ---- data-parallel training (parallel.c) ---------------------------------- */

/* What a network needs to train as one of d->size ranks: gradients summed
 * over the ranks layer by layer as the backward pass produces them, and
 * with sync_bn the batch-norm statistics of the global mini-batch. */
typedef struct parallel {
    dist *d;
    int sync_bn;
    int failed;               /* a collective inside a pass failed: e holds why */
    fer_err e;
} parallel;

/* Installs the hooks on net (nothing with one rank). */
void parallel_attach(parallel *p, network *net, dist *d, int sync_bn);
/* Starts (on = 1) or stops summing each layer's gradients right after its
 * backward pass: on for the last pass before an update. */
void parallel_overlap(parallel *p, network *net, int on);
/* Waits for every gradient sum started; net->grads are then the ranks' total. */
int parallel_finish_grads(parallel *p, fer_err *e);
/* With per-rank batch norm: every rank's rolling statistics become their
 * mean over the ranks (before validation and checkpoints). */
int parallel_average_stats(parallel *p, network *net, fer_err *e);
/* evaluate_probs over ds with each rank computing its share of the images;
 * every rank gets all of probs [ds->n, classes]. */
int parallel_evaluate(parallel *p, network *net, const dataset *ds, float *probs, fer_err *e);

#endif
