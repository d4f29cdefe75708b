/* augment.c - on-the-fly data augmentation: one affine warp (flip, rotation,
 * scale, translation, crop) sampled bilinearly with border replication, then
 * brightness/contrast jitter and random erasing. */
#include "dataset.h"

#include <math.h>

static float sample_u8(const uint8_t *plane, int w, int h, float x, float y)
{
    if (!(x >= 0)) x = 0;   /* also NaN */
    if (!(y >= 0)) y = 0;
    if (x > w - 1) x = (float)(w - 1);
    if (y > h - 1) y = (float)(h - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    float fx = x - x0, fy = y - y0;
    float a = plane[y0 * w + x0], b = plane[y0 * w + x1], c = plane[y1 * w + x0], d = plane[y1 * w + x1];
    return ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy) * (1.0f / 255.0f);
}

static float uniform_pm(rng *r, float range) { return range > 0 ? (2 * rng_uniform(r) - 1) * range : 0; }

void augment_sample(const dataset *ds, int i, const net_options *o, int train, int flip, rng *r,
                    float *out, int ow, int oh)
{
    int w = ds->w, h = ds->h;
    const uint8_t *src = ds->pixels + (size_t)i * w * h * ds->c;
    /* the source window's center: a random crop position in training, else
     * the centre window at whole pixels, where evaluation takes it (an odd
     * margin leaves the one pixel more on the right and below) */
    float scx = (w - 1) * 0.5f, scy = (h - 1) * 0.5f;
    if (o->crop && (w > ow || h > oh)) {
        scx = (w - ow) / 2 + (ow - 1) * 0.5f;
        scy = (h - oh) / 2 + (oh - 1) * 0.5f;
    }
    float angle = 0, scale = 1, tx = 0, ty = 0;
    int hflip = flip, vflip = 0;
    if (train) {
        if (o->crop && (w > ow || h > oh)) {
            int ox = rng_int(r, w - ow + 1), oy = rng_int(r, h - oh + 1);
            scx = ox + (ow - 1) * 0.5f;
            scy = oy + (oh - 1) * 0.5f;
        }
        if (o->flip > 0 && rng_uniform(r) < o->flip) hflip = !hflip;
        if (o->vflip > 0 && rng_uniform(r) < o->vflip) vflip = 1;
        angle = uniform_pm(r, o->angle) * 3.14159265358979f / 180.0f;
        scale = 1 + uniform_pm(r, o->scale);
        tx = uniform_pm(r, o->translate) * ow;
        ty = uniform_pm(r, o->translate) * oh;
    }
    float ca = cosf(angle) / scale, sa = sinf(angle) / scale;
    float cx = (ow - 1) * 0.5f, cy = (oh - 1) * 0.5f;
    int identity = angle == 0 && scale == 1 && tx == 0 && ty == 0 && !vflip && ow == w && oh == h && !hflip;
    for (int k = 0; k < ds->c; k++) {
        const uint8_t *plane = src + (size_t)k * w * h;
        float *dst = out + (size_t)k * ow * oh;
        if (identity) {
            for (int p = 0; p < w * h; p++) dst[p] = plane[p] * (1.0f / 255.0f);
            continue;
        }
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float dx = x - cx, dy = y - cy;
                if (hflip) dx = -dx;
                if (vflip) dy = -dy;
                float sx = ca * dx + sa * dy + scx - tx;
                float sy = -sa * dx + ca * dy + scy - ty;
                dst[y * ow + x] = sample_u8(plane, w, h, sx, sy);
            }
    }
    if (!train) return;
    size_t n = (size_t)ds->c * ow * oh;
    if (o->brightness > 0 || o->contrast > 0) {
        float b = uniform_pm(r, o->brightness), c = 1 + uniform_pm(r, o->contrast);
        for (size_t p = 0; p < n; p++) {
            float v = (out[p] - 0.5f) * c + 0.5f + b;
            out[p] = v < 0 ? 0 : (v > 1 ? 1 : v);
        }
    }
    if (o->erase > 0 && rng_uniform(r) < o->erase) {
        float area = (o->erase_min + rng_uniform(r) * (o->erase_max - o->erase_min)) * ow * oh;
        float aspect = expf(logf(0.3f) + rng_uniform(r) * (logf(3.3f) - logf(0.3f)));
        int eh = (int)(sqrtf(area * aspect) + 0.5f), ew = (int)(sqrtf(area / aspect) + 0.5f);
        if (eh > oh) eh = oh;
        if (ew > ow) ew = ow;
        if (eh > 0 && ew > 0) {
            int y0 = rng_int(r, oh - eh + 1), x0 = rng_int(r, ow - ew + 1);
            for (int k = 0; k < ds->c; k++)
                for (int y = y0; y < y0 + eh; y++)
                    for (int x = x0; x < x0 + ew; x++) out[((size_t)k * oh + y) * ow + x] = rng_uniform(r);
        }
    }
}

