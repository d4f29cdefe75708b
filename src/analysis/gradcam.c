/* gradcam.c - what a classifier looks at, by back-propagation from one
 * class's pre-softmax score K through a batch-1 network in inference mode:
 *   saliency (Simonyan, Vedaldi, Zisserman 2014): |d score_K / d input|,
 *     the maximum over channels per pixel;
 *   Grad-CAM (Selvaraju et al. 2017): over a layer's output A [C, H, W],
 *     weights w_k = mean over (y, x) of d score_K / d A[k, y, x] and the map
 *     ReLU(sum_k w_k A[k]), resized bilinearly to the input.
 * score_K is the input of the last [softmax] (the layer before it), so the
 * softmax does not mix the classes into the gradient. */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

static int score_layer(const network *net, fer_err *e)
{
    int s = net->loss_layer >= 0 ? net->loss_layer - 1 : net->n - 1;
    if (s < 0) return fer_fail(e, "%s: the [softmax] is the first layer: there are no class scores to explain", net->cfg_path);
    if (net->layers[s].outputs != net->classes)
        return fer_fail(e, "%s: layer %d feeds the softmax with %d values but the network has %d classes",
                        net->cfg_path, s, net->layers[s].outputs, net->classes);
    return s;
}

int gradcam_default_layer(const network *net)
{
    int s = net->loss_layer >= 0 ? net->loss_layer - 1 : net->n - 1;
    for (int i = s; i >= 0; i--) {
        const layer *l = &net->layers[i];
        if (!strcmp(l->type->name, "convolutional") && l->out_h > 1 && l->out_w > 1) return i;
    }
    return -1;
}

void explanation_free(explanation *x)
{
    free(x->probs);
    free(x->scores);
    free(x->dinput);
    free(x->saliency);
    free(x->cam_weights);
    free(x->cam);
    free(x->cam_input);
    memset(x, 0, sizeof *x);
    x->layer = -1;
}

int explanation_init(explanation *x, network *net, int cam_layer, fer_err *e)
{
    memset(x, 0, sizeof *x);
    x->layer = -1;
    int s = score_layer(net, e);
    if (s < 0) return -1;
    if (cam_layer == -1) {
        cam_layer = gradcam_default_layer(net);
        if (cam_layer < 0)
            return fer_fail(e, "%s: no convolutional layer with a spatial output for Grad-CAM (give -layer N)",
                            net->cfg_path);
    }
    if (cam_layer != -2) {
        if (cam_layer < 0 || cam_layer > s)
            return fer_fail(e, "%s: Grad-CAM layer %d: expected 0..%d (the layers below the class scores)",
                            net->cfg_path, cam_layer, s);
        for (int i = cam_layer + 1; i <= s; i++)
            if (net->layers[i].stopbackward)
                return fer_fail(e, "%s: layer %d has stopbackward=1: no gradient reaches layer %d", net->cfg_path, i,
                                cam_layer);
    }
    x->score_layer = s;
    x->saliency_ok = 1;
    for (int i = 0; i <= s; i++)
        if (net->layers[i].stopbackward) x->saliency_ok = 0;
    if (net_set_batch(net, 1, 1, e)) return -1;
    fer_net_input_shape(net, &x->w, &x->h, &x->c);
    x->classes = net->classes;
    size_t plane = (size_t)x->w * x->h;
    x->probs = calloc((size_t)net->classes, sizeof(float));
    x->scores = calloc((size_t)net->classes, sizeof(float));
    x->dinput = calloc(plane * x->c, sizeof(float));
    x->saliency = calloc(plane, sizeof(float));
    int bad = !x->probs || !x->scores || !x->dinput || !x->saliency;
    if (cam_layer >= 0) {
        const layer *l = &net->layers[cam_layer];
        x->layer = cam_layer;
        x->lc = l->out_c;
        x->lh = l->out_h;
        x->lw = l->out_w;
        x->cam_weights = calloc((size_t)x->lc, sizeof(float));
        x->cam = calloc((size_t)x->lh * x->lw, sizeof(float));
        x->cam_input = calloc(plane, sizeof(float));
        bad |= !x->cam_weights || !x->cam || !x->cam_input;
    }
    if (bad) {
        explanation_free(x);
        return fer_fail(e, "out of memory");
    }
    return 0;
}

