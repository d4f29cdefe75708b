/* test_gradcheck.c - finite-difference gradient checks of every layer type and
 * activation, over the network input and every trainable parameter tensor.
 *
 * Each case builds a small network from cfg text, randomizes its parameters
 * and input, computes the analytic gradient with net_backward (or
 * net_backward_from), then perturbs each probed value by +-EPS and compares
 * the central difference (L(x+eps) - L(x-eps)) / 2eps with it, as genann and
 * llm.c do: |analytic - numeric| / max(|analytic|, |numeric|, floor) <= RTOL,
 * where `floor` is the case's absolute floor (float noise in L divided by
 * 2eps). The objective L is either the network's loss (softmax
 * cross-entropy against random one-hot targets) or a fixed random projection
 * sum(r * output) of one layer's output, which exercises the layers' backward
 * passes without the loss in between. A probe that misses is measured again
 * with 4*eps (4x less rounding noise; truncation error stays far below the
 * tolerance) and fails only if both miss.
 *
 * Kinks (relu, leaky, prelu and selu at 0, relu6 at 0 and 6, maxpool
 * argmax switches): a central difference across a kink mixes two slopes.
 * After each forward pass the checker takes a fingerprint of every kink
 * region in the network (the sign of each relu/leaky/prelu/selu output,
 * relu6's three pieces, each maxpool window's argmax). When the x+eps or
 * x-eps pass lands in another region than x, the probe lies within eps of a
 * kink: it is measured again with eps/8, and skipped if that step crosses a
 * kink too or (its rounding noise being 8x larger) misses. Failures thus come
 * only from kink-free probes. Skips are counted and printed; a tensor fails
 * when more than half of its probes are skipped. A random point where that
 * happens (a pre-activation so close to a kink that every parameter moves it
 * across) is re-drawn, at most twice. Smooth networks skip nothing.
 *
 * Every checked tensor must have some gradient above 1e-6 (a layer whose
 * backward writes nothing would otherwise pass), and the checker itself is
 * checked: a gradient with one element off by 5% must be caught. Each case
 * also checks that backward passes accumulate (core.h): a second backward
 * doubles the parameter gradients, and the last layer adds to a din that
 * already holds values instead of overwriting it. */
#include "check.h"
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#define EPS 1e-3f
#define RTOL 1e-2
#define MAX_PROBES 160        /* per tensor; larger tensors are sampled */
#define MAX_SKIP_FRACTION 0.5
/* Absolute floors (see the top): float rounding makes L(x+eps) - L(x-eps)
 * noisy by ~1e-6 of |L|'s terms, i.e. ~1e-3 in a central difference of O(1)
 * gradients (measured: the error scales as 1/eps, so it is rounding, not
 * truncation). Batch norm in training mode moves every output of a channel
 * at once and is noisier; the loss objectives have gradients ~1/batch. */
#define FLOOR_PROJ 0.2
#define FLOOR_BN_TRAIN 0.5
#define FLOOR_LOSS 0.02
#define FLOOR_LOSS_BN_TRAIN 0.2
/* 16384 outputs, each moved by every input through the batch statistics:
 * the rounding noise of L is ~100x that of the small cases (gradients ~10-80) */
#define FLOOR_LARGE_BN_TRAIN 5.0

static fer_ctx *ctx;

/* ---- the objective ------------------------------------------------------- */

typedef struct objective {
    network *net;
    int loss_mode;   /* 1: L = net->loss; 0: L = sum(proj * layers[at].output) */
    int at;          /* layer whose output is projected (and where backward starts) */
    float *proj;     /* [batch * layers[at].outputs] */
    int reseed;      /* re-seed net->rng before each forward (fixed dropout mask) */
    uint64_t seed;
    uint64_t kinks;  /* fingerprint of the kink regions after the last forward */
} objective;

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }

/* Which side of every kink the last forward pass was on (see the top). */
static uint64_t kink_fingerprint(const network *net)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        size_t n = (size_t)net->batch * l->outputs;
        if (!strcmp(l->type->name, "maxpool")) {
            /* maxpool.c keeps the argmax of each window in extra, as int */
            const int *arg = (const int *)l->extra;
            for (size_t k = 0; k < n; k++) h = mix(h, (uint64_t)(arg[k] + 1));
            continue;
        }
        switch (l->act) {
        case ACT_RELU: case ACT_LEAKY: case ACT_PRELU: case ACT_SELU:
            for (size_t k = 0; k < n; k++) h = mix(h, l->output[k] > 0);
            break;
        case ACT_RELU6:
            for (size_t k = 0; k < n; k++) h = mix(h, l->output[k] <= 0 ? 0 : l->output[k] >= 6 ? 2 : 1);
            break;
        case ACT_RAMP: case ACT_RELIE:
            for (size_t k = 0; k < n; k++) h = mix(h, l->output[k] > 0);
            break;
        case ACT_HARDTAN:   /* clamped exactly at -1 and 1 */
            for (size_t k = 0; k < n; k++) h = mix(h, l->output[k] <= -1 ? 0 : l->output[k] >= 1 ? 2 : 1);
            break;
        case ACT_LHTAN: case ACT_PLSE:   /* pieces below 0, in [0, 1], above 1 */
            for (size_t k = 0; k < n; k++) h = mix(h, l->output[k] < 0 ? 0 : l->output[k] > 1 ? 2 : 1);
            break;
        case ACT_HARD_MISH:   /* exactly 0 at and below -2 */
            for (size_t k = 0; k < n; k++) h = mix(h, l->output[k] == 0);
            break;
        case ACT_STAIR:   /* the step's level, and whether on a flat (integer) piece */
            for (size_t k = 0; k < n; k++)
                h = mix(h, (uint64_t)(int64_t)(2 * floorf(l->output[k]) + (floorf(l->output[k]) == l->output[k])));
            break;
        default:
            break;
        }
    }
    return h;
}

static double objective_eval(objective *o)
{
    network *net = o->net;
    if (o->reseed) rng_seed(&net->rng, o->seed);
    net_forward(net);
    o->kinks = kink_fingerprint(net);
    if (o->loss_mode) return net->loss;
    const layer *l = &net->layers[o->at];
    double s = 0;
    for (size_t i = 0; i < (size_t)net->batch * l->outputs; i++) s += (double)o->proj[i] * l->output[i];
    return s;
}