/* ---- mixup and CutMix ----------------------------------------------------- */

/* log of a Gamma(a, 1) variate (Marsaglia and Tsang's method; a < 1 through
 * Gamma(a+1) U^(1/a)), kept in logs so that a small a cannot underflow. */
static double log_gamma_variate(rng *r, double a)
{
    double boost = 0;
    if (a < 1) {
        boost = log(1.0 - rng_uniform(r)) / a;
        a += 1;
    }
    double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {   /* accepts over 95% of the proposals */
        double x = rng_normal(r), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        if (log(1.0 - rng_uniform(r)) < 0.5 * x * x + d - d * v + d * log(v)) return log(d * v) + boost;
    }
}

/* A Beta(alpha, alpha) variate in [0, 1]. */
static float beta_symmetric(rng *r, float alpha)
{
    double lx = log_gamma_variate(r, alpha), ly = log_gamma_variate(r, alpha);
    return (float)(1 / (1 + exp(ly - lx)));
}

/* An integer in [lo, hi] (hi >= lo). */
static int uniform_int(rng *r, int lo, int hi) { return lo + rng_int(r, hi - lo + 1); }

/* Pastes a box of other into out (both [c, oh, ow]); returns the share of
 * the area left to out's image. alpha > 0: the box's area is 1 - Beta(alpha,
 * alpha) of the image, its centre anywhere, clipped at the borders (Yun et
 * al.); alpha = 0: Darknet's box, each side 30-80% of the image's, inside it. */
static float cutmix_box(rng *r, float alpha, float *out, const float *other, int c, int ow, int oh)
{
    int x0, y0, x1, y1;
    if (alpha > 0) {
        float side = sqrtf(1 - beta_symmetric(r, alpha));
        int bw = (int)(ow * side), bh = (int)(oh * side);
        int cx = rng_int(r, ow), cy = rng_int(r, oh);
        x0 = cx - bw / 2 < 0 ? 0 : cx - bw / 2;
        y0 = cy - bh / 2 < 0 ? 0 : cy - bh / 2;
        x1 = cx + bw / 2 > ow ? ow : cx + bw / 2;
        y1 = cy + bh / 2 > oh ? oh : cy + bh / 2;
    } else {
        int bw = uniform_int(r, (int)(ow * 0.3f), (int)(ow * 0.8f));
        int bh = uniform_int(r, (int)(oh * 0.3f), (int)(oh * 0.8f));
        x0 = uniform_int(r, 0, ow - bw - 1);
        y0 = uniform_int(r, 0, oh - bh - 1);
        x1 = x0 + bw;
        y1 = y0 + bh;
    }
    for (int k = 0; k < c; k++)
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                size_t p = ((size_t)k * oh + y) * ow + x;
                out[p] = other[p];
            }
    return 1 - (float)((x1 - x0) * (y1 - y0)) / ((float)ow * oh);
}

float augment_mix(const dataset *ds, const net_options *o, rng *r, float *out, float *scratch, int ow, int oh,
                  int *other)
{
    *other = -1;
    if (!o->mixup && !o->cutmix) return 1;   /* no draws: runs without mixing stay as they were */
    if (!(rng_uniform(r) < o->mix_prob)) return 1;
    *other = rng_int(r, ds->n);
    augment_sample(ds, *other, o, 1, 0, r, scratch, ow, oh);
    if (o->cutmix) return cutmix_box(r, o->cutmix_alpha, out, scratch, ds->c, ow, oh);
    float keep = o->mixup_alpha > 0 ? beta_symmetric(r, o->mixup_alpha) : 0.5f;
    size_t n = (size_t)ds->c * ow * oh;
    for (size_t p = 0; p < n; p++) out[p] = keep * out[p] + (1 - keep) * scratch[p];
    return keep;
}
