/* gallery.c - pictures of explanations: a grid of images with heat maps,
 * frames and captions, and the per-class grid of correct and misclassified
 * examples with their Grad-CAMs. */
#include "analysis.h"

#include <stdlib.h>
#include <string.h>

#define INK RGB(40, 40, 40)

static int caption_scale(const char *s, int width)
{
    return text_width(s, 2) <= width ? 2 : 1;
}

int gallery_draw(canvas *c, const gallery_item *items, int n, const gallery_layout *L, fer_err *e)
{
    int cols = L->cols, cell = L->cell;
    if (n < 1 || cols < 1 || cell < 8) return fer_fail(e, "gallery: nothing to draw");
    int nrows = (n + cols - 1) / cols;
    if (L->row_titles && L->rows < nrows) return fer_fail(e, "gallery: %d row titles for %d rows", L->rows, nrows);
    int left = 12;
    if (L->row_titles) {
        int tw = 0;
        for (int r = 0; r < nrows; r++) {
            int w = text_width(L->row_titles[r], 2);
            if (w > tw) tw = w;
        }
        left += tw + 16;
    }
    int groups = L->group_cols > 0 ? (cols + L->group_cols - 1) / L->group_cols : 0;
    int top = (L->title ? 48 : 12) + (groups ? 30 : 0), gap = 24, group_gap = 28, lines = 0;
    for (int i = 0; i < n; i++)
        for (int l = 0; l < 3; l++)
            if (items[i].caption[l][0] && l + 1 > lines) lines = l + 1;
    int cw = cell + gap, ch = cell + lines * text_height(2) + 16;
    int W = left + cols * cw + (groups > 1 ? (groups - 1) * group_gap : 0) + 4, H = top + nrows * ch + 4;
    if (L->title && text_width(L->title, 2) + 24 > W) W = text_width(L->title, 2) + 24;
    if (canvas_new(c, W, H, e)) return -1;
    canvas_fill(c, RGB(252, 252, 252));
    if (L->title) canvas_text(c, 12, 16, L->title, INK, 2);
    for (int g = 0; g < groups && g < 8; g++) {
        int x0 = left + g * (L->group_cols * cw + group_gap), span = L->group_cols * cw - gap;
        const char *t = L->group_titles[g] ? L->group_titles[g] : "";
        canvas_text(c, x0 + (span - text_width(t, 2)) / 2, top - 30, t, INK, 2);
        canvas_fill_rect(c, x0, top - 10, span, 2, RGB(180, 180, 180));
    }
    for (int r = 0; r < nrows && L->row_titles; r++)
        canvas_text(c, 12, top + r * ch + cell / 2 - 8, L->row_titles[r], INK, 2);
    for (int i = 0; i < n; i++) {
        const gallery_item *it = &items[i];
        int col = i % cols;
        int x = left + col * cw + (groups ? col / L->group_cols * group_gap : 0), y = top + (i / cols) * ch;
        if (!it->im.data && !it->map) {
            canvas_fill_rect(c, x, y, cell, cell, RGB(236, 236, 236));
            canvas_text(c, x + (cell - text_width("none", 2)) / 2, y + cell / 2 - 8, "none", RGB(150, 150, 150), 2);
        } else {
            if (it->im.data && (it->overlay || !it->map)) canvas_blit(c, &it->im, x, y, cell, cell);
            else canvas_fill_rect(c, x, y, cell, cell, RGB(0, 0, 0));
            if (it->map) canvas_heat(c, it->map, it->mw, it->mh, x, y, cell, cell, it->overlay ? 0.45f : 1.0f);
        }
        if (it->frame) canvas_rect(c, x - 3, y - 3, cell + 6, cell + 6, it->frame, 3);
        for (int l = 0; l < 3; l++) {
            const char *s = it->caption[l];
            if (!*s) continue;
            int sc = caption_scale(s, cell + gap - 10);
            canvas_text(c, x, y + cell + 6 + l * text_height(2), s, INK, sc);
        }
    }
    return 0;
}

typedef struct ranked { int i; float p; } ranked;

