/* test_explain.c - saliency and Grad-CAM (src/analysis/gradcam.c) without any other
 * implementation to lean on:
 *   - the input gradient d score_K / d input against central finite
 *     differences of the score, on a smooth network (tanh, swish, batch norm
 *     in inference, average pooling: every coordinate must agree) and on
 *     tests/cfg/tiny.cfg (relu, max-pool: coordinates whose difference
 *     crosses a kink are allowed to disagree, at most 3% of them);
 *   - Grad-CAM's closed form on conv -> global average pool -> linear
 *     connected: w_k = W[K, k] / (H * W), the unclipped map sums to
 *     score_K - bias_K over the cells (Zhou et al.'s CAM), and the map is
 *     ReLU(sum_k w_k A_k);
 *   - the score is the input of the softmax, not its output: changing the
 *     softmax temperature leaves the gradient unchanged;
 *   - the default layer, and the errors: no conv layer, a layer out of range,
 *     stopbackward, a class out of range.
 * tests/e2e/e2e_explain_torch.sh compares with PyTorch autograd as well. */
#include "analysis/analysis.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static param *find_param(layer *l, const char *name)
{
    for (int i = 0; i < l->n_params; i++)
        if (!strcmp(l->params[i].name, name)) return &l->params[i];
    return NULL;
}

/* Random weights with non-trivial batch-norm state and biases. */
static void randomize(network *net, uint64_t seed)
{
    net_init_weights(net, seed);
    rng r;
    rng_seed(&r, seed + 99);
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            for (size_t k = 0; k < p->n; k++) {
                if (!strcmp(p->name, "biases") || !strcmp(p->name, "rolling_mean")) p->data[k] = 0.2f * rng_normal(&r);
                else if (!strcmp(p->name, "scales") || !strcmp(p->name, "rolling_variance")) p->data[k] = 0.5f + rng_uniform(&r);
            }
        }
}

static float score_at(network *net, const float *input, int score_layer, int cls)
{
    memcpy(net->input, input, (size_t)net->inputs * sizeof(float));
    net->train = 0;
    net_forward(net);
    return net->layers[score_layer].output[cls];
}

/* Compares x->dinput with central differences; returns the share of
 * coordinates that disagree (|fd - an| > atol + rtol * max|an|). */
static double fd_check(network *net, explanation *x, const float *input, int cls, float h, double atol, double rtol,
                       const char *what)
{
    int n = net->inputs;
    float *in = malloc((size_t)n * sizeof *in);
    float *an = malloc((size_t)n * sizeof *an);
    memcpy(in, input, (size_t)n * sizeof *in);
    memcpy(an, x->dinput, (size_t)n * sizeof *an);
    double amax = 0, worst = 0;
    for (int i = 0; i < n; i++)
        if (fabs(an[i]) > amax) amax = fabs(an[i]);
    CHECK(amax > 1e-4, "%s: the gradient is not all zero (max %g)", what, amax);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        float keep = in[i];
        in[i] = keep + h;
        double up = score_at(net, in, x->score_layer, cls);
        in[i] = keep - h;
        double down = score_at(net, in, x->score_layer, cls);
        in[i] = keep;
        double fd = (up - down) / (2.0 * h), err = fabs(fd - an[i]);
        if (err > worst) worst = err;
        if (err > atol + rtol * amax) bad++;
    }
    printf("%s: %d inputs, max |grad| %.4g, max |fd - grad| %.3g (%.2e relative), %d beyond tolerance\n", what, n, amax,
           worst, worst / amax, bad);
    free(in);
    free(an);
    return (double)bad / n;
}

static const char smooth_cfg[] =
    "[net]\nwidth=9\nheight=7\nchannels=2\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=tanh\n"
    "[convolutional]\nfilters=5\nsize=3\nstride=2\npad=1\nactivation=swish\n"
    "[avgpool]\n"
    "[connected]\noutput=6\nactivation=linear\n"
    "[softmax]\n";

