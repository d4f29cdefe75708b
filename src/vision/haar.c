/* haar.c - OpenCV Haar cascades: loading (over xml.c), integral images, the
 * multi-scale window scan and window grouping (see haar.h).
 *
 * Detection follows OpenCV's CascadeClassifier (the image-pyramid variant):
 * for each scale factor s = 1, f, f^2, ... whose window (win * s) lies in
 * [min_size, max_size], the image is resized by 1/s (bilinear), its integrals
 * are computed, and the fixed-size window slides over it. A window's feature
 * values are compared with threshold * norm, norm = sqrt(area * sum(p^2) -
 * sum(p)^2) over the window shrunk by one pixel on each side; a stage passes
 * when the sum of its weak classifiers' leaves reaches its threshold. Windows
 * that pass every stage are grouped by haar_group. */
#include "haar.h"
#include "haar_scan.h"
#include "codecs/xml.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OpenCV lowers every stage threshold by this much when loading. */
#define STAGE_THRESHOLD_EPS 1e-5f
#define HAAR_MAX_WINDOW 1024

/* ---- loading ------------------------------------------------------------- */

typedef struct loader {
    const xml_doc *d;
    fer_err *e;
} loader;

static int lfail(loader *L, int node, const char *fmt, const char *what)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, what);
    return fer_fail(L->e, "%s:%d: %s", L->d->path, node >= 0 ? L->d->nodes[node].line : 0, msg);
}

/* The line of the first non-blank character of node's text. */
static int text_line(const loader *L, int node)
{
    const xml_node *x = &L->d->nodes[node];
    int line = x->text_line;
    for (const char *s = x->text; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'; s++) line += *s == '\n';
    return line;
}

/* Parses node's text as whitespace-separated numbers into a new array. */
static int numbers(loader *L, int node, double **out, int *n)
{
    const xml_node *x = &L->d->nodes[node];
    const char *s = x->text;
    int count = 0, cap = 0;
    double *v = NULL;
    int line = x->text_line;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') line += *s++ == '\n';
        if (!*s) break;
        char *end;
        errno = 0;
        double val = strtod(s, &end);
        if (end == s || (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') || errno ||
            !isfinite(val)) {
            free(v);
            const char *t = s;
            while (*t && *t != ' ' && *t != '\n' && t - s < 24) t++;
            return fer_fail(L->e, "%s:%d: <%s>: '%.*s' is not a number", L->d->path, line, x->name, (int)(t - s), s);
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            double *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                free(v);
                return fer_fail(L->e, "%s: out of memory", L->d->path);
            }
            v = nv;
        }
        v[count++] = val;
        s = end;
    }
    *out = v;
    *n = count;
    return 0;
}

/* One number from a required child element. */
static int child_number(loader *L, int parent, const char *name, int integer, double lo, double hi, double *out)
{
    int c = xml_child(L->d, parent, name);
    if (c < 0) {
        char what[160];
        snprintf(what, sizeof what, "<%s> has no <%s>", L->d->nodes[parent].name, name);
        return lfail(L, parent, "%s", what);
    }
    double *v;
    int n;
    if (numbers(L, c, &v, &n)) return -1;
    int bad = n != 1 || (integer && v[0] != floor(v[0])) || v[0] < lo || v[0] > hi;
    double val = n ? v[0] : 0;
    free(v);
    if (bad) {
        char what[200];
        snprintf(what, sizeof what, "<%s> must be one %s in [%g, %g]", name, integer ? "integer" : "number", lo, hi);
        return fer_fail(L->e, "%s:%d: %s", L->d->path, text_line(L, c), what);
    }
    *out = val;
    return 0;
}

static int is_int(double v, double lo, double hi) { return v == floor(v) && v >= lo && v <= hi; }