/* The part of the input that the chosen layer's grid covers: all of it, or,
 * below a leading [crop], the window that layer takes at inference (its
 * centre). */
static void cam_window(const network *net, const explanation *x, int *ox, int *oy, int *ww, int *wh)
{
    const layer *l0 = &net->layers[0];
    *ox = *oy = 0;
    *ww = x->w;
    *wh = x->h;
    if (x->layer > 0 && !strcmp(l0->type->name, "crop") && l0->w == x->w && l0->h == x->h) {
        *ww = l0->out_w;
        *wh = l0->out_h;
        *ox = (l0->w - l0->out_w) / 2;
        *oy = (l0->h - l0->out_h) / 2;
    }
}

int explain(network *net, const float *input, int cls, explanation *x, int *used_cls, fer_err *e)
{
    if (net->batch != 1 || !net->grads_enabled) return fer_fail(e, "explain: call explanation_init first");
    if (cls >= net->classes) return fer_fail(e, "class %d: the network has classes 0..%d", cls, net->classes - 1);
    memcpy(net->input, input, (size_t)net->inputs * sizeof(float));
    int was_train = net->train;
    net->train = 0;
    net->has_truth = 0;
    net_forward(net);
    if (net_check_output(net, 1, e)) {
        net->train = was_train;
        return -1;
    }
    memcpy(x->probs, net_output(net), (size_t)net->classes * sizeof(float));
    layer *s = &net->layers[x->score_layer];
    memcpy(x->scores, s->output, (size_t)net->classes * sizeof(float));
    if (cls < 0) {
        cls = 0;
        for (int k = 1; k < net->classes; k++)
            if (x->probs[k] > x->probs[cls]) cls = k;
    }
    if (used_cls) *used_cls = cls;
    /* backward from the one-hot score: parameter gradients are a by-product */
    net_zero_doutputs(net);
    net_zero_grads(net);
    s->doutput[cls] = 1;
    int want = net->want_dinput;
    net->want_dinput = 1;
    net_backward_from(net, x->score_layer);
    net->want_dinput = want;
    net->train = was_train;

    size_t plane = (size_t)x->w * x->h;
    memcpy(x->dinput, net->dinput, plane * x->c * sizeof(float));
    for (size_t i = 0; i < plane; i++) {
        float m = 0;
        for (int k = 0; k < x->c; k++) {
            float v = x->dinput[k * plane + i];
            if (v < 0) v = -v;
            if (v > m) m = v;
        }
        x->saliency[i] = m;
    }
    if (x->layer < 0) return 0;
    const layer *l = &net->layers[x->layer];
    size_t lp = (size_t)x->lh * x->lw;
    for (int k = 0; k < x->lc; k++) {
        double sum = 0;
        for (size_t i = 0; i < lp; i++) sum += l->doutput[k * lp + i];
        x->cam_weights[k] = (float)(sum / (double)lp);
    }
    for (size_t i = 0; i < lp; i++) {
        double v = 0;
        for (int k = 0; k < x->lc; k++) v += (double)x->cam_weights[k] * l->output[k * lp + i];
        x->cam[i] = v > 0 ? (float)v : 0;
    }
    /* stretched over the region the grid covers; 0 outside it */
    int ox, oy, ww, wh;
    cam_window(net, x, &ox, &oy, &ww, &wh);
    fer_image small = { x->lw, x->lh, 1, x->cam }, big;
    if (fer_image_convert(&big, &small, ww, wh, 1, e)) return -1;
    memset(x->cam_input, 0, plane * sizeof(float));
    for (int y = 0; y < wh; y++)
        memcpy(x->cam_input + (size_t)(oy + y) * x->w + ox, big.data + (size_t)y * ww, (size_t)ww * sizeof(float));
    fer_image_free(&big);
    return 0;
}
