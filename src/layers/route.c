/* route.c - concatenates the outputs of earlier layers along channels (all
 * must share height and width). Keys: layers (comma list; negative =
 * relative to this layer); groups (1) and group_id (0), AlexeyAB's: each
 * source contributes only the group_id-th of `groups` equal slices of its
 * channels (CSP networks' split). */
#include "layers.h"

#include <stdlib.h>
#include <string.h>

static const char *const route_keys[] = { "layers", "groups", "group_id", "stopbackward", "freeze", NULL };

typedef struct route { int groups, group_id; } route;

static int read_groups(const cfg_file *f, cfg_section *s, route *r, fer_err *e)
{
    if (cfg_int(f, s, "groups", 1, &r->groups, e) || cfg_int(f, s, "group_id", 0, &r->group_id, e)) return -1;
    if (r->groups < 1)
        return fer_fail(e, "%s:%d: [%s] groups=%d: must be >= 1", f->path, cfg_line(s, "groups"), s->name, r->groups);
    if (r->group_id < 0 || r->group_id >= r->groups)
        return fer_fail(e, "%s:%d: [%s] group_id=%d: must be in 0..%d (groups=%d)", f->path, cfg_line(s, "group_id"),
                        s->name, r->group_id, r->groups - 1, r->groups);
    return 0;
}

static int route_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    int refs[FER_MAX_SOURCES], n;
    route *r = calloc(1, sizeof *r);
    if (!r) return fer_fail(e, "out of memory");
    l->priv = r;
    if (read_groups(f, s, r, e)) return -1;
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
        if (src->out_c % r->groups)
            return fer_fail(e, "%s:%d: [%s] groups=%d: layer %d has %d channels, not a multiple of groups",
                            f->path, cfg_line(s, "groups"), s->name, r->groups, l->sources[i], src->out_c);
        l->out_c += src->out_c / r->groups;
    }
    l->outputs = l->out_c * l->out_h * l->out_w;
    return 0;
}

static void route_forward(layer *l, network *net, const float *in)
{
    (void)in;
    const route *r = l->priv;
    for (int b = 0; b < l->batch; b++) {
        float *dst = l->output + (size_t)b * l->outputs;
        for (int i = 0; i < l->n_sources; i++) {
            const layer *src = &net->layers[l->sources[i]];
            size_t part = (size_t)src->outputs / r->groups;
            memcpy(dst, src->output + (size_t)b * src->outputs + part * r->group_id, part * sizeof *dst);
            dst += part;
        }
    }
}

static void route_backward(layer *l, network *net, const float *in, float *din)
{
    (void)in; (void)din;
    if (l->stopbackward) return;
    const route *r = l->priv;
    for (int b = 0; b < l->batch; b++) {
        const float *d = l->doutput + (size_t)b * l->outputs;
        for (int i = 0; i < l->n_sources; i++) {
            layer *src = &net->layers[l->sources[i]];
            size_t part = (size_t)src->outputs / r->groups;
            float *ds = src->doutput + (size_t)b * src->outputs + part * r->group_id;
            for (size_t k = 0; k < part; k++) ds[k] += d[k];
            d += part;
        }
    }
}

const layer_type route_type = {
    "route", route_keys, route_make, route_forward, route_backward, NULL,
};
