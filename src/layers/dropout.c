/* dropout.c - inverted dropout: in training each value is zeroed with
 * `probability` and the rest scaled by 1/(1-probability); identity at
 * inference. Key: probability (default 0.5). */
#include "layers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct dropout {
    float p;
    int masked;   /* the last forward pass drew a mask into extra (training) */
} dropout;

static const char *const dropout_keys[] = { "probability", "stopbackward", "freeze", NULL };

static int dropout_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    dropout *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    if (cfg_float(f, s, "probability", 0.5f, &p->p, e)) return -1;
    if (p->p < 0 || p->p >= 1)
        return fer_fail(e, "%s:%d: [%s] probability=%g: must be in [0,1)", f->path, cfg_line(s, "probability"),
                        s->name, p->p);
    l->out_c = l->c;
    l->out_h = l->h;
    l->out_w = l->w;
    l->outputs = l->inputs;
    l->extra_per_sample = (size_t)l->inputs;   /* the mask's scale per value */
    return 0;
}

typedef struct drop_job {
    layer *l;
    const float *in;
    uint64_t seed;      /* one draw from the network's RNG per pass */
    uint32_t cut;       /* drop when a 24-bit uniform is below this */
    float keep;         /* 1 / (1 - probability) */
    int nt;
    int base;           /* net->sample_base: the global index of sample 0 */
} drop_job;

/* Values [0, n) of one sample from its key: two 24-bit uniforms from
 * splitmix64's finalizer of (key + pair index * golden ratio), a hash of
 * the position rather than a sequential stream, so the loop vectorizes
 * (64-bit multiplies: AVX-512DQ, or emulated). */
FER_SIMD_CLONES
static void drop_values(const float *restrict x, float *restrict y, float *restrict m, size_t n, uint64_t key,
                        uint32_t cut, float keep)
{
    size_t pairs = n / 2;
    for (size_t k = 0; k < pairs; k++) {
        uint64_t z = key + 0x9e3779b97f4a7c15ull * (uint64_t)(k + 1);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        float m0 = (uint32_t)(z >> 40) < cut ? 0.0f : keep;
        float m1 = (uint32_t)((z >> 16) & 0xffffff) < cut ? 0.0f : keep;
        m[2 * k] = m0;
        m[2 * k + 1] = m1;
        y[2 * k] = x[2 * k] * m0;
        y[2 * k + 1] = x[2 * k + 1] * m1;
    }
    if (n & 1) {   /* the odd last value: one more hash */
        uint64_t z = key + 0x9e3779b97f4a7c15ull * (uint64_t)(pairs + 1);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        m[n - 1] = (uint32_t)(z >> 40) < cut ? 0.0f : keep;
        y[n - 1] = x[n - 1] * m[n - 1];
    }
}

/* Samples [lo, hi): each sample has its own key (seed, its index in the
 * global mini-batch), so the mask depends neither on how many threads
 * share the batch nor on how many processes share the mini-batch. */
static void drop_samples(const drop_job *j, int lo, int hi)
{
    layer *l = j->l;
    size_t n = (size_t)l->inputs;
    for (int b = lo; b < hi; b++) {
        rng r;
        rng_seed(&r, j->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(j->base + b + 1)));
        drop_values(j->in + (size_t)b * n, l->output + (size_t)b * n, l->extra + (size_t)b * n, n, rng_next(&r),
                    j->cut, j->keep);
    }
}

static void drop_part(void *arg, int t)
{
    drop_job *j = arg;
    int lo, hi;
    split_range(j->l->batch, j->nt, t, &lo, &hi);
    drop_samples(j, lo, hi);
}

static void dropout_forward(layer *l, network *net, const float *in)
{
    dropout *p = l->priv;
    size_t n = (size_t)l->batch * l->inputs;
    p->masked = net->train && !net->no_dropout && p->p > 0;
    if (!p->masked) {   /* identity: no mask to write or read back */
        memcpy(l->output, in, n * sizeof *in);
        return;
    }
    drop_job j = { l, in, rng_next(&net->rng), (uint32_t)(p->p * 16777216.0f), 1.0f / (1.0f - p->p),
                   net->ctx->nthreads, net->sample_base };
    if (j.nt == 1 || n < 16384) drop_samples(&j, 0, l->batch);
    else thread_pool_run(net->ctx->pool, j.nt, drop_part, &j);
}

typedef struct drop_back_job {
    layer *l;
    float *din;
    int masked, nt;
} drop_back_job;

/* din += dout (* mask) over thread t's share of the values. */
static void drop_back_part(void *arg, int t)
{
    const drop_back_job *j = arg;
    size_t n = (size_t)j->l->batch * j->l->inputs;
    size_t lo = n * (size_t)t / (size_t)j->nt, hi = n * (size_t)(t + 1) / (size_t)j->nt;
    float *restrict din = j->din;
    const float *restrict dout = j->l->doutput, *restrict m = j->l->extra;
    if (!j->masked)
        for (size_t i = lo; i < hi; i++) din[i] += dout[i];
    else
        for (size_t i = lo; i < hi; i++) din[i] += dout[i] * m[i];
}

static void dropout_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in;
    if (!din) return;
    const dropout *p = l->priv;
    size_t n = (size_t)l->batch * l->inputs;
    drop_back_job j = { l, din, p->masked, net->ctx->nthreads };
    if (n < 16384) j.nt = 1;
    if (j.nt == 1) drop_back_part(&j, 0);
    else thread_pool_run(net->ctx->pool, j.nt, drop_back_part, &j);
}

const layer_type dropout_type = {
    "dropout", dropout_keys, dropout_make, dropout_forward, dropout_backward, NULL,
};
