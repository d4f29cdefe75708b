/* png.h - fer's own PNG encoder (8-bit gray, gray+alpha, RGB, RGBA).
 * Part of src/codecs/: the file formats and pixel buffers fer handles with
 * its own code (no libraries). */
#ifndef FER_CODECS_PNG_H
#define FER_CODECS_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "engine/util.h"

/* PNG (8-bit; channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; pixels
 * [h][w][channels]; zlib/deflate compressed) into a new malloc'd buffer. */
int png_encode(const uint8_t *pixels, int w, int h, int channels, uint8_t **out, size_t *len, fer_err *e);
/* Writes pixels ([h][w][channels] bytes; 1 gray, 2 gray+alpha, 3 RGB,
 * 4 RGBA) as a PNG file (temp + rename). */
int png_write(const char *path, const uint8_t *pixels, int w, int h, int channels, fer_err *e);

#endif
