/* strbuf.h - a growing text buffer with the encodings fer writes: printf,
 * HTML escaping, JSON strings, base64, PNG data URIs, and atomic saving.
 * Part of src/codecs/: the file formats and pixel buffers fer handles with
 * its own code (no libraries). */
#ifndef FER_CODECS_STRBUF_H
#define FER_CODECS_STRBUF_H

#include "draw.h"

/* A growing NUL-terminated string; oom is set (and further appends dropped)
 * when an allocation fails. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    int oom;
} strbuf;

void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_put(strbuf *b, const char *s, size_t n);
/* Appends s with & < > " ' escaped (HTML and SVG text and attributes). */
void sb_escape(strbuf *b, const char *s);
/* Appends s as a JSON string: quoted, with " and \ escaped and control
 * characters as \u00XX (bytes >= 0x80 pass through: UTF-8 stays UTF-8). */
void sb_json_string(strbuf *b, const char *s);
/* Appends the base64 encoding (RFC 4648, padded) of p[0..n). */
void sb_base64(strbuf *b, const uint8_t *p, size_t n);
/* Appends "data:image/png;base64,..." for the canvas. */
int sb_png_data_uri(strbuf *b, const canvas *c, fer_err *e);
/* Writes the text to a file (temp + rename). */
int sb_save(const strbuf *b, const char *path, fer_err *e);
void sb_free(strbuf *b);

#endif
