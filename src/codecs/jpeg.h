/* jpeg.h - fer's own baseline JPEG encoder (JFIF, 8-bit, Huffman coding with
 * the standard tables of ITU T.81 Annex K, quality scaling as in IJG's
 * libjpeg), used by `fer demo -http` for the MJPEG stream. Gray, 4:4:4 and
 * 4:2:0 output.
 * Part of src/codecs/: the file formats and pixel buffers fer handles with
 * its own code (no libraries). */
#ifndef FER_JPEG_H
#define FER_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* A growable output buffer, reused from frame to frame. */
typedef struct jpeg_buf {
    uint8_t *data;
    size_t len, cap;
} jpeg_buf;

void jpeg_buf_free(jpeg_buf *b);

/* Encodes pixels ([h][w][channels] bytes, channels 1 = gray or 3 = RGB) at
 * quality 1..100; subsample420 halves the chroma resolution (RGB only).
 * Replaces b's contents. */
int jpeg_encode(jpeg_buf *b, const uint8_t *pixels, int w, int h, int channels, int quality, int subsample420,
                fer_err *e);

/* Forward 8x8 DCT, in place, on level-shifted samples (block[y*8+x]).
 * jpeg_fdct_float is the AAN fast transform: its output coefficient (u,v)
 * is 8 * aan[u] * aan[v] times the true DCT-II value (the scale is folded
 * into quantization); jpeg_fdct_naive is the textbook definition (the true
 * orthonormal-JPEG values). jpeg_aan_scale(k) gives aan[k]. */
void jpeg_fdct_float(float block[64]);
void jpeg_fdct_naive(const float in[64], float out[64]);
float jpeg_aan_scale(int k);

/* Quantization table (natural order) for quality 1..100: the Annex K table
 * scaled as libjpeg does. chroma selects the chrominance table. */
void jpeg_quant_table(int quality, int chroma, uint8_t out[64]);

/* Motion-JPEG frames from many cameras omit the Huffman tables (DHT) and
 * rely on the standard ones: when `in` has no DHT before its scan, writes
 * in with the standard DHT inserted after SOI into b and returns 1; returns
 * 0 when in already has tables (b untouched), -1 when in is not a JPEG. */
int jpeg_add_std_dht(const uint8_t *in, size_t len, jpeg_buf *b, fer_err *e);

#endif
