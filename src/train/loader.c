/* loader.c - the loader thread of training (loader.h): mini-batch mb of an
 * epoch is samples [mb x global_B, (mb + 1) x global_B) of the epoch's
 * order, each augmented (augment_sample) and maybe mixed with another
 * (augment_mix) by one stream seeded from (seed, epoch, mb); a rank draws
 * and discards the samples before its own share, so that every rank sees
 * the stream one process would. */
#include "loader.h"

#include <stdlib.h>
#include <string.h>

int loader_init(loader *L, const dataset *ds, const net_options *opt, const int *order, int B, int rank,
                int ranks, int ow, int oh, int inputs, uint64_t seed, fer_err *e)
{
    memset(L, 0, sizeof *L);
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    L->ds = ds;
    L->opt = opt;
    L->order = order;
    L->B = B;
    L->global_B = B * ranks;
    L->skip = B * rank;
    L->ow = ow;
    L->oh = oh;
    L->inputs = inputs;
    L->seed = seed;
    for (int i = 0; i < LOADER_SLOTS; i++) {
        loader_slot *s = &L->slot[i];
        s->x = fer_alloc((size_t)B * inputs, sizeof(float), e);
        s->labels = calloc((size_t)B, sizeof(int));
        s->index = calloc((size_t)B, sizeof(int));
        s->other = calloc((size_t)B, sizeof(int));
        s->keep = calloc((size_t)B, sizeof(float));
        if (!s->x || !s->labels || !s->index || !s->other || !s->keep) return fer_fail(e, "out of memory");
    }
    L->skipped = fer_alloc((size_t)inputs, sizeof(float), e);
    L->scratch = fer_alloc((size_t)inputs, sizeof(float), e);
    return L->skipped && L->scratch ? 0 : -1;
}

void loader_free(loader *L)
{
    if (!L->ds) return;   /* never set up */
    for (int i = 0; i < LOADER_SLOTS; i++) {
        fer_free(L->slot[i].x);
        free(L->slot[i].labels);
        free(L->slot[i].index);
        free(L->slot[i].other);
        free(L->slot[i].keep);
    }
    fer_free(L->skipped);
    fer_free(L->scratch);
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->cv);
    memset(L, 0, sizeof *L);
}

static void *loader_main(void *arg)
{
    loader *L = arg;
    for (long mb = L->first; mb < L->end; mb++) {
        loader_slot *s = &L->slot[mb % LOADER_SLOTS];
        pthread_mutex_lock(&L->mu);
        while (s->id != -1 && !L->stop) pthread_cond_wait(&L->cv, &L->mu);
        int stop = L->stop;
        pthread_mutex_unlock(&L->mu);
        if (stop) break;
        rng r;
        rng_seed(&r, rng_stream_seed(L->seed, (uint64_t)L->epoch + 1, (uint64_t)mb + 1));
        for (int g = 0; g < L->skip + L->B; g++) {
            int i = L->order[(mb * L->global_B + g) % L->ds->n], b = g - L->skip;
            float *x = b < 0 ? L->skipped : s->x + (size_t)b * L->inputs;
            augment_sample(L->ds, i, L->opt, 1, 0, &r, x, L->ow, L->oh);
            int other;
            float keep = augment_mix(L->ds, L->opt, &r, x, L->scratch, L->ow, L->oh, &other);
            if (b < 0) continue;
            s->labels[b] = L->ds->labels[i];
            s->index[b] = i;
            s->other[b] = other;
            s->keep[b] = keep;
        }
        pthread_mutex_lock(&L->mu);
        s->id = mb;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
    }
    return NULL;
}

loader_slot *loader_take(loader *L, long mb)
{
    loader_slot *s = &L->slot[mb % LOADER_SLOTS];
    pthread_mutex_lock(&L->mu);
    while (s->id != mb) pthread_cond_wait(&L->cv, &L->mu);
    pthread_mutex_unlock(&L->mu);
    return s;
}

void loader_release(loader *L, loader_slot *s)
{
    pthread_mutex_lock(&L->mu);
    s->id = -1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

int loader_start(loader *L, int epoch, long first, long end, fer_err *e)
{
    L->epoch = epoch;
    L->first = first;
    L->end = end;
    for (int i = 0; i < LOADER_SLOTS; i++) L->slot[i].id = -1;
    L->stop = 0;
    if (pthread_create(&L->thread, NULL, loader_main, L)) return fer_fail(e, "cannot start the loader thread");
    return 0;
}

void loader_stop(loader *L)
{
    pthread_mutex_lock(&L->mu);
    L->stop = 1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->thread, NULL);
}
