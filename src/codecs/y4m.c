/* y4m.c - YUV4MPEG2 parsing, reading and writing (see y4m.h). */
#include "y4m.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Parses a decimal integer in s[0..n); 0 on success. */
static int parse_int(const char *s, size_t n, long max, long *out)
{
    if (n == 0 || n > 10) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

/* "N:D" with both in 0..INT_MAX. */
static int parse_ratio(const char *s, size_t n, int *num, int *den)
{
    const char *colon = memchr(s, ':', n);
    long a, b;
    if (!colon || parse_int(s, (size_t)(colon - s), INT_MAX, &a) ||
        parse_int(colon + 1, n - (size_t)(colon - s) - 1, INT_MAX, &b))
        return -1;
    *num = (int)a;
    *den = (int)b;
    return 0;
}

static const struct chroma_kind {
    const char *tag;
    int sx, sy, alpha;
} chroma_kinds[] = {
    { "420jpeg", 2, 2, 0 }, { "420paldv", 2, 2, 0 }, { "420mpeg2", 2, 2, 0 }, { "420", 2, 2, 0 },
    { "411", 4, 1, 0 },     { "422", 2, 1, 0 },      { "444", 1, 1, 0 },      { "444alpha", 1, 1, 1 },
    { "mono", 0, 0, 0 },
};

int y4m_parse_header(y4m_header *hd, const char *line, size_t len, const char *name, fer_err *e)
{
    memset(hd, 0, sizeof *hd);
    hd->interlace = '?';
    strcpy(hd->chroma, "420jpeg");
    hd->sx = hd->sy = 2;
    if (len < 9 || memcmp(line, "YUV4MPEG2", 9) || (len > 9 && line[9] != ' '))
        return fer_fail(e, "%s: not a Y4M stream (it does not start with 'YUV4MPEG2 '); "
                           "make one with: ffmpeg -i VIDEO -pix_fmt yuv420p -f yuv4mpegpipe OUT.y4m", name);
    int have_w = 0, have_h = 0;
    size_t p = 9;
    while (p < len) {
        if (line[p] == ' ') {
            p++;
            continue;
        }
        size_t end = p;
        while (end < len && line[end] != ' ') end++;
        const char *v = line + p + 1;
        size_t n = end - p - 1;
        long x;
        switch (line[p]) {
        case 'W':
        case 'H':
            if (parse_int(v, n, 1L << 20, &x) || x < 1)
                return fer_fail(e, "%s: header offset %zu: bad %c field '%.*s' (a positive integer)", name, p,
                                line[p], (int)(end - p), line + p);
            if (line[p] == 'W') { hd->w = (int)x; have_w = 1; }
            else { hd->h = (int)x; have_h = 1; }
            break;
        case 'F':
            if (parse_ratio(v, n, &hd->fps_num, &hd->fps_den) || (hd->fps_num && !hd->fps_den))
                return fer_fail(e, "%s: header offset %zu: bad frame rate '%.*s' (expected F<num>:<den>)", name, p,
                                (int)(end - p), line + p);
            break;
        case 'A':
            if (parse_ratio(v, n, &hd->aspect_num, &hd->aspect_den))
                return fer_fail(e, "%s: header offset %zu: bad aspect '%.*s' (expected A<num>:<den>)", name, p,
                                (int)(end - p), line + p);
            break;
        case 'I':
            if (n != 1 || !strchr("ptbm?", v[0]))
                return fer_fail(e, "%s: header offset %zu: bad interlacing '%.*s' (Ip, It, Ib, Im or I?)", name, p,
                                (int)(end - p), line + p);
            hd->interlace = v[0];
            break;
        case 'C': {
            size_t k, nk = sizeof chroma_kinds / sizeof chroma_kinds[0];
            for (k = 0; k < nk; k++)
                if (strlen(chroma_kinds[k].tag) == n && !memcmp(chroma_kinds[k].tag, v, n)) break;
            if (k == nk)
                return fer_fail(e, "%s: header offset %zu: unsupported chroma 'C%.*s' (fer reads 8-bit 420jpeg, "
                                   "420paldv, 420mpeg2, 420, 411, 422, 444, 444alpha and mono; convert with "
                                   "ffmpeg -pix_fmt yuv420p)", name, p, (int)(n > 32 ? 32 : n), v);
            strcpy(hd->chroma, chroma_kinds[k].tag);
            hd->sx = chroma_kinds[k].sx;
            hd->sy = chroma_kinds[k].sy;
            hd->alpha = chroma_kinds[k].alpha;
            break;
        }
        case 'X':
            if (n == 15 && !memcmp(v, "COLORRANGE=FULL", 15)) hd->full_range = 1;
            break;
        default:
            return fer_fail(e, "%s: header offset %zu: unknown field '%.*s'", name, p,
                            (int)(end - p > 32 ? 32 : end - p), line + p);
        }
        p = end;
    }
    if (!have_w || !have_h) return fer_fail(e, "%s: Y4M header has no %s field", name, have_w ? "H" : "W");
    if ((long)hd->w * hd->h > Y4M_MAX_PIXELS)
        return fer_fail(e, "%s: frame size %dx%d is too large (at most %ld pixels)", name, hd->w, hd->h,
                        (long)Y4M_MAX_PIXELS);
    return 0;
}

size_t y4m_plane_offset(const y4m_header *hd, int plane)
{
    size_t luma = (size_t)hd->w * hd->h;
    if (!hd->sx || plane == 0) return 0;
    size_t c = (size_t)((hd->w + hd->sx - 1) / hd->sx) * ((hd->h + hd->sy - 1) / hd->sy);
    return plane == 1 ? luma : luma + c;
}

size_t y4m_frame_bytes(const y4m_header *hd)
{
    size_t luma = (size_t)hd->w * hd->h;
    if (!hd->sx) return luma;
    return y4m_plane_offset(hd, 2) + y4m_plane_offset(hd, 2) - y4m_plane_offset(hd, 1) + (hd->alpha ? luma : 0);
}

/* Reads one '\n'-terminated line into buf (without '\n'). Returns its
 * length, -1 at EOF before any byte, -2 when too long or cut by EOF. */
static long read_line(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF) {
        if (ch == '\n') return (long)n;
        if (n + 1 >= cap) return -2;
        buf[n++] = (char)ch;
    }
    return n ? -2 : -1;
}