/* Forward, then the analytic gradients into params[].grad and net->dinput. */
static void objective_backward(objective *o)
{
    network *net = o->net;
    objective_eval(o);
    net_zero_grads(net);
    net->want_dinput = 1;
    if (o->loss_mode) {
        net_backward(net);
    } else {
        layer *l = &net->layers[o->at];
        net_zero_doutputs(net);
        memcpy(l->doutput, o->proj, (size_t)net->batch * l->outputs * sizeof(float));
        net_backward_from(net, o->at);
    }
}

/* ---- comparing one tensor -------------------------------------------------- */

typedef struct tensor_stats {
    int probes, skipped, bad, nonzero;
    int remeasured;   /* probes that missed at EPS and were measured again at 4*EPS */
    int small_step;   /* probes next to a kink that passed with EPS/8 */
    double max_abs;   /* of the analytic gradient */
    double max_rel;
    size_t worst;
    double worst_a, worst_n;
} tensor_stats;

/* Compares ga[n] (the analytic dL/dx) with central differences of L in x[n],
 * probing at most MAX_PROBES values (chosen by seed). floor: absolute floor of
 * the relative error's denominator. Mismatches are printed unless quiet. */
static tensor_stats compare_tensor(objective *o, float *x, const float *ga, size_t n, double floor, int quiet,
                                   uint64_t seed)
{
    tensor_stats st;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < n; i++) {
        if (fabsf(ga[i]) > 1e-6f) st.nonzero++;
        if (fabsf(ga[i]) > st.max_abs) st.max_abs = fabsf(ga[i]);
    }
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx) return st;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    size_t m = n;
    if (n > MAX_PROBES) {   /* a random sample without repeats */
        rng r;
        rng_seed(&r, seed);
        for (size_t i = 0; i < MAX_PROBES; i++) {
            size_t j = i + (size_t)rng_int(&r, (int)(n - i));
            size_t t = idx[i]; idx[i] = idx[j]; idx[j] = t;
        }
        m = MAX_PROBES;
    }
    objective_eval(o);
    uint64_t at_x = o->kinks;
    for (size_t k = 0; k < m; k++) {
        size_t i = idx[k];
        float saved = x[i];
        x[i] = saved + EPS;
        double fp = objective_eval(o);
        int crossed = o->kinks != at_x;
        x[i] = saved - EPS;
        double fm = objective_eval(o);
        crossed |= o->kinks != at_x;
        x[i] = saved;
        double h = (double)(saved + EPS) - (double)(saved - EPS);   /* the step float really took */
        double num = (fp - fm) / h, a = ga[i];
        double scale = fmax(fmax(fabs(a), fabs(num)), floor);
        if (crossed) {
            /* try an 8x smaller step, which may clear the kink; its 8x
             * larger rounding noise can only make the probe a skip */
            x[i] = saved + EPS / 8;
            double fp8 = objective_eval(o);
            int crossed8 = o->kinks != at_x;
            x[i] = saved - EPS / 8;
            double fm8 = objective_eval(o);
            crossed8 |= o->kinks != at_x;
            x[i] = saved;
            double h8 = (double)(saved + EPS / 8) - (double)(saved - EPS / 8);
            double num8 = (fp8 - fm8) / h8, scale8 = fmax(fmax(fabs(a), fabs(num8)), floor);
            if (crossed8 || fabs(a - num8) > RTOL * scale8) {
                st.skipped++;
                continue;
            }
            num = num8;
            scale = scale8;
            st.small_step++;
        }
        st.probes++;
        double rel = fabs(a - num) / scale;
        if (rel > RTOL) {
            /* re-measure with a 4x step (4x less rounding noise) unless a
             * kink lies within it; the probe fails only if both miss */
            x[i] = saved + 4 * EPS;
            double fp4 = objective_eval(o);
            int crossed4 = o->kinks != at_x;
            x[i] = saved - 4 * EPS;
            double fm4 = objective_eval(o);
            crossed4 |= o->kinks != at_x;
            x[i] = saved;
            double h4 = (double)(saved + 4 * EPS) - (double)(saved - 4 * EPS);
            double num4 = (fp4 - fm4) / h4, scale4 = fmax(fmax(fabs(a), fabs(num4)), floor);
            st.remeasured++;
            if (!crossed4 && fabs(a - num4) / scale4 < rel) {
                rel = fabs(a - num4) / scale4;
                num = num4;
            }
        }
        if (rel >= st.max_rel) {
            st.max_rel = rel;
            st.worst = i;
            st.worst_a = a;
            st.worst_n = num;
        }
        if (rel > RTOL) {
            if (st.bad < 3 && !quiet)
                fprintf(stderr, "    mismatch at [%zu]: analytic %.6g numeric %.6g (rel %.3g)\n", i, a, num, rel);
            st.bad++;
        }
    }
    free(idx);
    return st;
}

/* ---- the summary table: max relative error per layer type ----------------- */

typedef struct summary_row {
    char label[40];
    double max_rel;
    int tensors, probes, skipped;
} summary_row;

static summary_row rows[128];
static int n_rows;

static void summary_add(const char *label, const tensor_stats *st)
{
    summary_row *r = NULL;
    for (int i = 0; i < n_rows; i++)
        if (!strcmp(rows[i].label, label)) r = &rows[i];
    if (!r && n_rows < (int)(sizeof rows / sizeof rows[0])) {
        r = &rows[n_rows++];
        memset(r, 0, sizeof *r);
        snprintf(r->label, sizeof r->label, "%s", label);
    }
    if (!r) return;
    if (st->max_rel > r->max_rel) r->max_rel = st->max_rel;
    r->tensors++;
    r->probes += st->probes;
    r->skipped += st->skipped;
}

static int too_many_skips(const tensor_stats *st)
{
    return st->probes == 0 || st->skipped > MAX_SKIP_FRACTION * (st->probes + st->skipped) + 0.5;
}

/* Prints one tensor's result and makes its 3 CHECKs (not all zero, every
 * probe within tolerance, enough probes not skipped). */
