/* fuzz_haar.c - the Haar cascade reader: the input is cascade XML for
 * haar_load_text (given exactly the input's bytes, no terminating NUL); a
 * cascade that loads runs haar_detect on a fixed 64x48 gray image twice:
 * the portable scan with OpenCV's defaults, and the best ISA's scan (AVX2
 * on x86-64) in the coarse mode with raw windows.
 * Oracles: errors have messages; detections have positive sides. */
#include "fuzz.h"
#include "vision/haar.h"

#define IMG_W 64
#define IMG_H 48

static void detect_and_check(const haar_cascade *c, fer_ctx *ctx, const haar_params *p)
{
    uint8_t gray[IMG_W * IMG_H];
    for (int y = 0; y < IMG_H; y++)
        for (int x = 0; x < IMG_W; x++) gray[y * IMG_W + x] = (uint8_t)(x * 7 + y * 13 + ((x ^ y) & 8) * 9);
    haar_detector d;
    fer_err e = { { 0 } };
    if (haar_detector_init(&d, c, ctx, &e)) {
        fuzz_require(e.msg[0] != 0, "haar_detector_init failed without a message");
        return;
    }
    if (haar_detect(&d, gray, IMG_W, IMG_H, IMG_W, p, &e)) {
        fuzz_require(e.msg[0] != 0, "haar_detect failed without a message");
    } else {
        for (int i = 0; i < d.nboxes; i++) fuzz_require(d.boxes[i].w >= 1 && d.boxes[i].h >= 1, "an empty box");
    }
    haar_detector_free(&d);
}

/* A one-thread context with the best ISA, made on first use. */
static fer_ctx *best_ctx(void)
{
    static fer_ctx *ctx;
    fer_err e;
    if (!ctx && fer_ctx_new(&ctx, 1, NULL, &e)) {
        fprintf(stderr, "fuzz_haar: %s\n", e.msg);
        abort();
    }
    return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    fuzz_require(text != NULL, "out of memory");
    if (size) memcpy(text, data, size);
    haar_cascade c;
    fer_err e = { { 0 } };
    if (haar_load_text(&c, "fuzz.xml", text, size, &e)) {
        fuzz_require(e.msg[0] != 0, "haar_load_text failed without a message");
    } else {
        haar_params p;
        haar_params_default(&p);
        detect_and_check(&c, NULL, &p);
        p.coarse_stage = 1;
        p.min_neighbors = 0;
        detect_and_check(&c, best_ctx(), &p);
        haar_free(&c);
    }
    free(text);
    return 0;
}
