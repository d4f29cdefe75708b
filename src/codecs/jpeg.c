/* jpeg.c - the baseline JPEG encoder (see jpeg.h). An image is cut into
 * MCUs (16x16 pixels for 4:2:0, 8x8 otherwise; edges replicate the last
 * row/column); each 8x8 block is level-shifted, transformed (AAN float DCT),
 * quantized, and Huffman coded with the Annex K tables. */
#include "jpeg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Position in natural (row-major) order of the i-th coefficient in zigzag order. */
static const uint8_t zigzag[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

/* ITU T.81 Annex K.1: luminance and chrominance quantization, natural order. */
static const uint8_t std_quant[2][64] = {
    { 16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
      14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
      18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
      49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99 },
    { 17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
      99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
      99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99 },
};

/* Annex K.3: code counts per length 1..16 and the symbols, for DC/AC x luma/chroma. */
static const uint8_t dc_bits[2][16] = { { 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0 },
                                        { 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 } };
static const uint8_t dc_vals[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const uint8_t ac_bits[2][16] = { { 0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d },
                                        { 0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77 } };
static const uint8_t ac_vals[2][162] = {
    { 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71,
      0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72,
      0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37,
      0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
      0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
      0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3,
      0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
      0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
      0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa },
    { 0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22,
      0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1,
      0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36,
      0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
      0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
      0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a,
      0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
      0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
      0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa },
};

static const float aan[8] = { 1.0f, 1.387039845f, 1.306562965f, 1.175875602f,
                              1.0f, 0.785694958f, 0.541196100f, 0.275899379f };

float jpeg_aan_scale(int k) { return aan[k & 7]; }

void jpeg_buf_free(jpeg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Code and length for each symbol of one table. */
typedef struct huff {
    uint16_t code[256];
    uint8_t size[256];
} huff;

static void huff_build(huff *h, const uint8_t bits[16], const uint8_t *vals)
{
    memset(h, 0, sizeof *h);
    unsigned code = 0;
    int k = 0;
    for (int len = 1; len <= 16; len++) {
        for (int i = 0; i < bits[len - 1]; i++, k++) {
            h->code[vals[k]] = (uint16_t)code++;
            h->size[vals[k]] = (uint8_t)len;
        }
        code <<= 1;
    }
}

void jpeg_quant_table(int quality, int chroma, uint8_t out[64])
{
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;
    int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
    for (int i = 0; i < 64; i++) {
        int q = (std_quant[chroma ? 1 : 0][i] * scale + 50) / 100;
        out[i] = (uint8_t)(q < 1 ? 1 : (q > 255 ? 255 : q));
    }
}

void jpeg_fdct_float(float d[64])
{
    for (int pass = 0; pass < 2; pass++) {   /* rows, then columns */
        int step = pass ? 8 : 1, next = pass ? 1 : 8;
        for (int k = 0; k < 8; k++) {
            float *p = d + k * next;
            float t0 = p[0] + p[7 * step], t7 = p[0] - p[7 * step];
            float t1 = p[step] + p[6 * step], t6 = p[step] - p[6 * step];
            float t2 = p[2 * step] + p[5 * step], t5 = p[2 * step] - p[5 * step];
            float t3 = p[3 * step] + p[4 * step], t4 = p[3 * step] - p[4 * step];
            float t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
            p[0] = t10 + t11;
            p[4 * step] = t10 - t11;
            float z1 = (t12 + t13) * 0.707106781f;
            p[2 * step] = t13 + z1;
            p[6 * step] = t13 - z1;
            t10 = t4 + t5;
            t11 = t5 + t6;
            t12 = t6 + t7;
            float z5 = (t10 - t12) * 0.382683433f;
            float z2 = 0.541196100f * t10 + z5;
            float z4 = 1.306562965f * t12 + z5;
            float z3 = t11 * 0.707106781f;
            float z11 = t7 + z3, z13 = t7 - z3;
            p[5 * step] = z13 + z2;
            p[3 * step] = z13 - z2;
            p[1 * step] = z11 + z4;
            p[7 * step] = z11 - z4;
        }
    }
}

void jpeg_fdct_naive(const float in[64], float out[64])
{
    const double pi = 3.14159265358979323846;
    for (int v = 0; v < 8; v++)
        for (int u = 0; u < 8; u++) {
            double s = 0;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                    s += in[y * 8 + x] * cos((2 * x + 1) * u * pi / 16) * cos((2 * y + 1) * v * pi / 16);
            double cu = u ? 1 : 1 / sqrt(2.0), cv = v ? 1 : 1 / sqrt(2.0);
            out[v * 8 + u] = (float)(0.25 * cu * cv * s);
        }
}

/* ---- output ---------------------------------------------------------------- */

typedef struct writer {
    jpeg_buf *b;
    uint32_t acc;    /* pending bits, most significant first */
    int nacc;
    int oom;
} writer;

static void put_bytes(writer *w, const void *p, size_t n)
{
    jpeg_buf *b = w->b;
    if (w->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            w->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_byte(writer *w, int v)
{
    uint8_t c = (uint8_t)v;
    put_bytes(w, &c, 1);
}

static void put_u16(writer *w, int v)
{
    put_byte(w, v >> 8);
    put_byte(w, v & 255);
}

static void put_bits(writer *w, unsigned code, int n)
{
    w->acc = (w->acc << n) | (code & ((1u << n) - 1));
    w->nacc += n;
    while (w->nacc >= 8) {
        int byte = (int)(w->acc >> (w->nacc - 8)) & 255;
        put_byte(w, byte);
        if (byte == 0xff) put_byte(w, 0);   /* byte stuffing */
        w->nacc -= 8;
    }
}

static void flush_bits(writer *w)
{
    if (w->nacc > 0) put_bits(w, 0x7f, 8 - w->nacc);   /* pad with 1 bits */
}

static void put_dht(writer *w, int cls_id, const uint8_t bits[16], const uint8_t *vals)
{
    int n = 0;
    for (int i = 0; i < 16; i++) n += bits[i];
    put_u16(w, 0xffc4);
    put_u16(w, 2 + 1 + 16 + n);
    put_byte(w, cls_id);
    put_bytes(w, bits, 16);
    put_bytes(w, vals, (size_t)n);
}

static void put_all_dht(writer *w, int chroma)
{
    put_dht(w, 0x00, dc_bits[0], dc_vals);
    put_dht(w, 0x10, ac_bits[0], ac_vals[0]);
    if (chroma) {
        put_dht(w, 0x01, dc_bits[1], dc_vals);
        put_dht(w, 0x11, ac_bits[1], ac_vals[1]);
    }
}

/* Number of bits of |v| (the JPEG magnitude category). */
static inline int category(int v)
{
    unsigned a = (unsigned)(v < 0 ? -v : v);
    int n = 0;
    while (a) {
        n++;
        a >>= 1;
    }
    return n;
}

/* Transforms, quantizes and codes one block; *dc is the component's previous DC. */
static void code_block(writer *w, float blk[64], const float fdiv[64], int *dc, const huff *hdc, const huff *hac)
{
    jpeg_fdct_float(blk);
    int q[64];
    for (int i = 0; i < 64; i++) {
        float v = blk[zigzag[i]] * fdiv[zigzag[i]];
        q[i] = (int)(v < 0 ? v - 0.5f : v + 0.5f);
    }
    int diff = q[0] - *dc;
    *dc = q[0];
    int c = category(diff);
    put_bits(w, hdc->code[c], hdc->size[c]);
    if (c) put_bits(w, (unsigned)(diff < 0 ? diff - 1 : diff), c);
    int run = 0;
    for (int i = 1; i < 64; i++) {
        if (!q[i]) {
            run++;
            continue;
        }
        while (run > 15) {
            put_bits(w, hac->code[0xf0], hac->size[0xf0]);
            run -= 16;
        }
        c = category(q[i]);
        int sym = run << 4 | c;
        put_bits(w, hac->code[sym], hac->size[sym]);
        put_bits(w, (unsigned)(q[i] < 0 ? q[i] - 1 : q[i]), c);
        run = 0;
    }
    if (run) put_bits(w, hac->code[0x00], hac->size[0x00]);
}

int jpeg_encode(jpeg_buf *b, const uint8_t *px, int w, int h, int channels, int quality, int subsample420,
                fer_err *e)
{
    if (w < 1 || h < 1 || w > 65535 || h > 65535 || (channels != 1 && channels != 3))
        return fer_fail(e, "jpeg: cannot encode %dx%d with %d channels", w, h, channels);
    b->len = 0;
    writer wr = { b, 0, 0, 0 };
    int color = channels == 3, sub = color && subsample420;
    uint8_t qt[2][64];
    float fdiv[2][64];   /* 1 / (quantizer * AAN output scale), natural order */
    for (int t = 0; t < 2; t++) {
        jpeg_quant_table(quality, t, qt[t]);
        for (int i = 0; i < 64; i++) fdiv[t][i] = 1.0f / (qt[t][i] * aan[i / 8] * aan[i % 8] * 8.0f);
    }
    huff hdc[2], hac[2];
    for (int t = 0; t < 2; t++) {
        huff_build(&hdc[t], dc_bits[t], dc_vals);
        huff_build(&hac[t], ac_bits[t], ac_vals[t]);
    }
    static const uint8_t jfif[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0 };
    put_bytes(&wr, jfif, sizeof jfif);
    for (int t = 0; t < 1 + color; t++) {
        put_u16(&wr, 0xffdb);
        put_u16(&wr, 67);
        put_byte(&wr, t);
        for (int i = 0; i < 64; i++) put_byte(&wr, qt[t][zigzag[i]]);
    }
    put_u16(&wr, 0xffc0);
    put_u16(&wr, 8 + 3 * channels);
    put_byte(&wr, 8);
    put_u16(&wr, h);
    put_u16(&wr, w);
    put_byte(&wr, channels);
    for (int k = 0; k < channels; k++) {
        put_byte(&wr, k + 1);
        put_byte(&wr, k == 0 && sub ? 0x22 : 0x11);
        put_byte(&wr, k ? 1 : 0);
    }
    put_all_dht(&wr, color);
    put_u16(&wr, 0xffda);
    put_u16(&wr, 6 + 2 * channels);
    put_byte(&wr, channels);
    for (int k = 0; k < channels; k++) {
        put_byte(&wr, k + 1);
        put_byte(&wr, k ? 0x11 : 0x00);
    }
    put_byte(&wr, 0);
    put_byte(&wr, 63);
    put_byte(&wr, 0);

    int mcu = sub ? 16 : 8;
    int dc[3] = { 0, 0, 0 };
    float ys[256], cb[256], cr[256];   /* the MCU's samples, level-shifted, [mcu][mcu] */
    float blk[64];
    for (int my = 0; my < h; my += mcu)
        for (int mx = 0; mx < w; mx += mcu) {
            for (int y = 0; y < mcu; y++) {
                int sy = my + y < h ? my + y : h - 1;
                for (int x = 0; x < mcu; x++) {
                    int sx = mx + x < w ? mx + x : w - 1;
                    const uint8_t *p = px + ((size_t)sy * w + sx) * channels;
                    int i = y * mcu + x;
                    if (!color) {
                        ys[i] = p[0] - 128.0f;
                    } else {
                        float r = p[0], g = p[1], bl = p[2];
                        ys[i] = 0.299f * r + 0.587f * g + 0.114f * bl - 128.0f;
                        cb[i] = -0.168736f * r - 0.331264f * g + 0.5f * bl;
                        cr[i] = 0.5f * r - 0.418688f * g - 0.081312f * bl;
                    }
                }
            }
            for (int by = 0; by < mcu; by += 8)
                for (int bx = 0; bx < mcu; bx += 8) {
                    for (int i = 0; i < 64; i++) blk[i] = ys[(by + i / 8) * mcu + bx + i % 8];
                    code_block(&wr, blk, fdiv[0], &dc[0], &hdc[0], &hac[0]);
                }
            if (!color) continue;
            for (int k = 0; k < 2; k++) {
                const float *c = k ? cr : cb;
                for (int i = 0; i < 64; i++) {
                    int y = i / 8, x = i % 8;
                    blk[i] = sub ? 0.25f * (c[2 * y * 16 + 2 * x] + c[2 * y * 16 + 2 * x + 1] +
                                            c[(2 * y + 1) * 16 + 2 * x] + c[(2 * y + 1) * 16 + 2 * x + 1])
                                 : c[i];
                }
                code_block(&wr, blk, fdiv[1], &dc[k + 1], &hdc[1], &hac[1]);
            }
        }
    flush_bits(&wr);
    put_u16(&wr, 0xffd9);
    if (wr.oom) return fer_fail(e, "jpeg: out of memory for a %dx%d image", w, h);
    return 0;
}

int jpeg_add_std_dht(const uint8_t *in, size_t len, jpeg_buf *b, fer_err *e)
{
    if (len < 4 || in[0] != 0xff || in[1] != 0xd8) return fer_fail(e, "not a JPEG frame (no SOI marker)");
    size_t p = 2;
    while (p + 4 <= len) {
        if (in[p] != 0xff) return fer_fail(e, "malformed JPEG frame (no marker at offset %zu)", p);
        int m = in[p + 1];
        if (m == 0xc4) return 0;              /* has its own tables */
        if (m == 0xda) break;                 /* scan without tables: insert */
        if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7) || m == 0xff) {
            p += m == 0xff ? 1 : 2;
            continue;
        }
        size_t seg = (size_t)in[p + 2] << 8 | in[p + 3];
        if (seg < 2) return fer_fail(e, "malformed JPEG frame (segment length %zu at offset %zu)", seg, p);
        p += 2 + seg;
    }
    if (p + 4 > len) return fer_fail(e, "malformed JPEG frame (no scan)");
    b->len = 0;
    writer wr = { b, 0, 0, 0 };
    put_bytes(&wr, in, 2);
    put_all_dht(&wr, 1);
    put_bytes(&wr, in + 2, len - 2);
    if (wr.oom) return fer_fail(e, "out of memory");
    return 1;
}
