/* chart.c - charts fer draws itself, each both on a canvas (for PNG) and as
 * SVG text with the same layout: line charts (training history), grouped
 * bar charts (class distribution) and the confusion-matrix heat map; and
 * the reader of the training log CSV they plot. */
#include "analysis.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the training log ------------------------------------------------------ */

const char *const history_columns[7] = { "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds" };

/* Appends b to a, epochs and seconds continuing from a's last. */
static int history_append(history *a, const history *b, fer_err *e)
{
    double epoch0 = a->n ? a->col[H_EPOCH][a->n - 1] : 0, sec0 = a->n ? a->col[H_SECONDS][a->n - 1] : 0;
    for (int c = 0; c < 7; c++) {
        double *p = realloc(a->col[c], (size_t)(a->n + b->n) * sizeof *p);
        if (!p) return fer_fail(e, "out of memory");
        a->col[c] = p;
        for (int i = 0; i < b->n; i++)
            p[a->n + i] = b->col[c][i] + (c == H_EPOCH ? epoch0 : c == H_SECONDS && !isnan(sec0) ? sec0 : 0);
    }
    a->n += b->n;
    return 0;
}

int history_read_all(history *h, const char *path, fer_err *e)
{
    if (!str_ends_with(path, ".history")) return history_read(h, path, e);
    memset(h, 0, sizeof *h);
    size_t len, pos = 0, a, b;
    char *text = read_text_file(path, &len, e);
    if (!text) return -1;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 0, line = 0, rc = 0, logs = 0;
    while (!rc && text_next_line(text, len, &pos, &a, &b)) {
        line++;
        while (a < b && (text[a] == ' ' || text[a] == '\t')) a++;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t')) b--;
        if (a == b || text[a] == '#') continue;
        char name[2048], log[4200];
        snprintf(name, sizeof name, "%.*s", (int)(b - a), text + a);
        if (name[0] == '/' || !slash) snprintf(log, sizeof log, "%s", name);
        else snprintf(log, sizeof log, "%.*s/%s", dirlen, path, name);
        history one;
        if (history_read(&one, log, e)) {
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e->msg);
            rc = fer_fail(e, "%s:%d: %s", path, line, why);
            break;
        }
        rc = history_append(h, &one, e);
        history_free(&one);
        logs++;
    }
    free(text);
    if (!rc && !logs) rc = fer_fail(e, "%s: lists no log", path);
    if (rc) history_free(h);
    return rc;
}

void history_free(history *h)
{
    for (int k = 0; k < 7; k++) free(h->col[k]);
    memset(h, 0, sizeof *h);
}