static void report_tensor(const char *label, const char *what, size_t n, const tensor_stats *st)
{
    printf("  %-26s %-18s n=%-5zu probed=%-4d skipped=%-3d eps/8=%-3d 4eps=%-3d nonzero=%-5d max|g|=%-9.3g max_rel=%.2e\n",
           label, what, n, st->probes, st->skipped, st->small_step, st->remeasured, st->nonzero, st->max_abs,
           st->max_rel);
    CHECK(st->nonzero > 0, "%s %s: the analytic gradient is all zero (%zu values)", label, what, n);
    CHECK(st->bad == 0, "%s %s: %d of %d probes differ; worst [%zu] analytic %.6g numeric %.6g (rel %.3g)", label,
          what, st->bad, st->probes, st->worst, st->worst_a, st->worst_n, st->max_rel);
    CHECK(!too_many_skips(st), "%s %s: %d probes skipped as kinks, %d checked", label, what, st->skipped,
          st->probes);
    summary_add(label, st);
}

static tensor_stats measure_tensor(objective *o, float *x, const float *grad, size_t n, double floor)
{
    tensor_stats st;
    memset(&st, 0, sizeof st);
    float *ga = malloc(n * sizeof *ga);
    if (!ga) return st;
    memcpy(ga, grad, n * sizeof *ga);   /* the probes' forward passes leave grads alone, but be safe */
    st = compare_tensor(o, x, ga, n, floor, 0, 1234 + n);
    free(ga);
    return st;
}

/* ---- building and filling networks ----------------------------------------- */

static network *build(const char *label, const char *cfg, int batch)
{
    fer_err e;
    network *net;
    if (net_from_text(&net, label, cfg, ctx, &e)) {
        CHECK(0, "%s: cfg rejected: %s", label, e.msg);
        return NULL;
    }
    if (net_set_batch(net, batch, 1, &e)) {
        CHECK(0, "%s: net_set_batch: %s", label, e.msg);
        net_free(net);
        return NULL;
    }
    return net;
}

/* He-initialized weights, and random values for what starts at a constant
 * (biases, batch-norm scales, rolling statistics, PReLU slopes), so that no
 * gradient is checked at a special point. */
static void randomize(network *net, uint64_t seed, float input_scale)
{
    net_init_weights(net, seed);
    rng r;
    rng_seed(&r, seed * 7 + 1);
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            for (size_t k = 0; k < p->n; k++) {
                if (!strcmp(p->name, "biases") || !strcmp(p->name, "rolling_mean"))
                    p->data[k] = 0.3f * rng_normal(&r);
                else if (!strcmp(p->name, "scales"))
                    p->data[k] = 0.5f + rng_uniform(&r);
                else if (!strcmp(p->name, "rolling_variance"))
                    p->data[k] = 0.5f + 1.5f * rng_uniform(&r);
                else if (!strcmp(p->name, "prelu_slope"))
                    p->data[k] = 0.05f + 0.5f * rng_uniform(&r);
            }
        }
    for (size_t i = 0; i < (size_t)net->batch * net->inputs; i++) net->input[i] = input_scale * rng_normal(&r);
    for (int b = 0; b < net->batch; b++) {
        float *t = net->truth + (size_t)b * net->classes;
        memset(t, 0, (size_t)net->classes * sizeof *t);
        t[rng_int(&r, net->classes)] = 1;
    }
}

static float *random_projection(size_t n, uint64_t seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p) return NULL;
    rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) p[i] = rng_normal(&r);
    return p;
}

/* Backward passes accumulate: a second backward without zeroing adds the
 * same parameter gradients again. */
static void check_accumulates(objective *o, const char *label)
{
    network *net = o->net;
    size_t n = net->n_param_floats;
    if (n == 0) return;
    float *g1 = malloc(n * sizeof *g1);
    if (!g1) return;
    objective_backward(o);
    memcpy(g1, net->grads, n * sizeof *g1);
    net->want_dinput = 1;
    if (o->loss_mode) {
        net_backward(net);
    } else {
        layer *l = &net->layers[o->at];
        net_zero_doutputs(net);
        memcpy(l->doutput, o->proj, (size_t)net->batch * l->outputs * sizeof(float));
        net_backward_from(net, o->at);
    }
    /* per tensor, relative to its largest gradient: a blocked GEMM that adds
     * partial sums into the gradient rounds differently the second time */
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            const param *p = &net->layers[i].params[j];
            const float *a = g1 + (p->grad - net->grads);
            double big = 1e-30, err = 0;
            size_t worst = 0;
            for (size_t k = 0; k < p->n; k++) big = fmax(big, fabs(a[k]));
            for (size_t k = 0; k < p->n; k++) {
                double d = fabs(p->grad[k] - 2.0 * a[k]) / (2 * big);
                if (d > err) { err = d; worst = k; }
            }
            CHECK(err < 1e-5, "%s: a second backward pass does not add the same gradients to L%d %s[%zu]: %g after one, %g after two",
                  label, i, p->name, worst, a[worst], p->grad[worst]);
        }
    free(g1);
}

/* Backward passes accumulate into din too: the last layer's backward into a
 * buffer already holding R must give R + (its backward into zeros). Layers
 * whose input has a second consumer depend on this. */
static void check_din_accumulates(objective *o, const char *label)
{
    network *net = o->net;
    layer *l = &net->layers[o->at];
    const float *in = o->at ? net->layers[o->at - 1].output : net->input;
    size_t n = (size_t)net->batch * l->inputs, nout = (size_t)net->batch * l->outputs;
    float *d0 = calloc(n, sizeof *d0), *d1 = malloc(n * sizeof *d1), *r = malloc(n * sizeof *r);
    if (!d0 || !d1 || !r) { free(d0); free(d1); free(r); return; }
    rng g;
    rng_seed(&g, 5);
    for (size_t i = 0; i < n; i++) r[i] = d1[i] = rng_normal(&g);
    objective_eval(o);
    net_zero_doutputs(net);
    if (!o->loss_mode) memcpy(l->doutput, o->proj, nout * sizeof(float));
    l->type->backward(l, net, in, d0);
    net_zero_doutputs(net);
    if (!o->loss_mode) memcpy(l->doutput, o->proj, nout * sizeof(float));
    l->type->backward(l, net, in, d1);
    size_t worst = 0;
    double err = 0, big = 1e-30;
    for (size_t i = 0; i < n; i++) big = fmax(big, fabs(r[i]) + fabs(d0[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)d1[i] - r[i] - d0[i]) / big;
        if (d > err) { err = d; worst = i; }
    }
    CHECK(err < 1e-5, "%s: layer %d (%s) overwrites din instead of adding to it: din[%zu] was %g, its gradient %g, after %g",
          label, o->at, l->type->name, worst, r[worst], d0[worst], d1[worst]);
    free(d0);
    free(d1);
    free(r);
}

