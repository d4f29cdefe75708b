/* dropout.c - inverted dropout: in training each value is zeroed with
 * `probability` and the rest scaled by 1/(1-probability); identity at
 * inference. Key: probability (default 0.5). */
#include "layers.h"

#include <stdlib.h>
#include <string.h>

typedef struct dropout { float p; } dropout;

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

static void dropout_forward(layer *l, network *net, const float *in)
{
    dropout *p = l->priv;
    size_t n = (size_t)l->batch * l->inputs;
    if (!net->train || p->p == 0) {
        memcpy(l->output, in, n * sizeof *in);
        for (size_t i = 0; i < n; i++) l->extra[i] = 1;
        return;
    }
    float keep = 1.0f / (1.0f - p->p);
    for (size_t i = 0; i < n; i++) {
        float m = rng_uniform(&net->rng) < p->p ? 0.0f : keep;
        l->extra[i] = m;
        l->output[i] = in[i] * m;
    }
}

static void dropout_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    size_t n = (size_t)l->batch * l->inputs;
    for (size_t i = 0; i < n; i++) din[i] += l->doutput[i] * l->extra[i];
}

const layer_type dropout_type = {
    "dropout", dropout_keys, dropout_make, dropout_forward, dropout_backward, NULL,
};
