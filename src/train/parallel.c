/* parallel.c - the network's side of data-parallel training: the hooks that
 * sum each layer's gradients over the ranks while the backward pass goes on
 * below it (one non-blocking sum per layer, a bucket), and the batch-norm
 * statistics of the global mini-batch (sync_bn); the average of per-rank
 * rolling statistics; validation split over the ranks. With one rank every
 * function leaves the network as it is. */
#include "train.h"

#include <stdlib.h>
#include <string.h>

static int layer_has_trainable(const layer *l)
{
    if (l->frozen) return 0;
    for (int j = 0; j < l->n_params; j++)
        if (l->params[j].trainable) return 1;
    return 0;
}

/* After layer i's backward pass: its gradient block (one contiguous slice
 * of net->grads, rolling statistics' zeros included) starts summing. */
static void grads_ready(void *user, network *net, int i)
{
    parallel *p = user;
    layer *l = &net->layers[i];
    if (p->failed || !layer_has_trainable(l)) return;
    size_t n = 0;
    for (int j = 0; j < l->n_params; j++) n += l->params[j].n;
    if (dist_sum_start(p->d, l->params[0].grad, n, &p->e)) p->failed = 1;
}

static int sum_stats(void *user, double *buf, int n)
{
    parallel *p = user;
    if (p->failed) return -1;
    if (dist_sum_doubles(p->d, buf, (size_t)n, &p->e)) p->failed = 1;
    return p->failed ? -1 : 0;
}

void parallel_attach(parallel *p, network *net, dist *d, int sync_bn)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    p->sync_bn = sync_bn && d->size > 1;
    if (d->size == 1) return;
    net->dist_user = p;
    net->sum_stats = p->sync_bn ? sum_stats : NULL;
}

void parallel_overlap(parallel *p, network *net, int on)
{
    net->grads_ready = on && p->d->size > 1 ? grads_ready : NULL;
}

int parallel_finish_grads(parallel *p, fer_err *e)
{
    if (p->failed) return fer_fail(e, "%s", p->e.msg);
    return dist_wait_all(p->d, e);
}

int parallel_average_stats(parallel *p, network *net, fer_err *e)
{
    int n = p->d->size;
    if (n == 1 || p->sync_bn) return 0;   /* synced statistics are the same on every rank */
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *q = &net->layers[i].params[j];
            if (q->trainable) continue;
            if (dist_sum_floats(p->d, q->data, q->n, e)) return -1;
            for (size_t k = 0; k < q->n; k++) q->data[k] /= (float)n;
        }
    net->weights_version++;
    return 0;
}

int parallel_evaluate(parallel *p, network *net, const dataset *ds, float *probs, fer_err *e)
{
    int n = p->d->size, r = p->d->rank, C = net->classes;
    if (n == 1) return evaluate_probs(net, ds, 0, probs, e);
    int lo = (int)((long long)ds->n * r / n), hi = (int)((long long)ds->n * (r + 1) / n);
    dataset part = *ds;   /* a view of images [lo, hi) */
    part.n = hi - lo;
    part.pixels = ds->pixels + (size_t)lo * ds->c * ds->h * ds->w;
    part.labels = ds->labels + lo;
    memset(probs, 0, (size_t)ds->n * C * sizeof *probs);
    if (part.n > 0 && evaluate_probs(net, &part, 0, probs + (size_t)lo * C, e)) return -1;
    /* the other ranks' rows are zero here: the sum is exact */
    return dist_sum_floats(p->d, probs, (size_t)ds->n * C, e);
}