static void test_finite_differences(fer_ctx *ctx)
{
    fer_err e;
    network *net;
    CHECK(net_from_text(&net, "smooth.cfg", smooth_cfg, ctx, &e) == 0, "smooth net: %s", e.msg);
    randomize(net, 11);
    explanation x;
    CHECK(explanation_init(&x, net, -1, &e) == 0, "explanation_init: %s", e.msg);
    CHECK(x.layer == 1 && x.score_layer == 3, "default layer %d (want 1), score layer %d (want 3)", x.layer, x.score_layer);
    float in[9 * 7 * 2];
    rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < 9 * 7 * 2; i++) in[i] = rng_uniform(&r);
    for (int cls = 0; cls < 6; cls += 5) {
        int used;
        CHECK(explain(net, in, cls, &x, &used, &e) == 0 && used == cls, "explain class %d: %s", cls, e.msg);
        char what[64];
        snprintf(what, sizeof what, "smooth net, class %d", cls);
        double bad = fd_check(net, &x, in, cls, 1e-2f, 1e-5, 1e-3, what);
        CHECK(bad == 0, "%s: every coordinate agrees with finite differences (%.1f%% do not)", what, 100 * bad);
        /* the saliency is the magnitude of the gradient, max over the 2 channels */
        int ok = 1;
        for (int i = 0; i < 63; i++) {
            float a = fabsf(x.dinput[i]), b = fabsf(x.dinput[63 + i]);
            ok &= x.saliency[i] == (a > b ? a : b);
        }
        CHECK(ok, "%s: saliency = max over channels of |dinput|", what);
    }
    /* explain(-1) picks the predicted class */
    int used;
    CHECK(explain(net, in, -1, &x, &used, &e) == 0, "explain -1");
    int best = 0;
    for (int k = 1; k < 6; k++)
        if (x.probs[k] > x.probs[best]) best = k;
    CHECK(used == best, "class -1 explains the predicted class %d (got %d)", best, used);
    explanation_free(&x);
    net_free(net);

    CHECK(net_from_cfg(&net, "tests/cfg/tiny.cfg", ctx, &e) == 0, "tiny.cfg: %s", e.msg);
    randomize(net, 3);
    CHECK(explanation_init(&x, net, -1, &e) == 0, "tiny: %s", e.msg);
    CHECK(x.layer == 2 && x.lh == 12 && x.lw == 12 && x.lc == 32, "tiny: default Grad-CAM layer 2 (12x12x32), got %d", x.layer);
    float *big = malloc(48 * 48 * sizeof *big);
    for (int i = 0; i < 48 * 48; i++) big[i] = rng_uniform(&r);
    CHECK(explain(net, big, 3, &x, &used, &e) == 0, "tiny explain: %s", e.msg);
    double bad = fd_check(net, &x, big, 3, 1e-3f, 2e-4, 1e-2, "tiny.cfg (relu, max-pool), class 3");
    CHECK(bad <= 0.03, "tiny: at most 3%% of the coordinates cross a kink (%.2f%%)", 100 * bad);
    free(big);
    explanation_free(&x);
    net_free(net);
}

static const char cam_cfg[] =
    "[net]\nwidth=10\nheight=8\nchannels=1\n"
    "[convolutional]\nfilters=6\nsize=3\npad=1\nactivation=leaky\n"
    "[avgpool]\n"
    "[connected]\noutput=5\nactivation=linear\n"
    "[softmax]\ntemperature=%s\n";