static int load_features(loader *L, haar_cascade *c, int feats)
{
    const xml_doc *d = L->d;
    c->nfeatures = xml_count(d, feats);
    if (c->nfeatures < 1) return lfail(L, feats, "%s", "<features> is empty");
    c->features = calloc((size_t)c->nfeatures, sizeof *c->features);
    if (!c->features) return fer_fail(L->e, "%s: out of memory", d->path);
    int i = 0;
    for (int f = d->nodes[feats].first_child; f >= 0; f = d->nodes[f].next_sibling, i++) {
        haar_feature *hf = &c->features[i];
        int rects = xml_child(d, f, "rects");
        if (rects < 0) return lfail(L, f, "%s", "feature has no <rects>");
        int t = xml_child(d, f, "tilted");
        if (t >= 0) {
            double v;
            if (child_number(L, f, "tilted", 1, 0, 1, &v)) return -1;
            hf->tilted = (int)v;
            c->has_tilted |= hf->tilted;
        }
        for (int r = d->nodes[rects].first_child; r >= 0; r = d->nodes[r].next_sibling) {
            if (hf->nrects == 3) return lfail(L, r, "%s", "a feature has at most 3 rectangles");
            double *v;
            int n;
            if (numbers(L, r, &v, &n)) return -1;
            int ok = n == 5 && is_int(v[0], 0, HAAR_MAX_WINDOW) && is_int(v[1], 0, HAAR_MAX_WINDOW) &&
                     is_int(v[2], 1, HAAR_MAX_WINDOW) && is_int(v[3], 1, HAAR_MAX_WINDOW);
            haar_rect *hr = &hf->r[hf->nrects];
            if (ok) {
                hr->x = (int)v[0];
                hr->y = (int)v[1];
                hr->w = (int)v[2];
                hr->h = (int)v[3];
                hr->weight = (float)v[4];
            }
            free(v);
            if (!ok) return fer_fail(L->e, "%s:%d: a rectangle is 'x y w h weight' with x, y >= 0 and w, h >= 1",
                                     d->path, text_line(L, r));
            int inside = hf->tilted ? hr->x - hr->h >= 0 && hr->x + hr->w <= c->win_w &&
                                          hr->y + hr->w + hr->h <= c->win_h
                                    : hr->x + hr->w <= c->win_w && hr->y + hr->h <= c->win_h;
            if (!inside)
                return fer_fail(L->e, "%s:%d: rectangle %d %d %d %d%s lies outside the %dx%d window", d->path,
                                text_line(L, r), hr->x, hr->y, hr->w, hr->h, hf->tilted ? " (tilted)" : "",
                                c->win_w, c->win_h);
            hf->nrects++;
        }
        if (hf->nrects < 1) return lfail(L, rects, "%s", "<rects> is empty");
    }
    return 0;
}

