/* avgpool.c - global average pooling: [c, h, w] -> [c, 1, 1] (Darknet's
 * [avgpool] has no keys). */
#include "layers.h"

static const char *const avgpool_keys[] = { "stopbackward", "freeze", NULL };

static int avgpool_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)f; (void)s; (void)net; (void)e;
    l->out_c = l->c;
    l->out_h = l->out_w = 1;
    l->outputs = l->c;
    l->flops = (double)l->inputs;
    return 0;
}

static void avgpool_forward(layer *l, network *net, const float *in)
{
    (void)net;
    int plane = l->h * l->w;
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        const float *p = in + (size_t)bc * plane;
        double s = 0;
        for (int i = 0; i < plane; i++) s += p[i];
        l->output[bc] = (float)(s / plane);
    }
}

static void avgpool_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    int plane = l->h * l->w;
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        float g = l->doutput[bc] / (float)plane;
        float *d = din + (size_t)bc * plane;
        for (int i = 0; i < plane; i++) d[i] += g;
    }
}

const layer_type avgpool_type = {
    "avgpool", avgpool_keys, avgpool_make, avgpool_forward, avgpool_backward, NULL,
};
