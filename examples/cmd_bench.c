/* cmd_bench.c - `fer bench CFG`: speed of one network with random weights
 * and random data: training steps (forward + backward + SGD update),
 * inference at the same batch, and batch-1 latency. */
#include "cli.h"
#include "train/train.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void fill_random(network *net, rng *r)
{
    for (size_t i = 0; i < (size_t)net->batch * net->inputs; i++) net->input[i] = rng_uniform(r);
    memset(net->truth, 0, (size_t)net->batch * net->classes * sizeof(float));
    for (int b = 0; b < net->batch; b++) net->truth[(size_t)b * net->classes + rng_int(r, net->classes)] = 1;
}

/* Times each layer's forward and (training) backward over iters steps. */
static void profile_layers(network *net, int iters, int train)
{
    double *fw = calloc((size_t)net->n * 2, sizeof *fw);
    if (!fw) return;
    double *bw = fw + net->n;
    for (int it = 0; it < iters; it++) {
        const float *in = net->input;
        for (int i = 0; i < net->n; i++) {
            layer *l = &net->layers[i];
            double t0 = clock_seconds();
            l->type->forward(l, net, in);
            fw[i] += clock_seconds() - t0;
            in = l->output;
        }
        if (!train) continue;
        net_zero_doutputs(net);
        for (int i = net->n - 1; i >= 0; i--) {
            layer *l = &net->layers[i];
            double t0 = clock_seconds();
            l->type->backward(l, net, i ? net->layers[i - 1].output : net->input, i ? net->layers[i - 1].doutput : NULL);
            bw[i] += clock_seconds() - t0;
        }
        net_zero_grads(net);
    }
    double total = 0;
    for (int i = 0; i < net->n; i++) total += fw[i] + bw[i];
    printf("%s, batch %d:\n", train ? "training" : "inference", net->batch);
    printf("layer  type            forward_ms  backward_ms  share  gflops_fw  gflops_bw\n");
    for (int i = 0; i < net->n; i++) {
        double f = fw[i] / iters, b = bw[i] / iters;
        double fl = net->layers[i].flops * net->batch;
        printf("%5d  %-14s %10.2f  %11.2f  %4.1f%%  %9.1f  %9.1f\n", i, net->layers[i].type->name, 1e3 * f, 1e3 * b,
               100 * (fw[i] + bw[i]) / total, f > 0 ? fl / f / 1e9 : 0, b > 0 ? 2 * fl / b / 1e9 : 0);
    }
    free(fw);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Training steps (forward, backward, SGD update) at the batch; images per second. */
static int bench_train(network *net, rng *r, int batch, int iters, int per_layer, double flops, fer_err *e)
{
    optimizer opt = { 0 };
    if (net_set_batch(net, batch, 1, e) || optimizer_init(&opt, net, e)) {
        optimizer_free(&opt);
        return -1;
    }
    fill_random(net, r);
    net->train = 1;
    net->has_truth = 1;
    double t = 0;
    for (int it = -1; it < iters; it++) {   /* the first step warms up */
        double t0 = clock_seconds();
        net_forward(net);
        net_backward(net);
        optimizer_step(&opt, net, 1e-4f, 1.0f);
        net_zero_grads(net);
        if (it >= 0) t += clock_seconds() - t0;
    }
    double ips = (double)batch * iters / t;
    if (per_layer) profile_layers(net, iters, 1);
    printf("train_img_per_s: %.1f\n", ips);
    printf("gflops_train: %.1f\n", ips * flops * 3 / 1e9);
    optimizer_free(&opt);
    return 0;
}

/* One data-parallel training step on this rank's share of the batch:
 * t[0] += forward and backward (with each layer's gradient sum started as
 * the pass produces it), t[1] += the wait for the sums after the pass,
 * t[2] += the whole step, t[3] += a blocking sum of all the gradients alone
 * (the communication the overlap hides, for reference). */
static int mpi_step(network *net, parallel *par, optimizer *opt, double *t, fer_err *e)
{
    double t0 = clock_seconds();
    net_forward(net);
    parallel_overlap(par, net, 1);
    net_backward(net);
    parallel_overlap(par, net, 0);
    double t1 = clock_seconds();
    if (parallel_finish_grads(par, e)) return -1;
    double t2 = clock_seconds();
    optimizer_step(opt, net, 1e-4f, 1.0f / par->d->size);
    double t3 = clock_seconds();
    if (dist_sum_floats(par->d, net->grads, net->n_param_floats, e)) return -1;
    t[3] += clock_seconds() - t3;
    net_zero_grads(net);
    t[0] += t1 - t0;
    t[1] += t2 - t1;
    t[2] += t3 - t0;
    return 0;
}

/* -mpi (under mpirun, make MPI=1): training steps at the global batch split
 * over the ranks; per step the compute, the gradient sum's exposed wait and
 * how much of it the backward pass hid (averages over the ranks). */
static int bench_mpi(network *net, rng *r, int batch, int iters, fer_err *e)
{
    dist d;
    parallel par;
    optimizer opt = { 0 };
    if (dist_init(&d, e)) return -1;
    int rc = -1;
    if (batch % d.size) {
        fer_fail(e, "-batch %d does not divide into %d ranks", batch, d.size);
        goto done;
    }
    if (net_set_batch(net, batch / d.size, 1, e) || optimizer_init(&opt, net, e)) goto done;
    parallel_attach(&par, net, &d, 0);
    fill_random(net, r);
    net->train = 1;
    net->has_truth = 1;
    double t[4] = { 0 }, warm[4] = { 0 };
    if (mpi_step(net, &par, &opt, warm, e)) goto done;
    for (int it = 0; it < iters; it++)
        if (mpi_step(net, &par, &opt, t, e)) goto done;
    if (dist_sum_doubles(&d, t, 4, e)) goto done;
    for (int k = 0; k < 4; k++) t[k] /= (double)d.size * iters;
    double hidden = t[3] > 0 ? 1 - t[1] / t[3] : 0;
    if (d.rank == 0) {
        printf("mpi_ranks: %d\nmpi_batch_per_rank: %d\n", d.size, batch / d.size);
        printf("mpi_train_img_per_s: %.1f\n", batch / t[2]);
        printf("mpi_step_ms: %.2f\nmpi_compute_ms: %.2f\nmpi_wait_ms: %.2f\n", t[2] * 1e3, t[0] * 1e3, t[1] * 1e3);
        printf("mpi_allreduce_ms: %.2f\nmpi_hidden: %.0f%%\n", t[3] * 1e3, 100 * (hidden < 0 ? 0 : hidden));
    }
    rc = 0;
done:
    optimizer_free(&opt);
    if (rc && d.size > 1) {
        fprintf(stderr, "fer: rank %d: %s\n", d.rank, e->msg);
        dist_abort(&d, 1);
    }
    dist_finalize(&d);
    return rc;
}

/* Inference at the batch: images per second. */
static int bench_infer(network *net, rng *r, int batch, int iters, double flops, fer_err *e)
{
    if (net_set_batch(net, batch, 0, e)) return -1;
    fill_random(net, r);
    net->train = 0;
    net->has_truth = 0;
    double t = 0;
    for (int it = -1; it < iters; it++) {
        double t0 = clock_seconds();
        net_forward(net);
        if (it >= 0) t += clock_seconds() - t0;
    }
    double ips = (double)batch * iters / t;
    printf("infer_img_per_s: %.1f\n", ips);
    printf("gflops_infer: %.1f\n", ips * flops / 1e9);
    return 0;
}

/* Batch-1 latency over 10 * iters passes: mean, median and best. */
static int bench_latency(network *net, rng *r, int iters, int per_layer, fer_err *e)
{
    if (net_set_batch(net, 1, 0, e)) return -1;
    fill_random(net, r);
    int n1 = iters * 10;
    double *dts = fer_alloc((size_t)n1, sizeof *dts, e);
    if (!dts) return -1;
    double best = 1e9, sum = 0;
    for (int it = -3; it < n1; it++) {
        double t0 = clock_seconds();
        net_forward(net);
        double dt = clock_seconds() - t0;
        if (it >= 0) {
            sum += dt;
            dts[it] = dt;
            if (dt < best) best = dt;
        }
    }
    if (per_layer) profile_layers(net, n1, 0);
    qsort(dts, (size_t)n1, sizeof *dts, cmp_double);
    double median = n1 % 2 ? dts[n1 / 2] : (dts[n1 / 2 - 1] + dts[n1 / 2]) / 2;
    fer_free(dts);
    printf("latency_ms_batch1: %.3f\n", 1e3 * sum / n1);
    printf("latency_ms_batch1_median: %.3f\n", 1e3 * median);
    printf("latency_ms_batch1_best: %.3f\n", 1e3 * best);
    return 0;
}

static int bench_run(cli *c)
{
    args *a = &c->a;
    int batch = args_int_range(a, "-batch", 64, 1, INT_MAX);
    int iters = args_int_range(a, "-iters", 10, 1, INT_MAX);
    int no_train = args_flag(a, "-infer-only");
    int per_layer = args_flag(a, "-layers");
    int mpi = args_flag(a, "-mpi");
    int rc = cli_start(c, 1, 1);
    if (rc) return rc;
    if (net_from_cfg(&c->net, a->argv[1], c->ctx, &c->e)) return cli_error(c);
    network *net = c->net;
    rng r;
    rng_seed(&r, 42);
    net_init_weights(net, 42);
    double flops = net_flops(net);
    printf("cfg: %s\nisa: %s\nprecision: %s\nthreads: %d\nbatch: %d\n", a->argv[1], c->ctx->k.isa,
           fer_ctx_precision(c->ctx), c->ctx->nthreads, batch);
    if (mpi) return bench_mpi(net, &r, batch, iters, &c->e) ? cli_error(c) : 0;
    if ((!no_train && bench_train(net, &r, batch, iters, per_layer, flops, &c->e)) ||
        bench_infer(net, &r, batch, iters, flops, &c->e) || bench_latency(net, &r, iters, per_layer, &c->e))
        return cli_error(c);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb: %.1f\n", ru.ru_maxrss / 1024.0);
    return 0;
}

const command cmd_bench = {
    "bench", bench_run, CLI_CTX,
    "usage: fer bench CFG [-batch N] [-iters N] [-infer-only] [-layers] [-mpi]\n"
    "  random weights and data: training steps (forward + backward + SGD update) and inference at -batch N\n"
    "  (64), then batch-1 latency; -iters N timed steps (10); -layers times each layer\n"
    "  -mpi (under mpirun, make MPI=1): training steps with -batch split over the ranks: compute, the\n"
    "  gradient sum's wait after the backward pass, and the share of the sum the backward pass hid\n",
    "training/inference speed, latency, memory", NULL,
};
