/* test_png.c - fer's PNG encoder (src/codecs/png.c) and canvas (src/codecs/draw.c).
 *
 * Encodes known images (gradients, noise, constant, 1x1, odd widths, a
 * rendered canvas, one larger than the 32 KiB deflate window; gray,
 * gray+alpha, RGB, RGBA) and checks:
 *   - the chunk structure (signature, IHDR fields, IDAT..., IEND) and every
 *     chunk's CRC against a bitwise CRC-32 written here, independently of
 *     png.c's table-driven one;
 *   - the zlib header and the Adler-32 of the inflated stream;
 *   - the pixels, decoded by an independent decoder: stb_image (when built
 *     with FER_STB) and this file's own small inflate (RFC 1951: stored,
 *     fixed and dynamic blocks) + unfilter, so the test decodes even
 *     without stb. Every pixel must match exactly;
 *   - compression really happens: a smooth gradient, a constant image and a
 *     rendered chart are far smaller than raw (stored blocks alone would be
 *     larger than raw), and noise does not blow up;
 *   - canvas primitives: clipping, text width, the jet colormap's ends.
 * tests/e2e/e2e_png_pil.sh decodes the same kind of files with Python's PIL. */
#include "check.h"
#include "codecs/draw.h"

#include <stdlib.h>
#include <string.h>

#ifdef FER_STB
#include <stb_image.h>
#endif

/* ---- an independent CRC-32 and inflate ----------------------------------- */

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

typedef struct inflater {
    const uint8_t *in;
    size_t n, pos;
    uint32_t bitbuf;
    int bitcnt;
    uint8_t *out;
    size_t outlen, outcap;
    int err;
    int blocks[3];   /* stored, fixed, dynamic blocks seen */
} inflater;

static int getbit(inflater *s)
{
    if (!s->bitcnt) {
        if (s->pos >= s->n) { s->err = 1; return 0; }
        s->bitbuf = s->in[s->pos++];
        s->bitcnt = 8;
    }
    int b = s->bitbuf & 1;
    s->bitbuf >>= 1;
    s->bitcnt--;
    return b;
}

static int getbits(inflater *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) v |= getbit(s) << i;
    return v;
}

typedef struct huff { short count[16], symbol[288]; } huff;

/* puff.c's canonical-code construction; returns 0 when the code is valid
 * (complete, or a single code) */
static int huff_build(huff *h, const short *len, int n)
{
    for (int i = 0; i < 16; i++) h->count[i] = 0;
    for (int i = 0; i < n; i++) h->count[len[i]]++;
    if (h->count[0] == n) return 0;
    int left = 1;
    for (int i = 1; i < 16; i++) {
        left <<= 1;
        left -= h->count[i];
        if (left < 0) return -1;
    }
    short offs[16];
    offs[1] = 0;
    for (int i = 1; i < 15; i++) offs[i + 1] = (short)(offs[i] + h->count[i]);
    for (int i = 0; i < n; i++)
        if (len[i]) h->symbol[offs[len[i]]++] = (short)i;
    return left;
}

static int decode(inflater *s, const huff *h)
{
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; len++) {
        code |= getbit(s);
        int count = h->count[len];
        if (code - count < first) return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    s->err = 1;
    return 0;
}

static void out_byte(inflater *s, uint8_t b)
{
    if (s->outlen == s->outcap) {
        s->outcap = s->outcap ? s->outcap * 2 : 4096;
        s->out = realloc(s->out, s->outcap);
    }
    s->out[s->outlen++] = b;
}

