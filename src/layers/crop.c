/* crop.c - Darknet's [crop] (pjreddie's crop_layer.c, the CPU path): a
 * crop_height x crop_width window of the input, its values mapped to
 * x * 2 - 1 (x * 1 + 0 with noadjust=1). In training the window's corner
 * is random (uniform over every position) and, with flip=1, mirrored half
 * of the time: one draw per forward pass, shared by the batch, as in
 * Darknet. At inference the window is centered ((H - crop_height) / 2,
 * rounded down) and never mirrored; net->crop_view_set fixes the window
 * (network.h: test-time augmentation's corners, batch-norm re-estimation's
 * clean views). No parameters.
 *
 * Keys: crop_height, crop_width (required), flip (0), noadjust (0); angle
 * (0), saturation (1), exposure (1) and shift (0) are accepted with a
 * warning when they would change anything: Darknet applies them only in its
 * GPU build, and training here does NOT (nor does Darknet's CPU build). */
#include "layers.h"

#include <stdlib.h>

static const char *const crop_keys[] = {
    "crop_height", "crop_width", "flip", "noadjust", "angle", "saturation", "exposure", "shift",
    "stopbackward", "freeze", NULL,
};

typedef struct crop {
    int flip;          /* mirror at random in training */
    float scale, shift;   /* out = in * scale + shift */
} crop;

/* extra (fixed, 3 floats): the last forward pass's window row, column and
 * mirror flag, which the backward pass (and tests/tools/tool_golden)
 * read. */
enum { CROP_ROW, CROP_COL, CROP_FLIP, CROP_STATE };

/* Warns about a GPU-only augmentation key whose value is not `neutral`. */
static int warn_gpu_only(const cfg_file *f, cfg_section *s, const log_hook *log, const char *key, float neutral,
                         const char *what, fer_err *e)
{
    float v;
    if (cfg_float(f, s, key, neutral, &v, e)) return -1;
    if (v != neutral)
        cfg_warn(f, log, cfg_line(s, key), "[%s] %s=%g: Darknet's GPU build %s in training; training here will NOT "
                 "(nor does Darknet's CPU build)", s->name, key, v, what);
    return 0;
}

static int crop_keys_read(const cfg_file *f, cfg_section *s, const log_hook *log, crop *p, int *ch, int *cw,
                          fer_err *e)
{
    int noadjust;
    if (cfg_int_req(f, s, "crop_height", ch, e) || cfg_int_req(f, s, "crop_width", cw, e) ||
        cfg_int(f, s, "flip", 0, &p->flip, e) || cfg_int(f, s, "noadjust", 0, &noadjust, e))
        return -1;
    p->scale = noadjust ? 1.0f : 2.0f;
    p->shift = noadjust ? 0.0f : -1.0f;
    if (warn_gpu_only(f, s, log, "angle", 0, "rotates the crop at random", e) ||
        warn_gpu_only(f, s, log, "saturation", 1, "jitters the saturation", e) ||
        warn_gpu_only(f, s, log, "exposure", 1, "jitters the exposure", e) ||
        warn_gpu_only(f, s, log, "shift", 0, "shifts the colors at random", e))
        return -1;
    return 0;
}

static int crop_make(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e)
{
    (void)net;
    crop *p = calloc(1, sizeof *p);
    if (!p) return fer_fail(e, "out of memory");
    l->priv = p;
    int ch, cw;
    if (crop_keys_read(f, s, &net->ctx->log, p, &ch, &cw, e)) return -1;
    if (ch < 1 || cw < 1 || ch > l->h || cw > l->w)
        return fer_fail(e, "%s:%d: [%s] crop_height=%d crop_width=%d: must be 1..%d and 1..%d (the input is %dx%d)",
                        f->path, cfg_line(s, ch < 1 || ch > l->h ? "crop_height" : "crop_width"), s->name, ch, cw,
                        l->h, l->w, l->w, l->h);
    l->out_c = l->c;
    l->out_h = ch;
    l->out_w = cw;
    l->outputs = l->out_c * ch * cw;
    l->extra_fixed = CROP_STATE;
    l->flops = (double)l->outputs;
    return 0;
}

static void crop_forward(layer *l, network *net, const float *in)
{
    const crop *p = l->priv;
    int row = (l->h - l->out_h) / 2, col = (l->w - l->out_w) / 2, flip = 0;
    if (net->crop_view_set) {
        if (l->index == 0 && net->crop_view_row >= 0 && net->crop_view_col >= 0) {
            row = net->crop_view_row > l->h - l->out_h ? l->h - l->out_h : net->crop_view_row;
            col = net->crop_view_col > l->w - l->out_w ? l->w - l->out_w : net->crop_view_col;
        }
    } else if (net->train) {
        row = rng_int(&net->rng, l->h - l->out_h + 1);
        col = rng_int(&net->rng, l->w - l->out_w + 1);
        flip = p->flip && rng_int(&net->rng, 2);
    }
    l->extra[CROP_ROW] = (float)row;
    l->extra[CROP_COL] = (float)col;
    l->extra[CROP_FLIP] = (float)flip;
    float *y = l->output;
    for (int bc = 0; bc < l->batch * l->c; bc++)
        for (int i = 0; i < l->out_h; i++) {
            const float *x = in + ((size_t)bc * l->h + row + i) * l->w;
            for (int j = 0; j < l->out_w; j++)
                *y++ = x[flip ? l->w - col - j - 1 : col + j] * p->scale + p->shift;
        }
}

static void crop_backward(layer *l, network *net, const float *in, float *din)
{
    (void)net; (void)in;
    if (!din) return;
    const crop *p = l->priv;
    int row = (int)l->extra[CROP_ROW], col = (int)l->extra[CROP_COL], flip = l->extra[CROP_FLIP] != 0;
    const float *dy = l->doutput;
    for (int bc = 0; bc < l->batch * l->c; bc++)
        for (int i = 0; i < l->out_h; i++) {
            float *dx = din + ((size_t)bc * l->h + row + i) * l->w;
            for (int j = 0; j < l->out_w; j++) dx[flip ? l->w - col - j - 1 : col + j] += *dy++ * p->scale;
        }
}

const layer_type crop_type = {
    "crop", crop_keys, crop_make, crop_forward, crop_backward, NULL,
};
