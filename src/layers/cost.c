/* cost.c - Darknet's [cost] section, accepted so Darknet classifier cfgs
 * load: an identity. fer's loss is the softmax layer's cross-entropy, so the
 * cost type and scales are read and reported as unused. */
#include "layers.h"

#include <string.h>

static const char *const cost_keys[] = {
    "type", "scale", "ratio", "noobject_scale", "thresh", "stopbackward", "freeze", NULL,
};

static int cost_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    const char *type = cfg_str(s, "type", "sse");
    if (strcmp(type, "sse") && strcmp(type, "masked") && strcmp(type, "smooth") && strcmp(type, "L1") &&
        strcmp(type, "seg") && strcmp(type, "wgan"))
        return fer_fail(e, "%s:%d: [%s] type=%s: unknown cost type", f->path, cfg_line(s, "type"), s->name, type);
    if (l->index == 0 || strcmp(net->layers[l->index - 1].type->name, "softmax"))
        fer_log(&net->ctx->log, FER_LOG_WARN,
                "%s:%d: warning: [cost] is an identity in fer; the loss is the cross-entropy of the last [softmax]",
                f->path, s->line);
    l->out_c = l->c;
    l->out_h = l->h;
    l->out_w = l->w;
    l->outputs = l->inputs;
    return 0;
}

static void cost_forward(layer *l, network *net, const float *in)
{
    (void)net;
    memcpy(l->output, in, (size_t)l->batch * l->inputs * sizeof *in);
}

static void cost_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    size_t n = (size_t)l->batch * l->inputs;
    for (size_t i = 0; i < n; i++) din[i] += l->doutput[i];
}

const layer_type cost_type = {
    "cost", cost_keys, cost_make, cost_forward, cost_backward, NULL,
};