/* ---- one case: a cfg, a mode, tolerances ----------------------------------- */

typedef struct gcase {
    const char *label;
    const char *cfg;
    int batch;
    int train;          /* batch statistics and dropout on */
    int loss_mode;      /* objective: the loss (1) or a projection of the last output (0) */
    int reseed;         /* fixed dropout mask */
    float input_scale;  /* std of the random input */
    double floor;       /* absolute floor of the relative error */
} gcase;

#define MAX_TENSORS 32

static void run_case(const gcase *c)
{
    network *net = build(c->label, c->cfg, c->batch);
    if (!net) return;
    net->train = c->train;
    net->has_truth = c->loss_mode;
    objective o = { net, c->loss_mode, net->n - 1, NULL, c->reseed, 99, 0 };
    o.proj = random_projection((size_t)net->batch * net->layers[o.at].outputs, 7);
    if (!o.proj) { net_free(net); return; }
    double floor = c->floor > 0 ? c->floor : FLOOR_PROJ;
    char what[MAX_TENSORS][48];
    size_t sizes[MAX_TENSORS];
    tensor_stats st[MAX_TENSORS];
    int nt = 0;
    /* A random point can sit right at a kink that every probe crosses (a
     * pre-activation within ~1e-5 of 0 that all parameters move); then the
     * point is re-drawn, at most twice. */
    for (int attempt = 0; attempt < 3; attempt++) {
        randomize(net, 42 + 1000 * (uint64_t)attempt, c->input_scale > 0 ? c->input_scale : 1.0f);
        objective_backward(&o);
        nt = 0;
        int crowded = 0;
        snprintf(what[nt], sizeof what[nt], "input");
        sizes[nt] = (size_t)net->batch * net->inputs;
        st[nt] = measure_tensor(&o, net->input, net->dinput, sizes[nt], floor);
        crowded |= too_many_skips(&st[nt++]);
        for (int i = 0; i < net->n && nt < MAX_TENSORS; i++)
            for (int j = 0; j < net->layers[i].n_params && nt < MAX_TENSORS; j++) {
                param *p = &net->layers[i].params[j];
                if (!p->trainable) continue;
                snprintf(what[nt], sizeof what[nt], "L%d %s", i, p->name);
                sizes[nt] = p->n;
                st[nt] = measure_tensor(&o, p->data, p->grad, p->n, floor);
                crowded |= too_many_skips(&st[nt++]);
            }
        if (!crowded) break;
        if (attempt < 2) printf("  %-26s a kink sits next to the random point: re-drawing it\n", c->label);
    }
    for (int k = 0; k < nt; k++) report_tensor(c->label, what[k], sizes[k], &st[k]);
    check_accumulates(&o, c->label);
    check_din_accumulates(&o, c->label);
    free(o.proj);
    net_free(net);
}

/* One tensor outside the cases: measure and report. */
static void check_tensor(objective *o, const char *label, const char *what, float *x, const float *grad, size_t n,
                         double floor)
{
    tensor_stats st = measure_tensor(o, x, grad, n, floor);
    report_tensor(label, what, n, &st);
}

/* ---- the checker checks itself ---------------------------------------------- */

static void self_test(void)
{
    static const char cfg[] =
        "[net]\nwidth=5\nheight=5\nchannels=3\n"
        "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=tanh\n";
    network *net = build("selftest.cfg", cfg, 2);
    if (!net) return;
    randomize(net, 5, 1.0f);
    objective o = { net, 0, 0, NULL, 0, 0, 0 };
    o.proj = random_projection((size_t)net->batch * net->layers[0].outputs, 3);
    objective_backward(&o);
    size_t n = (size_t)net->batch * net->inputs;
    float *g = malloc(n * sizeof *g);
    if (!g || !o.proj) { free(g); free(o.proj); net_free(net); return; }
    memcpy(g, net->dinput, n * sizeof *g);
    tensor_stats ok = compare_tensor(&o, net->input, g, n, FLOOR_PROJ, 1, 1);
    CHECK(ok.bad == 0 && ok.probes == (int)n, "self-test: the true gradient fails (%d bad of %d)", ok.bad, ok.probes);
    size_t big = 0;
    for (size_t i = 0; i < n; i++) if (fabsf(g[i]) > fabsf(g[big])) big = i;
    g[big] *= 1.05f;   /* one element 5% off */
    tensor_stats wrong = compare_tensor(&o, net->input, g, n, FLOOR_PROJ, 1, 1);
    CHECK(wrong.bad == 1 && wrong.worst == big,
          "self-test: a gradient with one element 5%% off was not caught (bad=%d)", wrong.bad);
    g[big] /= 1.05f;
    g[n / 2] = -g[n / 2];   /* one sign flipped */
    wrong = compare_tensor(&o, net->input, g, n, FLOOR_PROJ, 1, 1);
    CHECK(fabsf(g[n / 2]) < 1e-6f || wrong.bad >= 1, "self-test: a flipped sign was not caught");
    memset(g, 0, n * sizeof *g);
    wrong = compare_tensor(&o, net->input, g, n, FLOOR_PROJ, 1, 1);
    CHECK(wrong.nonzero == 0 && wrong.bad > 0, "self-test: an all-zero gradient was not caught");
    free(g);
    free(o.proj);
    net_free(net);
}

/* ---- softmax: outputs and loss value against a direct computation ---------- */

static void check_softmax_loss_value(void)
{
    static const char cfg[] =
        "[net]\nwidth=3\nheight=3\nchannels=2\nlabel_smoothing=0.1\n"
        "[connected]\noutput=6\nactivation=linear\n"
        "[softmax]\n";
    network *net = build("softmax_value.cfg", cfg, 3);
    if (!net) return;
    randomize(net, 11, 1.0f);
    net->train = 0;
    net->has_truth = 1;
    net_forward(net);
    int n = net->classes;
    double loss = 0, maxdiff = 0;
    for (int b = 0; b < net->batch; b++) {
        const float *z = net->layers[0].output + (size_t)b * n, *y = net_output(net) + (size_t)b * n;
        const float *t = net->truth + (size_t)b * n;
        double mx = z[0], sum = 0;
        for (int i = 1; i < n; i++) mx = fmax(mx, z[i]);
        for (int i = 0; i < n; i++) sum += exp(z[i] - mx);
        for (int i = 0; i < n; i++) {
            double p = exp(z[i] - mx) / sum;
            maxdiff = fmax(maxdiff, fabs(p - y[i]));
            loss -= (0.9 * t[i] + 0.1 / n) * log(p);
        }
    }
    loss /= net->batch;
    CHECK(maxdiff < 1e-6, "softmax output differs from exp(z)/sum by %g", maxdiff);
    CHECK_CLOSE(net->loss, loss, 1e-5, 1e-5, "cross-entropy with label_smoothing=0.1");
    net_free(net);
}

