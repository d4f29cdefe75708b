/* demo.c - detection, tracking, classification, drawing and JSON for one
 * frame of `fer demo` (see demo.h). */
#include "demo.h"
#include "codecs/draw.h"

#include <math.h>
#include <string.h>

void demo_options_default(demo_options *o)
{
    memset(o, 0, sizeof *o);
    haar_params_default(&o->haar);
    /* a group needs more than 8 windows: faces collect 13 to 56 on the test photos at every size from
       45 px up, false positives at most 5 */
    o->haar.min_neighbors = 8;
    o->haar.coarse_stage = 6;
    o->detect_every = 5;
    o->margin = 0.15f;
    o->classify_every = 1;
    o->smooth = 1;
    o->keep = 2;
}

int demo_init(demo *d, const demo_options *opt, const haar_cascade *cascade, fer_net *const *nets, int nnets,
              char *const *names, fer_ctx *ctx, fer_err *e)
{
    memset(d, 0, sizeof *d);
    d->opt = *opt;
    if (d->opt.detect_every < 1) d->opt.detect_every = 1;
    if (d->opt.classify_every < 1) d->opt.classify_every = 1;
    if (nnets < 1 || nnets > DEMO_MAX_MODELS) return fer_fail(e, "demo: 1 to %d models, not %d", DEMO_MAX_MODELS, nnets);
    d->classes = fer_net_classes(nets[0]);
    if (d->classes < 1 || d->classes > TRACK_MAX_CLASSES)
        return fer_fail(e, "%s outputs %d values: the demo shows 1 to %d classes", nets[0]->cfg_path, d->classes,
                        TRACK_MAX_CLASSES);
    for (int i = 0; i < nnets; i++) {
        if (fer_net_classes(nets[i]) != d->classes)
            return fer_fail(e, "ensemble: %s outputs %d classes but %s outputs %d", nets[i]->cfg_path,
                            fer_net_classes(nets[i]), nets[0]->cfg_path, d->classes);
        d->nets[i] = nets[i];
    }
    d->nnets = nnets;
    d->names = names;
    if (!opt->nodetect) {
        if (!cascade) return fer_fail(e, "demo: no cascade (use -nodetect to classify the whole frame)");
        d->cascade = cascade;
        if (haar_detector_init(&d->det, cascade, ctx, e)) return -1;
        d->have_det = 1;
    }
    d->probs = fer_alloc((size_t)d->classes * DEMO_MAX_MODELS, sizeof *d->probs, e);
    if (!d->probs) {
        demo_free(d);
        return -1;
    }
    tracker_init(&d->tr, d->classes);
    if (!opt->smooth) d->tr.prob_alpha = d->tr.box_alpha = 1.0f;
    return 0;
}

void demo_free(demo *d)
{
    if (d->have_det) haar_detector_free(&d->det);
    d->have_det = 0;
    fer_image_free(&d->crop);
    fer_free(d->probs);
    d->probs = NULL;
}

void demo_reset(demo *d)
{
    tracker_reset(&d->tr);
    d->frames = 0;
}

/* Area-average resampling of the (x0, y0, cw, ch) region of f (gray or RGB,
 * edges replicated) into out (its w, h, c already set). */
static void crop_resize(const frame *f, float x0, float y0, float cw, float ch, fer_image *out)
{
    float sx = cw / out->w, sy = ch / out->h;
    size_t plane = (size_t)out->w * out->h;
    for (int oy = 0; oy < out->h; oy++) {
        float fy0 = y0 + oy * sy;
        int ya = (int)ceilf(fy0 - 0.5f), yb = (int)ceilf(fy0 + sy - 0.5f) - 1;
        if (yb < ya) ya = yb = (int)floorf(fy0 + 0.5f * sy);
        for (int ox = 0; ox < out->w; ox++) {
            float fx0 = x0 + ox * sx;
            int xa = (int)ceilf(fx0 - 0.5f), xb = (int)ceilf(fx0 + sx - 0.5f) - 1;
            if (xb < xa) xa = xb = (int)floorf(fx0 + 0.5f * sx);
            float acc[3] = { 0, 0, 0 };
            int n = 0;
            for (int y = ya; y <= yb; y++) {
                int cy = y < 0 ? 0 : (y >= f->h ? f->h - 1 : y);
                for (int x = xa; x <= xb; x++) {
                    int cx = x < 0 ? 0 : (x >= f->w ? f->w - 1 : x);
                    size_t i = (size_t)cy * f->w + cx;
                    if (out->c == 1) {
                        acc[0] += f->gray[i];
                    } else {
                        acc[0] += f->rgb[3 * i];
                        acc[1] += f->rgb[3 * i + 1];
                        acc[2] += f->rgb[3 * i + 2];
                    }
                    n++;
                }
            }
            for (int k = 0; k < out->c; k++) out->data[k * plane + (size_t)oy * out->w + ox] = acc[k] / (255.0f * n);
        }
    }
}