int y4m_open(y4m_reader *r, const char *path, fer_err *e)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", strcmp(path, "-") ? path : "stdin");
    if (!strcmp(path, "-")) {
        r->f = stdin;
    } else {
        r->f = fopen(path, "rb");
        if (!r->f) return fer_fail(e, "%s: cannot open: %s", path, strerror(errno));
        r->own = 1;
    }
    char line[Y4M_MAX_LINE];
    long n = read_line(r->f, line, sizeof line);
    if (n < 0) {
        fer_fail(e, "%s: %s", r->name, n == -1 ? "empty input (expected a Y4M stream)"
                 : "no complete Y4M header line (missing '\\n' within 1024 bytes)");
        y4m_close(r);
        return -1;
    }
    if (y4m_parse_header(&r->hd, line, (size_t)n, r->name, e)) {
        y4m_close(r);
        return -1;
    }
    r->frame_bytes = y4m_frame_bytes(&r->hd);
    r->buf = fer_alloc(r->frame_bytes, 1, e);
    if (!r->buf) {
        y4m_close(r);
        return -1;
    }
    r->data_start = r->own ? ftell(r->f) : -1;
    return 0;
}

int y4m_read(y4m_reader *r, fer_err *e)
{
    char line[Y4M_MAX_LINE];
    long n = read_line(r->f, line, sizeof line);
    if (n == -1) return 0;
    if (n == -2 || n < 5 || memcmp(line, "FRAME", 5) || (n > 5 && line[5] != ' '))
        return fer_fail(e, "%s: frame %ld: expected a 'FRAME' line%s", r->name, r->frames + 1,
                        n == -2 ? " (cut short or longer than 1024 bytes)" : "");
    size_t got = fread(r->buf, 1, r->frame_bytes, r->f);
    if (got != r->frame_bytes)
        return fer_fail(e, "%s: frame %ld is truncated: %zu of %zu bytes", r->name, r->frames + 1, got,
                        r->frame_bytes);
    r->frames++;
    return 1;
}

int y4m_to_frame(const y4m_reader *r, frame *f, fer_err *e)
{
    const y4m_header *hd = &r->hd;
    if (frame_alloc(f, hd->w, hd->h, e)) return -1;
    const uint8_t *u = hd->sx ? r->buf + y4m_plane_offset(hd, 1) : NULL;
    const uint8_t *v = hd->sx ? r->buf + y4m_plane_offset(hd, 2) : NULL;
    yuv_planar_to_frame(f, r->buf, u, v, hd->sx ? hd->sx : 1, hd->sx ? hd->sy : 1, hd->full_range);
    return 0;
}