int history_read(history *h, const char *path, fer_err *e)
{
    memset(h, 0, sizeof *h);
    size_t len;
    char *text = read_file(path, &len, e);
    if (!text) return -1;
    if (memchr(text, 0, len)) {
        free(text);
        return fer_fail(e, "%s: not a text file (a training log CSV: epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds)", path);
    }
    int map[64];   /* CSV column -> history column, -1 = ignored */
    int ncols = 0, rows = 0, rc = 0, line = 1;
    char *p = text;
    char *eol = strchr(p, '\n');
    if (eol) *eol = 0;
    /* header */
    for (char *tok = p;; ncols++) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        char *t = tok;
        while (isspace((unsigned char)*t)) t++;
        char *end = t + strlen(t);
        while (end > t && isspace((unsigned char)end[-1])) *--end = 0;
        if (ncols >= 64) { rc = fer_fail(e, "%s:1: more than 64 columns", path); break; }
        map[ncols] = -1;
        for (int k = 0; k < 7; k++)
            if (!strcmp(t, history_columns[k])) map[ncols] = k;
        if (!comma) { ncols++; break; }
        tok = comma + 1;
    }
    int have_epoch = 0, have_value = 0;
    for (int c = 0; c < ncols && !rc; c++) {
        have_epoch |= map[c] == H_EPOCH;
        have_value |= map[c] > H_EPOCH && map[c] < H_LR;
    }
    if (!rc && (!have_epoch || !have_value))
        rc = fer_fail(e, "%s:1: expected a header with 'epoch' and at least one of train_loss, train_acc, val_loss, val_acc "
                         "(fer's training log)", path);
    int cap = 0;
    p = eol ? eol + 1 : p + strlen(p);
    while (!rc && *p) {
        line++;
        eol = strchr(p, '\n');
        if (eol) *eol = 0;
        char *q = p;
        while (isspace((unsigned char)*q)) q++;
        if (*q) {
            if (rows == cap) {
                cap = cap ? cap * 2 : 64;
                for (int k = 0; k < 7 && !rc; k++) {
                    double *nc = realloc(h->col[k], (size_t)cap * sizeof(double));
                    if (!nc) rc = fer_fail(e, "out of memory");
                    else h->col[k] = nc;
                }
                if (rc) break;
            }
            for (int k = 0; k < 7; k++) h->col[k][rows] = NAN;
            char *tok = p;
            for (int c = 0; c < ncols; c++) {
                char *comma = strchr(tok, ',');
                if (comma) *comma = 0;
                char *end;
                while (isspace((unsigned char)*tok)) tok++;
                if (*tok) {
                    double v = strtod(tok, &end);
                    while (isspace((unsigned char)*end)) end++;
                    if (end == tok || *end || !isfinite(v)) {
                        rc = fer_fail(e, "%s:%d: column %d ('%s') is not a number", path, line, c + 1, tok);
                        break;
                    }
                    if (map[c] >= 0) h->col[map[c]][rows] = v;
                }
                if (!comma) {
                    if (c + 1 < ncols) rc = fer_fail(e, "%s:%d: %d fields, the header has %d", path, line, c + 1, ncols);
                    break;
                }
                if (c + 1 == ncols) rc = fer_fail(e, "%s:%d: more fields than the header's %d", path, line, ncols);
                tok = comma + 1;
            }
            if (!rc && isnan(h->col[H_EPOCH][rows])) rc = fer_fail(e, "%s:%d: no epoch number", path, line);
            rows++;
        }
        if (!eol) break;
        p = eol + 1;
    }
    free(text);
    h->n = rows;
    if (!rc && rows == 0) rc = fer_fail(e, "%s: no epochs logged yet (only a header)", path);
    if (rc) history_free(h);
    return rc;
}

/* ---- axes ------------------------------------------------------------------ */

typedef struct axis { double lo, hi, step; int decimals; } axis;

static axis nice_axis(double lo, double hi, int target, int integer)
{
    axis a;
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
    if (integer && step < 1) step = 1;
    a.step = step;
    a.lo = floor(lo / step + 1e-9) * step;
    a.hi = ceil(hi / step - 1e-9) * step;
    if (a.hi <= a.lo) a.hi = a.lo + step;
    a.decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    return a;
}

static void series_range(const line_chart *ch, double *xlo, double *xhi, double *ylo, double *yhi)
{
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (int s = 0; s < ch->n_series; s++)
        for (int i = 0; i < ch->series[s].n; i++) {
            double x = ch->series[s].x[i], y = ch->series[s].y[i];
            if (isnan(x) || isnan(y)) continue;
            if (x < *xlo) *xlo = x;
            if (x > *xhi) *xhi = x;
            if (y < *ylo) *ylo = y;
            if (y > *yhi) *yhi = y;
        }
    if (*xlo > *xhi) { *xlo = 0; *xhi = 1; }
    if (*ylo > *yhi) { *ylo = 0; *yhi = 1; }
    if (ch->ymin < ch->ymax) { *ylo = ch->ymin; *yhi = ch->ymax; }
}

/* The plot area inside a w x h chart and its axes. */
typedef struct plot { int x0, y0, w, h; axis ax, ay; } plot;

static plot line_plot(int x, int y, int w, int h, const line_chart *ch)
{
    plot p;
    double xlo, xhi, ylo, yhi;
    series_range(ch, &xlo, &xhi, &ylo, &yhi);
    int integer_x = 1;
    for (int s = 0; s < ch->n_series; s++)
        for (int i = 0; i < ch->series[s].n; i++)
            if (ch->series[s].x[i] != floor(ch->series[s].x[i])) integer_x = 0;
    p.ax = nice_axis(xlo, xhi, 8, integer_x);
    p.ay = nice_axis(ylo, yhi, 6, 0);
    if (ch->ymin < ch->ymax) { p.ay.lo = ch->ymin; p.ay.hi = ch->ymax; }
    p.x0 = x + 84;
    p.y0 = y + 64;
    p.w = w - 84 - 24;
    p.h = h - 64 - 64;
    return p;
}