void demo_face_view(const demo *d, const frame *f, const haar_box *b, fer_image *out)
{
    float mw = b->w * d->opt.margin, mh = b->h * d->opt.margin;
    crop_resize(f, b->x - mw, b->y - mh, b->w + 2 * mw, b->h + 2 * mh, out);
}

/* Classifies faces[0..n) (boxes) with every model; probs gets [n][classes]
 * averaged over the models. */
static int classify(demo *d, const frame *f, const haar_box *boxes, int n, float *probs, fer_err *e)
{
    memset(probs, 0, (size_t)n * d->classes * sizeof *probs);
    for (int m = 0; m < d->nnets; m++) {
        fer_net *net = d->nets[m];
        int w = net->opt.width, h = net->opt.height, c = net->opt.channels;
        if (c != 1 && c != 3) return fer_fail(e, "%s: the demo feeds 1 or 3 channels, not %d", net->cfg_path, c);
        if (!d->crop.data || d->crop.w != w || d->crop.h != h || d->crop.c != c) {
            fer_image_free(&d->crop);
            d->crop.data = fer_alloc((size_t)w * h * c, sizeof(float), e);
            if (!d->crop.data) return -1;
            d->crop.w = w;
            d->crop.h = h;
            d->crop.c = c;
        }
        if (net->batch != n && net_set_batch(net, n, 0, e)) return -1;
        for (int i = 0; i < n; i++) {
            demo_face_view(d, f, &boxes[i], &d->crop);
            if (net_put_image(net, i, &d->crop, e)) return -1;
        }
        net->train = 0;
        net->has_truth = 0;
        net_forward(net);
        if (net_check_output(net, n, e)) return -1;
        const float *out = net_output(net);
        for (int i = 0; i < n * d->classes; i++) probs[i] += out[i] / d->nnets;
    }
    return 0;
}

static int add_box(haar_box *dets, int n, int cap, const haar_box *b)
{
    for (int i = 0; i < n; i++)
        if (box_iou(&dets[i], b) > 0.4f) return n;   /* the same face, seen from two search regions */
    if (n < cap) dets[n++] = *b;
    return n;
}

