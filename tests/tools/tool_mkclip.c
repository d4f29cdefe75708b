/* tool_mkclip.c - makes a Y4M test clip from a still photo with fer's own
 * image loader, resize and Y4M writer: the photo is scaled to cover WxH with
 * 10% to spare and the WxH window pans slowly across it (a sine, one period
 * per 60 frames), so face tracking has something to follow.
 * usage: tool_mkclip IMAGE OUT.y4m [FRAMES [W H]]   (defaults 60 640 480) */
#include "codecs/y4m.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4 && argc != 6) {
        fprintf(stderr, "usage: tool_mkclip IMAGE OUT.y4m [FRAMES [W H]]\n");
        return 2;
    }
    int frames = argc >= 4 ? atoi(argv[3]) : 60;
    int W = argc == 6 ? atoi(argv[4]) : 640, H = argc == 6 ? atoi(argv[5]) : 480;
    fer_err e;
    fer_image im, big;
    if (frames < 1 || W < 16 || H < 16 || fer_image_load(&im, argv[1], &e)) {
        fprintf(stderr, "tool_mkclip: %s\n", frames < 1 || W < 16 || H < 16 ? "bad size" : e.msg);
        return 1;
    }
    double s = fmax((double)W / im.w, (double)H / im.h) * 1.1;
    int bw = (int)ceil(im.w * s), bh = (int)ceil(im.h * s);
    if (fer_image_convert(&big, &im, bw, bh, 3, &e)) {
        fprintf(stderr, "tool_mkclip: %s\n", e.msg);
        return 1;
    }
    y4m_writer w;
    if (y4m_writer_open(&w, argv[2], W, H, 30, 1, &e)) {
        fprintf(stderr, "tool_mkclip: %s\n", e.msg);
        return 1;
    }
    frame f = { 0 };
    if (frame_alloc(&f, W, H, &e)) return 1;
    size_t plane = (size_t)bw * bh;
    for (int t = 0; t < frames; t++) {
        double ph = sin(2 * 3.14159265358979 * t / 60.0);
        int ox = (int)lround((bw - W) / 2.0 + ph * (bw - W) * 0.25), oy = (bh - H) / 2;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int k = 0; k < 3; k++) {
                    float v = big.data[k * plane + (size_t)(y + oy) * bw + x + ox];
                    int b = (int)(v * 255.0f + 0.5f);
                    f.rgb[((size_t)y * W + x) * 3 + k] = (uint8_t)(b < 0 ? 0 : (b > 255 ? 255 : b));
                }
        if (y4m_writer_put(&w, &f, &e)) {
            fprintf(stderr, "tool_mkclip: %s\n", e.msg);
            return 1;
        }
    }
    if (y4m_writer_close(&w, &e)) {
        fprintf(stderr, "tool_mkclip: %s\n", e.msg);
        return 1;
    }
    frame_free(&f);
    fer_image_free(&im);
    fer_image_free(&big);
    return 0;
}
