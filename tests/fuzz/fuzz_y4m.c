/* fuzz_y4m.c - the Y4M reader: the input is a Y4M file, opened with
 * y4m_open, read frame by frame (at most MAX_FRAMES) and each frame
 * converted with y4m_to_frame; then rewound and its first frame read again.
 * A header whose frames exceed MAX_FRAME_BYTES is only parsed (the input
 * cannot hold such a frame; opening would just allocate it).
 * Oracles: errors have messages; the first frame reads the same after a
 * rewind. */
#include "fuzz.h"
#include "codecs/y4m.h"

#define MAX_FRAMES 16
#define MAX_FRAME_BYTES (1u << 20)

/* 1 when the input's header line parses and announces frames too large to run. */
static int frames_too_large(const uint8_t *data, size_t size)
{
    const uint8_t *eol = memchr(data, '\n', size < Y4M_MAX_LINE ? size : Y4M_MAX_LINE);
    if (!eol) return 0;
    y4m_header hd;
    fer_err e = { { 0 } };
    if (y4m_parse_header(&hd, (const char *)data, (size_t)(eol - data), "fuzz.y4m", &e)) {
        fuzz_require(e.msg[0] != 0, "y4m_parse_header failed without a message");
        return 0;
    }
    return y4m_frame_bytes(&hd) > MAX_FRAME_BYTES;
}

/* Reads the frames; returns a copy of the first one (NULL when none). */
static uint8_t *read_frames(y4m_reader *r)
{
    frame f = { 0 };
    uint8_t *first = NULL;
    fer_err e = { { 0 } };
    int rc = 0;
    while (r->frames < MAX_FRAMES && (rc = y4m_read(r, &e)) == 1) {
        if (!first) {
            first = malloc(r->frame_bytes);
            fuzz_require(first != NULL, "out of memory");
            memcpy(first, r->buf, r->frame_bytes);
        }
        if (y4m_to_frame(r, &f, &e)) fuzz_require(e.msg[0] != 0, "y4m_to_frame failed without a message");
    }
    if (rc < 0) fuzz_require(e.msg[0] != 0, "y4m_read failed without a message");
    frame_free(&f);
    return first;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && frames_too_large(data, size)) return 0;
    y4m_reader r;
    fer_err e = { { 0 } };
    if (y4m_open(&r, fuzz_write_tmp(data, size), &e)) {
        fuzz_require(e.msg[0] != 0, "y4m_open failed without a message");
        return 0;
    }
    uint8_t *first = read_frames(&r);
    if (first) {
        fuzz_require(y4m_rewind(&r, &e) == 0, "y4m_rewind failed on a file");
        fuzz_require(y4m_read(&r, &e) == 1, "the first frame does not read again after a rewind");
        fuzz_require(!memcmp(first, r.buf, r.frame_bytes), "the first frame differs after a rewind");
        free(first);
    }
    y4m_close(&r);
    return 0;
}
