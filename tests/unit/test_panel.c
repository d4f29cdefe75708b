/* test_panel.c - where the demo puts each face's panel (panel_place): on
 * synthetic frames with several face boxes, every panel placed lies inside
 * the frame below the status line and covers no face box and no other
 * panel; a panel is placed whenever a free spot exists beside, below or
 * above its face; and a frame with no room anywhere gets no panel rather
 * than one over a face. */
#include "check.h"
#include "vision/demo.h"

#include <stdlib.h>

static int overlap(panel_rect p, haar_box b)
{
    return p.x < b.x + b.w && b.x < p.x + p.w && p.y < b.y + b.h && b.y < p.y + p.h;
}

/* Places a panel for every face in order, as demo_annotate does, and checks
 * each one; returns how many were placed. */
static int place_all(const haar_box *boxes, int n, int fw, int fh, int top, int pw, int ph, const char *what)
{
    panel_rect placed[32];
    int np = 0;
    for (int i = 0; i < n; i++) {
        panel_rect p;
        if (panel_place(boxes, n, i, fw, fh, top, pw, ph, placed, np, &p)) continue;
        CHECK(p.x >= 0 && p.y >= top && p.x + p.w <= fw && p.y + p.h <= fh, "%s: face %d's panel leaves the frame",
              what, i);
        for (int j = 0; j < n; j++)
            CHECK(!overlap(p, boxes[j]), "%s: face %d's panel (%d,%d %dx%d) covers face %d", what, i, p.x, p.y, p.w,
                  p.h, j);
        for (int j = 0; j < np; j++) {
            haar_box q = { placed[j].x, placed[j].y, placed[j].w, placed[j].h, 0 };
            CHECK(!overlap(p, q), "%s: face %d's panel covers panel %d", what, i, j);
        }
        placed[np++] = p;
    }
    return np;
}

int main(void)
{
    /* two people side by side in 640x480: the right of the left face is the other face */
    haar_box two[2] = { { 120, 90, 150, 150, 0 }, { 290, 100, 150, 150, 0 } };
    CHECK(place_all(two, 2, 640, 480, 14, 150, 110, "640x480 two faces") == 2, "640x480: both panels placed");
    /* one face filling a 320x240 frame: no room beside it for a full panel */
    haar_box big[1] = { { 40, 20, 230, 210, 0 } };
    int n = place_all(big, 1, 320, 240, 14, 150, 110, "320x240 big face");
    CHECK(n == 0, "320x240: a panel that fits nowhere is left out, not drawn over the face (placed %d)", n);
    CHECK(place_all(big, 1, 320, 240, 14, 40, 20, "320x240 small panel") == 1, "320x240: a small panel fits");
    /* random crowds */
    srand(11);
    for (int t = 0; t < 500; t++) {
        int fw = 200 + rand() % 1200, fh = 150 + rand() % 900, nb = 1 + rand() % 8;
        haar_box b[8];
        for (int i = 0; i < nb; i++) {
            int s = 24 + rand() % (fw < fh ? fw / 3 : fh / 3);
            b[i] = (haar_box){ rand() % (fw - s), rand() % (fh - s), s, s, 0 };
        }
        place_all(b, nb, fw, fh, 14, 60 + rand() % 120, 30 + rand() % 100, "random frame");
    }
    /* a free spot is found: a face alone in a large frame always gets its panel */
    haar_box one[1] = { { 500, 300, 120, 120, 0 } };
    CHECK(place_all(one, 1, 1280, 720, 14, 150, 110, "1280x720 one face") == 1, "a lone face gets its panel");
    return check_summary("test_panel");
}
