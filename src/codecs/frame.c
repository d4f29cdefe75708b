/* frame.c - frames of `fer demo` and the BT.601 YUV <-> RGB conversions
 * (8-bit fixed point, coefficients scaled by 256). */
#include "frame.h"

#include <string.h>

static inline uint8_t clamp255(int v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

int frame_alloc(frame *f, int w, int h, fer_err *e)
{
    if (f->rgb && f->w == w && f->h == h) return 0;
    frame_free(f);
    if (w < 1 || h < 1) return fer_fail(e, "frame size %dx%d is invalid", w, h);
    f->rgb = fer_alloc((size_t)w * h, 3, e);
    f->gray = f->rgb ? fer_alloc((size_t)w * h, 1, e) : NULL;
    if (!f->gray) {
        frame_free(f);
        return -1;
    }
    f->w = w;
    f->h = h;
    return 0;
}

void frame_free(frame *f)
{
    fer_free(f->rgb);
    fer_free(f->gray);
    memset(f, 0, sizeof *f);
}

void frame_gray_from_rgb(frame *f)
{
    size_t n = (size_t)f->w * f->h;
    const uint8_t *p = f->rgb;
    for (size_t i = 0; i < n; i++, p += 3) f->gray[i] = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
}

void frame_rgb_from_gray(frame *f)
{
    size_t n = (size_t)f->w * f->h;
    for (size_t i = 0; i < n; i++) f->rgb[3 * i] = f->rgb[3 * i + 1] = f->rgb[3 * i + 2] = f->gray[i];
}

/* One pixel: luma y (0..255 code), chroma d = U-128, e = V-128. */
static inline void put_rgb(uint8_t *o, uint8_t *g, int y, int d, int ev, int full)
{
    int c = full ? 256 * y : 298 * (y - 16);
    o[0] = clamp255((c + (full ? 359 : 409) * ev + 128) >> 8);
    o[1] = clamp255((c - (full ? 88 : 100) * d - (full ? 183 : 208) * ev + 128) >> 8);
    o[2] = clamp255((c + (full ? 454 : 516) * d + 128) >> 8);
    *g = full ? (uint8_t)y : clamp255((c + 128) >> 8);
}

void yuv_planar_to_frame(frame *f, const uint8_t *y, const uint8_t *u, const uint8_t *v, int sx, int sy,
                         int full_range)
{
    int w = f->w, h = f->h;
    int cw = (w + sx - 1) / sx;
    for (int r = 0; r < h; r++) {
        const uint8_t *yr = y + (size_t)r * w;
        const uint8_t *ur = u ? u + (size_t)(r / sy) * cw : NULL;
        const uint8_t *vr = v ? v + (size_t)(r / sy) * cw : NULL;
        uint8_t *o = f->rgb + (size_t)r * w * 3, *g = f->gray + (size_t)r * w;
        for (int x = 0; x < w; x++) {
            int d = ur ? ur[x / sx] - 128 : 0, ev = vr ? vr[x / sx] - 128 : 0;
            put_rgb(o + 3 * x, g + x, yr[x], d, ev, full_range);
        }
    }
}

static inline int luma_of(const uint8_t *p, int full)
{
    return full ? (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8
                : ((66 * p[0] + 129 * p[1] + 25 * p[2] + 128) >> 8) + 16;
}

void frame_to_yuv_planar(const frame *f, uint8_t *y, uint8_t *u, uint8_t *v, int sx, int sy, int full_range)
{
    int w = f->w, h = f->h;
    for (size_t i = 0; i < (size_t)w * h; i++) y[i] = (uint8_t)luma_of(f->rgb + 3 * i, full_range);
    if (!u || !v) return;
    int cw = (w + sx - 1) / sx, ch = (h + sy - 1) / sy;
    for (int cy = 0; cy < ch; cy++)
        for (int cx = 0; cx < cw; cx++) {
            int sr = 0, sg = 0, sb = 0, n = 0;
            for (int dy = 0; dy < sy; dy++)
                for (int dx = 0; dx < sx; dx++) {
                    int px = cx * sx + dx, py = cy * sy + dy;
                    if (px >= w || py >= h) continue;
                    const uint8_t *p = f->rgb + ((size_t)py * w + px) * 3;
                    sr += p[0];
                    sg += p[1];
                    sb += p[2];
                    n++;
                }
            sr = (sr + n / 2) / n;
            sg = (sg + n / 2) / n;
            sb = (sb + n / 2) / n;
            int cu, cv;
            if (full_range) {   /* offsets keep the shifted value non-negative */
                cu = (-43 * sr - 85 * sg + 128 * sb + 128 + 32768) >> 8;
                cv = (128 * sr - 107 * sg - 21 * sb + 128 + 32768) >> 8;
            } else {
                cu = (-38 * sr - 74 * sg + 112 * sb + 128 + 32768) >> 8;
                cv = (112 * sr - 94 * sg - 18 * sb + 128 + 32768) >> 8;
            }
            u[(size_t)cy * cw + cx] = clamp255(cu);
            v[(size_t)cy * cw + cx] = clamp255(cv);
        }
}

void yuyv_to_frame(frame *f, const uint8_t *yuyv, size_t stride, int full_range)
{
    for (int r = 0; r < f->h; r++) {
        const uint8_t *s = yuyv + (size_t)r * stride;
        uint8_t *o = f->rgb + (size_t)r * f->w * 3, *g = f->gray + (size_t)r * f->w;
        for (int x = 0; x < f->w; x++) {
            const uint8_t *pair = s + (size_t)(x / 2) * 4;
            put_rgb(o + 3 * x, g + x, pair[(x & 1) * 2], pair[1] - 128, pair[3] - 128, full_range);
        }
    }
}

void gray_to_frame(frame *f, const uint8_t *src, size_t stride, int full_range)
{
    for (int r = 0; r < f->h; r++) {
        const uint8_t *s = src + (size_t)r * stride;
        uint8_t *o = f->rgb + (size_t)r * f->w * 3, *g = f->gray + (size_t)r * f->w;
        for (int x = 0; x < f->w; x++) put_rgb(o + 3 * x, g + x, s[x], 0, 0, full_range);
    }
}

int frame_from_image(frame *f, const fer_image *im, fer_err *e)
{
    if (im->c != 1 && im->c != 3) return fer_fail(e, "a frame is made of 1 or 3 channels, not %d", im->c);
    if (frame_alloc(f, im->w, im->h, e)) return -1;
    size_t n = (size_t)im->w * im->h;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            float v = im->data[(im->c == 3 ? (size_t)k : 0) * n + i];
            int b = (int)(v * 255.0f + 0.5f);
            f->rgb[3 * i + k] = (uint8_t)(b < 0 ? 0 : (b > 255 ? 255 : b));
        }
    frame_gray_from_rgb(f);
    return 0;
}
