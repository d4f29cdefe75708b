/* test_freeze.c - transfer learning mechanics: layers with freeze=1 keep
 * their weights and batch-norm rolling statistics bit-identical through
 * training steps (weight decay and momentum included) while the others
 * move; a frozen layer normalizes with its rolling statistics in training
 * too, and a frozen dropout passes its input through; the backward pass
 * stops below the lowest layer that trains (no input gradient, no parameter
 * gradients underneath) unless the caller wants dLoss/d input; stopbackward
 * keeps every gradient below it zero. Also times a few backward passes with
 * and without a frozen backbone (printed, not asserted: the machine may be
 * busy). */
#include "check.h"
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 0 conv+BN (frozen), 1 maxpool, 2 conv+BN (frozen), 3 dropout, 4 conv+BN,
 * 5 batchnorm, 6 connected, 7 softmax */
static const char *const backbone_cfg =
    "[net]\nwidth=12\nheight=12\nchannels=1\nbatch=8\nlearning_rate=0.05\nmomentum=0.9\ndecay=0.001\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\nfreeze=1\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=6\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\nfreeze=1\n"
    "[dropout]\nprobability=0.3\n"
    "[convolutional]\nfilters=8\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
    "[batchnorm]\n"
    "[connected]\noutput=5\nactivation=linear\n"
    "[softmax]\n";

static network *make_net(const char *text, int batch)
{
    network *net;
    fer_err e;
    if (net_from_text(&net, "test_freeze.cfg", text, NULL, &e) || net_set_batch(net, batch, 1, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    net_init_weights(net, 7);
    /* realistic, non-trivial rolling statistics */
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            if (!strcmp(p->name, "rolling_variance"))
                for (size_t k = 0; k < p->n; k++) p->data[k] = 0.5f + 0.1f * (float)(k % 7);
            if (!strcmp(p->name, "rolling_mean"))
                for (size_t k = 0; k < p->n; k++) p->data[k] = 0.05f * (float)((int)(k % 5) - 2);
        }
    return net;
}

static void random_batch(network *net, rng *r)
{
    for (size_t i = 0; i < (size_t)net->batch * net->inputs; i++) net->input[i] = rng_uniform(r);
    memset(net->truth, 0, (size_t)net->batch * net->classes * sizeof(float));
    for (int b = 0; b < net->batch; b++) net->truth[(size_t)b * net->classes + rng_int(r, net->classes)] = 1;
}

static int all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0) return 0;
    return 1;
}

static size_t layer_floats(const layer *l)
{
    size_t n = 0;
    for (int j = 0; j < l->n_params; j++) n += l->params[j].n;
    return n;
}

/* A layer's parameter gradients are contiguous in net->grads. */
static const float *layer_grad(const layer *l) { return l->n_params ? l->params[0].grad : NULL; }

static void train_step(network *net, optimizer *opt, rng *r)
{
    random_batch(net, r);
    net->train = 1;
    net->has_truth = 1;
    net_forward(net);
    net_backward(net);
    optimizer_step(opt, net, 0.05f, 1.0f);
    net_zero_grads(net);
}

/* Frozen weights and rolling statistics do not move; the rest do. */
static void test_frozen_layers_keep_their_state(void)
{
    network *net = make_net(backbone_cfg, 8);
    optimizer opt;
    fer_err e;
    CHECK(optimizer_init(&opt, net, &e) == 0, "%s", e.msg);
    float *before = malloc(net->n_param_floats * sizeof(float));
    memcpy(before, net->params, net->n_param_floats * sizeof(float));
    rng r;
    rng_seed(&r, 11);
    for (int step = 0; step < 5; step++) train_step(net, &opt, &r);
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const param *p = &l->params[j];
            size_t po = (size_t)(p->data - net->params);
            int same = !memcmp(before + po, p->data, p->n * sizeof(float));
            if (l->frozen)
                CHECK(same, "layer %d (frozen) %s changed after 5 steps", i, p->name);
            else
                CHECK(!same, "layer %d %s did not change after 5 steps", i, p->name);
        }
    }
    free(before);
    optimizer_free(&opt);
    net_free(net);
}

/* In training mode a frozen layer computes exactly its inference function:
 * batch norm with the rolling statistics (which stay put), dropout off. */