static double px_x(const plot *p, double v) { return p->x0 + (v - p->ax.lo) / (p->ax.hi - p->ax.lo) * p->w; }
static double px_y(const plot *p, double v) { return p->y0 + p->h - (v - p->ay.lo) / (p->ay.hi - p->ay.lo) * p->h; }

/* ---- line charts ------------------------------------------------------------ */

#define INK RGB(40, 40, 40)
#define GRID RGB(225, 225, 225)

void line_chart_draw(canvas *c, int x, int y, int w, int h, const line_chart *ch)
{
    plot p = line_plot(x, y, w, h, ch);
    canvas_fill_rect(c, x, y, w, h, RGB(255, 255, 255));
    if (ch->title) canvas_text(c, p.x0, y + 10, ch->title, INK, 2);
    if (ch->ylabel) canvas_text(c, p.x0, p.y0 - 22, ch->ylabel, INK, 2);
    char buf[64];
    for (double v = p.ay.lo; v <= p.ay.hi + p.ay.step * 1e-6; v += p.ay.step) {
        int py = (int)lround(px_y(&p, v));
        canvas_line(c, p.x0, py, p.x0 + p.w, py, GRID);
        snprintf(buf, sizeof buf, "%.*f", p.ay.decimals, v);
        canvas_text(c, p.x0 - 8 - text_width(buf, 2), py - 7, buf, INK, 2);
    }
    for (double v = p.ax.lo; v <= p.ax.hi + p.ax.step * 1e-6; v += p.ax.step) {
        int px = (int)lround(px_x(&p, v));
        canvas_line(c, px, p.y0 + p.h, px, p.y0 + p.h + 5, INK);
        snprintf(buf, sizeof buf, "%.*f", p.ax.decimals, v);
        canvas_text(c, px - text_width(buf, 2) / 2, p.y0 + p.h + 10, buf, INK, 2);
    }
    if (ch->xlabel) canvas_text(c, p.x0 + (p.w - text_width(ch->xlabel, 2)) / 2, p.y0 + p.h + 36, ch->xlabel, INK, 2);
    canvas_line(c, p.x0, p.y0, p.x0, p.y0 + p.h, INK);
    canvas_line(c, p.x0, p.y0 + p.h, p.x0 + p.w, p.y0 + p.h, INK);
    for (int s = 0; s < ch->n_series; s++) {
        const chart_series *se = &ch->series[s];
        int have = 0, lx = 0, ly = 0;
        for (int i = 0; i < se->n; i++) {
            if (isnan(se->x[i]) || isnan(se->y[i])) { have = 0; continue; }
            int px = (int)lround(px_x(&p, se->x[i])), py = (int)lround(px_y(&p, se->y[i]));
            if (have) canvas_thick_line(c, lx, ly, px, py, se->color, 3);
            if (se->n <= 60) canvas_fill_rect(c, px - 3, py - 3, 7, 7, se->color);
            have = 1;
            lx = px;
            ly = py;
        }
    }
    /* legend: one row above the plot, right-aligned */
    int lx = p.x0 + p.w;
    for (int s = ch->n_series - 1; s >= 0; s--) {
        lx -= text_width(ch->series[s].name, 2) + 40 + 18;
        canvas_thick_line(c, lx, p.y0 - 26, lx + 32, p.y0 - 26, ch->series[s].color, 3);
        canvas_text(c, lx + 40, p.y0 - 33, ch->series[s].name, INK, 2);
    }
}

static void svg_color(strbuf *b, uint32_t c) { sb_printf(b, "#%06x", (unsigned)(c & 0xffffff)); }

static void svg_text(strbuf *b, double x, double y, const char *anchor, int size, const char *extra, const char *s)
{
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s>", x, y, anchor, size, extra);
    sb_escape(b, s);
    sb_printf(b, "</text>\n");
}

