/* dataset.h - src/data/, what training and evaluation read: datasets in
 * memory (CSV, class folders, list files), augmentation, and teacher files
 * for distillation; .data files are in datacfg.h, image files behind
 * include/fer.h's fer_image_load (image.c). */
#ifndef FER_DATA_DATASET_H
#define FER_DATA_DATASET_H

#include "datacfg.h"
#include "engine/engine.h"

/* ---- datasets ------------------------------------------------------------ */

/* Images held in memory as bytes, all of one size: pixels [n][c][h][w]. */
typedef struct dataset {
    int n, w, h, c;
    uint8_t *pixels;
    int *labels;             /* [n] class index */
    int classes;
    char source[1024];
} dataset;

/* Loads a split: `path` is a Kaggle CSV (emotion,pixels,Usage; rows whose
 * Usage equals `usage` are kept; usage NULL or "" keeps all), a folder of
 * class folders (root/<label>/<image> with .pgm .ppm .png .jpg), or a list file (one
 * image path per line; the label is the path component equal to a label
 * name). Images are resized to w x h and converted to c channels. */
int dataset_load(dataset *ds, const char *path, const char *usage, const data_cfg *d, int w, int h,
                 int c, fer_err *e);
void dataset_free(dataset *ds);
/* Writes a copy of the FER-2013 CSV `in` to `out` in which the rows with
 * Usage=usage are divided, stratified by class, into `holdout_name`
 * (round(fraction * n) of each class, chosen by a shuffle seeded with seed)
 * and `fit_name` (the rest); other rows are copied unchanged. */
int dataset_csv_holdout(const char *in, const char *out, const char *usage, double fraction, uint64_t seed,
                        const char *fit_name, const char *holdout_name, int *kept, int *held, fer_err *e);
/* count[k] = images of class k (count has ds->classes entries). */
void dataset_class_counts(const dataset *ds, int *count);
/* Class-balanced sampling ([net] class_balance = power in (0,1]): share[k]
 * = count_k^(1-power) / sum_j count_j^(1-power), 0 for an empty class
 * (power 1: each class equally often; 0.5: in proportion to the square
 * root of its count). share has ds->classes entries. */
void dataset_balance_shares(const dataset *ds, float power, double *share);
/* order[0..ds->n): ds->n images drawn with replacement, class k with
 * probability share[k] above, then an image of it uniformly. by_class
 * [ds->n] is the caller's scratch. */
void dataset_balanced_order(const dataset *ds, float power, rng *r, int *order, int *by_class);

/* ---- augmentation -------------------------------------------------------- */

/* Writes sample i of ds into out ([c, oh, ow] floats in [0,1]) with random
 * augmentation from net options (train=1) or the deterministic test-time
 * view (train=0: center crop when crop is set, otherwise resize only).
 * flip forces a horizontal flip (test-time augmentation). */
void augment_sample(const dataset *ds, int i, const net_options *o, int train, int flip, rng *r,
                    float *out, int ow, int oh);

/* mixup / CutMix of a training view already in out ([c, oh, ow]): with
 * probability o->mix_prob, another image of ds (drawn at random, its number
 * into *other; else -1) is augmented into scratch ([c, oh, ow]) and blended
 * in (mixup) or a box of it pasted (cutmix, which wins when both are on, as
 * in Darknet). Returns the share of the target that stays with out's own
 * label; the rest goes to *other's. Draws nothing when both keys are 0. */
float augment_mix(const dataset *ds, const net_options *o, rng *r, float *out, float *scratch, int ow, int oh,
                  int *other);

/* ---- distillation (teacher.c) -------------------------------------------- */

/* Reads `fer ensemble -split train -out` CSV: *out = [ds->n, classes], row i
 * the ens_<label> probabilities of image i (names: the label names, in
 * class order). Every image of ds needs exactly one row whose true label is
 * ds's (rows with index >= ds->n are skipped: a -limit'ed split). */
int teacher_load(const char *path, const dataset *ds, char **names, float **out, fer_err *e);

#endif
