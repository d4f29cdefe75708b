/* test_jpeg.c - fer's baseline JPEG encoder: the fast AAN DCT equals the
 * textbook DCT on random blocks (odd values, both signs); quality 50 gives
 * the Annex K tables; the stream has the right markers; and (with stb) an
 * independent decoder reads every variant (gray, 4:4:4, 4:2:0, sizes that
 * are not multiples of 8 or 16) back to the same picture: PSNR > 35 dB at
 * quality 90 on a real photo, and monotone in quality. Motion-JPEG frames
 * without Huffman tables decode once jpeg_add_std_dht puts them back.
 * tests/e2e/e2e_jpeg_pil.sh checks the same with Python's PIL. */
#include "check.h"
#include "codecs/jpeg.h"

#include <stdlib.h>
#include <string.h>

#ifdef FER_STB
#include <stb_image.h>
#endif

#define PHOTO "../shared/data/faces/obama.jpg"

static void test_dct(void)
{
    uint32_t s = 7;
    double worst = 0;
    for (int t = 0; t < 50; t++) {
        float in[64], fast[64], ref[64];
        for (int i = 0; i < 64; i++) {
            s = s * 1664525u + 1013904223u;
            in[i] = (float)((int)(s >> 24) - 128) + (t % 2 ? 0.5f : 0);
            fast[i] = in[i];
        }
        jpeg_fdct_float(fast);
        jpeg_fdct_naive(in, ref);
        for (int v = 0; v < 8; v++)
            for (int u = 0; u < 8; u++) {
                double scaled = fast[v * 8 + u] / (8.0 * jpeg_aan_scale(u) * jpeg_aan_scale(v));
                double d = fabs(scaled - ref[v * 8 + u]);
                if (d > worst) worst = d;
            }
    }
    CHECK(worst < 1e-3, "AAN DCT differs from the definition by %g", worst);
    /* a constant block has only a DC term: 8 * mean */
    float flat[64], out[64];
    for (int i = 0; i < 64; i++) flat[i] = 10;
    jpeg_fdct_naive(flat, out);
    CHECK_CLOSE(out[0], 80.0, 1e-3, 0, "DC of a flat block");
    CHECK_CLOSE(out[9], 0.0, 1e-3, 0, "AC of a flat block");
}

static void test_tables(void)
{
    uint8_t q[64];
    jpeg_quant_table(50, 0, q);
    CHECK(q[0] == 16 && q[1] == 11 && q[63] == 99, "quality 50 luma: %d %d %d", q[0], q[1], q[63]);
    jpeg_quant_table(50, 1, q);
    CHECK(q[0] == 17 && q[63] == 99, "quality 50 chroma: %d %d", q[0], q[63]);
    jpeg_quant_table(100, 0, q);
    int ones = 1;
    for (int i = 0; i < 64; i++) ones &= q[i] == 1;
    CHECK(ones, "quality 100 is all ones");
    jpeg_quant_table(1, 0, q);
    CHECK(q[0] == 255, "quality 1 clamps to 255: %d", q[0]);
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) se += (double)(a[i] - b[i]) * (a[i] - b[i]);
    if (se == 0) return 99;
    return 10 * log10(255.0 * 255.0 / (se / n));
}

