/* plane_conv.c - direct convolution of ONE input plane with F filters (a
 * grayscale first layer). im2col + GEMM would run with K = the kernel's 9 or
 * 25 taps, far too shallow for the packed GEMM; the depthwise kernel, called
 * per filter, adds each tap into memory over a clipped range that shifts from
 * tap to tap, which defeats store-to-load forwarding. Here the plane is first
 * copied into a zero-bordered buffer wide enough that every output chunk of
 * 16 reads inside it, so each chunk of each filter sums all its taps in
 * registers and is stored once. */
#include "kernels.h"

#include <string.h>

#define CHUNK 16

/* The zero-bordered plane: Hp rows of Wp, where row r, column c hold input
 * (r - ph, c - pw). Wide enough for outputs up to ceil(ow / 16) * 16. */
static void pad_dims(int oh, int ow, int kh, int kw, int sh, int sw, int *hp, int *wp)
{
    int chunks = (ow + CHUNK - 1) / CHUNK;
    *hp = (oh - 1) * sh + kh;
    *wp = (chunks * CHUNK - 1) * sw + kw;
}

size_t plane_conv_pad_floats(int oh, int ow, int kh, int kw, int sh, int sw)
{
    int hp, wp;
    pad_dims(oh, ow, kh, kw, sh, sw, &hp, &wp);
    return (size_t)hp * wp;
}

static void fill_pad(const float *in, int h, int w, int ph, int pw, int hp, int wp, float *pad)
{
    memset(pad, 0, (size_t)hp * wp * sizeof *pad);
    int cols = w < wp - pw ? w : wp - pw;
    if (cols <= 0) return;
    for (int y = 0; y < h && y + ph < hp; y++)
        if (y + ph >= 0) memcpy(pad + (size_t)(y + ph) * wp + pw, in + (size_t)y * w, (size_t)cols * sizeof *in);
}

FER_SIMD_CLONES
void plane_conv_forward(const float *in, int h, int w, const float *k, int nf, int kh, int kw, int sh, int sw,
                        int ph, int pw, int oh, int ow, float *pad, float *out)
{
    int hp, wp, taps = kh * kw;
    size_t n = (size_t)oh * ow;
    pad_dims(oh, ow, kh, kw, sh, sw, &hp, &wp);
    fill_pad(in, h, w, ph, pw, hp, wp, pad);
    for (int oy = 0; oy < oh; oy++)
        for (int ox0 = 0; ox0 < ow; ox0 += CHUNK) {
            int m = ow - ox0 < CHUNK ? ow - ox0 : CHUNK;
            const float *base = pad + (size_t)oy * sh * wp + (size_t)ox0 * sw;
            for (int f = 0; f < nf; f++) {
                const float *kf = k + (size_t)f * taps;
                float acc[CHUNK] = { 0 };
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++) {
                        float kv = kf[i * kw + j];
                        const float *s = base + (size_t)i * wp + j;
                        if (sw == 1)
                            for (int q = 0; q < CHUNK; q++) acc[q] += kv * s[q];
                        else
                            for (int q = 0; q < CHUNK; q++) acc[q] += kv * s[q * sw];
                    }
                float *o = out + f * n + (size_t)oy * ow + ox0;
                if (m == CHUNK) memcpy(o, acc, sizeof acc);
                else memcpy(o, acc, (size_t)m * sizeof *o);
            }
        }
}

FER_SIMD_CLONES
void plane_conv_backward(const float *in, const float *dz, int h, int w, const float *k, int nf, int kh, int kw,
                         int sh, int sw, int ph, int pw, int oh, int ow, float *pad, float *dk, float *din)
{
    int hp, wp, taps = kh * kw;
    size_t n = (size_t)oh * ow;
    pad_dims(oh, ow, kh, kw, sh, sw, &hp, &wp);
    if (dk) {
        fill_pad(in, h, w, ph, pw, hp, wp, pad);
        for (int f = 0; f < nf; f++) {
            float acc[PLANE_CONV_MAX_TAPS][CHUNK];   /* acc[t][q]: tap t's partial sums, by lane */
            memset(acc, 0, (size_t)taps * sizeof acc[0]);
            for (int oy = 0; oy < oh; oy++)
                for (int ox0 = 0; ox0 < ow; ox0 += CHUNK) {
                    int m = ow - ox0 < CHUNK ? ow - ox0 : CHUNK;
                    float dv[CHUNK] = { 0 };
                    memcpy(dv, dz + f * n + (size_t)oy * ow + ox0, (size_t)m * sizeof *dv);
                    const float *base = pad + (size_t)oy * sh * wp + (size_t)ox0 * sw;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            const float *s = base + (size_t)i * wp + j;
                            float *a = acc[i * kw + j];
                            if (sw == 1)
                                for (int q = 0; q < CHUNK; q++) a[q] += dv[q] * s[q];
                            else
                                for (int q = 0; q < CHUNK; q++) a[q] += dv[q] * s[q * sw];
                        }
                }
            for (int t = 0; t < taps; t++) {
                float sum = 0;
                for (int q = 0; q < CHUNK; q++) sum += acc[t][q];
                dk[(size_t)f * taps + t] += sum;
            }
        }
    }
    if (!din) return;
    /* the gradient of the bordered plane, then its interior added to din */
    float *dpad = pad + (size_t)hp * wp;
    memset(dpad, 0, (size_t)hp * wp * sizeof *dpad);
    for (int oy = 0; oy < oh; oy++)
        for (int ox0 = 0; ox0 < ow; ox0 += CHUNK) {
            int m = ow - ox0 < CHUNK ? ow - ox0 : CHUNK;
            float *base = dpad + (size_t)oy * sh * wp + (size_t)ox0 * sw;
            for (int t = 0; t < taps; t++) {
                float g[CHUNK] = { 0 };   /* g[q] = sum_f k[f][t] * dz[f][oy][ox0 + q] */
                for (int f = 0; f < nf; f++) {
                    float kv = k[(size_t)f * taps + t];
                    const float *d = dz + f * n + (size_t)oy * ow + ox0;
                    for (int q = 0; q < m; q++) g[q] += kv * d[q];
                }
                float *s = base + (size_t)(t / kw) * wp + t % kw;
                if (sw == 1)
                    for (int q = 0; q < CHUNK; q++) s[q] += g[q];
                else
                    for (int q = 0; q < CHUNK; q++) s[q * sw] += g[q];
            }
        }
    for (int y = 0; y < h; y++) {
        if (y + ph < 0 || y + ph >= hp) continue;
        for (int x = 0; x < w && x + pw < wp; x++) din[(size_t)y * w + x] += dpad[(size_t)(y + ph) * wp + x + pw];
    }
}
