/* test_infer.c - single-sample inference takes paths of its own: with
 * fewer samples than threads, a Winograd convolution with many tiles splits
 * one sample across the threads and keeps its transformed filters U, and
 * under bf16 the convolutions keep their weights packed for the GEMM. Both
 * caches are valid only while the weights stay. This test runs the same
 * network on the same images at batch 1 (sample by sample) and as a batch,
 * in fp32 and bf16, and again after the weights change (optimizer step,
 * re-initialization, weights_load): every output must match the batched
 * pass's, which recomputes everything, within the precision's rounding.
 * Also the batched bf16 training pass, whose Winograd layers multiply by
 * filter transforms packed once per pass: its parameter and input
 * gradients must match fp32's within bf16's rounding (measured: up to 9%
 * relative, the same with and without the packing, which changes no bit;
 * a wrong transform index in the packed input gradient gives ~100%). */
#include "check.h"
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a 5x5 Winograd layer (four blocks) on a 20x20 output (100 tiles), a 3x3
 * one on 10x10 (25 tiles: below WINO_SERIAL_TILES, im2col + packed
 * weights), a 3x3 on 5x5 with 40 filters (the transposed batch-1 product,
 * packed as B), a dense head */
static const char *const net_cfg =
    "[net]\nwidth=20\nheight=20\nchannels=3\nbatch=4\nlearning_rate=0.01\nmomentum=0.9\nbn_momentum=0.5\n"
    "[convolutional]\nfilters=12\nsize=3\npad=1\nactivation=relu\n"
    "[convolutional]\nfilters=16\nsize=5\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=24\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=40\nsize=3\npad=1\nactivation=tanh\n"
    "[connected]\noutput=6\nactivation=linear\n"
    "[softmax]\n";

#define SAMPLES 3

