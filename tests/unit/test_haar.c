/* test_haar.c - the face detector and tracker:
 * - integral, squared and tilted integral images equal their naive twins
 *   (odd sizes, padded row strides);
 * - the cascade corpus (tests/corpus/haar): every bad_*.xml is rejected
 *   with the expected text at FILE:LINE, every ok_*.xml loads; truncated and
 *   byte-flipped copies of the real cascade fail cleanly or load;
 * - haar_group clusters, averages, thresholds and drops nested boxes;
 * - on the shared photos with the demo's settings: exactly 2 faces in
 *   two_people and 1 in obama, each overlapping the box verified by eye in
 *   the annotated output (IoU >= 0.5); the exact (OpenCV) scan finds the
 *   same faces;
 * - the scalar, 8-window and coarse-to-fine scans agree where they must;
 * - the tracker keeps ids by overlap, smooths, and retires lost faces. */
#include "check.h"
#include "vision/demo.h"
#include "vision/haar.h"
#include "vision/track.h"
#include "codecs/xml.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS "tests/corpus/haar"
#define OUT "tests/out/haar"
#define FACES "../shared/data/faces"

static uint32_t seed = 99;
static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

static void test_integrals(void)
{
    static const int sizes[][2] = { { 1, 1 }, { 7, 3 }, { 13, 29 }, { 64, 48 }, { 31, 31 } };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int w = sizes[s][0], h = sizes[s][1], stride = w + 3, ost = w + 5;
        uint8_t *img = malloc((size_t)stride * h);
        for (int i = 0; i < stride * h; i++) img[i] = (uint8_t)(rnd() & 255);
        size_t n = (size_t)(w + 1) * (h + 1);
        uint32_t *sum = calloc((size_t)ost * (h + 1), 4), *sq = calloc((size_t)ost * (h + 1), 4);
        uint32_t *rs = calloc(n, 4), *rq = calloc(n, 4), *t = calloc((size_t)ost * (h + 1), 4), *rt = calloc(n, 4);
        uint32_t *scratch = calloc((size_t)(h + 1) * (w + 2 * h + 3), 4);
        haar_integral(img, w, h, (size_t)stride, sum, sq, (size_t)ost);
        haar_integral_naive(img, w, h, (size_t)stride, rs, rq);
        haar_integral_tilted(img, w, h, (size_t)stride, t, (size_t)ost, scratch);
        haar_integral_tilted_naive(img, w, h, (size_t)stride, rt);
        int bad = 0, badt = 0;
        for (int y = 0; y <= h; y++)
            for (int x = 0; x <= w; x++) {
                size_t a = (size_t)y * ost + x, b = (size_t)y * (w + 1) + x;
                bad += sum[a] != rs[b] || sq[a] != rq[b];
                badt += t[a] != rt[b];
            }
        CHECK(bad == 0, "%dx%d: %d integral entries differ", w, h, bad);
        CHECK(badt == 0, "%dx%d: %d tilted entries differ", w, h, badt);
        free(img), free(sum), free(sq), free(rs), free(rq), free(t), free(rt), free(scratch);
    }
    /* the tilted definition by hand: a 3x3 image of ones, T(Y=2, X=2) covers
     * row 1 at x = 1 and row 0 at x = 0..2 */
    uint8_t ones[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    uint32_t tt[16];
    haar_integral_tilted_naive(ones, 3, 3, 3, tt);
    CHECK(tt[2 * 4 + 2] == 4, "tilted(2,2) of ones = %u, want 4", tt[2 * 4 + 2]);
}