static void test_gradcam_closed_form(fer_ctx *ctx)
{
    fer_err e;
    network *net, *hot;
    char text[512];
    snprintf(text, sizeof text, cam_cfg, "1");
    CHECK(net_from_text(&net, "cam.cfg", text, ctx, &e) == 0, "cam net: %s", e.msg);
    snprintf(text, sizeof text, cam_cfg, "3.5");
    CHECK(net_from_text(&hot, "cam_t.cfg", text, ctx, &e) == 0, "cam net T=3.5: %s", e.msg);
    randomize(net, 21);
    randomize(hot, 21);
    explanation x, xt;
    CHECK(explanation_init(&x, net, -1, &e) == 0 && x.layer == 0, "cam net: default layer 0 (%d)", x.layer);
    CHECK(explanation_init(&xt, hot, 0, &e) == 0, "cam net T: %s", e.msg);
    float in[80];
    rng r;
    rng_seed(&r, 8);
    for (int i = 0; i < 80; i++) in[i] = rng_uniform(&r);
    const int HW = 80;
    for (int K = 0; K < 5; K++) {
        int used;
        CHECK(explain(net, in, K, &x, &used, &e) == 0, "explain");
        CHECK(explain(hot, in, K, &xt, &used, &e) == 0, "explain T");
        param *W = find_param(&net->layers[2], "weights"), *b = find_param(&net->layers[2], "biases");
        double werr = 0, map_sum = 0, cam_err = 0;
        const float *A = net->layers[0].output;
        for (int k = 0; k < 6; k++) {
            double want = W->data[K * 6 + k] / HW;
            if (fabs(x.cam_weights[k] - want) > werr) werr = fabs(x.cam_weights[k] - want);
        }
        for (int i = 0; i < HW; i++) {
            double v = 0;
            for (int k = 0; k < 6; k++) v += (double)x.cam_weights[k] * A[k * HW + i];
            map_sum += v;
            double relu = v > 0 ? v : 0;
            if (fabs(x.cam[i] - relu) > cam_err) cam_err = fabs(x.cam[i] - relu);
        }
        CHECK(werr < 1e-7, "class %d: Grad-CAM weights = W[K,k]/(H*W), max error %g", K, werr);
        CHECK_CLOSE(map_sum, x.scores[K] - b->data[K], 1e-5, 1e-5, "class %d: the map sums to score - bias", K);
        CHECK(cam_err < 1e-6, "class %d: cam = ReLU(sum w A), max error %g", K, cam_err);
        CHECK(x.cam_input[0] == x.cam[0] && x.cam_input[79] == x.cam[79], "same size: cam_input is cam");
        double derr = 0;
        for (int i = 0; i < 80; i++)
            if (fabs(x.dinput[i] - xt.dinput[i]) > derr) derr = fabs(x.dinput[i] - xt.dinput[i]);
        CHECK(derr == 0, "class %d: the softmax temperature does not change d score/d input (%g)", K, derr);
        CHECK(fabs(x.probs[K] - xt.probs[K]) > 1e-4 || K == 0, "the temperature does change the probabilities");
    }
    explanation_free(&x);
    explanation_free(&xt);
    net_free(net);
    net_free(hot);
}

static void test_errors(fer_ctx *ctx)
{
    fer_err e;
    network *net;
    explanation x;
    CHECK(net_from_text(&net, "fc.cfg", "[net]\nwidth=4\nheight=4\nchannels=1\n[connected]\noutput=3\n[softmax]\n", ctx, &e) == 0,
          "fc net");
    CHECK(gradcam_default_layer(net) == -1, "no conv layer: no default Grad-CAM layer");
    CHECK(explanation_init(&x, net, -1, &e) != 0 && strstr(e.msg, "-layer"), "no conv layer is an error that names -layer: %s", e.msg);
    CHECK(explanation_init(&x, net, 5, &e) != 0 && strstr(e.msg, "expected 0..0"), "layer 5 out of range: %s", e.msg);
    CHECK(explanation_init(&x, net, -2, &e) == 0, "saliency only (-2)");
    float in[16] = { 0 };
    int used;
    CHECK(explain(net, in, 3, &x, &used, &e) != 0 && strstr(e.msg, "0..2"), "class 3 of 3 is an error: %s", e.msg);
    CHECK(explain(net, in, 2, &x, &used, &e) == 0, "class 2 fine");
    explanation_free(&x);
    net_free(net);

    CHECK(net_from_text(&net, "stop.cfg",
                        "[net]\nwidth=6\nheight=6\nchannels=1\n[convolutional]\nfilters=2\nsize=3\npad=1\n"
                        "[convolutional]\nfilters=2\nsize=3\npad=1\nstopbackward=1\n[connected]\noutput=3\n[softmax]\n",
                        ctx, &e) == 0, "stopbackward net: %s", e.msg);
    CHECK(explanation_init(&x, net, 0, &e) != 0 && strstr(e.msg, "stopbackward"), "Grad-CAM below stopbackward: %s", e.msg);
    CHECK(explanation_init(&x, net, 1, &e) == 0 && !x.saliency_ok, "layer 1 is fine, but no saliency");
    explanation_free(&x);
    net_free(net);

    CHECK(net_from_text(&net, "first.cfg", "[net]\nwidth=2\nheight=1\nchannels=1\n[softmax]\n", ctx, &e) == 0, "softmax only");
    CHECK(explanation_init(&x, net, -2, &e) != 0 && strstr(e.msg, "first layer"), "softmax first: %s", e.msg);
    net_free(net);
}

int main(void)
{
    fer_ctx *ctx;
    fer_err e;
    if (fer_ctx_new(&ctx, 1, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    test_finite_differences(ctx);
    test_gradcam_closed_form(ctx);
    test_errors(ctx);
    fer_ctx_free(ctx);
    return check_summary("test_explain");
}