int y4m_rewind(y4m_reader *r, fer_err *e)
{
    if (r->data_start < 0 || fseek(r->f, r->data_start, SEEK_SET))
        return fer_fail(e, "%s: cannot rewind (not a seekable file)", r->name);
    r->frames = 0;
    return 0;
}

void y4m_close(y4m_reader *r)
{
    if (r->own && r->f) fclose(r->f);
    fer_free(r->buf);
    r->f = NULL;
    r->buf = NULL;
}

int y4m_write_header(FILE *f, const y4m_header *hd, fer_err *e)
{
    int fn = hd->fps_num ? hd->fps_num : 30, fd = hd->fps_num ? hd->fps_den : 1;
    int an = hd->aspect_num ? hd->aspect_num : 1, ad = hd->aspect_num ? hd->aspect_den : 1;
    if (fprintf(f, "YUV4MPEG2 W%d H%d F%d:%d I%c A%d:%d C%s%s XCOLORRANGE=%s\n", hd->w, hd->h, fn, fd,
                hd->interlace ? hd->interlace : 'p', an, ad, hd->chroma[0] ? hd->chroma : "420jpeg",
                !strcmp(hd->chroma, "420jpeg") || !hd->chroma[0] ? " XYSCSS=420JPEG" : "",
                hd->full_range ? "FULL" : "LIMITED") < 0)
        return fer_fail(e, "cannot write the Y4M header: %s", strerror(errno));
    return 0;
}

int y4m_write_planes(FILE *f, const y4m_header *hd, const uint8_t *planes, fer_err *e)
{
    size_t n = y4m_frame_bytes(hd);
    if (fputs("FRAME\n", f) == EOF || fwrite(planes, 1, n, f) != n)
        return fer_fail(e, "cannot write a Y4M frame: %s", strerror(errno));
    return 0;
}

int y4m_writer_open(y4m_writer *w, const char *path, int width, int height, int fps_num, int fps_den, fer_err *e)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", path);
    w->hd.w = width;
    w->hd.h = height;
    w->hd.fps_num = fps_num > 0 && fps_den > 0 ? fps_num : 30;
    w->hd.fps_den = fps_num > 0 && fps_den > 0 ? fps_den : 1;
    w->hd.interlace = 'p';
    w->hd.aspect_num = w->hd.aspect_den = 1;
    strcpy(w->hd.chroma, "420jpeg");
    w->hd.sx = w->hd.sy = 2;
    w->buf = fer_alloc(y4m_frame_bytes(&w->hd), 1, e);
    if (!w->buf) return -1;
    struct stat st;
    if (!strcmp(path, "-")) {
        w->f = stdout;
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {   /* /dev/null, a FIFO */
        w->f = fopen(path, "wb");
        w->own = 1;
        if (!w->f) fer_fail(e, "%s: cannot open for writing: %s", path, strerror(errno));
    } else {   /* a regular file: written to PATH.tmp and renamed at close */
        char tmp[600];
        w->f = atomic_open(path, tmp, sizeof tmp, e);
        w->own = 2;
    }
    if (!w->f || y4m_write_header(w->f, &w->hd, e)) {
        if (w->f && w->own) fclose(w->f);
        w->f = NULL;
        fer_free(w->buf);
        w->buf = NULL;
        return -1;
    }
    return 0;
}

int y4m_writer_put(y4m_writer *w, const frame *f, fer_err *e)
{
    if (f->w != w->hd.w || f->h != w->hd.h)
        return fer_fail(e, "%s: frame is %dx%d but the stream is %dx%d", w->name, f->w, f->h, w->hd.w, w->hd.h);
    frame_to_yuv_planar(f, w->buf, w->buf + y4m_plane_offset(&w->hd, 1), w->buf + y4m_plane_offset(&w->hd, 2), 2,
                        2, 0);
    if (y4m_write_planes(w->f, &w->hd, w->buf, e)) return fer_fail(e, "%s: write failed: %s", w->name, strerror(errno));
    return 0;
}

int y4m_writer_close(y4m_writer *w, fer_err *e)
{
    int rc = 0;
    if (w->f == stdout) {
        if (fflush(stdout)) rc = fer_fail(e, "stdout: write failed: %s", strerror(errno));
    } else if (w->own == 1) {
        if (fclose(w->f)) rc = fer_fail(e, "%s: write failed: %s", w->name, strerror(errno));
    } else if (w->own == 2) {
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp", w->name);
        rc = atomic_close(w->f, tmp, w->name, e);
    }
    w->f = NULL;
    fer_free(w->buf);
    w->buf = NULL;
    return rc;
}
