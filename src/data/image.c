/* image.c - image files and conversions. PGM/PPM (P2, P3, P5, P6, maxval up
 * to 65535) are read natively; PNG/JPEG/BMP/GIF via stb_image when built with
 * FER_STB. Pixels are floats in [0,1], planar [c][h][w]. */
#include "engine/engine.h"
#include "codecs/draw.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef FER_STB
#include <stb_image.h>
#endif

#define FER_MAX_IMAGE_SIDE 16384

static int pnm_token(const unsigned char *buf, size_t len, size_t *pos, long *out)
{
    size_t p = *pos;
    for (;;) {
        while (p < len && isspace(buf[p])) p++;
        if (p < len && buf[p] == '#') {
            while (p < len && buf[p] != '\n') p++;
            continue;
        }
        break;
    }
    if (p >= len || !isdigit(buf[p])) return -1;
    long v = 0;
    while (p < len && isdigit(buf[p])) {
        v = v * 10 + (buf[p] - '0');
        if (v > 1000000000L) return -1;
        p++;
    }
    *pos = p;
    *out = v;
    return 0;
}

/* Refuses a w x h image over the pixel budget, from its header, before any
 * pixel is decoded (a small compressed file can claim a huge image). */
static int check_budget(const char *path, long w, long h, long max_pixels, fer_err *e)
{
    if (max_pixels > 0 && (double)w * (double)h > (double)max_pixels)
        return fer_fail(e, "%s: %ldx%ld is %.1f megapixels, over the limit of %.1f (-max-pixels N raises it)", path,
                        w, h, (double)w * h / 1e6, max_pixels / 1e6);
    return 0;
}

static int load_pnm(fer_image *im, const char *path, const unsigned char *buf, size_t len, long max_pixels,
                    fer_err *e)
{
    int kind = buf[1] - '0';
    int c = (kind == 3 || kind == 6) ? 3 : 1;
    size_t pos = 2;
    long w, h, maxv;
    if (pnm_token(buf, len, &pos, &w) || pnm_token(buf, len, &pos, &h) || pnm_token(buf, len, &pos, &maxv))
        return fer_fail(e, "%s: malformed P%d header (expected width height maxval)", path, kind);
    if (w < 1 || h < 1 || w > FER_MAX_IMAGE_SIDE || h > FER_MAX_IMAGE_SIDE || maxv < 1 || maxv > 65535)
        return fer_fail(e, "%s: P%d header %ldx%ld maxval %ld out of range (sides 1..%d, maxval 1..65535)", path,
                        kind, w, h, maxv, FER_MAX_IMAGE_SIDE);
    if (check_budget(path, w, h, max_pixels, e)) return -1;
    size_t n = (size_t)w * h * c;
    /* the size check comes before the allocation: a 20-byte header must not
     * cost gigabytes. Binary samples take bps bytes each, text ones at least
     * one digit each. */
    int binary = kind == 5 || kind == 6;
    size_t bps = binary && maxv > 255 ? 2 : 1;
    if (binary) pos++;   /* exactly one whitespace after maxval */
    if (pos > len || len - pos < n * bps)
        return fer_fail(e, "%s: truncated pixel data: %zu bytes at offset %zu, need %s%zu", path,
                        pos <= len ? len - pos : 0, pos, binary ? "" : "at least ", n * bps);
    im->data = fer_alloc(n, sizeof(float), e);
    if (!im->data) return -1;
    im->w = (int)w;
    im->h = (int)h;
    im->c = c;
    size_t plane = (size_t)w * h;
    if (binary) {
        for (size_t i = 0; i < plane; i++)
            for (int k = 0; k < c; k++) {
                size_t s = pos + (i * c + k) * bps;
                unsigned v = bps == 2 ? (unsigned)(buf[s] << 8 | buf[s + 1]) : buf[s];
                if (v > (unsigned)maxv) v = (unsigned)maxv;
                im->data[k * plane + i] = (float)v / (float)maxv;
            }
    } else {
        for (size_t i = 0; i < plane; i++)
            for (int k = 0; k < c; k++) {
                long v;
                if (pnm_token(buf, len, &pos, &v) || v > maxv) {
                    fer_free(im->data);
                    im->data = NULL;
                    return fer_fail(e, "%s: bad or missing sample %zu (offset %zu)", path, i * c + k, pos);
                }
                im->data[k * plane + i] = (float)v / (float)maxv;
            }
    }
    return 0;
}

int fer_image_load(fer_image *im, const char *path, fer_err *e)
{
    return fer_image_load_max(im, path, FER_IMAGE_MAX_PIXELS, e);
}