static void test_xml(void)
{
    static const struct { const char *text, *want; } bad[] = {
        { "<a><b></a>", "t.xml:1: </a> does not close <b>" },
        { "<a>\n<b>\n", "t.xml:3: unexpected end of file: <b> (opened at line 2)" },
        { "<a x='1' y=\"2\"></a><c/>", "t.xml:1: a second root element" },
        { "<a>&bogus;</a>", "t.xml:1: unknown or malformed entity" },
        { "<a>\n\n<!-- open", "t.xml:3: comment is not closed" },
        { "<a b></a>", "attribute without '=value'" },
        { "<a>x\0y</a>", "NUL byte" },
        { "", "no root element" },
        { "<1a></1a>", "not followed by an element name" },
        { "</a>", "end tag without a start tag" },
        { "<a><![CDATA[x</a>", "CDATA section is not closed" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xml_doc d;
        fer_err e;
        e.msg[0] = 0;
        size_t len = strlen(bad[i].text);
        if (i == 6) len = 10;   /* the NUL case */
        int rc = xml_parse(&d, "t.xml", bad[i].text, len, &e);
        CHECK(rc == -1 && strstr(e.msg, bad[i].want), "case %zu: rc %d, message '%s', want '%s'", i, rc, e.msg,
              bad[i].want);
        if (rc == 0) xml_free(&d);
    }
    const char *good = "<?xml version=\"1.0\"?>\n<!-- c -->\n<r a=\"x&gt;\">t&lt;1&#65;<k>v</k><![CDATA[<z>]]><e/></r>";
    xml_doc d;
    fer_err e;
    CHECK(xml_parse(&d, "g.xml", good, strlen(good), &e) == 0, "%s", e.msg);
    if (d.nodes) {
        CHECK(!strcmp(d.nodes[0].name, "r") && !strcmp(d.nodes[0].text, "t<1A<z>") && d.nodes[0].line == 3,
              "root '%s' text '%s' line %d", d.nodes[0].name, d.nodes[0].text, d.nodes[0].line);
        int k = xml_child(&d, 0, "k");
        CHECK(k > 0 && !strcmp(d.nodes[k].text, "v") && xml_count(&d, 0) == 2 && xml_child(&d, 0, "zz") == -1,
              "children");
        xml_free(&d);
    }
}

static void test_corpus(void)
{
    DIR *dir = opendir(CORPUS);
    CHECK(dir != NULL, "cannot list %s", CORPUS);
    if (!dir) return;
    struct dirent *de;
    int nbad = 0, nok = 0;
    while ((de = readdir(dir))) {
        const char *name = de->d_name;
        size_t nl = strlen(name);
        if (nl < 5 || strcmp(name + nl - 4, ".xml")) continue;
        char path[512];
        snprintf(path, sizeof path, CORPUS "/%s", name);
        FILE *f = fopen(path, "r");
        char first[256] = "";
        if (!f || !fgets(first, sizeof first, f)) {
            CHECK(0, "%s: unreadable", path);
            if (f) fclose(f);
            continue;
        }
        fclose(f);
        char want[200] = "";
        int line = 0;
        char *p = strstr(first, "expect: "), *q = strstr(first, " | line: "), *end = strstr(first, " -->");
        if (!p || !end) {
            CHECK(0, "%s: no '<!-- expect: ... -->' header", path);
            continue;
        }
        p += 8;
        size_t wl = (size_t)((q ? q : end) - p);
        memcpy(want, p, wl < sizeof want ? wl : sizeof want - 1);
        if (q) line = atoi(q + 9);
        haar_cascade c;
        fer_err e;
        e.msg[0] = 0;
        int rc = haar_load(&c, path, &e);
        if (!strncmp(name, "ok_", 3)) {
            nok++;
            CHECK(rc == 0, "%s: %s", path, e.msg);
            if (!rc) {
                CHECK(c.win_w == 24 && c.win_h == 24 && c.nstages == 1 && c.nweak == 1, "%s: shape", path);
                haar_free(&c);
            }
            continue;
        }
        nbad++;
        char at[600];
        snprintf(at, sizeof at, "%s:%d:", path, line);
        CHECK(rc == -1 && strstr(e.msg, want) && (!line || strstr(e.msg, at)), "%s: rc %d, message '%s', want '%s' at %s",
              path, rc, e.msg, want, line ? at : "(any line)");
        if (rc == 0) haar_free(&c);
    }
    closedir(dir);
    CHECK(nbad >= 20 && nok >= 2, "corpus: %d bad, %d ok files", nbad, nok);
    /* the tree + tilted cascade: its shape */
    haar_cascade c;
    fer_err e;
    if (haar_load(&c, CORPUS "/ok_tree_tilted.xml", &e) == 0) {
        CHECK(!c.stumps && c.has_tilted && c.nnodes == 2 && c.nleaves == 3 && c.nodes[0].right == 1 &&
                  c.nodes[1].left == -1 && c.features[1].tilted,
              "tree cascade fields");
        /* runs on an image without trouble (tilted integrals, tree walk) */
        haar_detector d;
        uint8_t img[64 * 48];
        for (int i = 0; i < 64 * 48; i++) img[i] = (uint8_t)(rnd() & 255);
        haar_params p;
        haar_params_default(&p);
        p.min_neighbors = 0;
        CHECK(haar_detector_init(&d, &c, NULL, &e) == 0 && haar_detect(&d, img, 64, 48, 64, &p, &e) == 0 &&
                  d.windows > 0,
              "tree cascade detect: %s", e.msg);
        haar_detector_free(&d);
        haar_free(&c);
    }
}

/* Truncations and byte flips of the real cascade: an error or a cascade,
 * never a crash (the ASan run makes this bite). */
static void test_fuzz(const char *path)
{
    size_t len;
    fer_err e;
    char *text = read_file(path, &len, &e);
    if (!text) return;
    int failed = 0, loaded = 0;
    for (int i = 1; i <= 40; i++) {
        size_t cut = len * i / 41;
        haar_cascade c;
        char name[64];
        snprintf(name, sizeof name, "cut%d.xml", i);
        if (haar_load_text(&c, name, text, cut, &e) == 0) {
            loaded++;
            haar_free(&c);
        } else {
            failed += strstr(e.msg, name) != NULL;
        }
    }
    CHECK(failed == 40, "truncated copies: %d of 40 rejected with a message naming the file (%d loaded)", failed,
          loaded);
    char *copy = malloc(len);
    int ok = 0;
    for (int t = 0; t < 60; t++) {
        memcpy(copy, text, len);
        for (int k = 0; k < 1 + t % 5; k++) copy[rnd() % len] = (char)(rnd() & 255);
        haar_cascade c;
        if (haar_load_text(&c, "flipped.xml", copy, len, &e) == 0) {
            haar_free(&c);
            ok++;
        } else {
            ok += strstr(e.msg, "flipped.xml") != NULL;
        }
    }
    CHECK(ok == 60, "byte-flipped copies: %d of 60 loaded or failed with a message", ok);
    free(copy);
    free(text);
}

static void test_group(void)
{
    fer_err e;
    haar_box in[] = {
        { 100, 100, 50, 50, 0 }, { 102, 101, 50, 50, 0 }, { 98, 99, 52, 52, 0 }, { 101, 100, 49, 49, 0 },   /* a face */
        { 300, 40, 40, 40, 0 },                                                                            /* alone */
        { 110, 110, 20, 20, 0 }, { 111, 110, 20, 20, 0 },   /* nested in the face, weaker */
    };
    haar_box out[8];
    int n = haar_group(in, 7, 1, 0.2f, out, &e);
    CHECK(n == 1, "grouped into %d boxes, want 1", n);
    if (n >= 1) CHECK(out[0].x == 100 && out[0].y == 100 && out[0].w == 50 && out[0].neighbors == 4,
                      "average %d %d %d (%d)", out[0].x, out[0].y, out[0].w, out[0].neighbors);
    n = haar_group(in, 7, 0, 0.2f, out, &e);
    CHECK(n == 2, "threshold 0 keeps the single box and the face (nested dropped): %d", n);
    n = haar_group(in, 7, 4, 0.2f, out, &e);
    CHECK(n == 0, "4 neighbours are not more than 4: %d", n);
    haar_box a = { 0, 0, 10, 10, 0 }, b = { 5, 0, 10, 10, 0 }, c = { 20, 20, 5, 5, 0 };
    CHECK_CLOSE(box_iou(&a, &b), 50.0 / 150.0, 1e-6, 0, "iou");
    CHECK(box_iou(&a, &c) == 0, "disjoint iou");
}

/* An 8-bit gray image from a PGM/PNG/JPEG (via fer's loader). */
static uint8_t *load_gray(const char *path, int *w, int *h)
{
    fer_image im;
    fer_err e;
    if (fer_image_load(&im, path, &e)) return NULL;
    size_t n = (size_t)im.w * im.h;
    uint8_t *g = malloc(n);
    for (size_t i = 0; i < n; i++) {
        float v = im.c == 1 ? im.data[i] : 0.299f * im.data[i] + 0.587f * im.data[n + i] + 0.114f * im.data[2 * n + i];
        g[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    *w = im.w;
    *h = im.h;
    fer_image_free(&im);
    return g;
}

typedef struct expected { const char *image; int n; haar_box faces[2]; } expected;

/* Boxes verified by looking at `fer demo -i IMAGE -o OUT.png` (the left and
 * right faces in two_people; the face in obama). */
static const expected verified[] = {
    { FACES "/two_people.pgm", 2, { { 235, 29, 177, 177, 0 }, { 786, 64, 170, 170, 0 } } },
    { FACES "/obama.pgm", 1, { { 342, 95, 300, 300, 0 } } },
};

static void check_faces(const char *what, const expected *x, const haar_box *got, int n)
{
    CHECK(n == x->n, "%s %s: %d faces, want %d", what, x->image, n, x->n);
    for (int k = 0; k < x->n; k++) {
        float best = 0;
        for (int i = 0; i < n; i++) {
            float iou = box_iou(&x->faces[k], &got[i]);
            if (iou > best) best = iou;
        }
        CHECK(best >= 0.5f, "%s %s: face %d (%d,%d %dx%d) best IoU %.2f", what, x->image, k, x->faces[k].x,
              x->faces[k].y, x->faces[k].w, x->faces[k].h, best);
    }
}

static void test_photos(const haar_cascade *c, fer_ctx *ctx)
{
    for (size_t i = 0; i < sizeof verified / sizeof verified[0]; i++) {
        int w, h;
        uint8_t *g = load_gray(verified[i].image, &w, &h);
        if (!g) {
            printf("note: %s is absent; the photo checks are skipped\n", verified[i].image);
            continue;
        }
        fer_err e;
        haar_detector d;
        CHECK(haar_detector_init(&d, c, ctx, &e) == 0, "%s", e.msg);
        /* the demo's settings */
        demo_options o;
        demo_options_default(&o);
        haar_params p = o.haar;
        p.min_size = (w < h ? w : h) / 10;
        CHECK(haar_detect(&d, g, w, h, (size_t)w, &p, &e) == 0, "%s", e.msg);
        check_faces("demo settings", &verified[i], d.boxes, d.nboxes);
        for (int k = 0; k < d.nboxes; k++)
            printf("%s: face %d,%d %dx%d (%d neighbours)\n", verified[i].image, d.boxes[k].x, d.boxes[k].y,
                   d.boxes[k].w, d.boxes[k].h, d.boxes[k].neighbors);
        /* the exact OpenCV-style scan, same thresholds */
        p.coarse_stage = 0;
        CHECK(haar_detect(&d, g, w, h, (size_t)w, &p, &e) == 0, "%s", e.msg);
        check_faces("exact scan", &verified[i], d.boxes, d.nboxes);
        /* raw windows: the 8-window path equals the scalar one, exact and coarse */
        for (int coarse = 0; coarse <= 6; coarse += 6) {
            p.coarse_stage = coarse;
            p.min_neighbors = 0;
            d.dense = 1;
            CHECK(haar_detect(&d, g, w, h, (size_t)w, &p, &e) == 0, "%s", e.msg);
            int n1 = d.nboxes;
            haar_box *b1 = malloc((size_t)(n1 ? n1 : 1) * sizeof *b1);
            memcpy(b1, d.boxes, (size_t)n1 * sizeof *b1);
            long w1 = d.windows;
            d.dense = 0;
            CHECK(haar_detect(&d, g, w, h, (size_t)w, &p, &e) == 0, "%s", e.msg);
            CHECK(n1 > 10 && n1 == d.nboxes && !memcmp(b1, d.boxes, (size_t)n1 * sizeof *b1) && w1 == d.windows,
                  "%s coarse %d: vector path %d windows (%ld scanned), scalar %d (%ld)", verified[i].image, coarse,
                  n1, w1, d.nboxes, d.windows);
            free(b1);
            p.min_neighbors = o.haar.min_neighbors;
        }
        haar_detector_free(&d);
        free(g);
    }
}

static void test_tracker(void)
{
    tracker tr;
    tracker_init(&tr, 3);
    haar_box f1[] = { { 100, 100, 50, 50, 0 }, { 300, 100, 60, 60, 0 } };
    int match[4];
    tracker_update(&tr, f1, 2, match);
    CHECK(tr.n == 2 && tr.t[0].id == 1 && tr.t[1].id == 2 && match[0] == 0 && match[1] == 1, "two new tracks");
    /* the faces move a little and come in the other order */
    haar_box f2[] = { { 306, 102, 60, 60, 0 }, { 104, 98, 50, 50, 0 } };
    tracker_update(&tr, f2, 2, match);
    CHECK(tr.n == 2 && match[0] == 1 && match[1] == 0 && tr.t[0].id == 1 && tr.t[1].id == 2, "ids follow overlap");
    CHECK_CLOSE(tr.t[0].x, 100 + tr.box_alpha * 4, 1e-4, 0, "box EMA");
    float p1[3] = { 1, 0, 0 }, p2[3] = { 0, 1, 0 };
    tracker_smooth(&tr, &tr.t[0], p1);
    CHECK(tr.t[0].probs[0] == 1, "the first probabilities are taken as they are");
    tracker_smooth(&tr, &tr.t[0], p2);
    CHECK_CLOSE(tr.t[0].probs[0], 1 - tr.prob_alpha, 1e-6, 0, "probability EMA");
    CHECK_CLOSE(tr.t[0].probs[1], tr.prob_alpha, 1e-6, 0, "probability EMA");
    /* face 2 disappears: it survives max_misses frames, then goes */
    haar_box f3[] = { { 104, 98, 50, 50, 0 } };
    for (int k = 0; k < tr.max_misses; k++) tracker_update(&tr, f3, 1, NULL);
    CHECK(tr.n == 2 && tr.t[1].misses == tr.max_misses && !tr.t[1].matched, "lost face kept for a while");
    tracker_update(&tr, f3, 1, NULL);
    CHECK(tr.n == 1 && tr.t[0].id == 1, "lost face retired");
    /* a far-away detection starts a new track with a new id */
    haar_box f4[] = { { 500, 300, 40, 40, 0 } };
    tracker_update(&tr, f4, 1, match);
    CHECK(tr.n == 2 && tr.t[1].id == 3 && match[0] == 1, "new id 3");
}

int main(void)
{
    if (system("mkdir -p " OUT) != 0) return 1;
    test_integrals();
    test_xml();
    test_corpus();
    test_group();
    test_tracker();
    const char *path = haar_default_path();
    if (!path) {
        printf("note: no frontal-face cascade (%s); the detection checks are skipped\n", HAAR_APT_HINT);
    } else {
        haar_cascade c;
        fer_err e;
        CHECK(haar_load(&c, path, &e) == 0, "%s", e.msg);
        CHECK(c.stumps && c.nstages == 25 && c.nweak == 2913 && c.win_w == 24, "default cascade: %d stages %d weak",
              c.nstages, c.nweak);
        fer_ctx *ctx = NULL;
        CHECK(fer_ctx_new(&ctx, 2, NULL, &e) == 0, "%s", e.msg);
        test_photos(&c, ctx);
        fer_ctx_free(ctx);
        haar_free(&c);
        test_fuzz(path);
    }
    return check_summary("test_haar");
}
