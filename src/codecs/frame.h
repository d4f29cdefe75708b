/* frame.h - a video frame as `fer demo` handles it (interleaved RGB bytes for
 * drawing and encoding, plus a luma plane for face detection) and the pure
 * colour conversions between it and the YUV layouts of Y4M, V4L2 and JPEG.
 * YUV is ITU-R BT.601, in limited (16..235) or full (0..255) range.
 * Part of src/codecs/: the file formats and pixel buffers fer handles with
 * its own code (no libraries). */
#ifndef FER_FRAME_H
#define FER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

typedef struct frame {
    int w, h;
    uint8_t *rgb;     /* [h][w][3] interleaved R, G, B */
    uint8_t *gray;    /* [h][w] full-range luma */
} frame;

/* (Re)allocates f for w x h (keeps the buffers when the size is unchanged). */
int frame_alloc(frame *f, int w, int h, fer_err *e);
void frame_free(frame *f);
/* f = im (gray or RGB floats in [0,1], planar) as bytes, resized to
 * im's size; gray is the BT.601 luma. */
int frame_from_image(frame *f, const fer_image *im, fer_err *e);
/* gray = BT.601 luma of rgb. */
void frame_gray_from_rgb(frame *f);
/* rgb = gray replicated (for monochrome sources). */
void frame_rgb_from_gray(frame *f);

/* Planar YUV into f (already sized): y is [h][w], u and v are
 * [ceil(h/sy)][ceil(w/sx)] (sx in 1,2,4; sy in 1,2); u = v = NULL means
 * monochrome. full_range: 0..255 YCbCr (JPEG) rather than 16..235. */
void yuv_planar_to_frame(frame *f, const uint8_t *y, const uint8_t *u, const uint8_t *v, int sx, int sy,
                         int full_range);
/* f's RGB into planar YUV of the same layout (chroma averaged over each
 * sx x sy block); u and v may be NULL (luma only). */
void frame_to_yuv_planar(const frame *f, uint8_t *y, uint8_t *u, uint8_t *v, int sx, int sy, int full_range);
/* Packed YUYV 4:2:2 ([h][stride] bytes, Y0 U Y1 V per pixel pair) into f. */
void yuyv_to_frame(frame *f, const uint8_t *yuyv, size_t stride, int full_range);
/* 8-bit gray ([h][stride] bytes) into f. */
void gray_to_frame(frame *f, const uint8_t *g, size_t stride, int full_range);

#endif
