/* plane_conv.c - direct convolution of ONE input plane with F filters (a
 * grayscale first layer). im2col + GEMM would run with K = the kernel's 9 or
 * 25 taps, far too shallow for the packed GEMM; the depthwise kernel, called
 * per filter, adds each tap into memory over a clipped range that shifts from
 * tap to tap, which defeats store-to-load forwarding. Here the plane is first
 * copied into a zero-bordered buffer wide enough that every output chunk of
 * 16 reads inside it, so each chunk of each filter sums all its taps in
 * registers and is stored once. The chunk is a GNU C vector (GCC and Clang
 * lower it to one zmm, two ymm, four xmm or NEON registers): with small
 * float arrays GCC fell back to scalar code. */
#include "kernels.h"

#include <string.h>

#define CHUNK 16
typedef float chunk __attribute__((vector_size(CHUNK * sizeof(float))));

/* *v = 16 floats from p, p + s, ..., p + 15s (unaligned). A macro: a
 * function returning a chunk would be built for the baseline ISA. */
#define LOAD_CHUNK(v, p, s)                                           \
    do {                                                              \
        if ((s) == 1) {                                               \
            memcpy(&(v), (p), sizeof(chunk));                         \
        } else {                                                      \
            for (int q_ = 0; q_ < CHUNK; q_++) (v)[q_] = (p)[q_ * (s)]; \
        }                                                             \
    } while (0)

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

/* Copies only the input columns some output reads ((ow-1)*sw + kw - pw of
 * them at most): the lanes past the last output read the zeros beyond, so
 * an Inf in an unread column cannot reach the kernel gradient as 0 * Inf. */
static void fill_pad(const float *in, int h, int w, int ph, int pw, int hp, int wp, int ow, int kw, int sw,
                     float *pad)
{
    memset(pad, 0, (size_t)hp * wp * sizeof *pad);
    int cols = w < wp - pw ? w : wp - pw;
    int used = (ow - 1) * sw + kw - pw;
    if (cols > used) cols = used;
    if (cols <= 0) return;
    for (int y = 0; y < h && y + ph < hp; y++)
        if (y + ph >= 0) memcpy(pad + (size_t)(y + ph) * wp + pw, in + (size_t)y * w, (size_t)cols * sizeof *in);
}

/* The forward pass over the bordered plane. Inlined with constant kh, kw
 * for the common kernels, so that a chunk's taps and the accumulators stay
 * in registers: each chunk's tap vectors are loaded once and shared by all
 * filters, whose sums are independent (no chain across filters). */
static inline __attribute__((always_inline)) void forward_chunks(const float *pad, int wp, const float *k, int nf,
                                                                 int kh, int kw, int sh, int sw, int oh, int ow,
                                                                 float *out)
{
    int taps = kh * kw;
    size_t n = (size_t)oh * ow;
    for (int oy = 0; oy < oh; oy++)
        for (int ox0 = 0; ox0 < ow; ox0 += CHUNK) {
            int m = ow - ox0 < CHUNK ? ow - ox0 : CHUNK;
            const float *base = pad + (size_t)oy * sh * wp + (size_t)ox0 * sw;
            chunk v[PLANE_CONV_MAX_TAPS];   /* v[i*kw + j]: the inputs of tap (i, j) */
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) LOAD_CHUNK(v[i * kw + j], base + (size_t)i * wp + j, sw);
            for (int f = 0; f < nf; f++) {
                const float *kf = k + (size_t)f * taps;
                chunk acc = kf[0] * v[0];
                for (int t = 1; t < taps; t++) acc += kf[t] * v[t];
                float *o = out + f * n + (size_t)oy * ow + ox0;
                if (m == CHUNK) memcpy(o, &acc, sizeof acc);   /* a constant size: one store */
                else memcpy(o, &acc, (size_t)m * sizeof(float));
            }
        }
}

FER_SIMD_CLONES
void plane_conv_forward(const float *in, int h, int w, const float *k, int nf, int kh, int kw, int sh, int sw,
                        int ph, int pw, int oh, int ow, float *pad, float *out)
{
    int hp, wp;
    pad_dims(oh, ow, kh, kw, sh, sw, &hp, &wp);
    fill_pad(in, h, w, ph, pw, hp, wp, ow, kw, sw, pad);
    if (kh == 3 && kw == 3 && sw == 1) forward_chunks(pad, wp, k, nf, 3, 3, sh, 1, oh, ow, out);
    else if (kh == 5 && kw == 5 && sw == 1) forward_chunks(pad, wp, k, nf, 5, 5, sh, 1, oh, ow, out);
    else forward_chunks(pad, wp, k, nf, kh, kw, sh, sw, oh, ow, out);
}

/* The kernel gradient over the bordered plane, per filter: the tap sums by
 * lane stay in registers across the plane (constant kh, kw as above). */
static inline __attribute__((always_inline)) void kernel_grad_chunks(const float *pad, int wp, const float *dz,
                                                                     int nf, int kh, int kw, int sh, int sw, int oh,
                                                                     int ow, float *dk)
{
    int taps = kh * kw;
    size_t n = (size_t)oh * ow;
    for (int f = 0; f < nf; f++) {
        chunk acc[PLANE_CONV_MAX_TAPS];   /* acc[t]: tap t's partial sums, by lane */
        for (int t = 0; t < taps; t++) acc[t] = (chunk){ 0 };
        for (int oy = 0; oy < oh; oy++)
            for (int ox0 = 0; ox0 < ow; ox0 += CHUNK) {
                int m = ow - ox0 < CHUNK ? ow - ox0 : CHUNK;
                chunk dv = { 0 };
                const float *d = dz + f * n + (size_t)oy * ow + ox0;
                if (m == CHUNK) memcpy(&dv, d, sizeof dv);
                else memcpy(&dv, d, (size_t)m * sizeof(float));
                const float *base = pad + (size_t)oy * sh * wp + (size_t)ox0 * sw;
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++) {
                        chunk v;
                        LOAD_CHUNK(v, base + (size_t)i * wp + j, sw);
                        acc[i * kw + j] += dv * v;
                    }
            }
        for (int t = 0; t < taps; t++) {
            float sum = 0;
            for (int q = 0; q < CHUNK; q++) sum += acc[t][q];
            dk[(size_t)f * taps + t] += sum;
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
        fill_pad(in, h, w, ph, pw, hp, wp, ow, kw, sw, pad);
        if (kh == 3 && kw == 3 && sw == 1) kernel_grad_chunks(pad, wp, dz, nf, 3, 3, sh, 1, oh, ow, dk);
        else if (kh == 5 && kw == 5 && sw == 1) kernel_grad_chunks(pad, wp, dz, nf, 5, 5, sh, 1, oh, ow, dk);
        else kernel_grad_chunks(pad, wp, dz, nf, kh, kw, sh, sw, oh, ow, dk);
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
                chunk g = { 0 };   /* g[q] = sum_f k[f][t] * dz[f][oy][ox0 + q] */
                for (int f = 0; f < nf; f++) {
                    chunk d = { 0 };
                    memcpy(&d, dz + f * n + (size_t)oy * ow + ox0, (size_t)m * sizeof(float));
                    g += k[(size_t)f * taps + t] * d;
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
