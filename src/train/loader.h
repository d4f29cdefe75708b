/* loader.h - src/train/'s loader: a thread that prepares the augmented
 * (and mixed) mini-batches of an epoch ahead of the compute, in a ring of
 * slots, each mini-batch drawn from the epoch's order and augmented by a
 * stream seeded from (seed, epoch, mini-batch), so that what it delivers
 * depends on nothing but those (resumes and rank counts included). */
#ifndef FER_TRAIN_LOADER_H
#define FER_TRAIN_LOADER_H

#include "data/dataset.h"

#include <pthread.h>

#define LOADER_SLOTS 3

typedef struct loader_slot {
    float *x;        /* [B, c, h, w] */
    int *labels;     /* [B] */
    int *index;      /* [B] image numbers in the dataset */
    int *other;      /* [B] the image mixed into each (mixup/CutMix), or -1 */
    float *keep;     /* [B] the share of each target left to its own label (1 unmixed) */
    long id;         /* mini-batch number it holds, -1 when free */
} loader_slot;

typedef struct loader {
    const dataset *ds;
    const net_options *opt;
    const int *order;         /* [n] this epoch's permutation (or balanced draw) */
    int B, ow, oh, inputs;   /* B: this rank's samples per mini-batch */
    int skip, global_B;      /* samples of the global mini-batch before this rank's; its size */
    float *skipped;          /* [inputs] where the samples before this rank's are drawn */
    float *scratch;          /* [inputs] the image mixed in */
    long first, end;          /* mini-batches [first, end) of this epoch */
    uint64_t seed;
    int epoch;
    loader_slot slot[LOADER_SLOTS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    pthread_t thread;
} loader;

/* Sets L up for rank `rank` of `ranks` computing B samples (ow x oh views,
 * `inputs` floats each) of every mini-batch of B x ranks, drawn from
 * order (which the caller refills each epoch) and seeded by seed.
 * loader_free undoes it, after a failure too. */
int loader_init(loader *L, const dataset *ds, const net_options *opt, const int *order, int B, int rank,
                int ranks, int ow, int oh, int inputs, uint64_t seed, fer_err *e);
void loader_free(loader *L);
/* Starts the thread on mini-batches [first, end) of `epoch`. */
int loader_start(loader *L, int epoch, long first, long end, fer_err *e);
/* Waits for mini-batch mb (taken in order), then hands its slot back. */
loader_slot *loader_take(loader *L, long mb);
void loader_release(loader *L, loader_slot *s);
/* Stops the thread (before the epoch's end too) and joins it. */
void loader_stop(loader *L);

#endif