static const short lbase[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const short lext[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const short dbase[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const short dext[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static void codes(inflater *s, const huff *lit, const huff *dist)
{
    for (;;) {
        int sym = decode(s, lit);
        if (s->err) return;
        if (sym < 256) { out_byte(s, (uint8_t)sym); continue; }
        if (sym == 256) return;
        sym -= 257;
        if (sym >= 29) { s->err = 1; return; }
        int len = lbase[sym] + getbits(s, lext[sym]);
        int ds = decode(s, dist);
        if (ds >= 30) { s->err = 1; return; }
        size_t d = (size_t)(dbase[ds] + getbits(s, dext[ds]));
        if (d > s->outlen) { s->err = 1; return; }
        for (int i = 0; i < len; i++) out_byte(s, s->out[s->outlen - d]);
    }
}

static int inflate_all(inflater *s)
{
    int last;
    do {
        last = getbit(s);
        int type = getbits(s, 2);
        if (type == 0) {
            s->bitcnt = 0;
            if (s->pos + 4 > s->n) return -1;
            unsigned len = s->in[s->pos] | s->in[s->pos + 1] << 8;
            unsigned nlen = s->in[s->pos + 2] | s->in[s->pos + 3] << 8;
            s->pos += 4;
            if (len != (~nlen & 0xffff) || s->pos + len > s->n) return -1;
            for (unsigned i = 0; i < len; i++) out_byte(s, s->in[s->pos++]);
            s->blocks[0]++;
        } else if (type == 1) {
            short l[288], d[30];
            for (int i = 0; i < 288; i++) l[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
            for (int i = 0; i < 30; i++) d[i] = 5;
            huff lit, dist;
            huff_build(&lit, l, 288);
            huff_build(&dist, d, 30);
            codes(s, &lit, &dist);
            s->blocks[1]++;
        } else if (type == 2) {
            static const short order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
            int nlen = getbits(s, 5) + 257, ndist = getbits(s, 5) + 1, ncode = getbits(s, 4) + 4;
            if (nlen > 286 || ndist > 30) return -1;
            short lengths[320] = { 0 };
            for (int i = 0; i < ncode; i++) lengths[order[i]] = (short)getbits(s, 3);
            huff lencode, lit, dist;
            if (huff_build(&lencode, lengths, 19) != 0) return -1;   /* must be complete */
            int i = 0;
            while (i < nlen + ndist) {
                int sym = decode(s, &lencode);
                if (s->err) return -1;
                if (sym < 16) { lengths[i++] = (short)sym; continue; }
                int len = 0, rep;
                if (sym == 16) {
                    if (!i) return -1;
                    len = lengths[i - 1];
                    rep = 3 + getbits(s, 2);
                } else if (sym == 17) rep = 3 + getbits(s, 3);
                else rep = 11 + getbits(s, 7);
                if (i + rep > nlen + ndist) return -1;
                while (rep--) lengths[i++] = (short)len;
            }
            if (huff_build(&lit, lengths, nlen) < 0 || huff_build(&dist, lengths + nlen, ndist) < 0) return -1;
            codes(s, &lit, &dist);
            s->blocks[2]++;
        } else {
            return -1;
        }
        if (s->err) return -1;
    } while (!last);
    return 0;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Parses and decodes a PNG written by png_encode: checks every chunk's CRC,
 * the zlib header and Adler-32; returns the pixels (or NULL) and counts the
 * deflate block types in blocks[3]. */
static uint8_t *decode_png(const uint8_t *png, size_t len, int *w, int *h, int *ch, int blocks[3], const char *what)
{
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    CHECK(len > 8 && !memcmp(png, sig, 8), "%s: PNG signature", what);
    size_t pos = 8;
    uint8_t *z = NULL;
    size_t zlen = 0;
    int seen_ihdr = 0, seen_iend = 0, bad_crc = 0, nchunks = 0;
    int ctype = -1;
    while (pos + 12 <= len) {
        uint32_t n = be32(png + pos);
        if (pos + 12 + n > len) break;
        const uint8_t *type = png + pos + 4, *data = png + pos + 8;
        uint32_t crc = be32(png + pos + 8 + n);
        if (crc != crc32_bitwise(type, n + 4)) bad_crc++;
        if (!memcmp(type, "IHDR", 4) && n == 13) {
            seen_ihdr = nchunks == 0;
            *w = (int)be32(data);
            *h = (int)be32(data + 4);
            CHECK(data[8] == 8 && data[10] == 0 && data[11] == 0 && data[12] == 0, "%s: 8-bit, deflate, no interlace", what);
            ctype = data[9];
        } else if (!memcmp(type, "IDAT", 4)) {
            z = realloc(z, zlen + n + 1);
            memcpy(z + zlen, data, n);
            zlen += n;
        } else if (!memcmp(type, "IEND", 4)) {
            seen_iend = n == 0;
        }
        nchunks++;
        pos += 12 + n;
    }
    CHECK(pos == len, "%s: chunks end exactly at the end of the file (%zu of %zu)", what, pos, len);
    CHECK(seen_ihdr && seen_iend, "%s: IHDR first and an empty IEND", what);
    CHECK(bad_crc == 0, "%s: %d chunk CRCs wrong", what, bad_crc);
    *ch = ctype == 0 ? 1 : ctype == 4 ? 2 : ctype == 2 ? 3 : ctype == 6 ? 4 : 0;
    CHECK(*ch > 0, "%s: color type %d", what, ctype);
    if (!z || zlen < 6 || !*ch) { free(z); return NULL; }
    CHECK((z[0] & 0x0f) == 8 && ((z[0] << 8) | z[1]) % 31 == 0 && !(z[1] & 0x20), "%s: zlib header %02x %02x", what, z[0], z[1]);
    inflater s;
    memset(&s, 0, sizeof s);
    s.in = z + 2;
    s.n = zlen - 6;
    int rc = inflate_all(&s);
    CHECK(rc == 0, "%s: inflate failed", what);
    size_t stride = (size_t)*w * *ch;
    CHECK(s.outlen == (stride + 1) * (size_t)*h, "%s: inflated %zu bytes, expected %zu", what, s.outlen, (stride + 1) * (size_t)*h);
    CHECK(s.pos == s.n, "%s: deflate stream ends %zu bytes before the Adler-32", what, s.n - s.pos);
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < s.outlen; i++) { a = (a + s.out[i]) % 65521; b = (b + a) % 65521; }
    CHECK(be32(z + zlen - 4) == (b << 16 | a), "%s: Adler-32", what);
    memcpy(blocks, s.blocks, sizeof s.blocks);
    free(z);
    if (rc || s.outlen != (stride + 1) * (size_t)*h) { free(s.out); return NULL; }
    uint8_t *px = malloc(stride * (size_t)*h);
    int bpp = *ch;
    for (int y = 0; y < *h; y++) {
        const uint8_t *f = s.out + (stride + 1) * y;
        uint8_t *cur = px + stride * y, *up = y ? px + stride * (y - 1) : NULL;
        CHECK(f[0] <= 4, "%s: filter type %d", what, f[0]);
        for (size_t i = 0; i < stride; i++) {
            int l = i >= (size_t)bpp ? cur[i - bpp] : 0, u = up ? up[i] : 0, ul = up && i >= (size_t)bpp ? up[i - bpp] : 0;
            int p = f[0] == 0 ? 0 : f[0] == 1 ? l : f[0] == 2 ? u : f[0] == 3 ? (l + u) / 2 : paeth(l, u, ul);
            cur[i] = (uint8_t)(f[1 + i] + p);
        }
    }
    free(s.out);
    return px;
}

/* ---- the images ------------------------------------------------------------ */

static uint64_t rng_state = 0x1234567;
static uint8_t noise(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint8_t)(rng_state >> 56);
}

enum { GRADIENT, NOISE, CONSTANT, MIXED };

static uint8_t *make_image(int kind, int w, int h, int ch)
{
    uint8_t *p = malloc((size_t)w * h * ch);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++) {
                uint8_t v;
                switch (kind) {
                case GRADIENT: v = (uint8_t)((x * 255 / (w > 1 ? w - 1 : 1) + k * 40 + y) & 255); break;
                case NOISE: v = noise(); break;
                case CONSTANT: v = (uint8_t)(77 + k); break;
                default: v = (x / 7 + y / 5) % 2 ? (uint8_t)(x ^ y) : noise(); break;
                }
                p[((size_t)y * w + x) * ch + k] = v;
            }
    return p;
}

/* Encodes, decodes two ways, compares; returns the encoded size. */
static size_t roundtrip(const uint8_t *px, int w, int h, int ch, const char *what, int blocks[3])
{
    uint8_t *png = NULL;
    size_t len = 0;
    fer_err e;
    int rc = png_encode(px, w, h, ch, &png, &len, &e);
    CHECK(rc == 0, "%s: png_encode: %s", what, rc ? e.msg : "");
    if (rc) return 0;
    int dw = 0, dh = 0, dc = 0;
    uint8_t *dec = decode_png(png, len, &dw, &dh, &dc, blocks, what);
    CHECK(dw == w && dh == h && dc == ch, "%s: decoded %dx%dx%d", what, dw, dh, dc);
    if (dec && dw == w && dh == h && dc == ch) {
        size_t n = (size_t)w * h * ch, bad = 0;
        for (size_t i = 0; i < n; i++) bad += dec[i] != px[i];
        CHECK(bad == 0, "%s: %zu of %zu bytes differ after our inflate", what, bad, n);
    }
    free(dec);
#ifdef FER_STB
    int sw, sh, sc;
    uint8_t *st = stbi_load_from_memory(png, (int)len, &sw, &sh, &sc, ch);
    CHECK(st != NULL, "%s: stb_image cannot decode: %s", what, stbi_failure_reason());
    if (st) {
        CHECK(sw == w && sh == h && sc == ch, "%s: stb sees %dx%dx%d", what, sw, sh, sc);
        size_t n = (size_t)w * h * ch, bad = 0;
        for (size_t i = 0; i < n; i++) bad += st[i] != px[i];
        CHECK(bad == 0, "%s: %zu of %zu bytes differ after stb_image", what, bad, n);
        stbi_image_free(st);
    }
#endif
    free(png);
    return len;
}

static void test_images(void)
{
    const int sizes[][2] = { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 3, 5 }, { 17, 13 }, { 48, 48 }, { 101, 37 }, { 255, 2 } };
    const char *kinds[] = { "gradient", "noise", "constant", "mixed" };
    for (int ch = 1; ch <= 4; ch++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int k = 0; k < 4; k++) {
                int w = sizes[s][0], h = sizes[s][1], blocks[3] = { 0 };
                char what[128];
                snprintf(what, sizeof what, "%s %dx%d, %d channels", kinds[k], w, h, ch);
                uint8_t *px = make_image(k, w, h, ch);
                roundtrip(px, w, h, ch, what, blocks);
                free(px);
            }
}

static void test_compression(void)
{
    /* larger than the 32 KiB window and than one block of symbols */
    int w = 640, h = 480, blocks[3];
    size_t raw = (size_t)w * h * 3;
    uint8_t *grad = make_image(GRADIENT, w, h, 3);
    size_t n = roundtrip(grad, w, h, 3, "gradient 640x480 RGB", blocks);
    printf("gradient 640x480 RGB: %zu bytes PNG vs %zu raw (%.2f%%); blocks stored/fixed/dynamic %d/%d/%d\n", n, raw,
           100.0 * n / raw, blocks[0], blocks[1], blocks[2]);
    CHECK(n > 0 && n < raw / 20, "a smooth gradient compresses 20x or better: %zu of %zu", n, raw);
    CHECK(blocks[1] + blocks[2] > 0, "compressed blocks used");
    free(grad);

    uint8_t *flat = make_image(CONSTANT, w, h, 3);
    n = roundtrip(flat, w, h, 3, "constant 640x480 RGB", blocks);
    printf("constant 640x480 RGB: %zu bytes PNG vs %zu raw\n", n, raw);
    CHECK(n > 0 && n < raw / 300, "a constant image compresses 300x or better: %zu", n);
    free(flat);

    uint8_t *nz = make_image(NOISE, 300, 200, 1);
    n = roundtrip(nz, 300, 200, 1, "noise 300x200 gray", blocks);
    printf("noise 300x200 gray: %zu bytes PNG vs %d raw; blocks stored/fixed/dynamic %d/%d/%d\n", n, 300 * 200,
           blocks[0], blocks[1], blocks[2]);
    CHECK(n > 0 && n < 300 * 200 + 300 * 200 / 50 + 200, "noise does not grow by more than 2%%: %zu", n);
    free(nz);

    uint8_t *mixed = make_image(MIXED, 333, 211, 3);
    n = roundtrip(mixed, 333, 211, 3, "mixed 333x211 RGB", blocks);
    printf("mixed 333x211 RGB: %zu bytes PNG vs %d raw; blocks stored/fixed/dynamic %d/%d/%d\n", n, 333 * 211 * 3,
           blocks[0], blocks[1], blocks[2]);
    free(mixed);

    /* a rendered picture: text, lines, a heat map */
    canvas c;
    fer_err e;
    CHECK(canvas_new(&c, 500, 300, &e) == 0, "canvas_new");
    canvas_fill(&c, RGB(250, 250, 250));
    for (int i = 0; i < 12; i++) canvas_text(&c, 10, 10 + i * 20, "The quick brown fox 0123456789 (jumps)!", RGB(20, 20, 20), 2);
    float map[16];
    for (int i = 0; i < 16; i++) map[i] = i / 15.0f;
    canvas_heat(&c, map, 4, 4, 300, 100, 150, 150, 0.6f);
    canvas_thick_line(&c, 0, 299, 499, 0, RGB(200, 30, 30), 3);
    n = roundtrip(c.rgb, c.w, c.h, 3, "canvas 500x300", blocks);
    printf("canvas 500x300 (text, heat map, line): %zu bytes PNG vs %d raw (%.2f%%)\n", n, 500 * 300 * 3,
           100.0 * n / (500 * 300 * 3));
    CHECK(n > 0 && n < 500 * 300 * 3 / 10, "a rendered chart compresses 10x or better: %zu", n);
    canvas_free(&c);
}

static void test_errors(void)
{
    uint8_t px[4] = { 0 }, *out = (uint8_t *)1;
    size_t len = 1;
    fer_err e;
    CHECK(png_encode(px, 0, 1, 1, &out, &len, &e) != 0 && out == NULL, "0 width is an error");
    CHECK(png_encode(px, 1, 1, 5, &out, &len, &e) != 0, "5 channels is an error");
    CHECK(strstr(e.msg, "channels") != NULL, "message names the channels: %s", e.msg);
    CHECK(png_write("/nonexistent-dir/x.png", px, 1, 1, 1, &e) != 0, "unwritable path is an error");
}

static void test_canvas(void)
{
    canvas c;
    fer_err e;
    CHECK(canvas_new(&c, 0, 5, &e) != 0, "empty canvas refused");
    CHECK(canvas_new(&c, 20, 10, &e) == 0, "canvas 20x10");
    canvas_fill(&c, RGB(0, 0, 0));
    /* clipping: nothing outside, the visible part drawn */
    canvas_fill_rect(&c, -5, -5, 10, 10, RGB(255, 0, 0));
    CHECK(c.rgb[0] == 255 && c.rgb[1] == 0, "clipped rect covers (0,0)");
    CHECK(c.rgb[(4 * 20 + 4) * 3] == 255 && c.rgb[(5 * 20 + 5) * 3] == 0, "clipped rect ends at (4,4)");
    canvas_line(&c, -100, 9, 100, 9, RGB(0, 255, 0));
    int green = 0;
    for (int x = 0; x < 20; x++) green += c.rgb[(9 * 20 + x) * 3 + 1] == 255;
    CHECK(green == 20, "a line through the canvas sets every pixel of row 9 (%d)", green);
    canvas_text(&c, 100, 100, "far away", RGB(255, 255, 255), 3);   /* must not crash or write */
    CHECK(text_width("", 2) == 0 && text_width("ab", 1) == 11 && text_width("abc", 2) == 34, "text widths");
    CHECK(text_height(2) == 20, "text height");
    int before = 0, after = 0;
    for (int i = 0; i < 20 * 10 * 3; i++) before += c.rgb[i] == 255;
    int wdrawn = canvas_text(&c, 0, 0, "H", RGB(255, 255, 255), 1);
    for (int i = 0; i < 20 * 10 * 3; i++) after += c.rgb[i] == 255;
    CHECK(wdrawn == 5, "width of H drawn: %d", wdrawn);
    CHECK(after > before, "text changes pixels");
    uint8_t rgb[3];
    colormap_jet(0, rgb);
    CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 128, "jet(0) is dark blue: %d %d %d", rgb[0], rgb[1], rgb[2]);
    colormap_jet(1, rgb);
    CHECK(rgb[0] == 128 && rgb[1] == 0 && rgb[2] == 0, "jet(1) is dark red: %d %d %d", rgb[0], rgb[1], rgb[2]);
    colormap_jet(0.5f, rgb);
    CHECK(rgb[1] == 255 && rgb[0] == 128 && rgb[2] == 128, "jet(0.5) is green: %d %d %d", rgb[0], rgb[1], rgb[2]);
    /* blit of a 2x1 gray image stretched over 4 pixels: ends keep their values */
    float pix[2] = { 0, 1 };
    fer_image im = { 2, 1, 1, pix };
    canvas_blit(&c, &im, 0, 5, 4, 1);
    CHECK(c.rgb[(5 * 20 + 0) * 3] == 0 && c.rgb[(5 * 20 + 3) * 3] == 255, "blit ends");
    CHECK(c.rgb[(5 * 20 + 1) * 3] == 64 && c.rgb[(5 * 20 + 2) * 3] == 191, "blit interpolates bilinearly: %d %d",
          c.rgb[(5 * 20 + 1) * 3], c.rgb[(5 * 20 + 2) * 3]);
    canvas_free(&c);
}

int main(void)
{
    test_images();
    test_compression();
    test_errors();
    test_canvas();
    return check_summary("test_png");
}