int demo_process(demo *d, const frame *f, demo_result *r, fer_err *e)
{
    memset(r, 0, sizeof *r);
    double t0 = clock_seconds() * 1e3;
    haar_box dets[TRACK_MAX];
    int nd = 0;
    if (d->opt.nodetect) {
        int side = f->w < f->h ? f->w : f->h;
        dets[nd++] = (haar_box){ (f->w - side) / 2, (f->h - side) / 2, side, side, 0 };
        r->full_detect = 1;
    } else {
        haar_params hp = d->opt.haar;
        int shortside = f->w < f->h ? f->w : f->h;
        if (hp.min_size <= 0) hp.min_size = shortside / 10;
        int full = d->frames % d->opt.detect_every == 0 || d->tr.n == 0;
        if (full) {
            if (haar_detect(&d->det, f->gray, f->w, f->h, (size_t)f->w, &hp, e)) return -1;
            for (int i = 0; i < d->det.nboxes; i++) nd = add_box(dets, nd, TRACK_MAX, &d->det.boxes[i]);
            r->full_detect = 1;
        } else {
            for (int i = 0; i < d->tr.n; i++) {   /* search around each tracked face */
                const track *t = &d->tr.t[i];
                float side = t->w > t->h ? t->w : t->h;
                int x0 = (int)floorf(t->x - 0.5f * t->w), y0 = (int)floorf(t->y - 0.5f * t->h);
                int x1 = (int)ceilf(t->x + 1.5f * t->w), y1 = (int)ceilf(t->y + 1.5f * t->h);
                if (x0 < 0) x0 = 0;
                if (y0 < 0) y0 = 0;
                if (x1 > f->w) x1 = f->w;
                if (y1 > f->h) y1 = f->h;
                if (x1 - x0 < d->cascade->win_w || y1 - y0 < d->cascade->win_h) continue;
                haar_params rp = hp;
                int lo = (int)(0.75f * side), hi = (int)(1.34f * side);
                if (lo > rp.min_size) rp.min_size = lo;
                rp.max_size = hi > rp.min_size ? hi : rp.min_size;
                if (haar_detect(&d->det, f->gray + (size_t)y0 * f->w + x0, x1 - x0, y1 - y0, (size_t)f->w, &rp, e))
                    return -1;
                for (int k = 0; k < d->det.nboxes; k++) {
                    haar_box b = d->det.boxes[k];
                    b.x += x0;
                    b.y += y0;
                    nd = add_box(dets, nd, TRACK_MAX, &b);
                }
            }
        }
    }
    double t1 = clock_seconds() * 1e3;
    r->ms_detect = t1 - t0;
    tracker_update(&d->tr, dets, nd, NULL);

    /* which tracks to show, and which of them to classify now */
    haar_box todo[TRACK_MAX];
    int todo_track[TRACK_MAX], ntodo = 0;
    for (int i = 0; i < d->tr.n; i++) {
        track *t = &d->tr.t[i];
        if (!t->matched) continue;
        if (!t->has_probs || (d->frames + t->id) % d->opt.classify_every == 0) {
            todo[ntodo] = t->last;
            todo_track[ntodo++] = i;
        }
    }
    if (ntodo) {
        float probs[TRACK_MAX * TRACK_MAX_CLASSES];
        if (classify(d, f, todo, ntodo, probs, e)) return -1;
        for (int k = 0; k < ntodo; k++) tracker_smooth(&d->tr, &d->tr.t[todo_track[k]], probs + k * d->classes);
    }
    for (int i = 0; i < d->tr.n; i++) {
        const track *t = &d->tr.t[i];
        if (!t->has_probs || t->misses > d->opt.keep) continue;
        demo_face *fc = &r->faces[r->nfaces++];
        fc->id = t->id;
        fc->box = d->opt.smooth ? track_box(t) : t->last;
        fc->fresh = t->matched;
        memcpy(fc->probs, t->probs, (size_t)d->classes * sizeof *fc->probs);
        fc->label = 0;
        for (int k = 1; k < d->classes; k++)
            if (fc->probs[k] > fc->probs[fc->label]) fc->label = k;
    }
    r->ms_classify = clock_seconds() * 1e3 - t1;
    d->frames++;
    return 0;
}

/* ---- drawing ---------------------------------------------------------------- */

static const uint32_t class_colors[] = {
    RGB(235, 64, 52),   /* angry */
    RGB(110, 180, 40),  /* disgust */
    RGB(170, 100, 220), /* fear */
    RGB(250, 205, 40),  /* happy */
    RGB(70, 130, 235),  /* sad */
    RGB(250, 140, 30),  /* surprise */
    RGB(200, 200, 200), /* neutral */
    RGB(40, 200, 200),  RGB(230, 90, 170),
};

static uint32_t class_color(int k) { return class_colors[k % (int)(sizeof class_colors / sizeof class_colors[0])]; }

static int overlaps(int ax, int ay, int aw, int ah, int bx, int by, int bw, int bh)
{
    return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
}

/* Is (x, y) a free place for a pw x ph panel? */
static int panel_fits(const haar_box *boxes, int n, int fw, int fh, int top, const panel_rect *placed, int nplaced,
                      int x, int y, int pw, int ph)
{
    if (x < 0 || y < top || x + pw > fw || y + ph > fh) return 0;
    for (int j = 0; j < n; j++)
        if (overlaps(x, y, pw, ph, boxes[j].x, boxes[j].y, boxes[j].w, boxes[j].h)) return 0;
    for (int j = 0; j < nplaced; j++)
        if (overlaps(x, y, pw, ph, placed[j].x, placed[j].y, placed[j].w, placed[j].h)) return 0;
    return 1;
}

