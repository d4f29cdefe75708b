/* api.c - the public entry points of include/fer.h over the internal network. */
#include "engine/engine.h"

#include <string.h>

int fer_net_load(fer_net **out, const char *cfg, const char *weights, fer_ctx *ctx, fer_err *e)
{
    network *net;
    *out = NULL;
    if (net_from_cfg(&net, cfg, ctx, e)) return -1;
    if (weights && weights_load(net, weights, -1, e)) {
        net_free(net);
        return -1;
    }
    *out = net;
    return 0;
}

void fer_net_input_shape(const fer_net *net, int *w, int *h, int *c)
{
    int crop = net->opt.crop;
    *w = crop ? crop : net->opt.width;
    *h = crop ? crop : net->opt.height;
    *c = net->opt.channels;
}

int fer_net_classes(const fer_net *net) { return net->classes; }

/* Writes the image, resized to the input (center crop when the cfg crops),
 * into net->input row b. */
int net_put_image(fer_net *net, int b, const fer_image *im, fer_err *e)
{
    int w, h, c;
    fer_net_input_shape(net, &w, &h, &c);
    fer_image tmp;
    int crop = net->opt.crop;
    int rw = crop ? net->opt.width : w, rh = crop ? net->opt.height : h;
    if (fer_image_convert(&tmp, im, rw, rh, c, e)) return -1;
    float *dst = net->input + (size_t)b * net->inputs;
    int ox = (rw - w) / 2, oy = (rh - h) / 2;
    for (int k = 0; k < c; k++)
        for (int y = 0; y < h; y++)
            memcpy(dst + ((size_t)k * h + y) * w, tmp.data + ((size_t)k * rh + y + oy) * rw + ox, (size_t)w * sizeof *dst);
    fer_image_free(&tmp);
    return 0;
}

int fer_net_classify(fer_net *net, const fer_image *im, float *probs, fer_err *e)
{
    if (net->batch != 1 && net_set_batch(net, 1, net->grads_enabled, e)) return -1;
    if (net_put_image(net, 0, im, e)) return -1;
    net->train = 0;
    net->has_truth = 0;
    net_forward(net);
    if (net_check_output(net, 1, e)) return -1;
    memcpy(probs, net_output(net), (size_t)net->classes * sizeof *probs);
    return 0;
}

void fer_net_free(fer_net *net) { net_free(net); }