static int load_stages(loader *L, haar_cascade *c, int stages)
{
    const xml_doc *d = L->d;
    c->nstages = xml_count(d, stages);
    if (c->nstages < 1) return lfail(L, stages, "%s", "<stages> is empty");
    /* count first, to size the arrays */
    for (int s = d->nodes[stages].first_child; s >= 0; s = d->nodes[s].next_sibling) {
        int wc = xml_child(d, s, "weakClassifiers");
        if (wc < 0) return lfail(L, s, "%s", "stage has no <weakClassifiers>");
        if (xml_count(d, wc) < 1) return lfail(L, wc, "%s", "<weakClassifiers> is empty");
        c->nweak += xml_count(d, wc);
    }
    c->stages = calloc((size_t)c->nstages, sizeof *c->stages);
    c->weak = calloc((size_t)c->nweak, sizeof *c->weak);
    if (!c->stages || !c->weak) return fer_fail(L->e, "%s: out of memory", d->path);
    int si = 0, wi = 0, cap_nodes = 0, cap_leaves = 0;
    c->stumps = 1;
    for (int s = d->nodes[stages].first_child; s >= 0; s = d->nodes[s].next_sibling, si++) {
        double thr;
        if (child_number(L, s, "stageThreshold", 0, -1e30, 1e30, &thr)) return -1;
        haar_stage *st = &c->stages[si];
        st->threshold = (float)thr - STAGE_THRESHOLD_EPS;
        st->weak0 = wi;
        int wc = xml_child(d, s, "weakClassifiers");
        for (int w = d->nodes[wc].first_child; w >= 0; w = d->nodes[w].next_sibling, wi++) {
            int in = xml_child(d, w, "internalNodes"), lv = xml_child(d, w, "leafValues");
            if (in < 0 || lv < 0)
                return lfail(L, w, "%s", "weak classifier needs <internalNodes> and <leafValues>");
            double *nv, *lvv;
            int nn, nl;
            if (numbers(L, in, &nv, &nn)) return -1;
            if (numbers(L, lv, &lvv, &nl)) {
                free(nv);
                return -1;
            }
            int nnodes = nn / 4;
            if (nn == 0 || nn % 4 || nl < 2 || nl > nnodes + 1) {
                free(nv);
                free(lvv);
                return fer_fail(L->e, "%s:%d: <internalNodes> must hold 4 numbers per node (left right feature "
                                      "threshold) and <leafValues> 2 to nodes+1 values (got %d and %d)%s",
                                d->path, text_line(L, in), nn, nl,
                                nn % 4 == 0 && nn ? "" : "; LBP or categorical cascades are not supported");
            }
            if (c->nnodes + nnodes > cap_nodes || c->nleaves + nl > cap_leaves) {
                int cn = (c->nnodes + nnodes) * 2, cl = (c->nleaves + nl) * 2;
                haar_node *nodes = realloc(c->nodes, (size_t)cn * sizeof *nodes);
                if (nodes) c->nodes = nodes;
                float *leaves = realloc(c->leaves, (size_t)cl * sizeof *leaves);
                if (leaves) c->leaves = leaves;
                if (!nodes || !leaves) {
                    free(nv);
                    free(lvv);
                    return fer_fail(L->e, "%s: out of memory", d->path);
                }
                cap_nodes = cn;
                cap_leaves = cl;
            }
            haar_weak *hw = &c->weak[wi];
            hw->node0 = c->nnodes;
            hw->nnodes = nnodes;
            hw->leaf0 = c->nleaves;
            hw->nleaves = nl;
            char why[200] = "";
            for (int k = 0; k < nnodes && !why[0]; k++) {
                double child[2] = { nv[4 * k], nv[4 * k + 1] }, feat = nv[4 * k + 2];
                /* children: a later node of this tree, or one of its leaves (so every walk ends) */
                for (int side = 0; side < 2 && !why[0]; side++) {
                    if (!is_int(child[side], -(nl - 1), nnodes - 1))
                        snprintf(why, sizeof why, "node %d: child %g is out of range (nodes 1..%d, leaves 0..-%d)", k,
                                 child[side], nnodes - 1, nl - 1);
                    else if (child[side] > 0 && child[side] <= k)
                        snprintf(why, sizeof why, "node %d: child %g points backwards (a loop)", k, child[side]);
                }
                if (!why[0] && !is_int(feat, 0, c->nfeatures - 1))
                    snprintf(why, sizeof why, "node %d: feature index %g is not in 0..%d", k, feat, c->nfeatures - 1);
                if (why[0]) break;   /* the values are checked: only in-range ones become ints */
                haar_node *hn = &c->nodes[c->nnodes + k];
                hn->left = (int)child[0];
                hn->right = (int)child[1];
                hn->feature = (int)feat;
                hn->threshold = (float)nv[4 * k + 3];
            }
            for (int k = 0; k < nl; k++) c->leaves[c->nleaves + k] = (float)lvv[k];
            free(nv);
            free(lvv);
            if (why[0]) return fer_fail(L->e, "%s:%d: <internalNodes>: %s", d->path, text_line(L, in), why);
            c->nnodes += nnodes;
            c->nleaves += nl;
            if (nnodes != 1 || nl != 2) c->stumps = 0;
        }
        st->nweak = wi - st->weak0;
    }
    return 0;
}

static int load_doc(haar_cascade *c, const xml_doc *d, fer_err *e)
{
    loader L = { d, e };
    if (strcmp(d->nodes[0].name, "opencv_storage"))
        return fer_fail(e, "%s:%d: the root element is <%s>, not <opencv_storage>: not an OpenCV cascade file", d->path,
                        d->nodes[0].line, d->nodes[0].name);
    int casc = xml_child(d, 0, "cascade");
    if (casc < 0) {
        int first = d->nodes[0].first_child;
        if (first >= 0 && xml_child(d, first, "stages") >= 0 && xml_child(d, first, "size") >= 0)
            return fer_fail(e, "%s:%d: <%s> is an old-style (OpenCV 1.x) cascade; fer reads the format of "
                               "opencv_traincascade, as in %s", d->path, d->nodes[first].line, d->nodes[first].name,
                            HAAR_DEFAULT_CASCADE);
        return fer_fail(e, "%s:%d: <opencv_storage> has no <cascade>", d->path, d->nodes[0].line);
    }
    int n = xml_child(d, casc, "stageType");
    if (n >= 0 && strstr(d->nodes[n].text, "BOOST") == NULL)
        return fer_fail(e, "%s:%d: stageType '%s' is not supported (BOOST only)", d->path, d->nodes[n].line,
                        d->nodes[n].text);
    n = xml_child(d, casc, "featureType");
    if (n >= 0 && strstr(d->nodes[n].text, "HAAR") == NULL)
        return fer_fail(e, "%s:%d: featureType '%.20s' is not supported: fer evaluates Haar cascades only", d->path,
                        d->nodes[n].line, d->nodes[n].text);
    double w, h;
    if (child_number(&L, casc, "width", 1, 3, HAAR_MAX_WINDOW, &w) ||
        child_number(&L, casc, "height", 1, 3, HAAR_MAX_WINDOW, &h))
        return -1;
    c->win_w = (int)w;
    c->win_h = (int)h;
    int feats = xml_child(d, casc, "features"), stages = xml_child(d, casc, "stages");
    if (feats < 0) return lfail(&L, casc, "%s", "<cascade> has no <features>");
    if (stages < 0) return lfail(&L, casc, "%s", "<cascade> has no <stages>");
    if (load_features(&L, c, feats) || load_stages(&L, c, stages)) return -1;
    if (xml_child(d, casc, "stageNum") >= 0) {
        double sn;
        if (child_number(&L, casc, "stageNum", 1, 1, 1e6, &sn)) return -1;
        if ((int)sn != c->nstages)
            return fer_fail(e, "%s:%d: stageNum is %d but <stages> holds %d stages", d->path,
                            d->nodes[xml_child(d, casc, "stageNum")].line, (int)sn, c->nstages);
    }
    return 0;
}

