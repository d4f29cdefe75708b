/* tool_png.c - writes test images with fer's PNG encoder beside their raw
 * pixels, for an independent decoder (tests/e2e/e2e_png_pil.sh: Python's PIL)
 * to compare: gradients, noise, constant and mixed images, 1x1 up to
 * 640x480 (larger than deflate's 32 KiB window), odd widths, 1 to 4
 * channels, and a rendered canvas (text, lines, heat map).
 *
 * usage: tool_png OUTDIR
 * writes OUTDIR/<kind>_<w>x<h>_<channels>.png and .raw ([h][w][channels]
 * bytes), and prints one line per image: name, PNG bytes, raw bytes. */
#include "codecs/draw.h"

#include <stdlib.h>
#include <string.h>

static uint64_t state = 42;
static uint8_t noise(void)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint8_t)(state >> 56);
}

static int emit(const char *dir, const char *kind, const uint8_t *px, int w, int h, int ch, fer_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_%dx%d_%d.png", dir, kind, w, h, ch);
    if (png_write(path, px, w, h, ch, e)) return -1;
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s_%dx%d_%d.raw", dir, kind, w, h, ch);
    f = fopen(path, "wb");
    if (!f) return fer_fail(e, "%s: cannot write", path);
    fwrite(px, 1, (size_t)w * h * ch, f);
    fclose(f);
    printf("%s_%dx%d_%d %ld %d\n", kind, w, h, ch, n, w * h * ch);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tool_png OUTDIR\n");
        return 2;
    }
    fer_err e;
    const int sizes[][2] = { { 1, 1 }, { 3, 1 }, { 1, 5 }, { 7, 3 }, { 33, 17 }, { 48, 48 }, { 101, 37 }, { 640, 480 } };
    const char *kinds[] = { "gradient", "noise", "constant", "mixed" };
    for (int ch = 1; ch <= 4; ch++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int k = 0; k < 4; k++) {
                int w = sizes[s][0], h = sizes[s][1];
                if (w == 640 && k != 0 && ch != 3) continue;   /* keep it quick */
                uint8_t *px = malloc((size_t)w * h * ch);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int c = 0; c < ch; c++) {
                            uint8_t v;
                            if (k == 0) v = (uint8_t)((x * 255 / (w > 1 ? w - 1 : 1) + 60 * c + y) & 255);
                            else if (k == 1) v = noise();
                            else if (k == 2) v = (uint8_t)(200 - c);
                            else v = (x / 5 + y / 3) % 2 ? (uint8_t)(x * y + c) : noise();
                            px[((size_t)y * w + x) * ch + c] = v;
                        }
                int rc = emit(argv[1], kinds[k], px, w, h, ch, &e);
                free(px);
                if (rc) {
                    fprintf(stderr, "tool_png: %s\n", e.msg);
                    return 1;
                }
            }
    canvas c;
    if (canvas_new(&c, 301, 157, &e)) return 1;
    canvas_fill(&c, RGB(250, 250, 245));
    canvas_text(&c, 5, 5, "fer PNG: 0123456789 angry happy", RGB(10, 10, 10), 2);
    float map[6] = { 0, 0.2f, 1, 0.4f, 0.7f, 0.1f };
    canvas_heat(&c, map, 3, 2, 20, 40, 200, 100, 0.8f);
    canvas_thick_line(&c, 0, 156, 300, 30, RGB(200, 0, 0), 3);
    if (emit(argv[1], "canvas", c.rgb, c.w, c.h, 3, &e)) return 1;
    canvas_free(&c);
    return 0;
}
