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
} drop_job;

/* Samples [lo, hi): each sample has its own stream (seed, sample), so the
 * mask does not depend on how many threads share the batch. */
static void drop_samples(const drop_job *j, int lo, int hi)
{
    layer *l = j->l;
    size_t n = (size_t)l->inputs;
    for (int b = lo; b < hi; b++) {
        rng r;
        rng_seed(&r, j->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(b + 1)));
        const float *x = j->in + (size_t)b * n;
        float *y = l->output + (size_t)b * n, *m = l->extra + (size_t)b * n;
        for (size_t i = 0; i < n; i += 2) {   /* two 24-bit uniforms per draw */
            uint64_t u = rng_next(&r);
            float m0 = (uint32_t)(u >> 40) < j->cut ? 0.0f : j->keep;
            m[i] = m0;
            y[i] = x[i] * m0;
            if (i + 1 < n) {
                float m1 = (uint32_t)((u >> 16) & 0xffffff) < j->cut ? 0.0f : j->keep;
                m[i + 1] = m1;
                y[i + 1] = x[i + 1] * m1;
            }
        }
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
    p->masked = net->train && p->p > 0;
    if (!p->masked) {   /* identity: no mask to write or read back */
        memcpy(l->output, in, n * sizeof *in);
        return;
    }
    drop_job j = { l, in, rng_next(&net->rng), (uint32_t)(p->p * 16777216.0f), 1.0f / (1.0f - p->p),
                   net->ctx->nthreads };
    if (j.nt == 1 || n < 16384) drop_samples(&j, 0, l->batch);
    else thread_pool_run(net->ctx->pool, j.nt, drop_part, &j);
}

static void dropout_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    const dropout *p = l->priv;
    size_t n = (size_t)l->batch * l->inputs;
    if (!p->masked) {
        for (size_t i = 0; i < n; i++) din[i] += l->doutput[i];
        return;
    }
    for (size_t i = 0; i < n; i++) din[i] += l->doutput[i] * l->extra[i];
}

const layer_type dropout_type = {
    "dropout", dropout_keys, dropout_make, dropout_forward, dropout_backward, NULL,
};