int panel_place(const haar_box *boxes, int n, int i, int fw, int fh, int top, int pw, int ph,
                const panel_rect *placed, int nplaced, panel_rect *out)
{
    const haar_box *b = &boxes[i];
    const int gap = 4, steps = 8;
    for (int side = 0; side < 4; side++) {
        for (int s = 0; s <= steps; s++) {
            int x, y;
            if (side < 2) {   /* right, left: slid down the box's side, from its top */
                x = side == 0 ? b->x + b->w + gap : b->x - pw - gap;
                y = b->y + (b->h - ph) * s / steps;
                if (b->h < ph) y = b->y - (ph - b->h) * s / steps;
            } else {          /* below, above: slid along, from its left edge */
                y = side == 2 ? b->y + b->h + gap : b->y - ph - gap;
                x = b->x + (b->w - pw) * s / steps;
                if (b->w < pw) x = b->x - (pw - b->w) * s / steps;
            }
            if (panel_fits(boxes, n, fw, fh, top, placed, nplaced, x, y, pw, ph)) {
                *out = (panel_rect){ x, y, pw, ph };
                return 0;
            }
        }
    }
    return -1;
}

/* The label above (or inside the top of) the box. */
static void draw_label(canvas *cv, const demo *d, const demo_face *fc, int ts, int top)
{
    const haar_box *b = &fc->box;
    char label[96];
    snprintf(label, sizeof label, "%s %d%%", d->names[fc->label], (int)lroundf(100 * fc->probs[fc->label]));
    int th = text_height(ts), lw = text_width(label, ts) + 6, lh = th + 4;
    int ly = b->y - lh >= top ? b->y - lh : (b->y > top ? b->y : top);
    canvas_fill_rect(cv, b->x, ly, lw, lh, class_color(fc->label));
    canvas_text(cv, b->x + 3, ly + 2, label, RGB(0, 0, 0), ts);
}

/* Per-class bars for the `rows` most probable classes at p. */
static void draw_bars(canvas *cv, const demo *d, const demo_face *fc, int ts, int rows, int namew, panel_rect p)
{
    int th = text_height(ts), barw = 50 * ts, rowh = th + 2;
    int order[TRACK_MAX_CLASSES];
    for (int k = 0; k < d->classes; k++) order[k] = k;
    if (rows < d->classes)   /* the most probable first */
        for (int k = 0; k < rows; k++)
            for (int m = k + 1; m < d->classes; m++)
                if (fc->probs[order[m]] > fc->probs[order[k]]) { int t = order[k]; order[k] = order[m]; order[m] = t; }
    canvas_fill_rect(cv, p.x, p.y, p.w, p.h, RGB(24, 24, 24));
    for (int r = 0; r < rows; r++) {
        int k = order[r], y = p.y + 2 + r * rowh, bx = p.x + 5 + namew;
        canvas_text(cv, p.x + 3, y + 1, d->names[k], k == fc->label ? class_color(k) : RGB(230, 230, 230), ts);
        canvas_fill_rect(cv, bx, y + 1, barw, th, RGB(70, 70, 70));
        float v = fc->probs[k] < 0 ? 0 : (fc->probs[k] > 1 ? 1 : fc->probs[k]);
        canvas_fill_rect(cv, bx, y + 1, (int)lroundf(v * barw), th, class_color(k));
        char pct[16];
        snprintf(pct, sizeof pct, " %d%%", (int)lroundf(100 * v));
        canvas_text(cv, bx + barw, y + 1, pct, RGB(230, 230, 230), ts);
    }
}

/* Face i's bars where they cover no face and no other panel: all classes,
 * else the top three, else none. */