/* AlexeyAB's [net] label_smooth_eps: targets 1-eps for the true class and
 * eps/(classes-1) for each other (Darknet's fill_truth_smooth). */
static void check_label_smooth_eps(void)
{
    static const char cfg[] =
        "[net]\nwidth=3\nheight=3\nchannels=2\nlabel_smooth_eps=0.2\n"
        "[connected]\noutput=5\nactivation=linear\n"
        "[softmax]\n";
    network *net = build("label_smooth_eps.cfg", cfg, 3);
    if (!net) return;
    randomize(net, 12, 1.0f);
    net->train = 0;
    net->has_truth = 1;
    net_forward(net);
    int n = net->classes;
    double loss = 0;
    for (int b = 0; b < net->batch; b++) {
        const float *y = net_output(net) + (size_t)b * n, *t = net->truth + (size_t)b * n;
        for (int i = 0; i < n; i++) loss -= (t[i] > 0 ? 0.8 : 0.2 / (n - 1)) * log(y[i]);
    }
    CHECK_CLOSE(net->loss, loss / net->batch, 1e-5, 1e-5, "cross-entropy with label_smooth_eps=0.2");
    net_free(net);
}

/* ---- Grad-CAM: d logit_k / d input through net_backward_from --------------- */

static void check_backward_from(void)
{
    static const char cfg[] =
        "[net]\nwidth=6\nheight=6\nchannels=2\n"
        "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=swish\n"
        "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\nactivation=tanh\n"
        "[connected]\noutput=5\nactivation=linear\n"
        "[softmax]\n";
    network *net = build("gradcam.cfg", cfg, 2);
    if (!net) return;
    randomize(net, 21, 1.0f);
    net->train = 0;
    net->has_truth = 0;
    int at = 2, k = 3;
    objective o = { net, 0, at, NULL, 0, 0, 0 };
    size_t n = (size_t)net->batch * net->layers[at].outputs;
    o.proj = calloc(n, sizeof *o.proj);
    if (!o.proj) { net_free(net); return; }
    for (int b = 0; b < net->batch; b++) o.proj[(size_t)b * net->layers[at].outputs + k] = 1;   /* one-hot seed */
    objective_backward(&o);
    check_tensor(&o, "backward_from (Grad-CAM)", "d logit_3/d input", net->input, net->dinput,
                 (size_t)net->batch * net->inputs, FLOOR_LOSS);
    /* the seed must not leak into layers after `at` nor be needed there */
    float s = 0;
    for (size_t i = 0; i < (size_t)net->batch * net->classes; i++) s += fabsf(net->layers[3].doutput[i]);
    CHECK(s == 0, "backward_from(%d) touched the softmax's doutput", at);
    free(o.proj);
    net_free(net);
}

/* ---- the cases ------------------------------------------------------------- */

#define NET553 "[net]\nwidth=5\nheight=5\nchannels=3\n"
#define NET662 "[net]\nwidth=6\nheight=6\nchannels=2\n"

