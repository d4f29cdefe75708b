/* average.c - weight averaging: the element-wise mean of several weight
 * files of one cfg (stochastic weight averaging over a run's epoch
 * snapshots, Izmailov et al. 2018, or a "soup" of fine-tuned runs), and the
 * re-estimation of batch-norm statistics that an averaged network needs:
 * the mean of the averaged weights' activations is not the mean of the
 * snapshots' rolling statistics.
 *
 * The re-estimate runs the network in training mode (batch statistics;
 * dropout on unless asked otherwise) over training mini-batches shown in
 * their test-time view (the images the network will be judged on) or
 * augmented as in training, and makes each rolling statistic the plain mean
 * over those batches of the batch statistic (momentum 1/(k+1) at batch k),
 * as PyTorch's swa_utils.update_bn does. */
#include "train.h"

#include <stdlib.h>
#include <string.h>

int weights_average(network *net, const char *const *paths, int n, fer_err *e)
{
    if (n < 1) return fer_fail(e, "weights_average: no weights files");
    size_t count = net->n_param_floats;
    double *sum = calloc(count ? count : 1, sizeof *sum);
    if (!sum) return fer_fail(e, "out of memory (%zu parameters)", count);
    uint64_t seen = 0;
    for (int k = 0; k < n; k++) {
        if (weights_load(net, paths[k], -1, e)) {
            free(sum);
            return -1;
        }
        for (size_t i = 0; i < count; i++) sum[i] += net->params[i];
        if (net->seen > seen) seen = net->seen;
    }
    for (size_t i = 0; i < count; i++) net->params[i] = (float)(sum[i] / n);
    free(sum);
    net->seen = seen;
    net->weights_version++;
    return 0;
}

int net_has_batchnorm(const network *net)
{
    for (int i = 0; i < net->n; i++)
        for (int p = 0; p < net->layers[i].n_params; p++)
            if (!strcmp(net->layers[i].params[p].name, "rolling_mean") && !net->layers[i].frozen) return 1;
    return 0;
}

int bn_recalibrate(network *net, const dataset *ds, int images, uint64_t seed, int clean, int dropout,
                   int *batches_out, fer_err *e)
{
    int iw, ih, ic;
    fer_net_input_shape(net, &iw, &ih, &ic);
    if (ds->c != ic || ds->w < iw || ds->h < ih)
        return fer_fail(e, "%s: images are %dx%dx%d but the network needs %dx%dx%d", ds->source, ds->w, ds->h, ds->c,
                        iw, ih, ic);
    if (ds->n < 1) return fer_fail(e, "%s: no images to estimate batch-norm statistics from", ds->source);
    if (images <= 0 || images > ds->n) images = ds->n;
    int B = net->opt.batch / net->opt.subdivisions;
    if (B > images) B = images;
    if (B < 2) return fer_fail(e, "batch-norm statistics need batches of 2 or more images (have %d)", B);
    int batches = images / B;
    int *order = malloc((size_t)ds->n * sizeof *order);
    if (!order) return fer_fail(e, "out of memory");
    rng r;
    rng_seed(&r, seed);
    rng_permutation(&r, order, ds->n);
    if (net->batch != B && net_set_batch(net, B, 0, e)) {
        free(order);
        return -1;
    }
    int was_train = net->train, was_base = net->sample_base;
    float was_momentum = net->opt.bn_momentum;
    rng was_rng = net->rng;
    /* dropout masks from the seed alone: the same statistics whatever pass
     * came before (a resumed run) and on every rank */
    rng_seed(&net->rng, seed ^ 0xd4e12c77b5a0f3e1ULL);
    net->sample_base = 0;
    net->train = 1;
    net->no_dropout = !dropout;
    net->has_truth = 0;
    net->crop_view_set = clean;   /* clean: [crop] layers take their centre too */
    net->crop_view_row = net->crop_view_col = -1;
    for (int k = 0; k < batches; k++) {
        for (int b = 0; b < B; b++)
            augment_sample(ds, order[(size_t)k * B + b], &net->opt, !clean, 0, &r, net->input + (size_t)b * net->inputs,
                           iw, ih);
        net->opt.bn_momentum = 1.0f / (float)(k + 1);
        net_forward(net);
    }
    net->opt.bn_momentum = was_momentum;
    net->train = was_train;
    net->sample_base = was_base;
    net->rng = was_rng;
    net->no_dropout = 0;
    net->crop_view_set = 0;
    net->weights_version++;
    free(order);
    if (batches_out) *batches_out = batches;
    return 0;
}