static void place_bars(canvas *cv, const demo *d, const demo_result *r, int i, int ts, int top, panel_rect *placed,
                       int *nplaced)
{
    haar_box boxes[TRACK_MAX];
    for (int j = 0; j < r->nfaces; j++) boxes[j] = r->faces[j].box;
    int namew = 0;
    for (int k = 0; k < d->classes; k++)
        if (text_width(d->names[k], ts) > namew) namew = text_width(d->names[k], ts);
    int pw = namew + 50 * ts + text_width(" 100%", ts) + 10, rowh = text_height(ts) + 2;
    int tries[2] = { d->classes, d->classes > 3 ? 3 : d->classes };
    for (int t = 0; t < 2; t++) {
        panel_rect p;
        if (!panel_place(boxes, r->nfaces, i, cv->w, cv->h, top, pw, tries[t] * rowh + 4, placed, *nplaced, &p)) {
            draw_bars(cv, d, &r->faces[i], ts, tries[t], namew, p);
            placed[(*nplaced)++] = p;
            return;
        }
    }
}

void demo_annotate(const demo *d, frame *f, const demo_result *r, double fps)
{
    canvas cv = { f->w, f->h, f->rgb };
    int shortside = f->w < f->h ? f->w : f->h;
    int ts = shortside >= 900 ? 2 : 1;                 /* text scale */
    int thick = shortside >= 600 ? 3 : 2;
    int top = text_height(ts) + 6;   /* the status line's height: labels and panels stay below it */
    panel_rect placed[TRACK_MAX];
    int nplaced = 0;
    for (int i = 0; i < r->nfaces; i++) {
        const demo_face *fc = &r->faces[i];
        canvas_rect(&cv, fc->box.x, fc->box.y, fc->box.w, fc->box.h, class_color(fc->label), thick);
        if (d->opt.panel == DEMO_PANEL_NONE) continue;
        draw_label(&cv, d, fc, ts, top);
        if (d->opt.panel == DEMO_PANEL_BARS) place_bars(&cv, d, r, i, ts, top, placed, &nplaced);
    }
    char status[160];
    char rate[32] = "";
    if (fps > 0) snprintf(rate, sizeof rate, " %.1f fps ", fps);   /* none for a still */
    snprintf(status, sizeof status, "fer%s detect %.1f ms  classify %.1f ms  faces %d", rate, r->ms_detect,
             r->ms_classify, r->nfaces);
    canvas_fill_rect(&cv, 0, 0, text_width(status, ts) + 8, top, RGB(0, 0, 0));
    canvas_text(&cv, 4, 3, status, RGB(255, 255, 255), ts);
}

/* ---- JSON ------------------------------------------------------------------- */

void faces_json_open(strbuf *out, const char *image, long frame_no, const json_face *faces, int n,
                     char *const *names, int classes)
{
    if (image) {
        sb_printf(out, "{\"image\": ");
        sb_json_string(out, image);
    } else {
        sb_printf(out, "{\"frame\": %ld", frame_no);
    }
    sb_printf(out, ", \"faces\": [");
    for (int i = 0; i < n; i++) {
        const json_face *f = &faces[i];
        sb_printf(out, "%s{", i ? ", " : "");
        if (f->id >= 0) sb_printf(out, "\"id\": %d, ", f->id);
        sb_printf(out, "\"box\": [%d, %d, %d, %d], \"label\": ", f->x, f->y, f->w, f->h);
        sb_json_string(out, names[f->label]);
        sb_printf(out, ", \"probs\": {");
        for (int k = 0; k < classes; k++) {
            sb_printf(out, "%s", k ? ", " : "");
            sb_json_string(out, names[k]);
            sb_printf(out, ": %.6f", f->probs[k]);
        }
        sb_printf(out, "}}");
    }
    sb_printf(out, "]");
}

int demo_json(const demo *d, const demo_result *r, long frame_no, const char *image, double fps, strbuf *out,
              fer_err *e)
{
    json_face faces[TRACK_MAX] = { { 0 } };
    for (int i = 0; i < r->nfaces; i++) {
        const demo_face *fc = &r->faces[i];
        faces[i] = (json_face){ image ? -1 : fc->id, fc->box.x, fc->box.y, fc->box.w, fc->box.h, fc->label, fc->probs };
    }
    faces_json_open(out, image, frame_no, faces, r->nfaces, d->names, d->classes);
    sb_printf(out, ", \"ms\": {\"detect\": %.2f, \"classify\": %.2f, \"draw\": %.2f}", r->ms_detect,
              r->ms_classify, r->ms_draw);
    if (!image) sb_printf(out, ", \"fps\": %.1f", fps);
    sb_printf(out, "}");
    return out->oom ? fer_fail(e, "out of memory") : 0;
}