static const gcase cases[] = {
    /* convolutional */
    { "conv 3x3 pad", NET553 "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "conv bn train", NET553 "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=linear\n",
      3, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    { "conv bn inference", NET553 "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv groups=2", "[net]\nwidth=5\nheight=5\nchannels=4\n"
                       "[convolutional]\nfilters=6\nsize=3\npad=1\ngroups=2\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "conv depthwise", NET553 "[convolutional]\nfilters=3\nsize=3\npad=1\ngroups=3\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    /* dilation: taps 2 apart, padding 2 ('same'); with groups (a dilated
     * depthwise layer takes im2col, not the direct kernel); 1x5 x 3x1 with a
     * single input plane (not plane_conv); dilated and strided */
    { "conv dilation=2", "[net]\nwidth=7\nheight=6\nchannels=2\n"
                         "[convolutional]\nfilters=3\nsize=3\npad=1\ndilation=2\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv dilation=2 depthwise", "[net]\nwidth=7\nheight=6\nchannels=2\n"
                                   "[convolutional]\nfilters=2\nsize=3\npad=1\ngroups=2\ndilation=2\n"
                                   "activation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "conv dilation=3 1x5 one plane", "[net]\nwidth=9\nheight=5\nchannels=1\n"
                                       "[convolutional]\nfilters=2\nsize_h=1\nsize_w=5\npad=1\ndilation=3\n"
                                       "activation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "conv dilation=2 stride 2 bn", "[net]\nwidth=8\nheight=7\nchannels=2\n"
                                     "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\ndilation=2\n"
                                     "batch_normalize=1\nactivation=linear\n", 3, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    { "conv stride 2", NET553 "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv 1x3", NET553 "[convolutional]\nfilters=4\nsize_h=1\nsize_w=3\npad=1\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv 3x1", NET553 "[convolutional]\nfilters=4\nsize_h=3\nsize_w=1\npad=1\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv 1x1", NET553 "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n", 3, 0, 0, 0, 1, 0 },
    { "conv 1x1 groups=2", "[net]\nwidth=4\nheight=3\nchannels=4\n"
                           "[convolutional]\nfilters=6\nsize=1\ngroups=2\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    /* layer 0's output feeds layer 1 and the shortcut: layer 1 must add to it */
    { "conv 1x1 shared input", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                               "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                               "[shortcut]\nfrom=0\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "conv 1x1 stride 2", NET553 "[convolutional]\nfilters=4\nsize=1\nstride=2\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv 2x2 padding=1", NET553 "[convolutional]\nfilters=2\nsize=2\npadding=1\nstride=2\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    /* one input plane: the direct per-filter kernel instead of im2col + GEMM */
    { "conv single plane 3x3", "[net]\nwidth=7\nheight=6\nchannels=1\n"
                               "[convolutional]\nfilters=5\nsize=3\npad=1\nbatch_normalize=1\nactivation=tanh\n",
      3, 0, 0, 0, 1, 0 },
    { "conv single plane 5x5 s2 batch 1", "[net]\nwidth=9\nheight=7\nchannels=1\n"
                                          "[convolutional]\nfilters=3\nsize=5\nstride=2\npad=1\nactivation=linear\n",
      1, 0, 0, 0, 1, 0 },
    { "conv single plane 1x3 s3 batch 5", "[net]\nwidth=8\nheight=2\nchannels=1\n"
                                          "[convolutional]\nfilters=4\nsize_h=1\nsize_w=3\nstride_x=3\nactivation=linear\n",
      5, 0, 0, 0, 1, 0 },
    /* batch 1 with 2 threads runs the serial path (threaded GEMM); batch 5
     * unfolds several samples side by side */
    { "conv batch 1", NET553 "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=tanh\n",
      1, 0, 0, 0, 1, 0 },
    /* batch 1, 6x6 outputs, >= 32 filters: the forward GEMM runs transposed
     * (positions as rows; convolutional.c narrow_output) */
    { "conv batch 1 transposed 6x6 x32", "[net]\nwidth=6\nheight=6\nchannels=3\n"
                                         "[convolutional]\nfilters=32\nsize=3\npad=1\nactivation=tanh\n",
      1, 0, 0, 0, 1, 0 },
    { "conv batch 5 groups stride", "[net]\nwidth=6\nheight=5\nchannels=4\n"
                                    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\ngroups=2\nactivation=linear\n",
      5, 0, 0, 0, 1, 0 },
    /* 3x3 stride 1 with >= 8 channels in and out and a batch of >= 2
     * (threads): forward and input gradient by Winograd F(2x2, 3x3); odd
     * output sizes leave partial tiles; padding 0 and 2 make the input
     * gradient's padding 2 and 0 */
    { "conv winograd pad 1 on 5x4", "[net]\nwidth=5\nheight=4\nchannels=8\n"
                                    "[convolutional]\nfilters=9\nsize=3\npad=1\nbatch_normalize=1\nactivation=tanh\n",
      3, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    { "conv winograd no pad on 6x5", "[net]\nwidth=6\nheight=5\nchannels=9\n"
                                     "[convolutional]\nfilters=8\nsize=3\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv winograd padding=2 on 3x3", "[net]\nwidth=3\nheight=3\nchannels=8\n"
                                        "[convolutional]\nfilters=8\nsize=3\npadding=2\nactivation=linear\n",
      4, 0, 0, 0, 1, 0 },
    /* larger kernels by Winograd as sums of 3x3 blocks: 5x5 'same' (the
     * blocks' padding 3 and 0; the input gradient's 2 and -1), a
     * non-square 3x5 without padding, a 4x4 */
    { "conv winograd 5x5 pad 2 on 7x6", "[net]\nwidth=7\nheight=6\nchannels=8\n"
                                        "[convolutional]\nfilters=9\nsize=5\npad=1\nbatch_normalize=1\nactivation=tanh\n",
      3, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    { "conv winograd 3x5 no pad on 6x7", "[net]\nwidth=7\nheight=6\nchannels=8\n"
                                         "[convolutional]\nfilters=8\nsize_h=3\nsize_w=5\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "conv winograd 4x4 padding=1 on 5x5", "[net]\nwidth=5\nheight=5\nchannels=8\n"
                                            "[convolutional]\nfilters=8\nsize=4\npadding=1\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    /* large enough (batch * outputs >= 16384) for the threaded maxpool and
     * batch-norm/activation tail; smooth after the pool, so that parameter
     * probes cross no kink */
    { "large: maxpool, conv bn train", "[net]\nwidth=32\nheight=32\nchannels=8\n"
                                       "[maxpool]\nsize=3\nstride=1\n"
                                       "[convolutional]\nfilters=8\nsize=3\npad=1\nbatch_normalize=1\nactivation=swish\n",
      2, 1, 0, 0, 1, FLOOR_LARGE_BN_TRAIN },
    /* connected */
    { "connected", NET553 "[connected]\noutput=5\nactivation=linear\n", 3, 0, 0, 0, 1, 0 },
    { "connected bn train", NET553 "[connected]\noutput=5\nbatch_normalize=1\nactivation=linear\n",
      3, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    { "connected bn inference", NET553 "[connected]\noutput=5\nbatch_normalize=1\nactivation=linear\n",
      3, 0, 0, 0, 1, 0 },
    { "connected shared input", "[net]\nwidth=1\nheight=1\nchannels=6\n"
                                "[convolutional]\nfilters=4\nsize=1\nactivation=tanh\n"
                                "[connected]\noutput=4\nactivation=linear\n"
                                "[shortcut]\nfrom=0\nactivation=linear\n", 3, 0, 0, 0, 1, 0 },
    /* pooling: a conv before the pool gives the pool's input gradient a path to parameters */
    { "maxpool 2/2 on 5x5", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                            "[maxpool]\nsize=2\nstride=2\n", 2, 0, 0, 0, 1, 0 },
    { "maxpool 2/2 on 6x6 (fast path)", NET662 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                        "[maxpool]\nsize=2\nstride=2\n", 3, 0, 0, 0, 1, 0 },
    { "maxpool 3/1", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                     "[maxpool]\nsize=3\nstride=1\n", 2, 0, 0, 0, 1, 0 },
    { "maxpool 2 stride_x=1 stride_y=2", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                         "[maxpool]\nsize=2\nstride_x=1\nstride_y=2\n", 2, 0, 0, 0, 1, 0 },
    { "maxpool 3/2 padding=1 on 6x6 (same)", NET662 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                             "[maxpool]\nsize=3\nstride=2\npadding=1\n", 2, 0, 0, 0, 1, 0 },
    { "maxpool 3/3 on 7x5", "[net]\nwidth=7\nheight=5\nchannels=2\n[convolutional]\nfilters=2\nsize=1\n"
                            "activation=linear\n[maxpool]\nsize=3\nstride=3\npadding=4\n", 2, 0, 0, 0, 1, 0 },
    /* the direct depthwise kernel: strides, no padding, odd and 1-wide planes */
    { "depthwise 3x3 stride 2 on 7x6", "[net]\nwidth=7\nheight=6\nchannels=3\n"
                                      "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\ngroups=3\nactivation=linear\n",
      3, 0, 0, 0, 1, 0 },
    { "depthwise 5x5 no pad batch 5", "[net]\nwidth=9\nheight=7\nchannels=2\n"
                                     "[convolutional]\nfilters=2\nsize=5\ngroups=2\nbatch_normalize=1\nactivation=tanh\n",
      5, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    { "depthwise 1x3 stride 3 on 1-high", "[net]\nwidth=10\nheight=1\nchannels=2\n"
                                         "[convolutional]\nfilters=2\nsize_h=1\nsize_w=3\nstride=3\ngroups=2\n"
                                         "activation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "avgpool", NET553 "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=linear\n[avgpool]\n",
      2, 0, 0, 0, 1, 0 },
    /* windowed average pooling: padding cells are not counted, so border
     * windows divide by fewer cells; 7x5 with padding 4 has windows with
     * one row inside */
    { "local_avgpool 3/1 same", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                "[local_avgpool]\nsize=3\nstride=1\n", 2, 0, 0, 0, 1, 0 },
    { "local_avgpool 2/2 on 5x5", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                  "[local_avgpool]\nsize=2\nstride=2\n", 2, 0, 0, 0, 1, 0 },
    { "local_avgpool 3/2 padding=1 on 6x6", NET662 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                            "[local_avgpool]\nsize=3\nstride=2\npadding=1\n", 2, 0, 0, 0, 1, 0 },
    { "local_avgpool 3/3 padding=4 on 7x5", "[net]\nwidth=7\nheight=5\nchannels=2\n[convolutional]\nfilters=2\n"
                                           "size=1\nactivation=linear\n[local_avgpool]\nsize=3\nstride=3\npadding=4\n",
      2, 0, 0, 0, 1, 0 },
    { "local_avgpool 2 stride_x=1 stride_y=2", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                               "[local_avgpool]\nsize=2\nstride_x=1\nstride_y=2\n", 2, 0, 0, 0, 1, 0 },
    { "large: local_avgpool 3/1 threaded", "[net]\nwidth=32\nheight=32\nchannels=8\n[local_avgpool]\nsize=3\nstride=1\n"
                                           "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=tanh\n",
      2, 0, 0, 0, 1, 0 },
    /* dropout: identity at inference; in training a fixed, re-seeded mask */
    { "dropout inference", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                           "[dropout]\nprobability=0.5\n", 2, 0, 0, 0, 1, 0 },
    { "dropout train", NET553 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                       "[dropout]\nprobability=0.5\n", 2, 1, 0, 1, 1, 0 },
    /* batchnorm layer */
    { "batchnorm train", NET662 "[batchnorm]\n", 3, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    { "batchnorm inference", NET662 "[batchnorm]\n", 3, 0, 0, 0, 1, 0 },
    { "batchnorm train tanh", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                              "[batchnorm]\nactivation=tanh\n", 2, 1, 0, 0, 1, FLOOR_BN_TRAIN },
    /* shortcut: layer 0's output feeds both layer 1 and the shortcut */
    { "shortcut leaky", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                        "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
                        "[shortcut]\nfrom=-2\nactivation=leaky\n", 2, 0, 0, 0, 1, 0 },
    { "shortcut linear from=-1", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                                 "[shortcut]\nfrom=-1\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "shortcut prelu", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                        "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
                        "[shortcut]\nfrom=0\nactivation=prelu\n", 2, 0, 0, 0, 1, 0 },
    /* route: layer 2 concatenates layers 1 and 0; layer 4 concatenates
     * layers 3 and 0, so layer 0's gradient arrives from three consumers
     * (layer 1, and both routes: the later one runs backward first) */
    { "route two sources", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                           "[convolutional]\nfilters=2\nsize=3\nstride=1\npad=1\nactivation=logistic\n"
                           "[route]\nlayers=-1,-2\n"
                           "[convolutional]\nfilters=2\nsize=1\nactivation=tanh\n"
                           "[route]\nlayers=-1,0\n"
                           "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "route one source", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                          "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
                          "[route]\nlayers=0\n"
                          "[shortcut]\nfrom=1\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    /* Darknet's shortcut between other shapes: the first min(C) channels add;
     * a larger source is sampled with stride W_from/W, a smaller one lands
     * on every (W/W_from)-th cell */
    { "shortcut fewer channels from", NET662 "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=tanh\n"
                                      "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
                                      "[shortcut]\nfrom=0\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "shortcut more channels from", NET662 "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=tanh\n"
                                     "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
                                     "[shortcut]\nfrom=0\nactivation=tanh\n", 2, 0, 0, 0, 1, 0 },
    { "shortcut strided (resnet)", NET662 "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=tanh\n"
                                   "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=linear\n"
                                   "[shortcut]\nfrom=-2\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "shortcut sampled (smaller from)", NET662 "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\nactivation=tanh\n"
                                         "[upsample]\nstride=2\n"
                                         "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                         "[shortcut]\nfrom=0\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    { "shortcut two sources", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                              "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=tanh\n"
                              "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                              "[shortcut]\nfrom=0,1\nactivation=logistic\n", 2, 0, 0, 0, 1, 0 },
    { "shortcut weights per_feature", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                                      "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
                                      "[shortcut]\nfrom=0\nweights_type=per_feature\nactivation=linear\n",
      2, 0, 0, 0, 1, 0 },
    { "shortcut weights per_channel", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                                      "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=tanh\n"
                                      "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                                      "[shortcut]\nfrom=0,1\nweights_type=per_channel\nactivation=tanh\n",
      2, 0, 0, 0, 1, 0 },
    /* route groups: the second half of each source's channels (CSP's split) */
    { "route groups=2 group_id=1", NET662 "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=tanh\n"
                                   "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=tanh\n"
                                   "[route]\nlayers=-1,-2\ngroups=2\ngroup_id=1\n"
                                   "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n", 2, 0, 0, 0, 1, 0 },
    /* crop: the center at inference, a re-seeded random window (and flip) in training */
    { "crop inference", "[net]\nwidth=7\nheight=6\nchannels=2\n[convolutional]\nfilters=2\nsize=1\n"
                        "activation=linear\n[crop]\ncrop_height=3\ncrop_width=4\nflip=1\n", 2, 0, 0, 0, 1, 0 },
    { "crop train", "[net]\nwidth=7\nheight=6\nchannels=2\n[convolutional]\nfilters=2\nsize=1\n"
                    "activation=linear\n[crop]\ncrop_height=3\ncrop_width=4\nflip=1\nnoadjust=1\n", 2, 1, 0, 1, 1, 0 },
    /* scale_channels: squeeze-and-excitation, and the per-position variant */
    { "scale_channels (SE)", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                             "[avgpool]\n[convolutional]\nfilters=2\nsize=1\nactivation=tanh\n"
                             "[convolutional]\nfilters=3\nsize=1\nactivation=logistic\n"
                             "[scale_channels]\nfrom=-4\n", 2, 0, 0, 0, 1, 0 },
    { "scale_channels scale_wh tanh", NET662 "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=tanh\n"
                                      "[convolutional]\nfilters=1\nsize=1\nactivation=logistic\n"
                                      "[scale_channels]\nfrom=-2\nscale_wh=1\nactivation=tanh\n", 2, 0, 0, 0, 1, 0 },
    /* upsample (nearest, scaled) and Darknet's downsample (stride < 0: block sums) */
    { "upsample stride 2 scale 0.5", "[net]\nwidth=3\nheight=2\nchannels=2\n[convolutional]\nfilters=2\nsize=1\n"
                                     "activation=linear\n[upsample]\nstride=2\nscale=0.5\n", 2, 0, 0, 0, 1, 0 },
    { "upsample stride -2 (downsample)", NET662 "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
                                         "[upsample]\nstride=-2\n", 2, 0, 0, 0, 1, 0 },
    /* reorg: Darknet's permutations, both directions, both layers */
    { "reorg stride 2", "[net]\nwidth=4\nheight=6\nchannels=4\n[convolutional]\nfilters=4\nsize=1\n"
                        "activation=linear\n[reorg]\nstride=2\n", 2, 0, 0, 0, 1, 0 },
    { "reorg stride 2 reverse", "[net]\nwidth=3\nheight=2\nchannels=8\n[convolutional]\nfilters=8\nsize=1\n"
                                "activation=linear\n[reorg]\nstride=2\nreverse=1\n", 2, 0, 0, 0, 1, 0 },
    { "reorg3d stride 2", "[net]\nwidth=4\nheight=6\nchannels=3\n[convolutional]\nfilters=3\nsize=1\n"
                          "activation=linear\n[reorg3d]\nstride=2\n", 2, 0, 0, 0, 1, 0 },
    { "reorg3d stride 2 reverse", "[net]\nwidth=2\nheight=3\nchannels=16\n[convolutional]\nfilters=16\nsize=1\n"
                                  "activation=linear\n[reorg3d]\nstride=2\nreverse=1\n", 2, 0, 0, 0, 1, 0 },
    /* softmax: as the loss (cross-entropy, label smoothing), and inside a net */
    { "softmax CE smoothing=0.1", "[net]\nwidth=5\nheight=5\nchannels=3\nlabel_smoothing=0.1\n"
                                  "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\nactivation=tanh\n"
                                  "[connected]\noutput=5\nactivation=linear\n[softmax]\n", 3, 0, 1, 0, 1, FLOOR_LOSS },
    { "softmax CE temperature", "[net]\nwidth=5\nheight=5\nchannels=3\n"
                                "[connected]\noutput=4\nactivation=linear\n[softmax]\ntemperature=2\n",
      3, 0, 1, 0, 1, FLOOR_LOSS },
    { "softmax (not the loss)", NET553 "[connected]\noutput=5\nactivation=linear\n[softmax]\n", 2, 0, 0, 0, 1, 0 },
    /* a small whole network, trained: conv-bn-relu, maxpool, dropout, fc-bn-relu, fc, softmax */
    { "mini shallow net", "[net]\nwidth=6\nheight=6\nchannels=1\nlabel_smoothing=0.1\n"
                          "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
                          "[maxpool]\nsize=2\nstride=2\n[dropout]\nprobability=0.25\n"
                          "[connected]\noutput=6\nbatch_normalize=1\nactivation=relu\n"
                          "[dropout]\nprobability=0.25\n"
                          "[connected]\noutput=4\nactivation=linear\n[softmax]\n", 3, 1, 1, 1, 1, FLOOR_LOSS_BN_TRAIN },
};

/* Activations with pieces far from 0 (relu6 above 6, plse beyond +-4) get a
 * wider input. */
static int wide_input(const char *act) { return !strcmp(act, "relu6") || !strcmp(act, "plse"); }

/* Every activation after a 1x1 convolution (input scaled so that relu6 sees
 * values above 6 too). */
static void run_activation_cases(void)
{
    static const char *const acts[] = {
        "linear", "relu", "leaky", "relu6", "logistic", "tanh", "elu", "selu", "swish", "mish", "gelu", "prelu",
        "hard_mish", "hardtan", "lhtan", "plse", "stair", "ramp", "loggy", "relie",
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        char cfg[256], label[40];
        snprintf(cfg, sizeof cfg, NET553 "[convolutional]\nfilters=3\nsize=1\nactivation=%s\n", acts[i]);
        snprintf(label, sizeof label, "activation %s", acts[i]);
        gcase c = { label, cfg, 2, 0, 0, 0, wide_input(acts[i]) ? 2.5f : 1.5f, 0 };
        run_case(&c);
    }
    /* the same activations after a connected layer (one value per channel) */
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        char cfg[256], label[40];
        snprintf(cfg, sizeof cfg, NET553 "[connected]\noutput=6\nactivation=%s\n", acts[i]);
        snprintf(label, sizeof label, "activation %s", acts[i]);
        gcase c = { label, cfg, 3, 0, 0, 0, wide_input(acts[i]) ? 2.5f : 1.5f, 0 };
        run_case(&c);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* keep FAIL lines (stderr) next to their context */
    fer_err e;
    /* two threads: the convolution splits the batch and sums per-thread dW */
    if (fer_ctx_new(&ctx, 2, NULL, &e)) {
        fprintf(stderr, "fer_ctx_new: %s\n", e.msg);
        return 1;
    }
    printf("gradient checks (eps %g, rtol %g, isa %s, %d threads)\n", (double)EPS, RTOL, fer_ctx_isa(ctx),
           fer_ctx_threads(ctx));
    self_test();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    run_activation_cases();
    check_softmax_loss_value();
    check_label_smooth_eps();
    check_backward_from();
    printf("\nmax relative error per case (tensors, probes, skipped as kinks):\n");
    for (int i = 0; i < n_rows; i++)
        printf("  %-28s %.2e  (%d, %d, %d)\n", rows[i].label, rows[i].max_rel, rows[i].tensors, rows[i].probes,
               rows[i].skipped);
    fer_ctx_free(ctx);
    return check_summary("test_gradcheck");
}
