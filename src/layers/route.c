/* route.c - concatenates the outputs of earlier layers along channels (all
 * must share height and width). Key: layers (comma list; negative =
 * relative to this layer). A single source simply re-uses that output. */
#include "layers.h"

#include <string.h>

static const char *const route_keys[] = { "layers", "stopbackward", "freeze", NULL };

static int route_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    int refs[FER_MAX_SOURCES], n;
    if (!cfg_has(s, "layers"))
        return fer_fail(e, "%s:%d: [%s] needs the key 'layers'", f->path, s->line, s->name);
    if (cfg_int_list(f, s, "layers", refs, FER_MAX_SOURCES, &n, e)) return -1;
    l->n_sources = n;
    l->out_c = 0;
    for (int i = 0; i < n; i++) {
        if (layer_ref(refs[i], l->index, f, s, "layers", &l->sources[i], e)) return -1;
        const layer *src = &net->layers[l->sources[i]];
        if (i == 0) {
            l->out_h = src->out_h;
            l->out_w = src->out_w;
        } else if (src->out_h != l->out_h || src->out_w != l->out_w) {
            return fer_fail(e, "%s:%d: [%s] layers: layer %d is %dx%d but layer %d is %dx%d; a route needs equal sizes",
                            f->path, cfg_line(s, "layers"), s->name, l->sources[i], src->out_w, src->out_h,
                            l->sources[0], l->out_w, l->out_h);
        }
        l->out_c += src->out_c;
    }
    l->outputs = l->out_c * l->out_h * l->out_w;
    return 0;
}

static void route_forward(layer *l, network *net, const float *in)
{
    (void)in;
    for (int b = 0; b < l->batch; b++) {
        float *dst = l->output + (size_t)b * l->outputs;
        for (int i = 0; i < l->n_sources; i++) {
            const layer *src = &net->layers[l->sources[i]];
            memcpy(dst, src->output + (size_t)b * src->outputs, (size_t)src->outputs * sizeof *dst);
            dst += src->outputs;
        }
    }
}

static void route_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in; (void)din;
    if (l->stopbackward) return;
    for (int b = 0; b < l->batch; b++) {
        const float *d = l->doutput + (size_t)b * l->outputs;
        for (int i = 0; i < l->n_sources; i++) {
            layer *src = &net->layers[l->sources[i]];
            float *ds = src->doutput + (size_t)b * src->outputs;
            for (int k = 0; k < src->outputs; k++) ds[k] += d[k];
            d += src->outputs;
        }
    }
}

const layer_type route_type = {
    "route", route_keys, route_make, route_forward, route_backward, NULL,
};