int haar_load_text(haar_cascade *c, const char *name, const char *text, size_t len, fer_err *e)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", name);
    xml_doc d;
    if (xml_parse(&d, name, text, len, e)) return -1;
    int rc = load_doc(c, &d, e);
    xml_free(&d);
    if (rc) haar_free(c);
    return rc;
}

int haar_load(haar_cascade *c, const char *path, fer_err *e)
{
    memset(c, 0, sizeof *c);
    size_t len;
    char *text = read_file(path, &len, e);
    if (!text) {
        if (access(path, F_OK) != 0)
            fer_fail(e, "%s: no such cascade file (Debian: %s; or give -cascade FILE.xml, or -nodetect)", path,
                     HAAR_APT_HINT);
        return -1;
    }
    int rc = haar_load_text(c, path, text, len, e);
    free(text);
    return rc;
}

void haar_free(haar_cascade *c)
{
    free(c->stages);
    free(c->weak);
    free(c->nodes);
    free(c->leaves);
    free(c->features);
    c->stages = NULL;
    c->weak = NULL;
    c->nodes = NULL;
    c->leaves = NULL;
    c->features = NULL;
}

const char *haar_default_path(void)
{
    static const char *const paths[] = {
        HAAR_DEFAULT_CASCADE,
        "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
        "/usr/local/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], R_OK) == 0) return paths[i];
    return NULL;
}

/* ---- integral images ------------------------------------------------------ */

void haar_integral(const uint8_t *img, int w, int h, size_t stride, uint32_t *sum, uint32_t *sqsum, size_t st)
{
    memset(sum, 0, st * sizeof *sum);
    memset(sqsum, 0, st * sizeof *sqsum);
    for (int y = 0; y < h; y++) {
        const uint8_t *p = img + (size_t)y * stride;
        uint32_t *s = sum + (y + 1) * st, *q = sqsum + (y + 1) * st;
        const uint32_t *sp = s - st, *qp = q - st;
        uint32_t rs = 0, rq = 0;
        s[0] = q[0] = 0;
        for (int x = 0; x < w; x++) {
            rs += p[x];
            rq += (uint32_t)p[x] * p[x];
            s[x + 1] = sp[x + 1] + rs;
            q[x + 1] = qp[x + 1] + rq;
        }
    }
}

void haar_integral_naive(const uint8_t *img, int w, int h, size_t stride, uint32_t *sum, uint32_t *sqsum)
{
    for (int Y = 0; Y <= h; Y++)
        for (int X = 0; X <= w; X++) {
            uint64_t s = 0, q = 0;
            for (int y = 0; y < Y; y++)
                for (int x = 0; x < X; x++) {
                    uint32_t v = img[(size_t)y * stride + x];
                    s += v;
                    q += v * v;
                }
            sum[(size_t)Y * (w + 1) + X] = (uint32_t)s;
            sqsum[(size_t)Y * (w + 1) + X] = (uint32_t)q;
        }
}

/* T(X, Y) = T(X-1, Y-1) + T(X+1, Y-1) - T(X, Y-2) + p(X-1, Y-1) + p(X-1, Y-2):
 * the two triangles above overlap in the one two rows up. Columns X+1 beyond
 * the image still see pixels, so the recurrence runs over X in
 * [-(h+1), w+h+1] (pixels outside the image are 0) in scratch, and the
 * [0, w] part is copied out. */
void haar_integral_tilted(const uint8_t *img, int w, int h, size_t stride, uint32_t *tilted, size_t ost,
                          uint32_t *scratch)
{
    int pad = h + 1, sw = w + 2 * pad + 1;   /* scratch columns: X + pad in [0, sw) */
    memset(scratch, 0, (size_t)sw * sizeof *scratch);
    for (int Y = 1; Y <= h; Y++) {
        uint32_t *row = scratch + (size_t)Y * sw;
        const uint32_t *up = row - sw, *up2 = Y >= 2 ? row - 2 * sw : NULL;
        const uint8_t *p1 = img + (size_t)(Y - 1) * stride, *p2 = Y >= 2 ? img + (size_t)(Y - 2) * stride : NULL;
        for (int c = 0; c < sw; c++) {
            int X = c - pad;
            uint32_t v = (c > 0 ? up[c - 1] : 0) + (c + 1 < sw ? up[c + 1] : 0) - (up2 ? up2[c] : 0);
            if (X >= 1 && X <= w) v += p1[X - 1] + (p2 ? p2[X - 1] : 0);
            row[c] = v;
        }
    }
    for (int Y = 0; Y <= h; Y++) memcpy(tilted + (size_t)Y * ost, scratch + (size_t)Y * sw + pad,
                                        (size_t)(w + 1) * sizeof *tilted);
}

void haar_integral_tilted_naive(const uint8_t *img, int w, int h, size_t stride, uint32_t *tilted)
{
    for (int Y = 0; Y <= h; Y++)
        for (int X = 0; X <= w; X++) {
            uint32_t s = 0;
            for (int y = 0; y < Y; y++)
                for (int x = 0; x < w; x++)
                    if (abs(x - X + 1) <= Y - y - 1) s += img[(size_t)y * stride + x];
            tilted[(size_t)Y * (w + 1) + X] = s;
        }
}

/* ---- detection ------------------------------------------------------------ */

void haar_scan_band_portable(void *arg, int band) { scan_band_impl(arg, band); }

static void rect_offsets(const haar_rect *r, int tilted, int st, int ofs[4])
{
    if (!tilted) {
        ofs[0] = r->y * st + r->x;
        ofs[1] = r->y * st + r->x + r->w;
        ofs[2] = (r->y + r->h) * st + r->x;
        ofs[3] = (r->y + r->h) * st + r->x + r->w;
    } else {
        ofs[0] = r->y * st + r->x;
        ofs[1] = (r->y + r->h) * st + r->x - r->h;
        ofs[2] = (r->y + r->w) * st + r->x + r->w;
        ofs[3] = (r->y + r->w + r->h) * st + r->x + r->w - r->h;
    }
}

static void make_opt(const haar_cascade *c, opt_tables *o, int st)
{
    for (int f = 0; f < c->nfeatures; f++) {
        const haar_feature *hf = &c->features[f];
        opt_feature *of = &o->features[f];
        memset(of, 0, sizeof *of);
        of->nrects = hf->nrects;
        of->tilted = hf->tilted;
        for (int r = 0; r < hf->nrects; r++) {
            rect_offsets(&hf->r[r], hf->tilted, st, of->ofs[r]);
            of->weight[r] = hf->r[r].weight;
        }
    }
    if (!c->stumps) return;
    for (int w = 0; w < c->nweak; w++) {
        const haar_node *n = &c->nodes[c->weak[w].node0];
        const opt_feature *of = &o->features[n->feature];
        opt_stump *s = &o->stumps[w];
        memcpy(s->ofs, of->ofs, sizeof s->ofs);
        memcpy(s->weight, of->weight, sizeof s->weight);
        s->nrects = of->nrects;
        s->tilted = of->tilted;
        s->threshold = n->threshold;
        s->left = c->leaves[c->weak[w].leaf0 - (n->left > 0 ? 0 : n->left)];
        s->right = c->leaves[c->weak[w].leaf0 - (n->right > 0 ? 0 : n->right)];
    }
}

/* Bilinear resize of src (w x h, stride) to dst (dw x dh), pixel centres
 * aligned, 8-bit fixed-point weights. */
static void resize_bilinear(const uint8_t *src, int w, int h, size_t stride, uint8_t *dst, int dw, int dh,
                            int *xo, int *xw)
{
    double sx = (double)w / dw, sy = (double)h / dh;
    for (int x = 0; x < dw; x++) {
        double fx = (x + 0.5) * sx - 0.5;
        if (fx < 0) fx = 0;
        int x0 = (int)fx;
        if (x0 > w - 1) x0 = w - 1;
        int wt = (int)((fx - x0) * 256 + 0.5);
        if (x0 + 1 > w - 1) wt = 0;
        xo[x] = x0;
        xw[x] = wt;
    }
    for (int y = 0; y < dh; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        if (fy < 0) fy = 0;
        int y0 = (int)fy;
        if (y0 > h - 1) y0 = h - 1;
        int wy = (int)((fy - y0) * 256 + 0.5);
        int y1 = y0 + 1 < h ? y0 + 1 : y0;
        const uint8_t *a = src + (size_t)y0 * stride, *b = src + (size_t)y1 * stride;
        uint8_t *o = dst + (size_t)y * dw;
        for (int x = 0; x < dw; x++) {
            int x0 = xo[x], x1 = xw[x] ? x0 + 1 : x0, wx = xw[x];
            int top = a[x0] * (256 - wx) + a[x1] * wx, bot = b[x0] * (256 - wx) + b[x1] * wx;
            o[x] = (uint8_t)((top * (256 - wy) + bot * wy + 32768) >> 16);
        }
    }
}

void haar_params_default(haar_params *p)
{
    p->scale_factor = 1.1f;
    p->min_neighbors = 3;
    p->min_size = 0;
    p->max_size = 0;
    p->step = 0;
    p->coarse_stage = 0;
}

int haar_detector_init(haar_detector *d, const haar_cascade *c, fer_ctx *ctx, fer_err *e)
{
    memset(d, 0, sizeof *d);
    d->c = c;
    d->ctx = ctx;
    d->dense = 1;
    d->scan = haar_scan_band_portable;
#if defined(__x86_64__)
    if (ctx && (!strcmp(fer_ctx_isa(ctx), "avx2") || !strcmp(fer_ctx_isa(ctx), "avx512"))) d->scan = haar_scan_band_avx2;
#endif
    opt_tables *o = calloc(1, sizeof *o);
    if (!o) return fer_fail(e, "out of memory");
    d->opt = o;
    o->features = fer_alloc((size_t)c->nfeatures, sizeof *o->features, e);
    o->stumps = c->stumps ? fer_alloc((size_t)c->nweak, sizeof *o->stumps, e) : NULL;
    if (!o->features || (c->stumps && !o->stumps)) {
        haar_detector_free(d);
        return -1;
    }
    pthread_mutex_init(&d->mu, NULL);
    return 0;
}

void haar_detector_free(haar_detector *d)
{
    opt_tables *o = d->opt;
    if (o) {
        fer_free(o->features);
        fer_free(o->stumps);
        free(o);
        pthread_mutex_destroy(&d->mu);
    }
    fer_free(d->img);
    fer_free(d->sum);
    fer_free(d->sqsum);
    fer_free(d->tilted);
    fer_free(d->scratch);
    free(d->raw);
    free(d->boxes);
    memset(d, 0, sizeof *d);
}

/* Makes sure the level buffers hold a w x h image. */
static int reserve(haar_detector *d, int w, int h, int st, fer_err *e)
{
    size_t px = (size_t)w * h, in = (size_t)st * (h + 1);
    size_t sc = d->c->has_tilted ? (size_t)(h + 1) * (w + 2 * h + 3) : 0;
    if (px > d->cap_px) {
        fer_free(d->img);
        d->img = fer_alloc(px, 1, e);
        if (!d->img) return -1;
        d->cap_px = px;
    }
    if (in > d->cap_int) {
        fer_free(d->sum);
        fer_free(d->sqsum);
        fer_free(d->tilted);
        d->tilted = NULL;
        /* + 2 * LANES: the vector loads of the last windows of a row read past the end */
        d->sum = fer_alloc(in + 2 * LANES, sizeof(uint32_t), e);
        d->sqsum = d->sum ? fer_alloc(in + 2 * LANES, sizeof(uint32_t), e) : NULL;
        if (d->sqsum && d->c->has_tilted) d->tilted = fer_alloc(in, sizeof(uint32_t), e);
        if (!d->sqsum || (d->c->has_tilted && !d->tilted)) {
            d->cap_int = 0;
            return -1;
        }
        d->cap_int = in;
    }
    if (sc > d->cap_scratch) {
        fer_free(d->scratch);
        d->scratch = fer_alloc(sc, sizeof(uint32_t), e);
        if (!d->scratch) return -1;
        d->cap_scratch = sc;
    }
    return 0;
}

int haar_detect(haar_detector *d, const uint8_t *gray, int w, int h, size_t stride, const haar_params *p, fer_err *e)
{
    const haar_cascade *c = d->c;
    d->nraw = d->nboxes = 0;
    d->windows = 0;
    d->oom = 0;
    if (w < 1 || h < 1) return fer_fail(e, "haar_detect: empty image %dx%d", w, h);
    if (!(p->scale_factor > 1.0001f) || p->scale_factor > 4) return fer_fail(e, "scale factor %g must be in (1, 4]", p->scale_factor);
    int *xo = malloc((size_t)w * 2 * sizeof *xo);
    if (!xo) return fer_fail(e, "out of memory");
    int min_w = p->min_size > c->win_w ? p->min_size : c->win_w, min_h = p->min_size > c->win_h ? p->min_size : c->win_h;
    int max_w = p->max_size > 0 ? p->max_size : w, max_h = p->max_size > 0 ? p->max_size : h;
    int nthreads = d->ctx ? fer_ctx_threads(d->ctx) : 1;
    for (double f = 1;; f *= p->scale_factor) {
        int bw = (int)lround(c->win_w * f), bh = (int)lround(c->win_h * f);
        if (bw > max_w || bh > max_h) break;
        if (bw < min_w || bh < min_h) continue;
        int lw = (int)lround(w / f), lh = (int)lround(h / f);
        if (lw < c->win_w || lh < c->win_h) break;
        /* one integral stride for every level and call, so the offset tables are made once */
        int st = lw + 1 > d->opt_stride ? lw + 1 : d->opt_stride;
        if (reserve(d, lw, lh, st, e)) {
            free(xo);
            return -1;
        }
        const uint8_t *img = gray;
        size_t ist = stride;
        if (lw != w || lh != h) {
            resize_bilinear(gray, w, h, stride, d->img, lw, lh, xo, xo + w);
            img = d->img;
            ist = (size_t)lw;
        }
        haar_integral(img, lw, lh, ist, d->sum, d->sqsum, (size_t)st);
        if (c->has_tilted) haar_integral_tilted(img, lw, lh, ist, d->tilted, (size_t)st, d->scratch);
        level_scan L;
        memset(&L, 0, sizeof L);
        L.d = d;
        L.opt = d->opt;
        L.lw = lw;
        L.lh = lh;
        L.st = st;
        L.xmax = lw - c->win_w;
        L.ymax = lh - c->win_h;
        L.step = p->step > 0 ? p->step : (f >= 2 ? 1 : 2);
        if (p->coarse_stage > 0 && L.step == 1) {   /* rows come in pairs */
            L.coarse = p->coarse_stage;
            L.step = 2;
        }
        L.scale = f;
        L.bw = bw;
        L.bh = bh;
        haar_rect nr = { 1, 1, c->win_w - 2, c->win_h - 2, 1 };
        rect_offsets(&nr, 0, L.st, L.norm);
        L.norm_area = (int64_t)nr.w * nr.h;
        if (st != d->opt_stride) {
            make_opt(c, d->opt, st);
            d->opt_stride = st;
        }
        int rows = L.ymax / L.step + 1;
        L.nbands = nthreads > 1 ? (rows < 8 * nthreads ? rows : 8 * nthreads) : 1;
        thread_pool_run(d->ctx ? d->ctx->pool : NULL, L.nbands, d->scan, &L);
    }
    free(xo);
    if (d->oom) return fer_fail(e, "out of memory collecting detections");
    /* a fixed order, whatever the threads did */
    for (int i = 1; i < d->nraw; i++) {
        haar_box b = d->raw[i];
        int j = i - 1;
        while (j >= 0 && (d->raw[j].w > b.w || (d->raw[j].w == b.w && (d->raw[j].y > b.y ||
                                                  (d->raw[j].y == b.y && d->raw[j].x > b.x))))) {
            d->raw[j + 1] = d->raw[j];
            j--;
        }
        d->raw[j + 1] = b;
    }
    if (d->nraw > d->cap_boxes) {
        haar_box *nb = realloc(d->boxes, (size_t)d->nraw * sizeof *nb);
        if (!nb) return fer_fail(e, "out of memory");
        d->boxes = nb;
        d->cap_boxes = d->nraw;
    }
    if (p->min_neighbors <= 0) {
        if (d->nraw) memcpy(d->boxes, d->raw, (size_t)d->nraw * sizeof *d->boxes);
        d->nboxes = d->nraw;
        return 0;
    }
    int n = haar_group(d->raw, d->nraw, p->min_neighbors, 0.2f, d->boxes, e);
    if (n < 0) return -1;
    d->nboxes = n;
    return 0;
}

/* ---- grouping ------------------------------------------------------------- */

static int similar(const haar_box *a, const haar_box *b, float eps)
{
    double delta = eps * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;
    return fabs((double)a->x - b->x) <= delta && fabs((double)a->y - b->y) <= delta &&
           fabs((double)a->x + a->w - b->x - b->w) <= delta && fabs((double)a->y + a->h - b->y - b->h) <= delta;
}

static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

int haar_group(const haar_box *in, int n, int min_neighbors, float eps, haar_box *out, fer_err *e)
{
    if (n == 0) return 0;
    int *parent = malloc((size_t)n * 3 * sizeof *parent);
    double *acc = malloc((size_t)n * 4 * sizeof *acc);
    if (!parent || !acc) {
        free(parent);
        free(acc);
        return fer_fail(e, "out of memory grouping %d windows", n);
    }
    int *label = parent + n, *count = parent + 2 * n;
    for (int i = 0; i < n; i++) parent[i] = i;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (similar(&in[i], &in[j], eps)) {
                int a = find_root(parent, i), b = find_root(parent, j);
                if (a != b) parent[a > b ? a : b] = a < b ? a : b;
            }
    /* classes numbered by first appearance */
    int nclasses = 0;
    for (int i = 0; i < n; i++) label[i] = -1;
    for (int i = 0; i < n; i++) {
        int r = find_root(parent, i);
        if (label[r] < 0) label[r] = nclasses++;
        label[i] = label[r];
    }
    memset(acc, 0, (size_t)nclasses * 4 * sizeof *acc);
    memset(count, 0, (size_t)nclasses * sizeof *count);
    for (int i = 0; i < n; i++) {
        double *a = acc + 4 * label[i];
        a[0] += in[i].x;
        a[1] += in[i].y;
        a[2] += in[i].w;
        a[3] += in[i].h;
        count[label[i]]++;
    }
    haar_box *avg = malloc((size_t)nclasses * sizeof *avg);
    if (!avg) {
        free(parent);
        free(acc);
        return fer_fail(e, "out of memory");
    }
    for (int k = 0; k < nclasses; k++) {
        double s = 1.0 / count[k];
        avg[k] = (haar_box){ (int)lround(acc[4 * k] * s), (int)lround(acc[4 * k + 1] * s),
                             (int)lround(acc[4 * k + 2] * s), (int)lround(acc[4 * k + 3] * s), count[k] };
    }
    int nout = 0;
    for (int i = 0; i < nclasses; i++) {
        const haar_box *r1 = &avg[i];
        int n1 = r1->neighbors;
        if (n1 <= min_neighbors) continue;
        int j;
        for (j = 0; j < nclasses; j++) {   /* drop small boxes inside stronger big ones */
            const haar_box *r2 = &avg[j];
            int n2 = r2->neighbors;
            if (j == i || n2 <= min_neighbors) continue;
            int dx = (int)lround(r2->w * eps), dy = (int)lround(r2->h * eps);
            if (r1->x >= r2->x - dx && r1->y >= r2->y - dy && r1->x + r1->w <= r2->x + r2->w + dx &&
                r1->y + r1->h <= r2->y + r2->h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                break;
        }
        if (j == nclasses) out[nout++] = *r1;
    }
    free(avg);
    free(parent);
    free(acc);
    return nout;
}

float box_iou(const haar_box *a, const haar_box *b)
{
    int x0 = a->x > b->x ? a->x : b->x, y0 = a->y > b->y ? a->y : b->y;
    int x1 = a->x + a->w < b->x + b->w ? a->x + a->w : b->x + b->w;
    int y1 = a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h;
    if (x1 <= x0 || y1 <= y0) return 0;
    double inter = (double)(x1 - x0) * (y1 - y0);
    double uni = (double)a->w * a->h + (double)b->w * b->h - inter;
    return uni > 0 ? (float)(inter / uni) : 0;
}