int fer_image_load_max(fer_image *im, const char *path, long max_pixels, fer_err *e)
{
    memset(im, 0, sizeof *im);
    size_t len;
    char *buf = read_file(path, &len, e);
    if (!buf) return -1;
    const unsigned char *u = (const unsigned char *)buf;
    int rc;
    if (len >= 2 && u[0] == 'P' && (u[1] == '2' || u[1] == '3' || u[1] == '5' || u[1] == '6')) {
        rc = load_pnm(im, path, u, len, max_pixels, e);
    } else {
#ifdef FER_STB
        int w, h, c;
        if (len > 0x7fffffff) {
            free(buf);
            return fer_fail(e, "%s: file too large", path);
        }
        if (!stbi_info_from_memory(u, (int)len, &w, &h, &c)) {
            free(buf);
            return fer_fail(e, "%s: not a readable image (%s)", path, stbi_failure_reason());
        }
        if (w < 1 || h < 1 || w > FER_MAX_IMAGE_SIDE || h > FER_MAX_IMAGE_SIDE) {
            free(buf);
            return fer_fail(e, "%s: %dx%d is out of range (sides 1..%d)", path, w, h, FER_MAX_IMAGE_SIDE);
        }
        if (check_budget(path, w, h, max_pixels, e)) {
            free(buf);
            return -1;
        }
        int want = (c == 1 || c == 2) ? 1 : 3;
        unsigned char *px = stbi_load_from_memory(u, (int)len, &w, &h, &c, want);
        if (!px) {
            free(buf);
            return fer_fail(e, "%s: cannot decode image (%s)", path, stbi_failure_reason());
        }
        size_t plane = (size_t)w * h;
        im->data = fer_alloc(plane * want, sizeof(float), e);
        rc = im->data ? 0 : -1;
        if (!rc) {
            im->w = w;
            im->h = h;
            im->c = want;
            for (size_t i = 0; i < plane; i++)
                for (int k = 0; k < want; k++) im->data[k * plane + i] = px[i * want + k] / 255.0f;
        }
        stbi_image_free(px);
#else
        rc = fer_fail(e, "%s: not a PGM/PPM image; this fer was built without stb, so PNG/JPEG need "
                         "'apt-get install libstb-dev' and a rebuild (or convert to .pgm)", path);
#endif
    }
    free(buf);
    return rc;
}

int fer_image_save(const fer_image *im, const char *path, fer_err *e)
{
    if (im->c != 1 && im->c != 3) return fer_fail(e, "%s: can only write 1 or 3 channels", path);
    size_t len = strlen(path);
    if (len > 4 && (!strcmp(path + len - 4, ".png") || !strcmp(path + len - 4, ".PNG"))) {
        size_t plane = (size_t)im->w * im->h;
        uint8_t *px = fer_alloc(plane * im->c, 1, e);
        if (!px) return -1;
        for (size_t i = 0; i < plane; i++)
            for (int k = 0; k < im->c; k++) {
                int b = (int)(im->data[k * plane + i] * 255.0f + 0.5f);
                px[i * im->c + k] = (uint8_t)(b < 0 ? 0 : (b > 255 ? 255 : b));
            }
        int rc = png_write(path, px, im->w, im->h, im->c, e);
        fer_free(px);
        return rc;
    }
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    fprintf(f, "P%d\n%d %d\n255\n", im->c == 1 ? 5 : 6, im->w, im->h);
    size_t plane = (size_t)im->w * im->h;
    for (size_t i = 0; i < plane; i++)
        for (int k = 0; k < im->c; k++) {
            float v = im->data[k * plane + i];
            int b = (int)(v * 255.0f + 0.5f);
            fputc(b < 0 ? 0 : (b > 255 ? 255 : b), f);
        }
    return atomic_close(f, tmp, path, e);
}

void fer_image_free(fer_image *im)
{
    if (!im) return;
    fer_free(im->data);
    im->data = NULL;
}

/* Bilinear sample of channel k at (x, y) in source pixel coordinates, with
 * border replication. */
static float sample(const fer_image *in, int k, float x, float y)
{
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > in->w - 1) x = (float)(in->w - 1);
    if (y > in->h - 1) y = (float)(in->h - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < in->w ? x0 + 1 : x0, y1 = y0 + 1 < in->h ? y0 + 1 : y0;
    float fx = x - x0, fy = y - y0;
    const float *p = in->data + (size_t)k * in->w * in->h;
    float a = p[(size_t)y0 * in->w + x0], b = p[(size_t)y0 * in->w + x1];
    float c = p[(size_t)y1 * in->w + x0], d = p[(size_t)y1 * in->w + x1];
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
}

int fer_image_convert(fer_image *out, const fer_image *in, int w, int h, int c, fer_err *e)
{
    memset(out, 0, sizeof *out);
    if (w < 1 || h < 1 || (c != 1 && c != 3) || (in->c != 1 && in->c != 3))
        return fer_fail(e, "cannot convert a %d-channel image to %dx%dx%d", in->c, w, h, c);
    size_t plane = (size_t)w * h;
    out->data = fer_alloc(plane * c, sizeof(float), e);
    if (!out->data) return -1;
    out->w = w;
    out->h = h;
    out->c = c;
    /* pixel centers aligned (align_corners = false) */
    float sx = (float)in->w / w, sy = (float)in->h / h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float fx = (x + 0.5f) * sx - 0.5f, fy = (y + 0.5f) * sy - 0.5f;
            float v[3];
            for (int k = 0; k < in->c; k++) v[k] = (w == in->w && h == in->h)
                                                       ? in->data[(size_t)k * plane + (size_t)y * w + x]
                                                       : sample(in, k, fx, fy);
            size_t o = (size_t)y * w + x;
            if (c == in->c) {
                for (int k = 0; k < c; k++) out->data[k * plane + o] = v[k];
            } else if (c == 1) {   /* ITU-R BT.601 luma */
                out->data[o] = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
            } else {
                for (int k = 0; k < 3; k++) out->data[k * plane + o] = v[0];
            }
        }
    return 0;
}