static void svg_open(strbuf *b, int w, int h)
{
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" fill=\"#282828\">\n"
                 "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", w, h, w, h, w, h);
}

void line_chart_svg(strbuf *b, int w, int h, const line_chart *ch)
{
    plot p = line_plot(0, 0, w, h, ch);
    svg_open(b, w, h);
    if (ch->title) svg_text(b, p.x0, 24, "start", 18, " font-weight=\"bold\"", ch->title);
    if (ch->ylabel) svg_text(b, p.x0, p.y0 - 14, "start", 14, "", ch->ylabel);
    char buf[64];
    for (double v = p.ay.lo; v <= p.ay.hi + p.ay.step * 1e-6; v += p.ay.step) {
        double py = px_y(&p, v);
        sb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e1e1e1\"/>\n", p.x0, py, p.x0 + p.w, py);
        snprintf(buf, sizeof buf, "%.*f", p.ay.decimals, v);
        svg_text(b, p.x0 - 8, py + 5, "end", 13, "", buf);
    }
    for (double v = p.ax.lo; v <= p.ax.hi + p.ax.step * 1e-6; v += p.ax.step) {
        double px = px_x(&p, v);
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#282828\"/>\n", px, p.y0 + p.h, px,
                  p.y0 + p.h + 5);
        snprintf(buf, sizeof buf, "%.*f", p.ax.decimals, v);
        svg_text(b, px, p.y0 + p.h + 22, "middle", 13, "", buf);
    }
    if (ch->xlabel) svg_text(b, p.x0 + p.w / 2.0, p.y0 + p.h + 48, "middle", 14, "", ch->xlabel);
    sb_printf(b, "<path d=\"M%d %d V%d H%d\" fill=\"none\" stroke=\"#282828\"/>\n", p.x0, p.y0, p.y0 + p.h, p.x0 + p.w);
    for (int s = 0; s < ch->n_series; s++) {
        const chart_series *se = &ch->series[s];
        sb_printf(b, "<path fill=\"none\" stroke-width=\"2.5\" stroke=\"");
        svg_color(b, se->color);
        sb_printf(b, "\"%s d=\"", se->dashed ? " stroke-dasharray=\"7 4\"" : "");
        int have = 0;
        for (int i = 0; i < se->n; i++) {
            if (isnan(se->x[i]) || isnan(se->y[i])) { have = 0; continue; }
            sb_printf(b, "%s%.1f %.1f ", have ? "L" : "M", px_x(&p, se->x[i]), px_y(&p, se->y[i]));
            have = 1;
        }
        sb_printf(b, "\"/>\n");
        if (se->n <= 60)
            for (int i = 0; i < se->n; i++) {
                if (isnan(se->x[i]) || isnan(se->y[i])) continue;
                sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"", px_x(&p, se->x[i]), px_y(&p, se->y[i]));
                svg_color(b, se->color);
                sb_printf(b, "\"><title>");
                snprintf(buf, sizeof buf, "%s: epoch %g, %.4f", se->name, se->x[i], se->y[i]);
                sb_escape(b, buf);
                sb_printf(b, "</title></circle>\n");
            }
    }
    double lx = p.x0 + p.w;
    for (int s = ch->n_series - 1; s >= 0; s--) {
        lx -= 8.5 * strlen(ch->series[s].name) + 36 + 18;
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke-width=\"2.5\" stroke=\"", lx, p.y0 - 20,
                  lx + 28, p.y0 - 20);
        svg_color(b, ch->series[s].color);
        sb_printf(b, "\"%s/>\n", ch->series[s].dashed ? " stroke-dasharray=\"7 4\"" : "");
        svg_text(b, lx + 34, p.y0 - 15, "start", 14, "", ch->series[s].name);
    }
    sb_printf(b, "</svg>\n");
}

/* ---- bar charts ------------------------------------------------------------- */