static int by_p_desc(const void *a, const void *b)
{
    float pa = ((const ranked *)a)->p, pb = ((const ranked *)b)->p;
    if (pa != pb) return pa > pb ? -1 : 1;
    return ((const ranked *)a)->i - ((const ranked *)b)->i;
}

int gradcam_grid(canvas *c, network *net, const dataset *ds, const float *probs, char **names, int per, int cam_layer,
                 const char *title, fer_err *e)
{
    int C = net->classes;
    if (per < 1 || per > 32) return fer_fail(e, "grid: %d examples per group (1..32)", per);
    if (ds->classes != C) return fer_fail(e, "grid: the dataset has %d classes, the network %d", ds->classes, C);
    explanation x;
    if (explanation_init(&x, net, cam_layer, e)) return -1;
    int cols = 2 * per, n = C * cols;
    gallery_item *items = calloc((size_t)n, sizeof *items);
    ranked *good = malloc((size_t)ds->n * sizeof *good), *bad = malloc((size_t)ds->n * sizeof *bad);
    float *map = malloc((size_t)n * x.w * x.h * sizeof(float));
    int rc = items && good && bad && map ? 0 : fer_fail(e, "out of memory");
    rng r;
    rng_seed(&r, 1);
    for (int k = 0; k < C && !rc; k++) {
        int ng = 0, nb = 0;
        for (int i = 0; i < ds->n; i++) {
            if (ds->labels[i] != k) continue;
            const float *p = probs + (size_t)i * C;
            int best = 0;
            for (int j = 1; j < C; j++)
                if (p[j] > p[best]) best = j;
            if (best == k) good[ng++] = (ranked){ i, p[best] };
            else bad[nb++] = (ranked){ i, p[best] };
        }
        qsort(good, (size_t)ng, sizeof *good, by_p_desc);
        qsort(bad, (size_t)nb, sizeof *bad, by_p_desc);
        for (int s = 0; s < cols && !rc; s++) {
            int wrong = s >= per, idx = wrong ? s - per : s;
            if (idx >= (wrong ? nb : ng)) continue;
            int i = wrong ? bad[idx].i : good[idx].i;
            gallery_item *it = &items[k * cols + s];
            fer_image *im = &it->im;
            im->w = x.w;
            im->h = x.h;
            im->c = x.c;
            im->data = fer_alloc((size_t)x.w * x.h * x.c, sizeof(float), e);
            if (!im->data) { rc = -1; break; }
            augment_sample(ds, i, &net->opt, 0, 0, &r, im->data, x.w, x.h);
            int pred;
            if (explain(net, im->data, -1, &x, &pred, e)) { rc = -1; break; }
            float *m = map + (size_t)(k * cols + s) * x.w * x.h, mx = 0;
            for (int q = 0; q < x.w * x.h; q++)
                if (x.cam_input[q] > mx) mx = x.cam_input[q];
            for (int q = 0; q < x.w * x.h; q++) m[q] = mx > 0 ? x.cam_input[q] / mx : 0;
            it->map = m;
            it->mw = x.w;
            it->mh = x.h;
            it->overlay = 1;
            it->frame = wrong ? RGB(214, 39, 40) : RGB(44, 160, 44);
            snprintf(it->caption[0], sizeof it->caption[0], "%s %.0f%%", names[pred], 100.0 * x.probs[pred]);
            snprintf(it->caption[1], sizeof it->caption[1], "#%d", i);
        }
    }
    gallery_layout L = { cols, 120, title, names, C, per, { "correct (most confident first)", "misclassified (most confident first)" } };
    if (per < 3) {   /* what fits over `per` cells */
        L.group_titles[0] = "correct";
        L.group_titles[1] = per == 2 ? "misclassified" : "wrong";
    }
    if (!rc) rc = gallery_draw(c, items, n, &L, e);
    for (int i = 0; items && i < n; i++) fer_image_free(&items[i].im);
    free(items);
    free(good);
    free(bad);
    free(map);
    explanation_free(&x);
    return rc;
}
