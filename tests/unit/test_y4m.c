/* test_y4m.c - the Y4M reader and writer and the frame colour conversions:
 * header fields and every chroma layout parse; write -> read round trips
 * are byte-exact (4:2:0, 4:2:2, 4:4:4, mono; odd sizes; FRAME lines with
 * parameters); RGB -> YUV -> RGB stays within rounding; malformed headers
 * (bad magic, missing W or H, huge or zero sizes, bad chroma, unknown or
 * malformed fields, no newline), bad FRAME lines and truncated frames are
 * rejected with a message, and a clean end of stream is not an error. */
#include "check.h"
#include "codecs/y4m.h"

#include <stdlib.h>
#include <string.h>

#define OUT "tests/out/y4m"

static int parse(const char *line, y4m_header *hd, fer_err *e)
{
    return y4m_parse_header(hd, line, strlen(line), "test.y4m", e);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(data, 1, n, f);
    fclose(f);
}

static void test_headers(void)
{
    y4m_header hd;
    fer_err e;
    CHECK(parse("YUV4MPEG2 W640 H480 F30000:1001 It A128:117 C420mpeg2 XYSCSS=420MPEG2", &hd, &e) == 0, "%s", e.msg);
    CHECK(hd.w == 640 && hd.h == 480 && hd.fps_num == 30000 && hd.fps_den == 1001, "fields %dx%d %d:%d", hd.w,
          hd.h, hd.fps_num, hd.fps_den);
    CHECK(hd.interlace == 't' && hd.aspect_num == 128 && hd.aspect_den == 117 && hd.sx == 2 && hd.sy == 2,
          "interlace %c aspect %d:%d", hd.interlace, hd.aspect_num, hd.aspect_den);
    CHECK(!strcmp(hd.chroma, "420mpeg2") && !hd.full_range, "chroma %s", hd.chroma);
    CHECK(parse("YUV4MPEG2 W3 H5", &hd, &e) == 0 && !strcmp(hd.chroma, "420jpeg") && hd.sx == 2,
          "default chroma: %s", e.msg);
    CHECK(y4m_frame_bytes(&hd) == 15 + 2 * 2 * 3, "odd 4:2:0 size %zu", y4m_frame_bytes(&hd));
    static const struct { const char *tag; int sx, sy; size_t bytes; } kinds[] = {
        { "420jpeg", 2, 2, 16 * 10 + 2 * 8 * 5 }, { "420paldv", 2, 2, 16 * 10 + 2 * 8 * 5 },
        { "420", 2, 2, 16 * 10 + 2 * 8 * 5 },     { "411", 4, 1, 16 * 10 + 2 * 4 * 10 },
        { "422", 2, 1, 16 * 10 + 2 * 8 * 10 },    { "444", 1, 1, 3 * 16 * 10 },
        { "444alpha", 1, 1, 4 * 16 * 10 },        { "mono", 0, 0, 16 * 10 },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "YUV4MPEG2 W16 H10 F25:1 C%s XCOLORRANGE=FULL", kinds[i].tag);
        int rc = parse(line, &hd, &e);
        CHECK(rc == 0 && hd.sx == kinds[i].sx && (hd.sx == 0 || hd.sy == kinds[i].sy) && hd.full_range &&
                  y4m_frame_bytes(&hd) == kinds[i].bytes,
              "C%s: rc %d sx %d sy %d bytes %zu (%s)", kinds[i].tag, rc, hd.sx, hd.sy, y4m_frame_bytes(&hd),
              rc ? e.msg : "");
    }
    static const struct { const char *line, *want; } bad[] = {
        { "YUV4MPEG W640 H480", "not a Y4M stream" },
        { "YUV4MPEG2W640 H480", "not a Y4M stream" },
        { "RIFF", "not a Y4M stream" },
        { "", "not a Y4M stream" },
        { "YUV4MPEG2 H480 F30:1", "no W field" },
        { "YUV4MPEG2 W640", "no H field" },
        { "YUV4MPEG2 W0 H480", "bad W field" },
        { "YUV4MPEG2 W-5 H480", "bad W field" },
        { "YUV4MPEG2 W640x H480", "bad W field" },
        { "YUV4MPEG2 W99999999999 H480", "bad W field" },
        { "YUV4MPEG2 W100000 H100000", "too large" },
        { "YUV4MPEG2 W16384 H16384", "too large" },
        { "YUV4MPEG2 W640 H480 C420p10", "unsupported chroma" },
        { "YUV4MPEG2 W640 H480 Cyuv", "unsupported chroma" },
        { "YUV4MPEG2 W640 H480 C", "unsupported chroma" },
        { "YUV4MPEG2 W640 H480 F30", "bad frame rate" },
        { "YUV4MPEG2 W640 H480 F30:0", "bad frame rate" },
        { "YUV4MPEG2 W640 H480 Fx:1", "bad frame rate" },
        { "YUV4MPEG2 W640 H480 Iq", "bad interlacing" },
        { "YUV4MPEG2 W640 H480 A1", "bad aspect" },
        { "YUV4MPEG2 W640 H480 Q5", "unknown field" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = 0;
        int rc = parse(bad[i].line, &hd, &e);
        CHECK(rc == -1 && strstr(e.msg, bad[i].want) && strstr(e.msg, "test.y4m"), "'%s': rc %d, message '%s'",
              bad[i].line, rc, e.msg);
    }
}

