/* draw.h - a small RGB canvas for pictures fer draws itself (confusion
 * matrices, saliency and Grad-CAM overlays, annotated video frames): filled
 * and outlined rectangles, lines, text in a built-in bitmap font, image blits,
 * colormaps, and PNG output through fer's own encoder (png.c).
 * Part of src/codecs/: the file formats and pixel buffers fer handles with
 * its own code (no libraries). */
#ifndef FER_DRAW_H
#define FER_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "engine/util.h"
#include "png.h"

typedef struct canvas {
    int w, h;
    uint8_t *rgb;              /* [h][w][3] interleaved bytes */
} canvas;

#define RGB(r, g, b) ((uint32_t)(((r) << 16) | ((g) << 8) | (b)))

int canvas_new(canvas *c, int w, int h, fer_err *e);
void canvas_free(canvas *c);
void canvas_fill(canvas *c, uint32_t rgb);
/* Everything clips to the canvas; coordinates may be negative or outside. */
void canvas_fill_rect(canvas *c, int x, int y, int w, int h, uint32_t rgb);
void canvas_rect(canvas *c, int x, int y, int w, int h, uint32_t rgb, int thickness);
void canvas_line(canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb);
/* A line `thickness` pixels wide (offset copies across the line). */
void canvas_thick_line(canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb, int thickness);
/* Draws ASCII text with the built-in font scaled by `scale` (>= 1) with its
 * top-left at (x, y); returns the width drawn. */
int canvas_text(canvas *c, int x, int y, const char *s, uint32_t rgb, int scale);
int text_width(const char *s, int scale);
int text_height(int scale);
/* Draws an image ([c][h][w] floats in [0,1], 1 or 3 channels) scaled
 * (bilinear) into the w x h rectangle at (x, y). */
void canvas_blit(canvas *c, const fer_image *im, int x, int y, int w, int h);
/* Alpha-blends a heat map ([mh][mw] values in [0,1], scaled bilinearly) over
 * the rectangle with the jet colormap. */
void canvas_heat(canvas *c, const float *map, int mw, int mh, int x, int y, int w, int h, float alpha);
/* The jet colormap: 0 = dark blue, 0.5 = green-yellow, 1 = dark red. */
void colormap_jet(float v, uint8_t rgb[3]);

/* Writes the canvas as PNG (temp + rename). */
int canvas_save_png(const canvas *c, const char *path, fer_err *e);

#endif
