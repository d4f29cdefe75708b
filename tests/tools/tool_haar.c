/* tool_haar.c - runs fer's Haar detector on one image and prints one line
 * per face, "x y w h neighbours", for tests/e2e/e2e_haar_opencv.sh, which
 * compares with OpenCV's CascadeClassifier.
 * usage: tool_haar CASCADE IMAGE [SCALE MIN_NEIGHBOURS MIN_SIZE [THREADS]]
 * Also prints "windows N raw N ms T" to stderr. Experiments: HAAR_STEP,
 * HAAR_COARSE set those parameters, HAAR_SCALAR=1 turns the 8-window path off,
 * FER_ISA picks the kernels. */
#include "vision/haar.h"

#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 6 && argc != 7) {
        fprintf(stderr, "usage: tool_haar CASCADE IMAGE [SCALE MIN_NEIGHBOURS MIN_SIZE [THREADS]]\n");
        return 2;
    }
    fer_err e;
    haar_cascade c;
    fer_image im;
    haar_params p;
    haar_params_default(&p);
    int threads = 1;
    if (argc >= 6) {
        p.scale_factor = (float)atof(argv[3]);
        p.min_neighbors = atoi(argv[4]);
        p.min_size = atoi(argv[5]);
    }
    if (argc == 7) threads = atoi(argv[6]);
    if (getenv("HAAR_STEP")) p.step = atoi(getenv("HAAR_STEP"));   /* for experiments */
    if (getenv("HAAR_COARSE")) p.coarse_stage = atoi(getenv("HAAR_COARSE"));
    if (haar_load(&c, argv[1], &e) || fer_image_load(&im, argv[2], &e)) {
        fprintf(stderr, "tool_haar: %s\n", e.msg);
        return 1;
    }
    size_t n = (size_t)im.w * im.h;
    uint8_t *g = malloc(n);
    for (size_t i = 0; i < n; i++) {   /* gray: the first channel of a PGM, BT.601 luma otherwise */
        float v = im.c == 1 ? im.data[i]
                            : 0.299f * im.data[i] + 0.587f * im.data[n + i] + 0.114f * im.data[2 * n + i];
        g[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    fer_ctx *ctx = NULL;
    if (fer_ctx_new(&ctx, threads, getenv("FER_ISA"), &e)) return 1;
    haar_detector d;
    if (haar_detector_init(&d, &c, ctx, &e)) return 1;
    if (getenv("HAAR_SCALAR")) d.dense = 0;   /* for experiments */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (haar_detect(&d, g, im.w, im.h, (size_t)im.w, &p, &e)) {
        fprintf(stderr, "tool_haar: %s\n", e.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int i = 0; i < d.nboxes; i++)
        printf("%d %d %d %d %d\n", d.boxes[i].x, d.boxes[i].y, d.boxes[i].w, d.boxes[i].h, d.boxes[i].neighbors);
    fprintf(stderr, "windows %ld raw %d ms %.2f\n", d.windows, d.nraw,
            (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    haar_detector_free(&d);
    haar_free(&c);
    fer_ctx_free(ctx);
    fer_image_free(&im);
    free(g);
    return 0;
}