/* Writes a stream of n frames with pseudo-random planes, reads it back. */
static void round_trip(const char *chroma, int w, int h, int n)
{
    fer_err e;
    y4m_header hd;
    char line[128], path[256];
    snprintf(line, sizeof line, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C%s", w, h, chroma);
    snprintf(path, sizeof path, OUT "/rt_%s_%dx%d.y4m", chroma, w, h);
    if (parse(line, &hd, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    size_t fb = y4m_frame_bytes(&hd);
    uint8_t *planes = malloc(fb * n);
    uint32_t s = 12345;
    for (size_t i = 0; i < fb * n; i++) {
        s = s * 1664525u + 1013904223u;
        planes[i] = (uint8_t)(s >> 24);
    }
    FILE *f = fopen(path, "wb");
    CHECK(f && y4m_write_header(f, &hd, &e) == 0, "write header");
    for (int k = 0; k < n; k++) {
        if (k == 1) fputs("FRAME Ixyz\n", f), fwrite(planes + fb * k, 1, fb, f);   /* a FRAME line with fields */
        else CHECK(y4m_write_planes(f, &hd, planes + fb * k, &e) == 0, "write frame");
    }
    fclose(f);
    y4m_reader r;
    if (y4m_open(&r, path, &e)) {
        CHECK(0, "%s: %s", path, e.msg);
        free(planes);
        return;
    }
    CHECK(r.hd.w == w && r.hd.h == h && !strcmp(r.hd.chroma, chroma), "header back: %dx%d %s", r.hd.w, r.hd.h,
          r.hd.chroma);
    int got = 0, rc;
    while ((rc = y4m_read(&r, &e)) == 1) {
        CHECK(got < n && !memcmp(r.buf, planes + fb * got, fb), "%s frame %d differs", path, got);
        got++;
    }
    CHECK(rc == 0 && got == n, "%s: read %d of %d frames, rc %d (%s)", path, got, n, rc, rc ? e.msg : "");
    /* rewinding gives the first frame again; a frame converts */
    CHECK(y4m_rewind(&r, &e) == 0 && y4m_read(&r, &e) == 1 && !memcmp(r.buf, planes, fb), "rewind");
    frame fr = { 0 };
    CHECK(y4m_to_frame(&r, &fr, &e) == 0 && fr.w == w && fr.h == h, "to frame");
    frame_free(&fr);
    y4m_close(&r);
    free(planes);
}

static void test_round_trips(void)
{
    round_trip("420jpeg", 64, 48, 3);
    round_trip("420jpeg", 33, 17, 3);
    round_trip("422", 31, 9, 2);
    round_trip("444", 7, 5, 2);
    round_trip("mono", 13, 11, 2);
    round_trip("411", 19, 4, 2);
    round_trip("444alpha", 6, 6, 2);
}

/* Smooth RGB through the 4:2:0 writer and back: within a few levels. */
static void test_colour(void)
{
    fer_err e;
    frame f = { 0 }, g = { 0 };
    int w = 40, h = 30;
    frame_alloc(&f, w, h, &e);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = f.rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(40 + 4 * x);
            p[1] = (uint8_t)(200 - 5 * y);
            p[2] = (uint8_t)(100 + 2 * (x + y));
        }
    y4m_writer wr;
    CHECK(y4m_writer_open(&wr, OUT "/colour.y4m", w, h, 25, 1, &e) == 0, "%s", e.msg);
    CHECK(y4m_writer_put(&wr, &f, &e) == 0 && y4m_writer_close(&wr, &e) == 0, "%s", e.msg);
    y4m_reader r;
    CHECK(y4m_open(&r, OUT "/colour.y4m", &e) == 0 && y4m_read(&r, &e) == 1 && y4m_to_frame(&r, &g, &e) == 0,
          "%s", e.msg);
    CHECK(r.hd.fps_num == 25 && r.hd.fps_den == 1 && !r.hd.full_range, "writer header %d:%d", r.hd.fps_num,
          r.hd.fps_den);
    int worst = 0, worst_gray = 0;
    for (size_t i = 0; g.rgb && i < (size_t)w * h * 3; i++) {
        int d = abs((int)f.rgb[i] - g.rgb[i]);
        if (d > worst) worst = d;
    }
    frame_gray_from_rgb(&f);
    for (size_t i = 0; g.gray && i < (size_t)w * h; i++) {
        int d = abs((int)f.gray[i] - g.gray[i]);
        if (d > worst_gray) worst_gray = d;
    }
    CHECK(worst <= 8, "RGB round trip error %d levels", worst);
    CHECK(worst_gray <= 2, "luma round trip error %d levels", worst_gray);
    y4m_close(&r);
    frame_free(&f);
    frame_free(&g);
}

static void expect_open_fails(const char *name, const void *data, size_t n, const char *want)
{
    char path[256];
    snprintf(path, sizeof path, OUT "/%s.y4m", name);
    write_file(path, data, n);
    y4m_reader r;
    fer_err e;
    e.msg[0] = 0;
    int rc = y4m_open(&r, path, &e);
    CHECK(rc == -1 && strstr(e.msg, want) && strstr(e.msg, path), "%s: rc %d message '%s'", name, rc, e.msg);
    if (rc == 0) y4m_close(&r);
}

/* A stream whose first frame is fine and whose second is bad. */
static void expect_read_fails(const char *name, const char *tail, size_t tail_len, const char *want)
{
    char path[256];
    snprintf(path, sizeof path, OUT "/%s.y4m", name);
    const char head[] = "YUV4MPEG2 W4 H2 F30:1 Cmono\nFRAME\n01234567";
    size_t n = sizeof head - 1;
    char *buf = malloc(n + tail_len);
    memcpy(buf, head, n);
    memcpy(buf + n, tail, tail_len);
    write_file(path, buf, n + tail_len);
    free(buf);
    y4m_reader r;
    fer_err e;
    if (y4m_open(&r, path, &e)) {
        CHECK(0, "%s: %s", name, e.msg);
        return;
    }
    CHECK(y4m_read(&r, &e) == 1, "%s: first frame", name);
    e.msg[0] = 0;
    int rc = y4m_read(&r, &e);
    CHECK(rc == -1 && strstr(e.msg, want) && strstr(e.msg, "frame 2"), "%s: rc %d message '%s'", name, rc, e.msg);
    y4m_close(&r);
}

static void test_malformed_streams(void)
{
    expect_open_fails("empty", "", 0, "empty input");
    expect_open_fails("no_newline", "YUV4MPEG2 W4 H2", 15, "no complete Y4M header");
    char longline[2100];
    memset(longline, ' ', sizeof longline);
    memcpy(longline, "YUV4MPEG2 W4 H2", 15);
    longline[sizeof longline - 1] = '\n';
    expect_open_fails("long_header", longline, sizeof longline, "no complete Y4M header");
    expect_open_fails("png", "\x89PNG\r\n\x1a\n", 8, "not a Y4M stream");
    expect_open_fails("huge", "YUV4MPEG2 W65536 H65536\n", 24, "too large");
    expect_open_fails("chroma", "YUV4MPEG2 W4 H2 C420p16\n", 24, "unsupported chroma");
    expect_read_fails("truncated", "FRAME\n0123", 10, "truncated");
    expect_read_fails("frame_cut", "FRA", 3, "expected a 'FRAME' line");
    expect_read_fails("bad_frame_magic", "FRAMEX\n01234567", 15, "expected a 'FRAME' line");
    expect_read_fails("garbage", "\x00\x01\x02\x03\x04\x05\x06\x07\n", 9, "expected a 'FRAME' line");
    /* a clean end after whole frames is not an error */
    write_file(OUT "/clean_end.y4m", "YUV4MPEG2 W2 H2 Cmono\nFRAME\nabcd", 32);
    y4m_reader r;
    fer_err e;
    CHECK(y4m_open(&r, OUT "/clean_end.y4m", &e) == 0 && y4m_read(&r, &e) == 1 && y4m_read(&r, &e) == 0,
          "clean end: %s", e.msg);
    y4m_close(&r);
    CHECK(y4m_open(&r, OUT "/no_such_file.y4m", &e) == -1 && strstr(e.msg, "cannot open"), "missing file: %s",
          e.msg);
}

int main(void)
{
    if (system("mkdir -p " OUT) != 0) return 1;
    test_headers();
    test_round_trips();
    test_colour();
    test_malformed_streams();
    return check_summary("test_y4m");
}