static plot bar_plot(int x, int y, int w, int h, const bar_chart *ch)
{
    plot p;
    double hi = 0;
    for (int s = 0; s < ch->n_series; s++)
        for (int g = 0; g < ch->groups; g++)
            if (ch->values[s][g] > hi) hi = ch->values[s][g];
    p.ay = nice_axis(0, hi > 0 ? hi * 1.08 : 1, 6, 1);
    p.ax = nice_axis(0, 1, 1, 0);
    p.x0 = x + 96;
    p.y0 = y + 70;
    p.w = w - 96 - 24;
    p.h = h - 70 - 56;
    return p;
}

void bar_chart_draw(canvas *c, int x, int y, int w, int h, const bar_chart *ch)
{
    plot p = bar_plot(x, y, w, h, ch);
    canvas_fill_rect(c, x, y, w, h, RGB(255, 255, 255));
    if (ch->title) canvas_text(c, x + (w - text_width(ch->title, 2)) / 2, y + 10, ch->title, INK, 2);
    if (ch->ylabel) canvas_text(c, p.x0, p.y0 - 24, ch->ylabel, INK, 2);
    char buf[64];
    for (double v = p.ay.lo; v <= p.ay.hi + p.ay.step * 1e-6; v += p.ay.step) {
        int py = (int)lround(px_y(&p, v));
        canvas_line(c, p.x0, py, p.x0 + p.w, py, GRID);
        snprintf(buf, sizeof buf, "%.0f", v);
        canvas_text(c, p.x0 - 8 - text_width(buf, 2), py - 7, buf, INK, 2);
    }
    double gw = (double)p.w / (ch->groups > 0 ? ch->groups : 1);
    double bw = gw * 0.8 / (ch->n_series > 0 ? ch->n_series : 1);
    for (int g = 0; g < ch->groups; g++) {
        for (int s = 0; s < ch->n_series; s++) {
            double v = ch->values[s][g];
            int bx = (int)lround(p.x0 + g * gw + gw * 0.1 + s * bw);
            int top = (int)lround(px_y(&p, v));
            canvas_fill_rect(c, bx, top, (int)bw - 1, p.y0 + p.h - top, ch->colors[s]);
            snprintf(buf, sizeof buf, "%.0f", v);
            int scale = text_width(buf, 1) + 2 <= (int)bw ? 1 : 0;
            if (scale) canvas_text(c, bx + ((int)bw - text_width(buf, 1)) / 2, top - 11, buf, INK, 1);
        }
        const char *name = ch->group_names[g];
        int sc = text_width(name, 2) <= (int)gw - 4 ? 2 : 1;
        canvas_text(c, (int)lround(p.x0 + g * gw + (gw - text_width(name, sc)) / 2), p.y0 + p.h + 10, name, INK, sc);
    }
    canvas_line(c, p.x0, p.y0, p.x0, p.y0 + p.h, INK);
    canvas_line(c, p.x0, p.y0 + p.h, p.x0 + p.w, p.y0 + p.h, INK);
    int lx = p.x0 + p.w;
    for (int s = ch->n_series - 1; s >= 0; s--) {
        lx -= text_width(ch->series_names[s], 2) + 24 + 16;
        canvas_fill_rect(c, lx, y + 40, 16, 16, ch->colors[s]);
        canvas_text(c, lx + 22, y + 41, ch->series_names[s], INK, 2);
    }
}

