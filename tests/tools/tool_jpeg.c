/* tool_jpeg.c - encodes an image (anything fer_image_load reads) with fer's
 * JPEG encoder, for tests/e2e/e2e_jpeg_pil.sh, which decodes it with PIL.
 * usage: tool_jpeg IN OUT.jpg QUALITY 420|444|gray */
#include "codecs/jpeg.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: tool_jpeg IN OUT.jpg QUALITY 420|444|gray\n");
        return 2;
    }
    fer_err e;
    fer_image im;
    if (fer_image_load(&im, argv[1], &e)) {
        fprintf(stderr, "tool_jpeg: %s\n", e.msg);
        return 1;
    }
    int gray = !strcmp(argv[4], "gray"), c = gray ? 1 : 3;
    size_t n = (size_t)im.w * im.h;
    uint8_t *px = malloc(n * c);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            float v = gray && im.c == 3 ? 0.299f * im.data[i] + 0.587f * im.data[n + i] + 0.114f * im.data[2 * n + i]
                                        : im.data[(im.c == 3 ? (size_t)k : 0) * n + i];
            px[i * c + k] = (uint8_t)(v * 255.0f + 0.5f);
        }
    jpeg_buf b = { 0 };
    FILE *f = NULL;
    int rc = jpeg_encode(&b, px, im.w, im.h, c, atoi(argv[3]), !strcmp(argv[4], "420"), &e);
    if (!rc && (!(f = fopen(argv[2], "wb")) || fwrite(b.data, 1, b.len, f) != b.len)) rc = fer_fail(&e, "%s: cannot write", argv[2]);
    if (f) fclose(f);
    if (rc) fprintf(stderr, "tool_jpeg: %s\n", e.msg);
    jpeg_buf_free(&b);
    free(px);
    fer_image_free(&im);
    return rc ? 1 : 0;
}
