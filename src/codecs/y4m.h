/* y4m.h - YUV4MPEG2 (Y4M) video: the header parser, a frame reader over a
 * file or stdin, and a writer. This is what `ffmpeg -f yuv4mpegpipe` and
 * ffplay speak, so `fer demo` takes video from a pipe and writes video to one.
 *
 * Stream: "YUV4MPEG2" then space-separated fields W<width> H<height>
 * F<num>:<den> I<p|t|b|m|?> A<num>:<den> C<chroma> X<anything> and '\n'; each
 * frame is "FRAME" (optionally followed by fields) '\n' and the planes
 * Y [h][w], then U and V [ceil(h/sy)][ceil(w/sx)] (none for mono).
 *
 * Part of src/codecs/: the file formats and pixel buffers fer handles with
 * its own code (no libraries). */
#ifndef FER_Y4M_H
#define FER_Y4M_H

#include <stdio.h>

#include "frame.h"

#define Y4M_MAX_LINE 1024                /* a header or FRAME line, '\n' included */
#define Y4M_MAX_PIXELS (8192L * 8192L)   /* width * height */

typedef struct y4m_header {
    int w, h;
    int fps_num, fps_den;          /* 0:0 when the stream does not say */
    int aspect_num, aspect_den;
    char interlace;                /* 'p', 't', 'b', 'm', '?' */
    char chroma[16];               /* the C tag as written ("420jpeg" when absent) */
    int sx, sy;                    /* chroma subsampling; sx = 0 for mono */
    int alpha;                     /* 444alpha: a fourth full-size plane */
    int full_range;                /* XCOLORRANGE=FULL */
} y4m_header;

/* Parses one header line (without its '\n', len bytes; need not be
 * NUL-terminated). name is used in messages. */
int y4m_parse_header(y4m_header *hd, const char *line, size_t len, const char *name, fer_err *e);
/* Bytes of one frame's planes. */
size_t y4m_frame_bytes(const y4m_header *hd);
/* Byte offsets of the U and V planes inside a frame (0 for mono). */
size_t y4m_plane_offset(const y4m_header *hd, int plane);

typedef struct y4m_reader {
    FILE *f;
    int own;                       /* f was opened here (not stdin) */
    char name[512];
    y4m_header hd;
    long data_start;               /* offset of the first FRAME, -1 when not seekable */
    uint8_t *buf;                  /* [y4m_frame_bytes] the last frame's planes */
    size_t frame_bytes;
    long frames;                   /* frames read so far */
} y4m_reader;

/* path "-" reads stdin. */
int y4m_open(y4m_reader *r, const char *path, fer_err *e);
/* Reads a frame into r->buf: 1 = a frame, 0 = clean end of stream, -1 = error
 * (malformed FRAME line, truncated frame). */
int y4m_read(y4m_reader *r, fer_err *e);
/* Converts r->buf into f (sized here). */
int y4m_to_frame(const y4m_reader *r, frame *f, fer_err *e);
/* Back to the first frame (files only). */
int y4m_rewind(y4m_reader *r, fer_err *e);
void y4m_close(y4m_reader *r);

/* Writes a stream header for hd (W H F I A C and XCOLORRANGE). */
int y4m_write_header(FILE *f, const y4m_header *hd, fer_err *e);
/* Writes "FRAME\n" and the planes ([y4m_frame_bytes(hd)] bytes). */
int y4m_write_planes(FILE *f, const y4m_header *hd, const uint8_t *planes, fer_err *e);

/* A 4:2:0 (C420jpeg) writer of RGB frames. */
typedef struct y4m_writer {
    FILE *f;
    int own;
    y4m_header hd;
    uint8_t *buf;                  /* [y4m_frame_bytes] */
    char name[512];
} y4m_writer;

/* path "-" writes stdout. fps_num/fps_den 0 means 30:1. */
int y4m_writer_open(y4m_writer *w, const char *path, int width, int height, int fps_num, int fps_den, fer_err *e);
int y4m_writer_put(y4m_writer *w, const frame *f, fer_err *e);
int y4m_writer_close(y4m_writer *w, fer_err *e);

#endif