void bar_chart_svg(strbuf *b, int w, int h, const bar_chart *ch)
{
    plot p = bar_plot(0, 0, w, h, ch);
    svg_open(b, w, h);
    if (ch->title) svg_text(b, w / 2.0, 30, "middle", 18, " font-weight=\"bold\"", ch->title);
    if (ch->ylabel) svg_text(b, p.x0, p.y0 - 16, "start", 14, "", ch->ylabel);
    char buf[160];
    for (double v = p.ay.lo; v <= p.ay.hi + p.ay.step * 1e-6; v += p.ay.step) {
        double py = px_y(&p, v);
        sb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e1e1e1\"/>\n", p.x0, py, p.x0 + p.w, py);
        snprintf(buf, sizeof buf, "%.0f", v);
        svg_text(b, p.x0 - 8, py + 5, "end", 13, "", buf);
    }
    double gw = (double)p.w / (ch->groups > 0 ? ch->groups : 1);
    double bw = gw * 0.8 / (ch->n_series > 0 ? ch->n_series : 1);
    for (int g = 0; g < ch->groups; g++) {
        for (int s = 0; s < ch->n_series; s++) {
            double v = ch->values[s][g];
            double bx = p.x0 + g * gw + gw * 0.1 + s * bw, top = px_y(&p, v);
            sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"", bx, top, bw - 1,
                      p.y0 + p.h - top);
            svg_color(b, ch->colors[s]);
            sb_printf(b, "\"><title>");
            snprintf(buf, sizeof buf, "%s, %s: %.0f", ch->group_names[g], ch->series_names[s], v);
            sb_escape(b, buf);
            sb_printf(b, "</title></rect>\n");
            snprintf(buf, sizeof buf, "%.0f", v);
            svg_text(b, bx + bw / 2, top - 4, "middle", bw >= 30 ? 11 : 8, "", buf);
        }
        svg_text(b, p.x0 + g * gw + gw / 2, p.y0 + p.h + 22, "middle", 14, "", ch->group_names[g]);
    }
    sb_printf(b, "<path d=\"M%d %d V%d H%d\" fill=\"none\" stroke=\"#282828\"/>\n", p.x0, p.y0, p.y0 + p.h, p.x0 + p.w);
    double lx = p.x0 + p.w;
    for (int s = ch->n_series - 1; s >= 0; s--) {
        lx -= 9.0 * strlen(ch->series_names[s]) + 40;
        sb_printf(b, "<rect x=\"%.1f\" y=\"42\" width=\"14\" height=\"14\" fill=\"", lx);
        svg_color(b, ch->colors[s]);
        sb_printf(b, "\"/>\n");
        svg_text(b, lx + 20, 54, "start", 14, "", ch->series_names[s]);
    }
    sb_printf(b, "</svg>\n");
}

/* ---- the training history ---------------------------------------------------- */

#define TRAIN_COLOR RGB(31, 119, 180)
#define VAL_COLOR RGB(255, 127, 14)

static void history_charts(const history *h, line_chart *acc, line_chart *loss)
{
    memset(acc, 0, sizeof *acc);
    memset(loss, 0, sizeof *loss);
    acc->title = "accuracy";
    loss->title = "loss";
    acc->xlabel = loss->xlabel = "epoch";
    const double *x = h->col[H_EPOCH];
    int cols[2][2] = { { H_TRAIN_ACC, H_VAL_ACC }, { H_TRAIN_LOSS, H_VAL_LOSS } };
    const char *names[2] = { "train", "validation" };
    for (int c = 0; c < 2; c++) {
        line_chart *ch = c ? loss : acc;
        for (int s = 0; s < 2; s++) {
            const double *y = h->col[cols[c][s]];
            int any = 0;
            for (int i = 0; i < h->n; i++) any |= !isnan(y[i]);
            if (!any) continue;
            chart_series *se = &ch->series[ch->n_series++];
            se->name = names[s];
            se->x = x;
            se->y = y;
            se->n = h->n;
            se->color = s ? VAL_COLOR : TRAIN_COLOR;
            se->dashed = s == 0;
        }
    }
}

int history_canvas(canvas *c, const history *h, const char *title, fer_err *e)
{
    int cw = 760, chh = 480, top = title ? 44 : 0;
    if (canvas_new(c, 2 * cw, chh + top, e)) return -1;
    line_chart acc, loss;
    history_charts(h, &acc, &loss);
    if (title) canvas_text(c, (2 * cw - text_width(title, 3)) / 2, 10, title, INK, 3);
    line_chart_draw(c, 0, top, cw, chh, &acc);
    line_chart_draw(c, cw, top, cw, chh, &loss);
    return 0;
}

void history_svg(strbuf *b, const history *h, const char *title)
{
    line_chart acc, loss;
    history_charts(h, &acc, &loss);
    int cw = 560, chh = 360, top = title ? 36 : 0;
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", 2 * cw, chh + top, 2 * cw, chh + top);
    sb_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", 2 * cw, chh + top);
    if (title) svg_text(b, cw, 26, "middle", 20, " font-weight=\"bold\" fill=\"#282828\"", title);
    sb_printf(b, "<g transform=\"translate(0 %d)\">\n", top);
    line_chart_svg(b, cw, chh, &acc);
    sb_printf(b, "</g>\n<g transform=\"translate(%d %d)\">\n", cw, top);
    line_chart_svg(b, cw, chh, &loss);
    sb_printf(b, "</g>\n</svg>\n");
}