/* A smooth synthetic picture with an edge, [h][w][c]. */
static uint8_t *synthetic(int w, int h, int c)
{
    uint8_t *p = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                double v = 128 + 60 * sin(x * 0.07 + k) * cos(y * 0.05) + (x > w / 2 ? 30 : -30);
                p[((size_t)y * w + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return p;
}

static void test_stream(void)
{
    fer_err e;
    jpeg_buf b = { 0 };
    uint8_t *px = synthetic(33, 17, 3);
    CHECK(jpeg_encode(&b, px, 33, 17, 3, 75, 1, &e) == 0, "%s", e.msg);
    CHECK(b.len > 600 && b.data[0] == 0xff && b.data[1] == 0xd8 && b.data[b.len - 2] == 0xff &&
              b.data[b.len - 1] == 0xd9,
          "SOI ... EOI, %zu bytes", b.len);
    int sof = 0, dht = 0, dqt = 0;
    for (size_t i = 0; i + 1 < b.len; i++) {
        if (b.data[i] != 0xff) continue;
        sof += b.data[i + 1] == 0xc0;
        dht += b.data[i + 1] == 0xc4;
        dqt += b.data[i + 1] == 0xdb;
    }
    CHECK(sof == 1 && dht == 4 && dqt == 2, "markers: SOF0 %d, DHT %d, DQT %d", sof, dht, dqt);
    CHECK(jpeg_encode(&b, px, 0, 17, 3, 75, 1, &e) == -1 && strstr(e.msg, "cannot encode"), "0 width rejected");
    CHECK(jpeg_encode(&b, px, 4, 4, 2, 75, 1, &e) == -1, "2 channels rejected");
    uint8_t not_jpeg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    CHECK(jpeg_add_std_dht(not_jpeg, 8, &b, &e) == -1 && strstr(e.msg, "SOI"), "non-JPEG rejected: %s", e.msg);
    free(px);
    jpeg_buf_free(&b);
}

#ifdef FER_STB
/* Encodes px and decodes it with stb; returns the PSNR (or -1). */
static double encode_decode(const uint8_t *px, int w, int h, int c, int q, int sub, size_t *bytes)
{
    fer_err e;
    jpeg_buf b = { 0 };
    if (jpeg_encode(&b, px, w, h, c, q, sub, &e)) {
        CHECK(0, "%s", e.msg);
        return -1;
    }
    int dw, dh, dc;
    uint8_t *dec = stbi_load_from_memory(b.data, (int)b.len, &dw, &dh, &dc, c);
    double r = -1;
    if (!dec) CHECK(0, "stb cannot decode %dx%dx%d q%d sub%d: %s", w, h, c, q, sub, stbi_failure_reason());
    else if (dw != w || dh != h || dc != c) CHECK(0, "decoded %dx%dx%d, want %dx%dx%d", dw, dh, dc, w, h, c);
    else r = psnr(px, dec, (size_t)w * h * c);
    if (bytes) *bytes = b.len;
    stbi_image_free(dec);
    jpeg_buf_free(&b);
    return r;
}

static void test_decode(void)
{
    static const int sizes[][2] = { { 1, 1 }, { 8, 8 }, { 16, 16 }, { 17, 9 }, { 33, 17 }, { 100, 75 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        uint8_t *rgb = synthetic(w, h, 3), *gray = synthetic(w, h, 1);
        double p420 = encode_decode(rgb, w, h, 3, 90, 1, NULL), p444 = encode_decode(rgb, w, h, 3, 90, 0, NULL);
        double pg = encode_decode(gray, w, h, 1, 90, 0, NULL);
        CHECK(p420 > 30 && p444 > 30 && pg > 30, "%dx%d: PSNR 4:2:0 %.1f, 4:4:4 %.1f, gray %.1f", w, h, p420, p444,
              pg);
        free(rgb);
        free(gray);
    }
    /* a real photo at quality 90 */
    int w, h, c;
    uint8_t *photo = stbi_load(PHOTO, &w, &h, &c, 3);
    if (!photo) {
        printf("note: %s not readable; the photo checks use a synthetic picture\n", PHOTO);
        w = 320;
        h = 240;
        photo = synthetic(w, h, 3);
    }
    size_t b420, b444, b50;
    double p420 = encode_decode(photo, w, h, 3, 90, 1, &b420), p444 = encode_decode(photo, w, h, 3, 90, 0, &b444);
    double p50 = encode_decode(photo, w, h, 3, 50, 1, &b50), p20 = encode_decode(photo, w, h, 3, 20, 1, NULL);
    printf("photo %dx%d: q90 4:2:0 %.2f dB (%zu bytes), q90 4:4:4 %.2f dB (%zu bytes), q50 %.2f dB (%zu bytes)\n", w, h,
           p420, b420, p444, b444, p50, b50);
    CHECK(p420 > 35 && p444 > 35, "photo at quality 90: PSNR %.2f / %.2f dB", p420, p444);
    CHECK(p444 >= p420 && p420 > p50 && p50 > p20, "PSNR not monotone: %.2f %.2f %.2f %.2f", p444, p420, p50, p20);
    CHECK(b420 < b444 && b50 < b420, "sizes: %zu %zu %zu", b50, b420, b444);
    stbi_image_free(photo);

    /* Motion-JPEG without tables: strip our DHT segments, put the standard ones back */
    fer_err e;
    jpeg_buf b = { 0 }, fixed = { 0 };
    uint8_t *px = synthetic(48, 32, 3);
    CHECK(jpeg_encode(&b, px, 48, 32, 3, 80, 1, &e) == 0, "%s", e.msg);
    CHECK(jpeg_add_std_dht(b.data, b.len, &fixed, &e) == 0, "a JPEG with tables is left alone");
    uint8_t *stripped = malloc(b.len);
    size_t n = 0, p = 0;
    while (p < b.len) {
        if (p + 3 < b.len && b.data[p] == 0xff && b.data[p + 1] == 0xc4) {
            p += 2 + ((size_t)b.data[p + 2] << 8 | b.data[p + 3]);
            continue;
        }
        if (p + 1 < b.len && b.data[p] == 0xff && b.data[p + 1] == 0xda) {   /* copy the scan as is */
            memcpy(stripped + n, b.data + p, b.len - p);
            n += b.len - p;
            break;
        }
        stripped[n++] = b.data[p++];
    }
    int dw, dh, dc;
    uint8_t *bad = stbi_load_from_memory(stripped, (int)n, &dw, &dh, &dc, 3);
    CHECK(bad == NULL, "a stream without Huffman tables should not decode");
    stbi_image_free(bad);
    CHECK(jpeg_add_std_dht(stripped, n, &fixed, &e) == 1, "tables added: %s", e.msg);
    uint8_t *good = stbi_load_from_memory(fixed.data, (int)fixed.len, &dw, &dh, &dc, 3);
    uint8_t *orig = stbi_load_from_memory(b.data, (int)b.len, &dw, &dh, &dc, 3);
    CHECK(good && orig && !memcmp(good, orig, 48 * 32 * 3), "restored tables decode to the same pixels");
    stbi_image_free(good);
    stbi_image_free(orig);
    free(stripped);
    free(px);
    jpeg_buf_free(&b);
    jpeg_buf_free(&fixed);
}
#endif

int main(void)
{
    test_dct();
    test_tables();
    test_stream();
#ifdef FER_STB
    test_decode();
#else
    printf("note: built without stb: the decoding checks run in tests/e2e/e2e_jpeg_pil.sh only\n");
#endif
    return check_summary("test_jpeg");
}