static void test_frozen_layers_run_as_inference(void)
{
    static const char *const cfg =
        "[net]\nwidth=8\nheight=8\nchannels=1\n"
        "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\nfreeze=1\n"
        "[dropout]\nprobability=0.5\nfreeze=1\n"
        "[connected]\noutput=4\nbatch_normalize=1\nactivation=relu\nfreeze=1\n"
        "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
    network *net = make_net(cfg, 6);
    rng r;
    rng_seed(&r, 3);
    random_batch(net, &r);
    net->has_truth = 1;
    net->train = 0;
    net_forward(net);
    size_t n0 = (size_t)net->batch * net->layers[0].outputs, n2 = (size_t)net->batch * net->layers[2].outputs;
    float *infer0 = malloc(n0 * sizeof(float)), *infer2 = malloc(n2 * sizeof(float));
    memcpy(infer0, net->layers[0].output, n0 * sizeof(float));
    memcpy(infer2, net->layers[2].output, n2 * sizeof(float));
    net->train = 1;
    net_forward(net);
    CHECK(!memcmp(infer0, net->layers[0].output, n0 * sizeof(float)),
          "frozen conv+BN: training-mode output differs from inference");
    CHECK(!memcmp(net->layers[0].output, net->layers[1].output, n0 * sizeof(float)),
          "frozen dropout changed its input in training mode");
    CHECK(!memcmp(infer2, net->layers[2].output, n2 * sizeof(float)),
          "frozen connected+BN: training-mode output differs from inference");
    /* the same layers unfrozen use batch statistics: the check can fail */
    net->layers[0].frozen = 0;
    net_forward(net);
    CHECK(memcmp(infer0, net->layers[0].output, n0 * sizeof(float)) != 0,
          "unfrozen conv+BN in training mode should use batch statistics");
    free(infer0);
    free(infer2);
    net_free(net);
}

/* The backward pass ends at the lowest trainable layer (4): layer 3 gets no
 * gradient, layers 0 and 2 no parameter gradients. want_dinput overrides. */
static void test_backward_stops_at_lowest_trainable(void)
{
    network *net = make_net(backbone_cfg, 8);
    rng r;
    rng_seed(&r, 5);
    random_batch(net, &r);
    net->train = 1;
    net->has_truth = 1;
    net->want_dinput = 0;
    net_forward(net);
    net_zero_grads(net);
    net_backward(net);
    size_t n3 = (size_t)net->batch * net->layers[3].outputs;
    for (int i = 0; i <= 3; i++) {
        const layer *l = &net->layers[i];
        CHECK(all_zero(l->doutput, (size_t)net->batch * l->outputs), "layer %d got an output gradient", i);
        if (l->n_params)
            CHECK(all_zero(layer_grad(l), layer_floats(l)), "frozen layer %d got parameter gradients", i);
    }
    CHECK(!all_zero(net->layers[4].doutput, (size_t)net->batch * net->layers[4].outputs), "layer 4 has no gradient");
    CHECK(!all_zero(net->layers[4].params[0].grad, net->layers[4].params[0].n), "layer 4 has no bias gradient");

    /* nothing frozen: the gradient reaches layer 3 (so the check above means something) */
    net->layers[0].frozen = net->layers[2].frozen = 0;
    net_forward(net);
    net_zero_grads(net);
    net_backward(net);
    CHECK(!all_zero(net->layers[3].doutput, n3), "unfrozen: layer 3 should get a gradient");
    CHECK(!all_zero(layer_grad(&net->layers[0]), layer_floats(&net->layers[0])),
          "unfrozen: layer 0 should get parameter gradients");

    /* frozen again, but the caller asks for dLoss/d input (Grad-CAM, tests) */
    net->layers[0].frozen = net->layers[2].frozen = 1;
    net->want_dinput = 1;
    net_forward(net);
    net_zero_grads(net);
    net_backward(net);
    CHECK(!all_zero(net->dinput, (size_t)net->batch * net->inputs), "want_dinput: no input gradient");
    CHECK(!all_zero(net->layers[3].doutput, n3), "want_dinput: layer 3 should get a gradient");
    net_free(net);
}

/* stopbackward: the layer computes its own parameter gradients, nothing
 * below it gets any (also not through a [shortcut] reaching under it). */