/* ---- the confusion matrix ------------------------------------------------------ */

/* White to dark blue. */
static uint32_t blues(double v)
{
    if (!(v >= 0)) v = 0;
    if (v > 1) v = 1;
    double lo[3] = { 247, 251, 255 }, hi[3] = { 8, 48, 107 };
    int r = (int)lround(lo[0] + (hi[0] - lo[0]) * v), g = (int)lround(lo[1] + (hi[1] - lo[1]) * v);
    int bl = (int)lround(lo[2] + (hi[2] - lo[2]) * v);
    return RGB(r, g, bl);
}

int confusion_canvas(canvas *c, const long *confusion, int classes, char **names, const char *title, fer_err *e)
{
    if (classes < 1 || classes > 64) return fer_fail(e, "confusion matrix: %d classes (1..64)", classes);
    int cell = 100, name_w = 0;
    for (int k = 0; k < classes; k++) {
        int tw = text_width(names[k], 2);
        if (tw > name_w) name_w = tw;
    }
    int left = 40 + name_w + 16, top = (title ? 50 : 10) + 40 + 28;
    int W = left + classes * cell + 30, H = top + classes * cell + 60;
    if (title && text_width(title, 2) + 40 > W) W = text_width(title, 2) + 40;
    if (canvas_new(c, W, H, e)) return -1;
    if (title) canvas_text(c, (W - text_width(title, 2)) / 2, 14, title, INK, 2);
    const char *pred = "predicted";
    canvas_text(c, left + (classes * cell - text_width(pred, 2)) / 2, top - 64, pred, INK, 2);
    for (int j = 0; j < classes; j++) {
        int sc = text_width(names[j], 2) <= cell - 4 ? 2 : 1;
        canvas_text(c, left + j * cell + (cell - text_width(names[j], sc)) / 2, top - 28, names[j], INK, sc);
    }
    /* "true" written downwards, letter by letter, at the far left */
    const char *truth = "true";
    for (int i = 0; truth[i]; i++) {
        char ch[2] = { truth[i], 0 };
        canvas_text(c, 12, top + (classes * cell) / 2 - 40 + i * 22, ch, INK, 2);
    }
    for (int k = 0; k < classes; k++) {
        long row = 0;
        for (int j = 0; j < classes; j++) row += confusion[(size_t)k * classes + j];
        canvas_text(c, left - 12 - text_width(names[k], 2), top + k * cell + cell / 2 - 8, names[k], INK, 2);
        for (int j = 0; j < classes; j++) {
            long n = confusion[(size_t)k * classes + j];
            double rate = row ? (double)n / row : 0;
            int x0 = left + j * cell, y0 = top + k * cell;
            canvas_fill_rect(c, x0, y0, cell, cell, blues(rate));
            uint32_t ink = rate > 0.5 ? RGB(255, 255, 255) : INK;
            char a[32], b[32];
            snprintf(a, sizeof a, "%ld", n);
            snprintf(b, sizeof b, "%.1f%%", 100 * rate);
            canvas_text(c, x0 + (cell - text_width(a, 3)) / 2, y0 + cell / 2 - 28, a, ink, 3);
            canvas_text(c, x0 + (cell - text_width(b, 2)) / 2, y0 + cell / 2 + 8, b, ink, 2);
            if (j == k) canvas_rect(c, x0, y0, cell, cell, RGB(220, 60, 40), 3);
        }
    }
    for (int k = 0; k <= classes; k++) {
        canvas_line(c, left, top + k * cell, left + classes * cell, top + k * cell, RGB(200, 200, 200));
        canvas_line(c, left + k * cell, top, left + k * cell, top + classes * cell, RGB(200, 200, 200));
    }
    const char *note = "rows: true class; colors and %: share of the row (recall on the diagonal)";
    canvas_text(c, left, top + classes * cell + 22, note, INK, text_width(note, 2) <= W - left - 10 ? 2 : 1);
    return 0;
}