static network *make_net(fer_ctx *ctx)
{
    network *net;
    fer_err e;
    if (net_from_text(&net, "test_infer.cfg", net_cfg, ctx, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    net_init_weights(net, 11);
    /* batch-norm statistics far from the identity, so that folding them
     * into the weights matters */
    rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            for (size_t k = 0; k < p->n; k++) {
                if (!strcmp(p->name, "rolling_mean")) p->data[k] = 0.3f * (rng_uniform(&r) - 0.5f);
                if (!strcmp(p->name, "rolling_variance")) p->data[k] = 0.2f + 2.0f * rng_uniform(&r);
                if (!strcmp(p->name, "scales")) p->data[k] = 0.5f + rng_uniform(&r);
            }
        }
    net->weights_version++;
    return net;
}

static void set_batch(network *net, int batch, int grads)
{
    fer_err e;
    if (net_set_batch(net, batch, grads, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
}

/* Outputs [SAMPLES][classes] of images x, at batch 1 (twice: the second
 * pass uses the caches) and batched, without gradients (batch norm folded
 * into the convolutions), and batched with gradients enabled (batch norm
 * as its own pass); all must agree. */
static void compare(network *net, const float *x, double tol, const char *what)
{
    int classes = net->classes;
    float one[2][SAMPLES * 16], all[SAMPLES * 16];
    net->has_truth = 0;
    set_batch(net, 1, 0);
    /* first a training-mode pass without gradients (batch statistics: the
     * batch norm does not fold): the caches it leaves must not serve the
     * folded passes */
    net->train = 1;
    memcpy(net->input, x, (size_t)net->inputs * sizeof(float));
    net_forward(net);
    net->train = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int s = 0; s < SAMPLES; s++) {
            memcpy(net->input, x + (size_t)s * net->inputs, (size_t)net->inputs * sizeof(float));
            net_forward(net);
            memcpy(one[pass] + s * classes, net_output(net), (size_t)classes * sizeof(float));
        }
    set_batch(net, SAMPLES, 0);
    memcpy(net->input, x, (size_t)SAMPLES * net->inputs * sizeof(float));
    net_forward(net);
    memcpy(all, net_output(net), (size_t)SAMPLES * classes * sizeof(float));
    float unfolded[SAMPLES * 16];
    set_batch(net, SAMPLES, 1);
    memcpy(net->input, x, (size_t)SAMPLES * net->inputs * sizeof(float));
    net_forward(net);
    memcpy(unfolded, net_output(net), (size_t)SAMPLES * classes * sizeof(float));
    for (int i = 0; i < SAMPLES * classes; i++) {
        CHECK_CLOSE(all[i], unfolded[i], tol, tol, "%s: batch norm folded vs not, output %d", what, i);
        CHECK_CLOSE(one[0][i], all[i], tol, tol, "%s: batch 1 vs batch %d, output %d", what, SAMPLES, i);
        CHECK(one[1][i] == one[0][i], "%s: batch 1 second pass differs at %d: %g vs %g", what, i,
              (double)one[1][i], (double)one[0][i]);
    }
}

/* Outputs at batch 1 (caches filled), then the weights change by `how`;
 * the next batch-1 outputs must follow the new weights. */
static void check_precision(const char *precision)
{
    fer_ctx *ctx;
    fer_err e;
    if (fer_ctx_new(&ctx, 2, NULL, &e) || fer_ctx_set_precision(ctx, precision, &e)) {
        printf("skipped %s: %s\n", precision, e.msg);
        if (ctx) fer_ctx_free(ctx);
        return;
    }
    double tol = strcmp(precision, "bf16") ? 1e-5 : 2e-2;
    network *net = make_net(ctx);
    float x[SAMPLES * 20 * 20 * 3];
    rng r;
    rng_seed(&r, 5);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = rng_uniform(&r);
    char what[96];
    snprintf(what, sizeof what, "%s fresh", precision);
    compare(net, x, tol, what);

    /* a training step moves the weights */
    set_batch(net, 4, 1);
    optimizer opt = { 0 };
    if (optimizer_init(&opt, net, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    float before[SAMPLES * 16];
    set_batch(net, 1, 0);
    net->train = 0;
    memcpy(net->input, x, (size_t)net->inputs * sizeof(float));
    net_forward(net);
    memcpy(before, net_output(net), (size_t)net->classes * sizeof(float));
    set_batch(net, 4, 1);
    for (size_t i = 0; i < (size_t)4 * net->inputs; i++) net->input[i] = rng_uniform(&r);
    memset(net->truth, 0, (size_t)4 * net->classes * sizeof(float));
    for (int b = 0; b < 4; b++) net->truth[b * net->classes + b % net->classes] = 1;
    net->train = 1;
    net->has_truth = 1;
    net_zero_grads(net);
    net_forward(net);
    net_backward(net);
    optimizer_step(&opt, net, 0.5f, 1.0f);
    optimizer_free(&opt);
    snprintf(what, sizeof what, "%s after an optimizer step", precision);
    compare(net, x, tol, what);
    set_batch(net, 1, 0);
    net->train = 0;
    memcpy(net->input, x, (size_t)net->inputs * sizeof(float));
    net_forward(net);
    int moved = 0;
    for (int i = 0; i < net->classes; i++) moved |= net_output(net)[i] != before[i];
    CHECK(moved, "%s: the optimizer step did not change the batch-1 output", precision);

    /* re-initialization and loading, without changing the batch in between */
    net_init_weights(net, 99);
    snprintf(what, sizeof what, "%s after net_init_weights", precision);
    compare(net, x, tol, what);
    char path[] = "/tmp/fer_test_infer_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        close(fd);
        network *other = make_net(ctx);
        net_init_weights(other, 1234);
        CHECK(weights_save(other, path, -1, &e) == 0, "weights_save: %s", e.msg);
        set_batch(net, 1, 0);
        memcpy(net->input, x, (size_t)net->inputs * sizeof(float));
        net_forward(net);   /* caches hold init 99's transforms */
        CHECK(weights_load(net, path, -1, &e) == 0, "weights_load: %s", e.msg);
        net_forward(net);
        float loaded[16];
        memcpy(loaded, net_output(net), (size_t)net->classes * sizeof(float));
        set_batch(other, 1, 0);
        other->train = 0;
        memcpy(other->input, x, (size_t)other->inputs * sizeof(float));
        net_forward(other);
        for (int i = 0; i < net->classes; i++)
            CHECK_CLOSE(loaded[i], net_output(other)[i], tol, tol, "%s: after weights_load, output %d", precision, i);
        net_free(other);
        unlink(path);
    }
    net_free(net);
    fer_ctx_free(ctx);
}

/* ||a - b|| / ||b|| */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r += (double)b[i] * b[i];
    }
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

static void check_bf16_gradients(void)
{
    fer_ctx *ctx[2];
    fer_err e;
    if (fer_ctx_new(&ctx[0], 2, NULL, &e) || fer_ctx_new(&ctx[1], 2, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    if (fer_ctx_set_precision(ctx[1], "bf16", &e)) {
        printf("skipped bf16 gradients: %s\n", e.msg);
        fer_ctx_free(ctx[0]);
        fer_ctx_free(ctx[1]);
        return;
    }
    network *net[2];
    rng r;
    for (int i = 0; i < 2; i++) {
        net[i] = make_net(ctx[i]);
        net_init_weights(net[i], 11);   /* identity batch-norm statistics (the bound below was measured so) */
        set_batch(net[i], 4, 1);
        rng_seed(&r, 21);
        for (size_t k = 0; k < (size_t)4 * net[i]->inputs; k++) net[i]->input[k] = rng_uniform(&r);
        memset(net[i]->truth, 0, (size_t)4 * net[i]->classes * sizeof(float));
        for (int b = 0; b < 4; b++) net[i]->truth[b * net[i]->classes + (b * 5) % net[i]->classes] = 1;
        net[i]->train = 1;
        net[i]->has_truth = 1;
        net[i]->want_dinput = 1;
        net_zero_grads(net[i]);
        net_forward(net[i]);
        net_backward(net[i]);
    }
    for (int l = 0; l < net[0]->n; l++)
        for (int j = 0; j < net[0]->layers[l].n_params; j++) {
            const param *a = &net[1]->layers[l].params[j], *b = &net[0]->layers[l].params[j];
            if (!a->grad) continue;
            double d = rel_diff(a->grad, b->grad, b->n);
            CHECK(d < 0.15, "bf16 vs fp32 gradient of layer %d %s: relative difference %.4f", l, b->name, d);
        }
    double d = rel_diff(net[1]->dinput, net[0]->dinput, (size_t)4 * net[0]->inputs);
    CHECK(d < 0.15, "bf16 vs fp32 input gradient: relative difference %.4f", d);
    for (int i = 0; i < 2; i++) {
        net_free(net[i]);
        fer_ctx_free(ctx[i]);
    }
}

/* Outputs of the first SAMPLES images at batch SAMPLES, inference mode,
 * into out; grads selects the unfolded path (a fresh reference). */
static void infer(network *net, const float *x, int grads, float *out)
{
    if (net->batch != SAMPLES || net->grads_enabled != grads) set_batch(net, SAMPLES, grads);
    net->train = 0;
    net->has_truth = 0;
    memcpy(net->input, x, (size_t)SAMPLES * net->inputs * sizeof(float));
    net_forward(net);
    memcpy(out, net_output(net), (size_t)SAMPLES * net->classes * sizeof(float));
}

/* Caches filled, then what they derive from changes without the weights
 * being written: a training-mode pass moves the batch-norm statistics
 * (folded weights), a precision switch changes the GEMM (packed filter
 * transforms; switching bf16 -> fp32 must not call the bf16 GEMM's
 * packed entry, which fp32 has none of). */
static void check_cache_sources(void)
{
    fer_ctx *ctx;
    fer_err e;
    if (fer_ctx_new(&ctx, 2, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    int bf16 = fer_ctx_set_precision(ctx, "bf16", &e) == 0;
    network *net = make_net(ctx);
    float x[SAMPLES * 20 * 20 * 3], got[SAMPLES * 16], want[SAMPLES * 16];
    rng r;
    rng_seed(&r, 8);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = rng_uniform(&r);
    size_t n = (size_t)SAMPLES * net->classes;
    double tol = bf16 ? 2e-2 : 1e-5;
    /* folded, then a training-mode pass without gradients, then folded again */
    infer(net, x, 0, got);
    net->train = 1;   /* inputs scaled by 3: the statistics move far */
    for (size_t i = 0; i < (size_t)SAMPLES * net->inputs; i++) net->input[i] = 3.0f * x[i];
    net_forward(net);
    infer(net, x, 0, got);
    infer(net, x, 1, want);
    for (size_t i = 0; i < n; i++)
        CHECK_CLOSE(got[i], want[i], tol, tol, "after a training-mode pass, folded output %zu", i);
    /* bf16 caches, then fp32 */
    if (bf16) {
        infer(net, x, 0, got);
        CHECK(fer_ctx_set_precision(ctx, "fp32", &e) == 0, "%s", e.msg);
        infer(net, x, 0, got);
        infer(net, x, 1, want);
        for (size_t i = 0; i < n; i++)
            CHECK_CLOSE(got[i], want[i], 1e-5, 1e-5, "after switching bf16 -> fp32, output %zu", i);
    } else {
        printf("skipped the precision switch: %s\n", e.msg);
    }
    net_free(net);
    fer_ctx_free(ctx);
}

int main(void)
{
    check_precision("fp32");
    check_precision("bf16");
    check_bf16_gradients();
    check_cache_sources();
    return check_summary("test_infer");
}