static void test_stopbackward(void)
{
    static const char *const cfg =
        "[net]\nwidth=8\nheight=8\nchannels=1\n"
        "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
        "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
        "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\nstopbackward=1\n"
        "[shortcut]\nfrom=-3\nactivation=linear\n"
        "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
    network *net = make_net(cfg, 4);
    rng r;
    rng_seed(&r, 9);
    random_batch(net, &r);
    net->train = 1;
    net->has_truth = 1;
    net->want_dinput = 1;
    net_forward(net);
    net_zero_grads(net);
    net_backward(net);
    for (int i = 0; i < 2; i++)
        CHECK(all_zero(layer_grad(&net->layers[i]), layer_floats(&net->layers[i])),
              "layer %d below stopbackward got parameter gradients", i);
    CHECK(all_zero(net->layers[1].doutput, (size_t)net->batch * net->layers[1].outputs),
          "layer 1 below stopbackward got an output gradient");
    CHECK(all_zero(net->dinput, (size_t)net->batch * net->inputs), "input gradient below stopbackward");
    CHECK(!all_zero(layer_grad(&net->layers[2]), layer_floats(&net->layers[2])),
          "the stopbackward layer itself should get parameter gradients");
    net_free(net);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A few backward passes of a VGG-like net at 48x48, with none, two or all
 * five of its convolutions frozen. */
static void test_backward_speedup(void)
{
    static const char *const cfg =
        "[net]\nwidth=48\nheight=48\nchannels=1\n"
        "[convolutional]\nfilters=16\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
        "[convolutional]\nfilters=16\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
        "[maxpool]\n"
        "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
        "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
        "[maxpool]\n"
        "[convolutional]\nfilters=64\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
        "[maxpool]\n"
        "[connected]\noutput=64\nactivation=relu\n"
        "[connected]\noutput=7\nactivation=linear\n[softmax]\n";
    network *net = make_net(cfg, 16);
    rng r;
    rng_seed(&r, 1);
    random_batch(net, &r);
    net->train = 1;
    net->has_truth = 1;
    net->want_dinput = 0;
    /* frozen: none, the first two convolutions (layers 0-1), all five (0-6) */
    const int upto[3] = { 0, 2, 7 };
    double t[3];
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < net->n; i++) net->layers[i].frozen = i < upto[k];
        net_forward(net);
        net_backward(net);   /* warm-up */
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = seconds();
            net_backward(net);
            double dt = seconds() - t0;
            if (dt < best) best = dt;
        }
        t[k] = best;
    }
    printf("backward pass, batch 16 at 48x48: %.2f ms with every layer training; %.2f ms (%.1fx) with the first "
           "two convolutions frozen; %.2f ms (%.0fx) with all five frozen\n", t[0] * 1e3, t[1] * 1e3, t[0] / t[1],
           t[2] * 1e3, t[0] / t[2]);
    CHECK(t[0] > 0 && t[1] > 0 && t[2] > 0, "timing");
    net_free(net);
}

/* Dropout in training: the dropped fraction is the probability, kept values
 * are scaled by 1/(1-p), the backward pass uses the same mask, and the mask
 * is the same with 1 and 2 threads (one random stream per sample). */
static void test_dropout_mask(void)
{
    static const char *const cfg = "[net]\nwidth=33\nheight=17\nchannels=5\n[dropout]\nprobability=0.3\n";
    float *masks[2] = { NULL, NULL };
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        fer_ctx *ctx = NULL;
        network *net = NULL;
        fer_err e;
        if (fer_ctx_new(&ctx, k + 1, NULL, &e) || net_from_text(&net, "dropout.cfg", cfg, ctx, &e) ||
            net_set_batch(net, 16, 1, &e)) {
            CHECK(0, "dropout net: %s", e.msg);
            fer_ctx_free(ctx);
            return;
        }
        n = (size_t)net->batch * net->inputs;
        for (size_t i = 0; i < n; i++) net->input[i] = 1.0f + (float)(i % 3);
        rng_seed(&net->rng, 42);
        net->train = 1;
        net_forward(net);
        layer *l = &net->layers[0];
        size_t dropped = 0, bad = 0;
        for (size_t i = 0; i < n; i++) {
            if (l->output[i] == 0) dropped++;
            else if (fabsf(l->output[i] - net->input[i] / 0.7f) > 1e-5f) bad++;
        }
        double frac = (double)dropped / (double)n;
        CHECK(frac > 0.29 && frac < 0.31, "%d thread(s): dropped %.4f of %zu values, want 0.3", k + 1, frac, n);
        CHECK(bad == 0, "%d thread(s): %zu kept values not scaled by 1/0.7", k + 1, bad);
        /* backward: din = dout * mask */
        for (size_t i = 0; i < n; i++) l->doutput[i] = 2.0f;
        float *din = calloc(n, sizeof(float));
        l->type->backward(l, net, net->input, din);
        size_t mismatch = 0;
        for (size_t i = 0; i < n; i++)
            if (din[i] != (l->output[i] == 0 ? 0.0f : 2.0f / 0.7f)) mismatch++;
        CHECK(mismatch == 0, "%d thread(s): %zu input gradients disagree with the mask", k + 1, mismatch);
        free(din);
        masks[k] = malloc(n * sizeof(float));
        memcpy(masks[k], l->output, n * sizeof(float));
        net_free(net);
        fer_ctx_free(ctx);
    }
    CHECK(!memcmp(masks[0], masks[1], n * sizeof(float)), "the dropout mask depends on the thread count");
    free(masks[0]);
    free(masks[1]);
}

int main(void)
{
    test_frozen_layers_keep_their_state();
    test_frozen_layers_run_as_inference();
    test_backward_stops_at_lowest_trainable();
    test_stopbackward();
    test_backward_speedup();
    test_dropout_mask();
    return check_summary("test_freeze");
}
